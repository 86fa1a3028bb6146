//! Sessions and their answers: session ids, starting and ending sessions, recording and
//! completing answers, reading them back, and marking what a crash left running.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, SecondsFormat};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::files::SESSIONS_DIR;
use super::{now_local, practice, sql, Store, StoreError};
use crate::score::Scorecard;
use crate::transcribe::Transcript;

/// The longest session id accepted; generated ones are 15 to 20 characters.
pub const MAX_SESSION_ID_LEN: usize = 64;
/// Sessions that may start within one second before ids run out (`-2` to `-999`).
pub(super) const MAX_IDS_PER_SECOND: u32 = 999;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Its process is (or was, until it crashed) asking questions.
    Running,
    /// Every step was asked.
    Complete,
    /// The person stopped it.
    Quit,
    /// Its process died without ending it (found by [`Store::recover_interrupted`]), or its
    /// microphone went away mid-answer.
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

pub(super) fn check_session_id(id: &str) -> Result<(), StoreError> {
    if is_valid_session_id(id) {
        Ok(())
    } else {
        Err(StoreError::InvalidSessionId { id: id.to_owned() })
    }
}

impl Store {
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
            practice::advance(&tx, db, &prompt_id, card.overall)?;
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
    use crate::store::test_support::{answered, new_answer, open, owner_died, session_status};
    use crate::store::AudioKind;
    use chrono::TimeZone;

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
        owner_died(&store, &dead);

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
}
