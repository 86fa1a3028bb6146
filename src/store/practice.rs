//! Each prompt's place in the practice schedule: read for planning rounds, moved on by
//! [`schedule::next`] when an answer to the prompt completes.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{sql, utc_text, Store, StoreError};
use crate::schedule::{self, PracticeState};

impl Store {
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

/// Moves a prompt on in the schedule after an answer to it scored `overall`.
pub(super) fn advance(
    conn: &Connection,
    db: &Path,
    prompt_id: &str,
    overall: f64,
) -> Result<(), StoreError> {
    let prev = practice_state(conn, db, prompt_id)?;
    let state = schedule::next(prev.as_ref(), overall, Utc::now());
    conn.execute(
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::fixtures::{card, evenly};
    use crate::store::test_support::{answered, new_answer, open};
    use chrono::TimeDelta;

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
