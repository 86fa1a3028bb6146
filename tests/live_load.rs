//! The words heard live depend on the audio alone: the same answer, played as a microphone
//! into a real drill with real tiny.en weights, gives the same transcript on an idle machine
//! and on one whose every core is busy, and the same as `viva transcribe --live` on the file.
//! Where a live segment is cut is decided from the sound, never from how far behind the
//! inference worker is.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{real_model, Sandbox};

const BANK: &str = r#"
[[prompt]]
id = "decide"
category = "culture"
tags = ["test"]
text = "Tell me about a decision you made with too little data."

[prompt.rubric]
seconds = [20, 120]

[[prompt.rubric.concept]]
name = "the decision"
any = ["decided", "decision"]
"#;

const PLAYLIST: &str = "name = \"one\"\nfollow_ups = false\n[[step]]\nprompt = \"decide\"\n";

/// Sentences with the pauses between them that cut live segments.
const SENTENCES: [&str; 5] = [
    "We had six weeks of data from one small market, and the holiday had inflated every number in it.",
    "So I split the launch in two, shipping to the three markets that looked most like the test first.",
    "Then we watched retention for a month before we widened it to everyone else.",
    "The second wave came in four points lower than the test, which is roughly what I had expected.",
    "Looking back, deciding early with a way to undo it was worth more than waiting for a perfect read.",
];

/// Keeps every core busy until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..cores + 1)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 1u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One drill in its own home, answering from `answer` at real-time speed; the stored
/// transcript.
fn drill_transcript(sb: &Sandbox, home_name: &str, model: &Path, answer: &Path) -> String {
    let home = sb.path(home_name);
    std::fs::create_dir_all(home.join("prompts/playlists")).unwrap();
    std::fs::write(home.join("prompts/test.toml"), BANK).unwrap();
    std::fs::write(home.join("prompts/playlists/one.toml"), PLAYLIST).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_viva"))
        .args([
            "--model",
            model.to_str().unwrap(),
            "drill",
            "one",
            "--tts",
            "none",
            "--realtime",
            "--input",
            answer.to_str().unwrap(),
        ])
        .env("VIVA_HOME", &home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the drill failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let review = std::process::Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(["review", "--json"])
        .env("VIVA_HOME", &home)
        .output()
        .unwrap();
    let review: serde_json::Value = serde_json::from_slice(&review.stdout).unwrap();
    let text = review["answers"][0]["transcript"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no transcript in the review: {review}"))
        .to_owned();
    text
}

#[test]
fn a_live_transcript_is_the_same_on_an_idle_and_on_a_loaded_machine() {
    let model = real_model("tiny.en");
    let sb = Sandbox::new();
    // espeak-ng speaks at 22.05 kHz; the answer is made 16 kHz so the drill and the file path
    // hear the same samples (no resampler between them).
    let pause = sb.silence("pause.wav", 0.8, 22_050);
    let mut parts = Vec::new();
    for (i, sentence) in SENTENCES.iter().enumerate() {
        if i > 0 {
            parts.push(pause.clone());
        }
        parts.push(sb.speak(&format!("s{i}.wav"), sentence, 170));
    }
    let parts: Vec<&Path> = parts.iter().map(|p| p.as_path()).collect();
    let spoken = sb.concat("spoken.wav", &parts);
    let answer = sb.path("answer.wav");
    common::run(
        "sox",
        &[
            spoken.to_str().unwrap(),
            "-r",
            "16000",
            answer.to_str().unwrap(),
        ],
    );

    let idle = drill_transcript(&sb, "idle", &model, &answer);
    let loaded = {
        let _load = Load::start();
        drill_transcript(&sb, "loaded", &model, &answer)
    };
    let file = sb.viva_json(&[
        "transcribe",
        answer.to_str().unwrap(),
        "--live",
        "--json",
        "--model",
        model.to_str().unwrap(),
    ]);
    let file = file["transcript"]["text"].as_str().unwrap().to_owned();

    assert!(
        idle.split_whitespace().count() >= 60,
        "the drill heard the answer: {idle}"
    );
    assert_eq!(idle, loaded, "idle and loaded drills heard different words");
    assert_eq!(idle, file, "the drill and `viva transcribe --live` differ");
}
