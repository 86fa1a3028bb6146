//! The JSON API: thin handlers that call the bank, the store, the inference worker and the
//! round engine. No scoring logic lives here.

use std::convert::Infallible;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{discovery, AppState};
use crate::engine::Words;
use crate::round::{self, DrillOptions, RoundIo};
use crate::store::{AudioKind, Store};

/// An error as the API reports it: a status and `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs a store call off the async threads.
async fn with_store<T: Send + 'static>(
    state: &Arc<AppState>,
    call: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> ApiResult<T> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let store = store
            .lock()
            .map_err(|_| ApiError::internal("the store lock is poisoned"))?;
        call(&store).map_err(store_error)
    })
    .await
    .map_err(ApiError::internal)?
}

fn store_error(err: crate::store::StoreError) -> ApiError {
    use crate::store::StoreError::*;
    let status = match &err {
        InvalidSessionId { .. } | OutsideHome { .. } => StatusCode::BAD_REQUEST,
        UnknownSession { .. } | NoSuchAnswer { .. } | AudioMissing { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, err.to_string())
}

/// axum refuses a query, path or JSON body that does not parse with plain text; the API
/// promises `{"error": message}` for every error, so such a refusal is rewrapped.
pub async fn json_refusals(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let plain_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/plain"));
    if !(response.status().is_client_error() && plain_text) {
        return response;
    }
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    ApiError::new(status, String::from_utf8_lossy(&text).trim()).into_response()
}

/// Any path no route serves: a JSON error like every other refusal, not an empty 404.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
}

/// A known path asked with the wrong method.
pub async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

pub async fn index() -> Html<&'static str> {
    Html(include_str!("web/index.html"))
}

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("web/app.js"),
    )
}

pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("web/app.css"),
    )
}

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": discovery::PROTOCOL,
        "model": state.worker.model,
        "pid": std::process::id(),
        "round_running": state.round_running(),
    }))
}

pub async fn prompts(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!(state.bank.prompts))
}

pub async fn playlists(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!(state.bank.playlists))
}

#[derive(Deserialize)]
pub struct ScoreQuery {
    prompt: String,
    /// A corrected transcript, instead of Whisper's words.
    transcript: Option<String>,
}

