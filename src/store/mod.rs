//! Sessions kept on disk: one SQLite database, `$VIVA_HOME/viva.db`, and each session's
//! recordings beside it in `$VIVA_HOME/sessions/<session-id>/`.
//!
//! The store owns the schema (numbered migrations in `store/migrations/`, applied in one
//! transaction and recorded in `schema_migrations`), session ids, the state of every answer
//! (`recording` until it is scored, `interrupted` if viva died first), the practice schedule
//! (updated by [`schedule::next`] as answers complete), and the rule that no path it hands
//! out leaves `VIVA_HOME`. It stores transcripts and scorecards as their JSON contracts and
//! never judges them.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::schedule::{self, PracticeState};
use crate::score::Scorecard;
use crate::transcribe::Transcript;

/// The database file inside `VIVA_HOME`.
pub const DB_FILE: &str = "viva.db";
/// The directory inside `VIVA_HOME` holding one directory of recordings per session.
pub const SESSIONS_DIR: &str = "sessions";
/// The longest session id accepted; generated ones are 15 to 20 characters.
pub const MAX_SESSION_ID_LEN: usize = 64;

/// The schema, one step per file, in order. A step is never edited once released: a change
/// is a new file.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("migrations/0001_init.sql"),
}];

/// How long a write waits for another viva process holding the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Sessions that may start within one second before ids run out (`-2` to `-999`).
const MAX_IDS_PER_SECOND: u32 = 999;
/// Where error messages send a person looking for session ids.
const LIST_HINT: &str = "`viva sessions` lists them";

struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Which recording of an answer: the candidate's, or the question viva spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Answer,
    Question,
}

/// Why the store could not do what was asked. Each message is one line naming the path or id
/// and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot keep viva's data in {path} ({source}); set VIVA_HOME to a writable directory")]
    HomeNotWritable { path: PathBuf, source: io::Error },
    #[error("{path} is in use by another viva and stayed locked for {seconds} s; finish or stop the other viva and try again")]
    Busy { path: PathBuf, seconds: u64 },
    #[error("{path}: {source}; check the disk, or set VIVA_HOME to another directory")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path} was written by a newer viva (schema version {found}, this viva knows up to {known}); upgrade viva or set VIVA_HOME to another directory")]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("{path}: {detail}; it was changed outside viva, move it aside to start afresh")]
    Corrupt { path: PathBuf, detail: String },
    #[error("\"{id}\" is not a session id (they look like 20250301-093000); {LIST_HINT}")]
    InvalidSessionId { id: String },
    #[error("no session \"{id}\" in {path}; {LIST_HINT}")]
    UnknownSession { id: String, path: PathBuf },
    #[error("session {id} is {status}, not running; start a new session to record more answers")]
    SessionNotRunning { id: String, status: String },
    #[error("no answer with id {answer_id} in {path}")]
    UnknownAnswer { answer_id: i64, path: PathBuf },
    #[error(
        "session {session_id} has no answer {seq}; `viva review {session_id}` lists its answers"
    )]
    NoSuchAnswer { session_id: String, seq: u32 },
    #[error("answer {answer_id}: an answer is marked complete only with its transcript and scorecard (Store::complete_answer)")]
    CompleteWithoutScores { answer_id: i64 },
    #[error("cannot create {path} ({source}); set VIVA_HOME to a writable directory")]
    SessionDir { path: PathBuf, source: io::Error },
    #[error(
        "more than {MAX_IDS_PER_SECOND} sessions started at {base}; wait a second and try again"
    )]
    IdsExhausted { base: String },
    #[error("{path} is not valid UTF-8; set VIVA_HOME to a plain path")]
    NotUtf8 { path: PathBuf },
    #[error("{path} is outside {home}; viva only hands out recordings it keeps")]
    OutsideHome { path: PathBuf, home: PathBuf },
    #[error("{path}: the recording is gone (moved or deleted)")]
    AudioMissing { path: PathBuf },
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Its process is (or was, until it crashed) asking questions.
    Running,
    /// Every step was asked.
    Complete,
    /// The person stopped it.
    Quit,
    /// Its process died without ending it; found by [`Store::recover_interrupted`].
    Interrupted,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Quit => "quit",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Where one answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStatus {
    /// The microphone is (or was, until a crash) recording it.
    Recording,
    /// Transcribed and scored.
    Complete,
    /// Recording or scoring never finished; the audio stays on disk.
    Interrupted,
    /// The person skipped the question.
    Skipped,
}

impl AnswerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Complete => "complete",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }
}

/// An answer about to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnswer {
    pub session_id: String,
    pub prompt_id: String,
    pub category: String,
    /// The concept name when this answers a follow-up question rather than the prompt itself.
    pub follow_up_of: Option<String>,
    /// 1 for the first try of this prompt in the session.
    pub try_number: u32,
    /// Where the answer's WAV is (being) written, normally inside [`Store::session_dir`].
    pub audio_path: PathBuf,
    /// The spoken question, when viva kept it.
    pub question_audio_path: Option<PathBuf>,
}

/// One session with all its answers, as `viva review` shows it and `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub playlist: Option<String>,
    /// RFC 3339, in the local time of the session.
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `running`, `complete`, `quit` or `interrupted`.
    pub status: String,
    /// In the order they were asked.
    pub answers: Vec<AnswerView>,
}

/// One answer of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerView {
    /// Position in the session, from 1.
    pub seq: u32,
    pub prompt_id: String,
    pub category: String,
    pub follow_up_of: Option<String>,
    #[serde(rename = "try")]
    pub try_number: u32,
    /// The recording, as an absolute path when it is inside `VIVA_HOME`.
    pub audio: PathBuf,
    pub question_audio: Option<PathBuf>,
    pub started_at: String,
    /// `recording`, `complete`, `interrupted` or `skipped`.
    pub status: String,
    pub complete: bool,
    pub transcript: Option<Transcript>,
    pub scorecard: Option<Scorecard>,
}

/// One line of the sessions list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub playlist: Option<String>,
    pub started_at: String,
    pub status: String,
    /// Every answer started, complete or not.
    pub answers: u32,
    pub completed: u32,
    /// The mean overall of the completed answers.
    pub mean_overall: Option<f64>,
}

/// One completed answer in a prompt's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub session_id: String,
    pub prompt_id: String,
    pub category: String,
    /// When the answer started, RFC 3339.
    pub at: String,
    pub overall: f64,
    pub wpm: f64,
    /// The coverage score, 0 to 100.
    pub coverage: f64,
    /// The delivery score, 0 to 100, when the audio was measured.
    #[serde(default)]
    pub delivery: Option<f64>,
    /// How much the pitch moved (semitones): below 0.9 is a monotone.
    #[serde(default)]
    pub pitch_spread: Option<f64>,
}

