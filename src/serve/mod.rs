//! `viva serve`: the daemon, a thin transport around the engine, the store and rounds.
//!
//! It listens on 127.0.0.1 only, keeps the Whisper model loaded in one inference worker, serves
//! the JSON API and the review page, and announces itself in `$VIVA_HOME/serve.json`. On
//! SIGTERM or Ctrl-C it stops the round in progress (its answer is saved), closes event
//! streams, removes `serve.json` and exits.

mod api;
pub mod discovery;
mod guard;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{broadcast, watch};

use crate::bank::Bank;
use crate::config::{Config, Env};
use crate::engine::Engine;
use crate::store::Store;
use crate::worker::Worker;
pub use discovery::{Client, ServeInfo};
pub use guard::SIGN_IN_CODE_SECONDS;

/// The largest WAV `/api/score` accepts: a long answer at 48 kHz stereo, with room to spare.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// How long shutdown waits for the round in progress to save its answer.
const ROUND_STOP_WAIT: Duration = Duration::from_secs(4);

/// What every handler shares.
pub struct AppState {
    /// Every request must carry this (bearer header or cookie).
    token: String,
    /// The port we listen on: a request's Host must name it.
    port: u16,
    home: PathBuf,
    bank: Arc<Bank>,
    config: Config,
    /// One connection, behind a lock: SQLite serialises writers anyway, and a local daemon's
    /// load is one person.
    store: Arc<Mutex<Store>>,
    /// Owns the model; scoring jobs queue here.
    worker: Worker,
    /// The round running now, if any: one at a time, like one person at one desk.
    round: Mutex<Option<RunningRound>>,
    /// Round events as JSON, fanned out to every event stream.
    events: broadcast::Sender<String>,
    /// Flips once at shutdown, ending event streams so the server can drain.
    shutdown: watch::Receiver<bool>,
    /// Set at shutdown: the round keeps its answer in progress unscored and ends.
    aborting: Arc<AtomicBool>,
    /// One-time sign-in codes minted for `viva open`, with when each stops working: the
    /// browser's command line (which any local user can read with `ps`) carries one of these,
    /// good once and for a minute, never the token.
    sign_in_codes: Mutex<Vec<(String, Instant)>>,
}

/// A round on its own thread.
struct RunningRound {
    /// Lines for the round, as a person would type them: "" next, r, d, s, q.
    controls: std::sync::mpsc::Sender<String>,
    thread: std::thread::JoinHandle<()>,
}

impl AppState {
    fn round_running(&self) -> bool {
        self.round
            .lock()
            .map(|r| r.as_ref().is_some_and(|r| !r.thread.is_finished()))
            .unwrap_or(false)
    }
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub fn run(env: Env, bank: Bank, port: u16) -> Result<()> {
    let home = env.home.clone();
    let mut store = Store::open(&home)?;
    for line in store.recover()? {
        eprintln!("viva: {line}");
    }
    let config = env.config.clone();
    let started = Instant::now();
    let worker = Worker::start(Engine::new(env))?;
    eprintln!(
        "viva: model {} loaded in {:.1} s",
        worker.model,
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(home, bank, config, store, worker, port))
}

async fn serve(
    home: PathBuf,
    bank: Bank,
    config: Config,
    store: Store,
    worker: Worker,
    port: u16,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let port = listener.local_addr()?.port();
    let info = ServeInfo {
        port,
        token: discovery::new_token()?,
        pid: std::process::id(),
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let state = Arc::new(AppState {
        token: info.token.clone(),
        port,
        home: home.clone(),
        bank: Arc::new(bank),
        config,
        store: Arc::new(Mutex::new(store)),
        worker,
        round: Mutex::new(None),
        events: broadcast::channel(256).0,
        shutdown: shutdown_rx,
        aborting: Arc::new(AtomicBool::new(false)),
        sign_in_codes: Mutex::new(Vec::new()),
    });
    discovery::publish(&home, &info)?;
    println!("viva serve: listening on {}", info.base_url());
    println!("Review page: {}", info.page_url());

    let app = router(state.clone());
    let stopping = state.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            eprintln!("viva serve: stopping");
            stop_round(&stopping);
            let _ = shutdown_tx.send(true);
        })
        .await;
    discovery::withdraw(&home, info.pid);
    served.context("the server failed")
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(api::index))
        .route("/app.js", get(api::script))
        .route("/app.css", get(api::style))
        .route("/auth", get(guard::auth))
        .route("/api/health", get(api::health))
        .route("/api/prompts", get(api::prompts))
        .route("/api/playlists", get(api::playlists))
        .route("/api/score", post(api::score))
        .route("/api/sessions", get(api::sessions))
        .route("/api/sessions/{id}", get(api::session))
        .route(
            "/api/sessions/{id}/answers/{seq}/{which}",
            get(api::answer_audio),
        )
        .route("/api/history", get(api::history))
        .route("/api/sign-in-links", post(guard::sign_in_link))
        .route("/api/rounds", post(api::start_round))
        .route("/api/rounds/current/events", get(api::round_events))
        .route("/api/rounds/current/{action}", post(api::control_round))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::wrong_method)
        .layer(axum::middleware::from_fn(api::json_refusals))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Asks the running round to quit (its answer in progress is saved) and waits for it.
fn stop_round(state: &AppState) {
    let Ok(mut slot) = state.round.lock() else {
        return;
    };
    let Some(round) = slot.take() else { return };
    state.aborting.store(true, Ordering::Relaxed);
    let _ = round.controls.send("q".into());
    let deadline = Instant::now() + ROUND_STOP_WAIT;
    while !round.thread.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if round.thread.is_finished() {
        let _ = round.thread.join();
    } else {
        eprintln!("viva serve: the round did not stop in time; its answer so far is on disk");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