/// `POST /api/score?prompt=ID` with a WAV body: the same scorecard as `viva score --json`.
pub async fn score(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ScoreQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let prompt = state
        .bank
        .prompt(&query.prompt)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e.to_string()))?
        .clone();
    let recording = tokio::task::spawn_blocking(move || {
        crate::audio::decode_wav(Cursor::new(body), Path::new("the request body"))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let words = query.transcript.map_or(Words::Whisper, Words::Text);
    let card = state
        .worker
        .score(&prompt, recording, words)
        .await
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
    Ok(Json(json!(card)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

pub async fn sessions(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(50).min(1000);
    let list = with_store(&state, move |store| store.sessions(limit)).await?;
    Ok(Json(json!(list)))
}

/// One session, with URLs for each answer's audio added.
pub async fn session(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    let view = with_store(&state, move |store| store.session(&id)).await?;
    let mut value = json!(view);
    if let Some(answers) = value["answers"].as_array_mut() {
        for (answer, original) in answers.iter_mut().zip(&view.answers) {
            let base = format!("/api/sessions/{}/answers/{}", view.id, original.seq);
            answer["audio_url"] = json!(format!("{base}/audio"));
            answer["question_audio_url"] = json!(original
                .question_audio
                .as_ref()
                .map(|_| format!("{base}/question")));
        }
    }
    Ok(Json(value))
}

/// An answer's recording, or the question as it was spoken, from the store's checked path.
/// Served with byte ranges, which the browser needs to seek (click a word, hear it).
pub async fn answer_audio(
    State(state): State<Arc<AppState>>,
    UrlPath((id, seq, which)): UrlPath<(String, u32, String)>,
    request: Request,
) -> ApiResult<Response> {
    let kind = match which.as_str() {
        "audio" => AudioKind::Answer,
        "question" => AudioKind::Question,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "no such resource")),
    };
    let path = with_store(&state, move |store| store.answer_audio(&id, seq, kind)).await?;
    // ServeFile guesses the type from the extension: .wav is audio/wav.
    let file = tower_http::services::ServeFile::new(&path);
    let response = tower::ServiceExt::oneshot(file, request)
        .await
        .map_err(ApiError::internal)?;
    Ok(response.into_response())
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    prompt: Option<String>,
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let points = with_store(&state, move |store| store.history(query.prompt.as_deref())).await?;
    Ok(Json(json!(points)))
}

/// `POST /api/rounds`: what to run and how.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRound {
    /// A playlist id, or:
    playlist: Option<String>,
    /// one prompt, asked alone (`viva ask`).
    prompt: Option<String>,
    /// Recordings to answer with instead of the microphone (paths on this machine).
    #[serde(default)]
    inputs: Vec<PathBuf>,
    #[serde(default)]
    realtime: bool,
    tts: Option<String>,
    device: Option<String>,
    seed: Option<u64>,
    /// Wait for next/repeat/redo/skip/stop between questions.
    #[serde(default)]
    pause_between: bool,
}

pub async fn start_round(
    State(state): State<Arc<AppState>>,
    Json(start): Json<StartRound>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let not_found =
        |e: crate::bank::LookupError| ApiError::new(StatusCode::NOT_FOUND, e.to_string());
    let playlist = match (&start.playlist, &start.prompt) {
        (Some(id), None) => state.bank.playlist(id).map_err(not_found)?.clone(),
        (None, Some(id)) => round::single_question(state.bank.prompt(id).map_err(not_found)?),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "name a `playlist` or a `prompt`, not both",
            ))
        }
    };
    let mut slot = state
        .round
        .lock()
        .map_err(|_| ApiError::internal("round lock poisoned"))?;
    if slot.as_ref().is_some_and(|r| !r.thread.is_finished()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "a round is already running; stop it first",
        ));
    }
    let options = DrillOptions::new(
        &state.config,
        start.inputs,
        start.realtime,
        start.tts,
        start.device,
        start.seed,
    );
    let playlist_id = playlist.id.clone();
    let (controls_tx, controls_rx) = std::sync::mpsc::channel();
    let events = state.events.clone();
    let mut io = RoundIo {
        controls: Some(controls_rx),
        pause_between: start.pause_between,
        abort: Some(state.aborting.clone()),
        events: Some(Box::new(move |event| {
            if let Ok(json) = serde_json::to_string(&event) {
                let _ = events.send(json);
            }
        })),
    };
    let (home, bank, worker) = (state.home.clone(), state.bank.clone(), state.worker.clone());
    let events = state.events.clone();
    let thread = std::thread::Builder::new()
        .name("viva-round".into())
        .spawn(move || {
            let outcome = Store::open(&home)
                .map_err(anyhow::Error::from)
                .and_then(|mut store| {
                    round::drill(&worker, &mut store, &bank, &playlist, &options, &mut io)
                });
            if let Err(e) = outcome {
                let _ =
                    events.send(json!({"event": "error", "message": format!("{e:#}")}).to_string());
            }
        })
        .map_err(ApiError::internal)?;
    *slot = Some(super::RunningRound {
        controls: controls_tx,
        thread,
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "started": playlist_id })),
    ))
}

/// `POST /api/rounds/current/{next,repeat,redo,skip,stop}`.
pub async fn control_round(
    State(state): State<Arc<AppState>>,
    UrlPath(action): UrlPath<String>,
) -> ApiResult<Json<Value>> {
    // The same lines a person types at the terminal.
    let line = match action.as_str() {
        "next" => "",
        "repeat" => "r",
        "redo" => "d",
        "skip" => "s",
        "stop" => "q",
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("unknown action `{other}`; use next, repeat, redo, skip or stop"),
            ))
        }
    };
    let slot = state
        .round
        .lock()
        .map_err(|_| ApiError::internal("round lock poisoned"))?;
    match slot.as_ref().filter(|r| !r.thread.is_finished()) {
        Some(round) if round.controls.send(line.to_owned()).is_ok() => {
            Ok(Json(json!({ "sent": action })))
        }
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "no round is running")),
    }
}

/// Server-sent events of the current (and next) rounds; ends when the daemon shuts down.
pub async fn round_events(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = state.events.subscribe();
    let shutdown = state.shutdown.clone();
    let stream = futures_util::stream::unfold(
        (events, shutdown),
        |(mut events, mut shutdown)| async move {
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return None,
                    received = events.recv() => match received {
                        Ok(json) => {
                            let name = serde_json::from_str::<Value>(&json)
                                .ok()
                                .and_then(|v| v["event"].as_str().map(str::to_owned))
                                .unwrap_or_else(|| "message".into());
                            let event = Event::default().event(name).data(json);
                            return Some((Ok(event), (events, shutdown)));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    },
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