/// The open database and the directory it lives in.
pub struct Store {
    /// One connection per process; WAL lets another viva read while this one writes.
    conn: Connection,
    /// `VIVA_HOME`, canonical: the root no path handed out may leave.
    home: PathBuf,
    /// `home/viva.db`, kept for error messages.
    db_path: PathBuf,
}

/// True for ids viva could have made: ASCII letters, digits and `-`, starting with a letter
/// or digit, at most [`MAX_SESSION_ID_LEN`] long. Such an id is a single, plain path
/// component, so `sessions/<id>` cannot leave `VIVA_HOME`.
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `id` with every character a session id cannot have dropped: always one plain path
/// component.
fn safe_dir_name(id: &str) -> String {
    let kept: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(MAX_SESSION_ID_LEN)
        .collect();
    match kept.trim_start_matches('-') {
        "" => "invalid-id".to_owned(),
        safe => safe.to_owned(),
    }
}

fn check_session_id(id: &str) -> Result<(), StoreError> {
    if is_valid_session_id(id) {
        Ok(())
    } else {
        Err(StoreError::InvalidSessionId { id: id.to_owned() })
    }
}

/// Maps an SQLite error to one naming the database, telling a lock apart from the rest.
fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: path.to_owned(),
            seconds: BUSY_TIMEOUT.as_secs(),
        },
        _ => StoreError::Database {
            path: path.to_owned(),
            source,
        },
    }
}

