//! The store and the review through the public API: a real scorecard from the scorer is
//! stored, read back, rendered, exported and scheduled.

use std::path::Path;

use chrono::Utc;
use viva::bank::{Concept, Prompt, Rubric, Weights};
use viva::review;
use viva::schedule;
use viva::score::{self, Answer, Scorecard, ScoringSettings};
use viva::store::{NewAnswer, SessionStatus, SessionView, Store};
use viva::transcribe::{Transcript, Word};
use viva::vad::SpeechRegion;

fn prompt() -> Prompt {
    Prompt {
        id: "culture-decision-without-approval".into(),
        category: "culture".into(),
        tags: vec!["netflix".into()],
        text: "Tell me about a decision you made without waiting for sign-off.".into(),
        think_seconds: None,
        structure: None,
        rubric: Rubric {
            seconds: [5.0, 60.0],
            wpm: None,
            weights: Weights::default(),
            concepts: vec![
                Concept {
                    name: "ownership".into(),
                    any: vec!["took ownership".into()],
                    weight: 1.0,
                    follow_up: None,
                    means: None,
                    also_means: Vec::new(),
                },
                Concept {
                    name: "impact".into(),
                    any: vec!["revenue".into()],
                    weight: 1.0,
                    follow_up: Some("What changed because of it?".into()),
                    means: Some("the change I made moved revenue".into()),
                    also_means: Vec::new(),
                },
            ],
            avoid: Vec::new(),
        },
        source: "test".into(),
    }
}

/// Two bursts of speech with a three-second silence between them, scored for real.
fn scored(text_before: &str, text_after: &str) -> (Transcript, Scorecard) {
    let mut words = Vec::new();
    let mut at = 0.5;
    for w in text_before.split_whitespace() {
        words.push(Word {
            text: w.into(),
            start: at,
            end: at + 0.3,
            by_sound: false,
        });
        at += 0.4;
    }
    let first_end = at;
    at += 3.0;
    for w in text_after.split_whitespace() {
        words.push(Word {
            text: w.into(),
            start: at,
            end: at + 0.3,
            by_sound: false,
        });
        at += 0.4;
    }
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let transcript = Transcript {
        text,
        words,
        source: "file".into(),
    };
    let speech = [
        SpeechRegion {
            start: 0.5,
            end: first_end,
        },
        SpeechRegion {
            start: first_end + 3.0,
            end: at,
        },
    ];
    let card = score::score(
        &prompt(),
        Answer {
            transcript: &transcript,
            duration_seconds: at + 1.0,
            speech: &speech,
            meaning: None,
            prosody: None,
        },
        &ScoringSettings::default(),
    );
    (transcript, card)
}

fn record(store: &mut Store, session: &str, try_number: u32, words: (&str, &str)) -> i64 {
    let p = prompt();
    let id = store
        .start_answer(NewAnswer {
            session_id: session.into(),
            prompt_id: p.id.clone(),
            category: p.category.clone(),
            follow_up_of: None,
            try_number,
            audio_path: store
                .session_dir(session)
                .join(format!("answer-{try_number:03}.wav")),
            question_audio_path: None,
        })
        .unwrap();
    let (transcript, card) = scored(words.0, words.1);
    store.complete_answer(id, &transcript, &card).unwrap();
    id
}

fn open(home: &Path) -> Store {
    let mut store = Store::open(home).unwrap();
    store.recover_interrupted().unwrap();
    store
}

#[test]
fn a_session_is_stored_reviewed_exported_and_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("viva");
    let mut store = open(&home);
    let session = store.create_session(Some("netflix-culture")).unwrap();
    record(
        &mut store,
        &session,
        1,
        ("um so I waited for my manager", "and then we shipped it"),
    );
    record(
        &mut store,
        &session,
        2,
        (
            "I took ownership of the launch",
            "and revenue grew ten percent",
        ),
    );
    store
        .end_session(&session, SessionStatus::Complete)
        .unwrap();
    drop(store);

    let store = open(&home);
    let view = store.latest_session().unwrap().unwrap();
    assert_eq!(view.id, session);
    assert_eq!(view.status, "complete");
    assert_eq!(view.answers.len(), 2);

    let text = review::session(&view, 100);
    assert!(text.contains("{um}"), "{text}");
    assert!(
        text.contains(
            "I [ownership: took ownership] of the launch (pause 3.0 s) and [impact: revenue] grew"
        ),
        "{text}"
    );
    assert!(text.contains("my manager (pause 3.0 s) and then"), "{text}");
    assert!(
        text.contains("── Tries of culture-decision-without-approval"),
        "{text}"
    );

    let md = review::markdown(&view);
    assert!(
        md.contains("## 2 · culture-decision-without-approval · try 2"),
        "{md}"
    );

    // The JSON export reads back as the same view.
    let json = serde_json::to_string(&view).unwrap();
    let back: SessionView = serde_json::from_str(&json).unwrap();
    assert_eq!(back, view);

    let history = store.history(None).unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].overall < history[1].overall);
    let table = review::history(&history, None);
    assert!(
        table.contains("culture-decision-without-approval"),
        "{table}"
    );

    let states = store.practice_states().unwrap();
    let due = schedule::most_due(
        &["culture-decision-without-approval", "never-asked"],
        &states,
        Utc::now(),
        1,
    );
    assert_eq!(due, ["never-asked"]);
}
