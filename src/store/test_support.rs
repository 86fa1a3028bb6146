//! What the store's tests share: a fresh store, answers started and completed, a session whose
//! owner died.

use rusqlite::params;

use super::{NewAnswer, Store};
use crate::review::fixtures::{card, evenly};

pub fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("home")).unwrap();
    (dir, store)
}

pub fn new_answer(store: &Store, session_id: &str, prompt_id: &str, try_number: u32) -> NewAnswer {
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
pub fn answered(store: &mut Store, session_id: &str, prompt_id: &str, overall: f64) -> i64 {
    let new = new_answer(store, session_id, prompt_id, 1);
    let id = store.start_answer(new).unwrap();
    let t = evenly("I took full ownership");
    let c = card(prompt_id, &t, overall, vec![], &[], &[]);
    store.complete_answer(id, &t, &c).unwrap();
    id
}

pub fn session_status(store: &Store, id: &str) -> String {
    store.session(id).unwrap().status
}

/// Makes a session's owner a process that no longer exists.
pub fn owner_died(store: &Store, id: &str) {
    store
        .conn
        .execute(
            "UPDATE sessions SET pid = ?2 WHERE id = ?1",
            params![id, i64::from(i32::MAX)],
        )
        .unwrap();
}