fn now_local() -> String {
    Local::now().to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Store {
    /// Opens (creating if needed) the store in `home`, applying any migrations this viva has
    /// and the database lacks.
    ///
    /// If `home` cannot be used, nothing is left behind: directories this call created are
    /// removed, and so is a database file it created.
    pub fn open(home: &Path) -> Result<Store, StoreError> {
        let created = create_dirs(home)?;
        Self::open_in(home).inspect_err(|_| {
            for dir in created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
        })
    }

    fn open_in(home: &Path) -> Result<Store, StoreError> {
        let not_writable = |source| StoreError::HomeNotWritable {
            path: home.to_owned(),
            source,
        };
        check_writable(home).map_err(not_writable)?;
        let home = fs::canonicalize(home).map_err(not_writable)?;
        let db_path = home.join(DB_FILE);
        let existed = db_path.exists();
        let opened = Connection::open(&db_path)
            .map_err(sql(&db_path))
            .and_then(|mut conn| {
                configure(&conn).map_err(sql(&db_path))?;
                migrate(&mut conn, &db_path)?;
                Ok(conn)
            });
        match opened {
            Ok(conn) => Ok(Store {
                conn,
                home,
                db_path,
            }),
            Err(e) => {
                if !existed {
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let mut name = db_path.clone().into_os_string();
                        name.push(suffix);
                        let _ = fs::remove_file(name);
                    }
                }
                Err(e)
            }
        }
    }

    /// `VIVA_HOME`, canonical.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Starts a session: a `running` row owned by this process, and its directory for
    /// recordings. The id is the local time, `YYYYMMDD-HHMMSS`, with `-2`, `-3`… when
    /// another session started in the same second.
    pub fn create_session(&mut self, playlist: Option<&str>) -> Result<String, StoreError> {
        self.create_session_at(playlist, Local::now())
    }

    fn create_session_at(
        &mut self,
        playlist: Option<&str>,
        now: DateTime<Local>,
    ) -> Result<String, StoreError> {
        let base = now.format("%Y%m%d-%H%M%S").to_string();
        let started_at = now.to_rfc3339_opts(SecondsFormat::Millis, false);
        let sessions = self.home.join(SESSIONS_DIR);
        fs::create_dir_all(&sessions).map_err(|source| StoreError::SessionDir {
            path: sessions.clone(),
            source,
        })?;
        for n in 1..=MAX_IDS_PER_SECOND {
            let id = match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            };
            let dir = sessions.join(&id);
            // A directory without a row is left from a database that was moved aside: its
            // recordings are not this session's.
            if dir.exists() {
                continue;
            }
            let inserted = self
                .conn
                .execute(
                    "INSERT OR IGNORE INTO sessions (id, playlist, started_at, status, pid)
                     VALUES (?1, ?2, ?3, 'running', ?4)",
                    params![id, playlist, started_at, std::process::id()],
                )
                .map_err(sql(&self.db_path))?;
            if inserted == 0 {
                continue;
            }
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(id),
                Err(source) => {
                    self.conn
                        .execute("DELETE FROM sessions WHERE id = ?1", [&id])
                        .map_err(sql(&self.db_path))?;
                    if source.kind() != io::ErrorKind::AlreadyExists {
                        return Err(StoreError::SessionDir { path: dir, source });
                    }
                }
            }
        }
        Err(StoreError::IdsExhausted { base })
    }

    /// The directory holding a session's recordings, `$VIVA_HOME/sessions/<id>/`, for an id
    /// this store handed out. It stays inside `VIVA_HOME` whatever the id: characters an id
    /// cannot have are dropped (so `../x` gives `sessions/x`), and a debug build panics on
    /// such an id, since it is a bug in the caller. Ids from outside are checked by the
    /// lookups ([`Store::session`]) first.
    pub fn session_dir(&self, id: &str) -> PathBuf {
        debug_assert!(is_valid_session_id(id), "invalid session id {id:?}");
        self.home.join(SESSIONS_DIR).join(safe_dir_name(id))
    }

    /// Records that an answer is being recorded (status `recording`) and returns its id. Its
    /// `seq` is the next in the session.
    pub fn start_answer(&mut self, new: NewAnswer) -> Result<i64, StoreError> {
        check_session_id(&new.session_id)?;
        let audio = self.stored_path(&new.audio_path)?;
        let question_audio = new
            .question_audio_path
            .as_deref()
            .map(|p| self.stored_path(p))
            .transpose()?;
        let db = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(db))?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM sessions WHERE id = ?1",
                [&new.session_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql(db))?;
        match status.as_deref() {
            None => {
                return Err(StoreError::UnknownSession {
                    id: new.session_id,
                    path: db.clone(),
                })
            }
            Some("running") => {}
            Some(other) => {
                return Err(StoreError::SessionNotRunning {
                    id: new.session_id,
                    status: other.to_owned(),
                })
            }
        }
        tx.execute(
            "INSERT INTO answers (session_id, seq, prompt_id, category, follow_up_of, try_number,
                                  audio_path, question_audio_path, started_at, status)
             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'recording'
             FROM answers WHERE session_id = ?1",
            params![
                new.session_id,
                new.prompt_id,
                new.category,
                new.follow_up_of,
                new.try_number.max(1),
                audio,
                question_audio,
                now_local(),
            ],
        )
        .map_err(sql(db))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(sql(db))?;
        Ok(id)
    }

    /// Stores an answer's transcript and scorecard and marks it `complete`. The first time an
    /// answer to a prompt itself (not to a follow-up) completes, the prompt's practice
    /// schedule moves on by [`schedule::next`]; scoring the same answer again replaces its
    /// scores without moving the schedule twice.
    pub fn complete_answer(
        &mut self,
        answer_id: i64,
        transcript: &Transcript,
        card: &Scorecard,
    ) -> Result<(), StoreError> {
        let encode = |what: &str, e: serde_json::Error| StoreError::Corrupt {
            path: self.db_path.clone(),
            detail: format!("cannot encode the {what} of answer {answer_id}: {e}"),
        };
        let transcript_json =
            serde_json::to_string(transcript).map_err(|e| encode("transcript", e))?;
        let card_json = serde_json::to_string(card).map_err(|e| encode("scorecard", e))?;
        let db = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(db))?;
        let (prompt_id, follow_up_of, status): (String, Option<String>, String) = tx
            .query_row(
                "SELECT prompt_id, follow_up_of, status FROM answers WHERE id = ?1",
                [answer_id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(sql(db))?
            .ok_or_else(|| StoreError::UnknownAnswer {
                answer_id,
                path: db.clone(),
            })?;
        tx.execute(
            "UPDATE answers SET status = 'complete', transcript_json = ?2, scorecard_json = ?3,
                                overall = ?4
             WHERE id = ?1",
            params![answer_id, transcript_json, card_json, card.overall],
        )
        .map_err(sql(db))?;
        if follow_up_of.is_none() && status != AnswerStatus::Complete.as_str() {
            let prev = practice_state(&tx, db, &prompt_id)?;
            let state = schedule::next(prev.as_ref(), card.overall, Utc::now());
            tx.execute(
                "INSERT INTO practice (prompt_id, ease, interval_days, due_at, last_score, reps,
                                       last_practiced)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (prompt_id) DO UPDATE SET
                    ease = excluded.ease, interval_days = excluded.interval_days,
                    due_at = excluded.due_at, last_score = excluded.last_score,
                    reps = excluded.reps, last_practiced = excluded.last_practiced",
                params![
                    prompt_id,
                    state.ease,
                    state.interval_days,
                    utc_text(state.due_at),
                    state.last_score,
                    state.reps,
                    utc_text(state.last_practiced),
                ],
            )
            .map_err(sql(db))?;
        }
        tx.commit().map_err(sql(db))
    }

    /// Marks an answer `recording`, `interrupted` or `skipped`. `complete` is refused: only
    /// [`Store::complete_answer`] completes an answer, with its scores.
    pub fn set_answer_status(
        &mut self,
        answer_id: i64,
        status: AnswerStatus,
    ) -> Result<(), StoreError> {
        if status == AnswerStatus::Complete {
            return Err(StoreError::CompleteWithoutScores { answer_id });
        }
        let changed = self
            .conn
            .execute(
                "UPDATE answers SET status = ?2 WHERE id = ?1",
                params![answer_id, status.as_str()],
            )
            .map_err(sql(&self.db_path))?;
        if changed == 0 {
            return Err(StoreError::UnknownAnswer {
                answer_id,
                path: self.db_path.clone(),
            });
        }
        Ok(())
    }

    /// Ends a session with `status` and the current time. Answers still `recording` become
    /// `interrupted` (their audio stays): nothing records in a session that is over.
    pub fn end_session(&mut self, id: &str, status: SessionStatus) -> Result<(), StoreError> {
        check_session_id(id)?;
        let db = &self.db_path;
        let tx = self.conn.transaction().map_err(sql(db))?;
        let ended_at = (status != SessionStatus::Running).then(now_local);
        let changed = tx
            .execute(
                "UPDATE sessions SET status = ?2, ended_at = ?3 WHERE id = ?1",
                params![id, status.as_str(), ended_at],
            )
            .map_err(sql(db))?;
        if changed == 0 {
            return Err(StoreError::UnknownSession {
                id: id.to_owned(),
                path: db.clone(),
            });
        }
        if status != SessionStatus::Running {
            tx.execute(
                "UPDATE answers SET status = 'interrupted'
                 WHERE session_id = ?1 AND status = 'recording'",
                [id],
            )
            .map_err(sql(db))?;
        }
        tx.commit().map_err(sql(db))
    }

    /// Finds sessions left `running` by a viva that is no longer alive and marks them, and
    /// their answers still `recording`, `interrupted`; the audio stays. Returns their ids,
    /// oldest first. Meant to run whenever viva starts.
    pub fn recover_interrupted(&mut self) -> Result<Vec<String>, StoreError> {
        let db = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(db))?;
        let running: Vec<(String, i64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, pid FROM sessions WHERE status = 'running'
                     ORDER BY julianday(started_at), id",
                )
                .map_err(sql(db))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(sql(db))?;
            rows.collect::<Result<_, _>>().map_err(sql(db))?
        };
        let mut recovered = Vec::new();
        for (id, pid) in running {
            if process_is_alive(pid) {
                continue;
            }
            tx.execute(
                "UPDATE sessions SET status = 'interrupted' WHERE id = ?1",
                [&id],
            )
            .map_err(sql(db))?;
            tx.execute(
                "UPDATE answers SET status = 'interrupted'
                 WHERE session_id = ?1 AND status = 'recording'",
                [&id],
            )
            .map_err(sql(db))?;
            recovered.push(id);
        }
        tx.commit().map_err(sql(db))?;
        Ok(recovered)
    }

    /// One session with its answers in order.
    pub fn session(&self, id: &str) -> Result<SessionView, StoreError> {
        check_session_id(id)?;
        let db = &self.db_path;
        let head = self
            .conn
            .query_row(
                "SELECT id, playlist, started_at, ended_at, status FROM sessions WHERE id = ?1",
                [id],
                |row| {
                    Ok(SessionView {
                        id: row.get(0)?,
                        playlist: row.get(1)?,
                        started_at: row.get(2)?,
                        ended_at: row.get(3)?,
                        status: row.get(4)?,
                        answers: Vec::new(),
                    })
                },
            )
            .optional()
            .map_err(sql(db))?;
        let mut view = head.ok_or_else(|| StoreError::UnknownSession {
            id: id.to_owned(),
            path: db.clone(),
        })?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, prompt_id, category, follow_up_of, try_number, audio_path,
                        question_audio_path, started_at, status, transcript_json, scorecard_json
                 FROM answers WHERE session_id = ?1 ORDER BY seq",
            )
            .map_err(sql(db))?;
        let rows = stmt
            .query_map([id], |row| {
                Ok((
                    AnswerView {
                        seq: row.get(0)?,
                        prompt_id: row.get(1)?,
                        category: row.get(2)?,
                        follow_up_of: row.get(3)?,
                        try_number: row.get(4)?,
                        audio: self.resolved_path(&row.get::<_, String>(5)?),
                        question_audio: row
                            .get::<_, Option<String>>(6)?
                            .map(|p| self.resolved_path(&p)),
                        started_at: row.get(7)?,
                        complete: row.get::<_, String>(8)? == AnswerStatus::Complete.as_str(),
                        status: row.get(8)?,
                        transcript: None,
                        scorecard: None,
                    },
                    row.get::<_, Option<String>>(9)?,
                    row.get::<_, Option<String>>(10)?,
                ))
            })
            .map_err(sql(db))?;
        for row in rows {
            let (mut answer, transcript, card) = row.map_err(sql(db))?;
            answer.transcript = self.decode(transcript, id, answer.seq, "transcript")?;
            answer.scorecard = self.decode(card, id, answer.seq, "scorecard")?;
            view.answers.push(answer);
        }
        Ok(view)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        json: Option<String>,
        session_id: &str,
        seq: u32,
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        json.map(|json| {
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                path: self.db_path.clone(),
                detail: format!(
                    "the {what} of answer {seq} in session {session_id} is unreadable ({e})"
                ),
            })
        })
        .transpose()
    }

    /// The most recently started session, if there is any.
    pub fn latest_session(&self) -> Result<Option<SessionView>, StoreError> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM sessions ORDER BY julianday(started_at) DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql(&self.db_path))?;
        id.map(|id| self.session(&id)).transpose()
    }

    /// Up to `limit` sessions, newest first, with their answer counts and mean overall.
    pub fn sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError> {
        let db = &self.db_path;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, s.playlist, s.started_at, s.status, COUNT(a.id),
                        COUNT(CASE WHEN a.status = 'complete' THEN 1 END),
                        AVG(CASE WHEN a.status = 'complete' THEN a.overall END)
                 FROM sessions s LEFT JOIN answers a ON a.session_id = s.id
                 GROUP BY s.id
                 ORDER BY julianday(s.started_at) DESC, s.id DESC
                 LIMIT ?1",
            )
            .map_err(sql(db))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map([limit], |row| {
                Ok(SessionSummary {
                    id: row.get(0)?,
                    playlist: row.get(1)?,
                    started_at: row.get(2)?,
                    status: row.get(3)?,
                    answers: row.get(4)?,
                    completed: row.get(5)?,
                    mean_overall: row.get(6)?,
                })
            })
            .map_err(sql(db))?;
        rows.collect::<Result<_, _>>().map_err(sql(db))
    }

    /// Completed answers, oldest first, to one prompt or to all. Answers to follow-up
    /// questions are left out: they answer a different question than the prompt's own.
    pub fn history(&self, prompt: Option<&str>) -> Result<Vec<HistoryPoint>, StoreError> {
        let db = &self.db_path;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT session_id, prompt_id, category, started_at, overall,
                        json_extract(scorecard_json, '$.wpm'),
                        json_extract(scorecard_json, '$.coverage.score'),
                        json_extract(scorecard_json, '$.delivery.score'),
                        json_extract(scorecard_json, '$.delivery.pitch.spread_semitones')
                 FROM answers
                 WHERE status = 'complete' AND follow_up_of IS NULL
                   AND (?1 IS NULL OR prompt_id = ?1)
                 ORDER BY julianday(started_at), id",
            )
            .map_err(sql(db))?;
        let rows = stmt
            .query_map([prompt], |row| {
                Ok(HistoryPoint {
                    session_id: row.get(0)?,
                    prompt_id: row.get(1)?,
                    category: row.get(2)?,
                    at: row.get(3)?,
                    overall: row.get(4)?,
                    wpm: row.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
                    coverage: row.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                    delivery: row.get(7)?,
                    pitch_spread: row.get(8)?,
                })
            })
            .map_err(sql(db))?;
        rows.collect::<Result<_, _>>().map_err(sql(db))
    }

    /// Every prompt's place in the practice schedule, by prompt id.
    pub fn practice_states(&self) -> Result<HashMap<String, PracticeState>, StoreError> {
        let db = &self.db_path;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT prompt_id, ease, interval_days, due_at, last_score, reps, last_practiced
                 FROM practice",
            )
            .map_err(sql(db))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, raw_practice(row)?)))
            .map_err(sql(db))?;
        let mut states = HashMap::new();
        for row in rows {
            let (prompt_id, raw) = row.map_err(sql(db))?;
            let state = raw.parse(db, &prompt_id)?;
            states.insert(prompt_id, state);
        }
        Ok(states)
    }

    /// The recording of answer `answer_seq` of a session, or the question as it was spoken
    /// before it, checked to be a file inside `VIVA_HOME` (symbolic links followed), for
    /// serving it to a browser.
    pub fn answer_audio(
        &self,
        session_id: &str,
        answer_seq: u32,
        kind: AudioKind,
    ) -> Result<PathBuf, StoreError> {
        check_session_id(session_id)?;
        let column = match kind {
            AudioKind::Answer => "audio_path",
            AudioKind::Question => "question_audio_path",
        };
        let no_such = || StoreError::NoSuchAnswer {
            session_id: session_id.to_owned(),
            seq: answer_seq,
        };
        let stored: String = self
            .conn
            .query_row(
                &format!("SELECT {column} FROM answers WHERE session_id = ?1 AND seq = ?2"),
                params![session_id, answer_seq],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map_err(sql(&self.db_path))?
            .flatten()
            .ok_or_else(no_such)?;
        let path = self.resolved_path(&stored);
        let outside = || StoreError::OutsideHome {
            path: path.clone(),
            home: self.home.clone(),
        };
        if relative_inside(&path, &self.home).is_none() {
            return Err(outside());
        }
        let real =
            fs::canonicalize(&path).map_err(|_| StoreError::AudioMissing { path: path.clone() })?;
        if !real.starts_with(&self.home) {
            return Err(outside());
        }
        if !real.is_file() {
            return Err(StoreError::AudioMissing { path });
        }
        Ok(real)
    }

    /// A path as stored: relative to `VIVA_HOME` when inside it (so the directory can move),
    /// absolute otherwise.
    fn stored_path(&self, path: &Path) -> Result<String, StoreError> {
        let inside = relative_inside(path, &self.home).or_else(|| {
            // The caller may know VIVA_HOME by a path that is not canonical.
            let parent = fs::canonicalize(path.parent()?).ok()?;
            relative_inside(&parent.join(path.file_name()?), &self.home)
        });
        let text = match &inside {
            Some(relative) => relative.to_str(),
            None => path.to_str(),
        };
        text.map(str::to_owned).ok_or_else(|| StoreError::NotUtf8 {
            path: path.to_owned(),
        })
    }

    fn resolved_path(&self, stored: &str) -> PathBuf {
        let path = Path::new(stored);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.home.join(path)
        }
    }
}

