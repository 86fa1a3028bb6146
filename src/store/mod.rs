//! Sessions kept on disk: one SQLite database, `$VIVA_HOME/viva.db`, and each session's
//! recordings beside it in `$VIVA_HOME/sessions/<session-id>/`.
//!
//! The store owns the schema, session ids, the state of every answer (`recording` until it
//! is scored, `interrupted` if viva died first), the practice schedule (updated by
//! [`crate::schedule::next`] as answers complete), and the rule that no path it hands out
//! leaves `VIVA_HOME`. It stores transcripts and scorecards as their JSON contracts and never
//! judges them. One file a concern:
//!
//! - `schema.rs`: numbered migrations in `store/migrations/`, applied in one transaction and
//!   recorded in `schema_migrations`; the connection's settings.
//! - `sessions.rs`: session ids, sessions and their answers, and recovery after a crash.
//! - `history.rs`: completed answers over time.
//! - `practice.rs`: each prompt's place in the practice schedule.
//! - `files.rs`: `VIVA_HOME` and the recordings in it: creating it, the paths kept and handed
//!   out, repairing recordings a kill cut short.
//! - `mod.rs` (here): opening the store, its errors, and what a start recovers.

mod files;
mod history;
mod practice;
mod schema;
mod sessions;
#[cfg(test)]
mod test_support;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode};

use files::{check_writable, create_dirs};
use schema::{configure, migrate};
use sessions::MAX_IDS_PER_SECOND;

pub use files::{AudioKind, DB_FILE, SESSIONS_DIR};
pub use history::HistoryPoint;
pub use sessions::{
    is_valid_session_id, AnswerStatus, AnswerView, NewAnswer, SessionStatus, SessionSummary,
    SessionView, MAX_SESSION_ID_LEN,
};

/// How long a write waits for another viva process holding the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Where error messages send a person looking for session ids.
const LIST_HINT: &str = "`viva sessions` lists them";

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

/// The open database and the directory it lives in.
pub struct Store {
    /// One connection per process; WAL lets another viva read while this one writes.
    conn: Connection,
    /// `VIVA_HOME`, canonical: the root no path handed out may leave.
    home: PathBuf,
    /// `home/viva.db`, kept for error messages.
    db_path: PathBuf,
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

    /// What a start finds a crash left behind: sessions marked interrupted
    /// ([`Store::recover_interrupted`]) and recordings repaired ([`Store::repair_recordings`]),
    /// as lines to tell the person.
    pub fn recover(&mut self) -> Result<Vec<String>, StoreError> {
        let mut said: Vec<String> = self
            .recover_interrupted()?
            .into_iter()
            .map(|id| {
                format!("session {id} was interrupted; its answers so far are kept (`viva review {id}`)")
            })
            .collect();
        for repair in self.repair_recordings()? {
            said.push(match repair {
                Ok(repaired) => repaired.to_string(),
                Err(failed) => failed.to_string(),
            });
        }
        Ok(said)
    }
}