/// `path` relative to `home`, if it lies inside it by plain names only (no `..`).
fn relative_inside(path: &Path, home: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix(home).ok()?;
    let plain = relative.components().count() > 0
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| relative.to_owned())
}

/// The practice columns before their times are parsed.
struct RawPractice {
    ease: f64,
    interval_days: f64,
    due_at: String,
    last_score: f64,
    reps: u32,
    last_practiced: String,
}

fn raw_practice(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawPractice> {
    Ok(RawPractice {
        ease: row.get(1)?,
        interval_days: row.get(2)?,
        due_at: row.get(3)?,
        last_score: row.get(4)?,
        reps: row.get(5)?,
        last_practiced: row.get(6)?,
    })
}

impl RawPractice {
    fn parse(self, db: &Path, prompt_id: &str) -> Result<PracticeState, StoreError> {
        let time = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt {
                    path: db.to_owned(),
                    detail: format!(
                        "practice time \"{text}\" of prompt {prompt_id} is unreadable ({e})"
                    ),
                })
        };
        Ok(PracticeState {
            ease: self.ease,
            interval_days: self.interval_days,
            due_at: time(&self.due_at)?,
            last_score: self.last_score,
            reps: self.reps,
            last_practiced: time(&self.last_practiced)?,
        })
    }
}

fn practice_state(
    conn: &Connection,
    db: &Path,
    prompt_id: &str,
) -> Result<Option<PracticeState>, StoreError> {
    conn.query_row(
        "SELECT prompt_id, ease, interval_days, due_at, last_score, reps, last_practiced
         FROM practice WHERE prompt_id = ?1",
        [prompt_id],
        raw_practice,
    )
    .optional()
    .map_err(sql(db))?
    .map(|raw| raw.parse(db, prompt_id))
    .transpose()
}

/// Creates `home` and any missing parents; returns the directories it created, outermost
/// first, so a failure later can remove exactly those. On failure here, removes them itself.
fn create_dirs(home: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut missing = Vec::new();
    let mut next = Some(home);
    while let Some(dir) = next {
        if dir.as_os_str().is_empty() || dir.exists() {
            break;
        }
        missing.push(dir.to_owned());
        next = dir.parent();
    }
    let mut created = Vec::new();
    for dir in missing.into_iter().rev() {
        match fs::create_dir(&dir) {
            Ok(()) => created.push(dir),
            // Another process made it first; it is not ours to remove.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(source) => {
                for dir in created.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(StoreError::HomeNotWritable {
                    path: home.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(created)
}

/// Proves `home` is a directory this process can create files in, by doing it. Permission
/// bits alone would mislead: root writes through them.
fn check_writable(home: &Path) -> io::Result<()> {
    // Unique per call, so two threads opening the same home do not remove each other's probe.
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    let probe = home.join(format!(".viva-write-check-{}-{n}", std::process::id()));
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // A file system without shared memory (some network mounts) refuses WAL; SQLite then
        // keeps its rollback journal, which is slower but just as safe.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Applies the migrations the database lacks, all in one transaction, recording each.
fn migrate(conn: &mut Connection, db: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    // Immediate: of two vivas opening a fresh database together, the second waits and then
    // sees the first one's work instead of applying it again.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(db))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY NOT NULL,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(sql(db))?;
    let current: u32 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(sql(db))?;
    if current > known {
        return Err(StoreError::TooNew {
            path: db.to_owned(),
            found: current,
            known,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql).map_err(sql(db))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.name, utc_text(Utc::now())],
        )
        .map_err(sql(db))?;
    }
    tx.commit().map_err(sql(db))
}

/// Whether the viva that started a session may still be running it.
///
/// On Linux: its `/proc` entry exists and, when both names can be read, runs a program of
/// the same name as this one (a crashed viva's pid may since belong to something else).
/// Elsewhere only this process counts as alive.
fn process_is_alive(pid: i64) -> bool {
    if pid == i64::from(std::process::id()) {
        return true;
    }
    if cfg!(target_os = "linux") {
        if pid <= 0 {
            return false;
        }
        let proc_dir = Path::new("/proc").join(pid.to_string());
        if !proc_dir.exists() {
            return false;
        }
        match (
            fs::read_to_string(proc_dir.join("comm")),
            fs::read_to_string("/proc/self/comm"),
        ) {
            (Ok(theirs), Ok(ours)) => theirs == ours,
            _ => true,
        }
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::fixtures::{card, concept, evenly};
    use chrono::{TimeDelta, TimeZone};

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("home")).unwrap();
        (dir, store)
    }

    fn new_answer(store: &Store, session_id: &str, prompt_id: &str, try_number: u32) -> NewAnswer {
        NewAnswer {
            session_id: session_id.into(),
            prompt_id: prompt_id.into(),
            category: "culture".into(),
            follow_up_of: None,
            try_number,
            audio_path: store
                .session_dir(session_id)
                .join(format!("{prompt_id}-{try_number}.wav")),
            question_audio_path: None,
        }
    }

    /// Starts and completes an answer scoring `overall`; returns its id.
    fn answered(store: &mut Store, session_id: &str, prompt_id: &str, overall: f64) -> i64 {
        let new = new_answer(store, session_id, prompt_id, 1);
        let id = store.start_answer(new).unwrap();
        let t = evenly("I took full ownership");
        let c = card(prompt_id, &t, overall, vec![], &[], &[]);
        store.complete_answer(id, &t, &c).unwrap();
        id
    }

    fn migrations(store: &Store) -> Vec<(u32, String, String)> {
        let mut stmt = store
            .conn
            .prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn session_status(store: &Store, id: &str) -> String {
        store.session(id).unwrap().status
    }

    #[test]
    fn migrations_apply_once_and_are_recorded() {
        let (_dir, store) = open();
        let applied = migrations(&store);
        let versions: Vec<u32> = applied.iter().map(|m| m.0).collect();
        let known: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, known);
        assert_eq!(applied[0].1, "init");
        assert!(DateTime::parse_from_rfc3339(&applied[0].2).is_ok());
        for table in ["sessions", "answers", "practice"] {
            let n: i64 = store
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{table}");
        }
    }

    #[test]
    fn reopening_does_not_reapply_migrations_or_lose_data() {
        let (dir, mut store) = open();
        let before = migrations(&store);
        let id = store.create_session(None).unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("home")).unwrap();
        assert_eq!(migrations(&store), before);
        assert_eq!(store.session(&id).unwrap().id, id);
    }

    #[test]
    fn a_database_newer_than_the_code_is_refused_and_kept() {
        let (dir, store) = open();
        store
            .conn
            .execute(
                "INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        drop(store);
        let home = dir.path().join("home");
        let err = Store::open(&home)
            .err()
            .expect("a newer schema must be refused");
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{message}"
        );
        assert!(message.contains("viva.db"), "{message}");
        assert!(message.contains("upgrade viva"), "{message}");
        assert!(home.join(DB_FILE).exists());
    }

    #[test]
    fn wal_mode_and_foreign_keys_are_on() {
        let (_dir, store) = open();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let orphan = store.conn.execute(
            "INSERT INTO answers (session_id, seq, prompt_id, category, try_number, audio_path,
                                  started_at, status)
             VALUES ('nope', 1, 'p', 'c', 1, 'a.wav', 'now', 'recording')",
            [],
        );
        assert!(orphan.is_err());
    }

    #[test]
    fn a_missing_home_and_its_parents_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/b/viva");
        Store::open(&home).unwrap();
        assert!(home.join(DB_FILE).is_file());
    }

    #[test]
    fn an_unwritable_home_is_refused_and_nothing_is_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes through permission bits; a path under a regular file fails for anyone.
        let home = if fs::File::create(locked.join("probe")).is_ok() {
            fs::remove_file(locked.join("probe")).unwrap();
            fs::write(dir.path().join("file"), "not a directory").unwrap();
            dir.path().join("file/viva/home")
        } else {
            locked.join("viva/home")
        };
        let err = Store::open(&home)
            .err()
            .expect("an unwritable home must be refused");
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::HomeNotWritable { .. }),
            "{message}"
        );
        assert!(message.contains(&home.display().to_string()), "{message}");
        assert!(
            message.contains("set VIVA_HOME to a writable directory"),
            "{message}"
        );
        assert_eq!(fs::read_dir(&locked).unwrap().count(), 0);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert!(left == ["locked"] || left == ["file", "locked"], "{left:?}");
        if dir.path().join("file").exists() {
            assert!(dir.path().join("file").is_file());
        }
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn an_existing_unwritable_directory_is_refused_without_a_database() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o555)).unwrap();
        if fs::File::create(home.join("probe")).is_ok() {
            // Running as root: permission bits cannot make this case; the test above covers it.
            fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let err = Store::open(&home).err().expect("must be refused");
        assert!(matches!(err, StoreError::HomeNotWritable { .. }), "{err}");
        assert_eq!(fs::read_dir(&home).unwrap().count(), 0);
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn session_ids_are_the_local_time_with_a_suffix_on_collision() {
        let (_dir, mut store) = open();
        let at = Local.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap();
        let ids: Vec<String> = (0..3)
            .map(|_| store.create_session_at(Some("drill"), at).unwrap())
            .collect();
        assert_eq!(
            ids,
            ["20250301-093000", "20250301-093000-2", "20250301-093000-3"]
        );
        for id in &ids {
            assert!(store.session_dir(id).is_dir(), "{id}");
            assert!(is_valid_session_id(id));
        }
        let view = store.session(&ids[0]).unwrap();
        assert_eq!(view.status, "running");
        assert_eq!(view.playlist.as_deref(), Some("drill"));
    }

    #[test]
    fn a_leftover_session_directory_is_not_reused() {
        let (_dir, mut store) = open();
        let at = Local.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap();
        fs::create_dir_all(store.home().join("sessions/20250301-093000")).unwrap();
        assert_eq!(
            store.create_session_at(None, at).unwrap(),
            "20250301-093000-2"
        );
    }

    #[test]
    fn a_new_session_records_this_process_as_its_owner() {
        let (_dir, mut store) = open();
        let id = store.create_session(None).unwrap();
        let pid: i64 = store
            .conn
            .query_row("SELECT pid FROM sessions WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(pid, i64::from(std::process::id()));
    }

    #[test]
    fn ids_that_could_leave_viva_home_are_refused() {
        for bad in [
            "../x",
            "a/b",
            "",
            "..",
            "a.b",
            "-rf",
            "a\\b",
            "a b",
            "é",
            &"1".repeat(65),
        ] {
            assert!(!is_valid_session_id(bad), "{bad:?}");
        }
        for good in ["20250301-093000", "20250301-093000-2", "x"] {
            assert!(is_valid_session_id(good), "{good:?}");
        }
        for bad in ["../x", "a/b", "", "..", "/etc/passwd", "-x"] {
            let name = safe_dir_name(bad);
            assert!(is_valid_session_id(&name), "{bad:?} gave {name:?}");
        }
        let (_dir, mut store) = open();
        for bad in ["../x", "a/b", ""] {
            assert!(matches!(
                store.session(bad),
                Err(StoreError::InvalidSessionId { .. })
            ));
            assert!(matches!(
                store.answer_audio(bad, 1, AudioKind::Answer),
                Err(StoreError::InvalidSessionId { .. })
            ));
            assert!(matches!(
                store.end_session(bad, SessionStatus::Quit),
                Err(StoreError::InvalidSessionId { .. })
            ));
        }
    }

    #[test]
    fn an_unknown_session_names_the_id_and_how_to_list_sessions() {
        let (_dir, store) = open();
        let message = store.session("20990101-000000").unwrap_err().to_string();
        assert!(message.contains("\"20990101-000000\""), "{message}");
        assert!(message.contains("`viva sessions` lists them"), "{message}");
    }

    #[test]
    fn a_completed_answer_round_trips_its_transcript_and_scorecard() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let mut new = new_answer(&store, &session, "culture-decision", 1);
        new.question_audio_path = Some(store.session_dir(&session).join("q1.wav"));
        let answer = store.start_answer(new.clone()).unwrap();
        let t = evenly("So um I took full ownership");
        let c = card(
            "culture-decision",
            &t,
            68.4,
            vec![
                concept("ownership", Some(("took full ownership", 1.5))),
                concept("impact", None),
            ],
            &[("um", 0.5)],
            &[(1.0, 2.25)],
        );
        assert_eq!(
            store.session(&session).unwrap().answers[0].status,
            "recording"
        );
        store.complete_answer(answer, &t, &c).unwrap();

        let view = store.session(&session).unwrap();
        let a = &view.answers[0];
        assert_eq!(a.seq, 1);
        assert_eq!(a.status, "complete");
        assert!(a.complete);
        assert_eq!(a.transcript.as_ref(), Some(&t));
        assert_eq!(a.scorecard.as_ref(), Some(&c));
        assert_eq!(a.audio, new.audio_path);
        assert_eq!(a.question_audio, new.question_audio_path);
        // Inside VIVA_HOME paths are stored relative, so the directory can move.
        let stored: String = store
            .conn
            .query_row(
                "SELECT audio_path FROM answers WHERE id = ?1",
                [answer],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, format!("sessions/{session}/culture-decision-1.wav"));
    }

    #[test]
    fn the_session_json_has_what_review_json_promises() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        answered(&mut store, &session, "p", 70.0);
        let json = serde_json::to_value(store.session(&session).unwrap()).unwrap();
        let answer = &json["answers"][0];
        for key in [
            "prompt_id",
            "audio",
            "question_audio",
            "transcript",
            "scorecard",
            "complete",
            "try",
        ] {
            assert!(answer.get(key).is_some(), "{key} missing from {answer}");
        }
        assert_eq!(answer["complete"], true);
        assert_eq!(answer["try"], 1);
    }

    #[test]
    fn answers_are_numbered_in_order_within_their_session() {
        let (_dir, mut store) = open();
        let a = store.create_session(None).unwrap();
        let b = store.create_session(None).unwrap();
        store.start_answer(new_answer(&store, &a, "p", 1)).unwrap();
        store.start_answer(new_answer(&store, &b, "p", 1)).unwrap();
        store.start_answer(new_answer(&store, &a, "p", 2)).unwrap();
        store.start_answer(new_answer(&store, &a, "q", 1)).unwrap();
        let seqs = |id: &str| -> Vec<(u32, String, u32)> {
            store
                .session(id)
                .unwrap()
                .answers
                .into_iter()
                .map(|a| (a.seq, a.prompt_id, a.try_number))
                .collect()
        };
        assert_eq!(
            seqs(&a),
            [(1, "p".into(), 1), (2, "p".into(), 2), (3, "q".into(), 1)]
        );
        assert_eq!(seqs(&b), [(1, "p".into(), 1)]);
    }

    #[test]
    fn an_answer_cannot_start_in_a_session_that_has_ended() {
        let (_dir, mut store) = open();
        let id = store.create_session(None).unwrap();
        store.end_session(&id, SessionStatus::Complete).unwrap();
        let err = store
            .start_answer(new_answer(&store, &id, "p", 1))
            .unwrap_err();
        assert!(matches!(err, StoreError::SessionNotRunning { .. }), "{err}");
    }

    #[test]
    fn completing_an_answer_schedules_its_prompt_once() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let before = Utc::now();
        let answer = answered(&mut store, &session, "p", 85.0);
        let states = store.practice_states().unwrap();
        let state = &states["p"];
        assert_eq!(state.reps, 1);
        assert_eq!(state.last_score, 85.0);
        assert!(state.last_practiced >= before - TimeDelta::seconds(1));
        assert!(state.due_at > state.last_practiced);

        // Scoring the same answer again replaces the scores but does not count twice.
        let t = evenly("again");
        store
            .complete_answer(answer, &t, &card("p", &t, 95.0, vec![], &[], &[]))
            .unwrap();
        assert_eq!(store.practice_states().unwrap()["p"], *state);
        assert_eq!(store.history(Some("p")).unwrap()[0].overall, 95.0);
    }

    #[test]
    fn a_follow_up_answer_leaves_the_schedule_and_history_alone() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let mut new = new_answer(&store, &session, "p", 1);
        new.follow_up_of = Some("ownership".into());
        let id = store.start_answer(new).unwrap();
        let t = evenly("I decided alone");
        store
            .complete_answer(id, &t, &card("p", &t, 90.0, vec![], &[], &[]))
            .unwrap();
        assert!(store.practice_states().unwrap().is_empty());
        assert!(store.history(None).unwrap().is_empty());
        let view = store.session(&session).unwrap();
        assert_eq!(view.answers[0].follow_up_of.as_deref(), Some("ownership"));
    }

    #[test]
    fn set_answer_status_marks_skips_and_refuses_complete() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let id = store
            .start_answer(new_answer(&store, &session, "p", 1))
            .unwrap();
        store.set_answer_status(id, AnswerStatus::Skipped).unwrap();
        assert_eq!(
            store.session(&session).unwrap().answers[0].status,
            "skipped"
        );
        assert!(matches!(
            store.set_answer_status(id, AnswerStatus::Complete),
            Err(StoreError::CompleteWithoutScores { .. })
        ));
        assert!(matches!(
            store.set_answer_status(9999, AnswerStatus::Skipped),
            Err(StoreError::UnknownAnswer { .. })
        ));
    }

    #[test]
    fn ending_a_session_interrupts_answers_still_recording() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        answered(&mut store, &session, "p", 70.0);
        store
            .start_answer(new_answer(&store, &session, "q", 1))
            .unwrap();
        store.end_session(&session, SessionStatus::Quit).unwrap();
        let view = store.session(&session).unwrap();
        assert_eq!(view.status, "quit");
        assert!(view.ended_at.is_some());
        let statuses: Vec<&str> = view.answers.iter().map(|a| a.status.as_str()).collect();
        assert_eq!(statuses, ["complete", "interrupted"]);
    }

    #[test]
    fn recovery_marks_a_dead_processs_session_and_its_recording_answers_interrupted() {
        let (_dir, mut store) = open();
        let dead = store.create_session(None).unwrap();
        let ours = store.create_session(None).unwrap();
        answered(&mut store, &dead, "p", 70.0);
        let recording = store
            .start_answer(new_answer(&store, &dead, "q", 1))
            .unwrap();
        store
            .start_answer(new_answer(&store, &ours, "q", 1))
            .unwrap();
        let audio = store.session_dir(&dead).join("q-1.wav");
        fs::write(&audio, b"RIFF").unwrap();
        store
            .conn
            .execute(
                "UPDATE sessions SET pid = ?2 WHERE id = ?1",
                params![dead, i64::from(i32::MAX)],
            )
            .unwrap();

        assert_eq!(store.recover_interrupted().unwrap(), [dead.as_str()]);
        assert_eq!(session_status(&store, &dead), "interrupted");
        assert_eq!(session_status(&store, &ours), "running");
        let view = store.session(&dead).unwrap();
        let statuses: Vec<&str> = view.answers.iter().map(|a| a.status.as_str()).collect();
        assert_eq!(statuses, ["complete", "interrupted"]);
        assert_eq!(store.session(&ours).unwrap().answers[0].status, "recording");
        assert!(audio.exists(), "the audio of answer {recording} must stay");
        // A second look finds nothing new.
        assert!(store.recover_interrupted().unwrap().is_empty());
    }

    #[test]
    fn sessions_are_listed_newest_first_with_counts_and_mean() {
        let (_dir, mut store) = open();
        let old = store
            .create_session_at(None, Local.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap())
            .unwrap();
        let new = store
            .create_session_at(
                Some("drill"),
                Local.with_ymd_and_hms(2025, 3, 2, 9, 0, 0).unwrap(),
            )
            .unwrap();
        answered(&mut store, &new, "p", 60.0);
        answered(&mut store, &new, "q", 80.0);
        store
            .start_answer(new_answer(&store, &new, "r", 1))
            .unwrap();

        let list = store.sessions(10).unwrap();
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [new.as_str(), old.as_str()]);
        assert_eq!((list[0].answers, list[0].completed), (3, 2));
        assert_eq!(list[0].mean_overall, Some(70.0));
        assert_eq!(list[0].playlist.as_deref(), Some("drill"));
        assert_eq!((list[1].answers, list[1].mean_overall), (0, None));
        assert_eq!(store.sessions(1).unwrap().len(), 1);
        assert_eq!(store.latest_session().unwrap().unwrap().id, new);
    }

    #[test]
    fn sessions_are_ordered_by_the_instant_they_started_not_by_their_text() {
        let (_dir, mut store) = open();
        // Created first, so its id sorts first; it started last.
        let later = store.create_session(None).unwrap();
        let earlier = store.create_session(None).unwrap();
        let set = |id: &str, at: &str| {
            store
                .conn
                .execute(
                    "UPDATE sessions SET started_at = ?2 WHERE id = ?1",
                    params![id, at],
                )
                .unwrap();
        };
        // 09:00 UTC.
        set(&later, "2025-03-01T09:00:00.000+00:00");
        // 08:00 UTC, though its text sorts after the other's.
        set(&earlier, "2025-03-01T10:00:00.000+02:00");
        assert_eq!(store.latest_session().unwrap().unwrap().id, later);
        let ids: Vec<String> = store
            .sessions(10)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, [later, earlier]);
    }

    #[test]
    fn a_fresh_store_has_no_latest_session() {
        let (_dir, store) = open();
        assert!(store.latest_session().unwrap().is_none());
        assert!(store.sessions(10).unwrap().is_empty());
    }

    #[test]
    fn history_is_oldest_first_completed_only_and_filters_by_prompt() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        answered(&mut store, &session, "p", 40.0);
        answered(&mut store, &session, "q", 90.0);
        store
            .start_answer(new_answer(&store, &session, "p", 2))
            .unwrap();
        answered(&mut store, &session, "p", 75.0);

        let all = store.history(None).unwrap();
        let seen: Vec<(&str, f64)> = all
            .iter()
            .map(|h| (h.prompt_id.as_str(), h.overall))
            .collect();
        assert_eq!(seen, [("p", 40.0), ("q", 90.0), ("p", 75.0)]);
        assert!(all
            .iter()
            .all(|h| h.session_id == session && h.category == "culture"));
        assert!(all[0].wpm > 0.0);
        assert_eq!(all[0].coverage, 100.0);
        let p: Vec<f64> = store
            .history(Some("p"))
            .unwrap()
            .iter()
            .map(|h| h.overall)
            .collect();
        assert_eq!(p, [40.0, 75.0]);
    }

    #[test]
    fn answer_audio_is_served_only_from_inside_viva_home() {
        let (dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let inside = store
            .start_answer(new_answer(&store, &session, "p", 1))
            .unwrap();
        let _ = inside;
        let missing = store
            .answer_audio(&session, 1, AudioKind::Answer)
            .unwrap_err();
        assert!(
            matches!(missing, StoreError::AudioMissing { .. }),
            "{missing}"
        );
        let wav = store.session_dir(&session).join("p-1.wav");
        fs::write(&wav, b"RIFF").unwrap();
        assert_eq!(
            store.answer_audio(&session, 1, AudioKind::Answer).unwrap(),
            wav
        );

        let outside_file = dir.path().join("elsewhere.wav");
        fs::write(&outside_file, b"RIFF").unwrap();
        let mut new = new_answer(&store, &session, "q", 1);
        new.audio_path = outside_file;
        store.start_answer(new).unwrap();
        assert!(matches!(
            store.answer_audio(&session, 2, AudioKind::Answer),
            Err(StoreError::OutsideHome { .. })
        ));

        // A link inside the session directory pointing out of it is refused too.
        let link = store.session_dir(&session).join("link.wav");
        std::os::unix::fs::symlink(dir.path().join("elsewhere.wav"), &link).unwrap();
        let mut new = new_answer(&store, &session, "r", 1);
        new.audio_path = link;
        store.start_answer(new).unwrap();
        assert!(matches!(
            store.answer_audio(&session, 3, AudioKind::Answer),
            Err(StoreError::OutsideHome { .. })
        ));
        assert!(matches!(
            store.answer_audio(&session, 9, AudioKind::Answer),
            Err(StoreError::NoSuchAnswer { seq: 9, .. })
        ));
        // Answers recorded with no spoken question have no question audio to serve.
        assert!(matches!(
            store.answer_audio(&session, 1, AudioKind::Question),
            Err(StoreError::NoSuchAnswer { seq: 1, .. })
        ));
    }

    #[test]
    fn question_audio_is_served_from_inside_viva_home() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let question = store.session_dir(&session).join("question-001.wav");
        fs::write(&question, b"RIFF").unwrap();
        let mut new = new_answer(&store, &session, "p", 1);
        new.question_audio_path = Some(question.clone());
        store.start_answer(new).unwrap();
        assert_eq!(
            store
                .answer_audio(&session, 1, AudioKind::Question)
                .unwrap(),
            question.canonicalize().unwrap()
        );
    }

    #[test]
    fn practice_states_round_trip_through_the_database() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        answered(&mut store, &session, "weak", 30.0);
        answered(&mut store, &session, "strong", 90.0);
        let states = store.practice_states().unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states["weak"].reps, 0);
        assert_eq!(states["weak"].interval_days, schedule::RELEARN_DAYS);
        assert_eq!(states["strong"].reps, 1);
        let due = schedule::most_due(&["strong", "weak", "new"], &states, Utc::now(), 2);
        assert_eq!(due, ["new", "weak"]);
    }
}
