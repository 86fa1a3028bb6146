//! Spoken rounds end to end through the binary, without a microphone: espeak-ng speaks the
//! questions (into the session) and, into files, the answers; `--input` feeds those answers
//! through the same capture pipeline the microphone uses, into the weightless Whisper model.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sandbox, TWO_PROMPT_BANK as BANK};
use serde_json::Value;

/// A say step, a question whose missed concept has a follow-up, a question to repeat.
const PLAYLIST: &str = r#"
name = "Test drill"
[[step]]
say = "We will start with a decision."
[[step]]
prompt = "decide"
[[step]]
prompt = "design"
repeat_until = 70
max_tries = 2
"#;

/// One question, no follow-ups: one answer per drill.
const ONE_QUESTION: &str = "name = \"one\"\nfollow_ups = false\n[[step]]\nprompt = \"design\"\n";

struct Drill {
    sb: Sandbox,
    home: PathBuf,
    model: PathBuf,
}

impl Drill {
    fn new(playlist: &str) -> Self {
        let sb = Sandbox::new();
        let home = sb.home();
        std::fs::create_dir_all(home.join("prompts/playlists")).unwrap();
        std::fs::write(home.join("prompts/test.toml"), BANK).unwrap();
        std::fs::write(home.join("prompts/playlists/test.toml"), playlist).unwrap();
        let model = sb.weightless_model();
        Self { sb, home, model }
    }

    fn answer(&self, name: &str, text: &str) -> PathBuf {
        self.sb.speak(name, text, 160)
    }

    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--model", self.model.to_str().unwrap()];
        args.extend_from_slice(extra);
        args
    }

    fn review(&self) -> Value {
        self.sb.viva_json(&["review", "--json"])
    }

    /// `viva drill test` answering from `input` at real-time speed, in the background.
    fn spawn_realtime(&self, input: &Path) -> Child {
        Command::new(env!("CARGO_BIN_EXE_viva"))
            .args(self.args(&[
                "drill",
                "test",
                "--tts",
                "none",
                "--realtime",
                "--input",
                input.to_str().unwrap(),
            ]))
            .env("VIVA_HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Waits, while `child` records, until its answer's WAV is longer than `bytes`.
    fn answer_wav_longer_than(&self, child: &mut Child, bytes: u64) -> PathBuf {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(path) = common::first_answer_wav(&self.home) {
                if std::fs::metadata(&path).map_or(0, |m| m.len()) > bytes {
                    return path;
                }
            }
            assert!(Instant::now() < deadline, "no answer recording appeared");
            assert!(
                child.try_wait().unwrap().is_none(),
                "viva ended before the kill"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn seconds_of(wav: &Path) -> f64 {
    let reader = hound::WavReader::open(wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    reader.duration() as f64 / reader.spec().sample_rate as f64
}

#[test]
fn a_full_drill_runs_from_recordings_and_is_kept() {
    let d = Drill::new(PLAYLIST);
    let inputs = [
        d.answer(
            "a1.wav",
            "I decided to ship the launch a week early on my own.",
        ),
        d.answer(
            "a2.wav",
            "I owned the launch date and the risk that came with it.",
        ),
        d.answer(
            "a3.wav",
            "I would first ask who the recommendations are for.",
        ),
        d.answer(
            "a4.wav",
            "Then I would pick hours watched as the success metric.",
        ),
    ];
    let mut args = d.args(&["drill", "test", "--tts", "espeak-ng", "--seed", "7"]);
    for input in &inputs {
        args.extend(["--input", input.to_str().unwrap()]);
    }
    let out = d.sb.viva_ok(&args);
    assert!(out.contains("Q: Tell me about a decision"), "{out}");

    assert!(
        d.home.join("viva.db").is_file(),
        "the database is a real file"
    );
    let session = d.review();
    assert_eq!(session["status"], "complete", "{session}");
    assert_eq!(session["playlist"], "test");
    let answers = session["answers"].as_array().unwrap();
    // decide, its follow-up (the weightless model hears no concept), design twice (below 70).
    assert_eq!(
        common::asked(&session),
        [
            ("decide".to_owned(), None, 1),
            ("decide".to_owned(), Some("ownership".to_owned()), 1),
            ("design".to_owned(), None, 1),
            ("design".to_owned(), None, 2),
        ]
    );
    for (answer, input) in answers.iter().zip(&inputs) {
        assert_eq!(answer["complete"], true);
        let audio = PathBuf::from(answer["audio"].as_str().unwrap());
        assert!(
            audio.starts_with(&d.home),
            "audio kept under VIVA_HOME: {}",
            audio.display()
        );
        // The whole answer went through the capture pipeline: 16 kHz mono, same length.
        let reader = hound::WavReader::open(&audio).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().channels, 1);
        assert!((seconds_of(&audio) - seconds_of(input)).abs() < 0.05);
        let question = PathBuf::from(answer["question_audio"].as_str().unwrap());
        assert!(seconds_of(&question) > 1.0, "the spoken question is kept");
        assert_eq!(answer["scorecard"]["transcript"]["source"], "whisper");
        assert!(answer["scorecard"]["speaking_seconds"].as_f64().unwrap() > 1.0);
        assert!(answer["transcript"].is_object());
        // The drill's own recording was measured for delivery: espeak-ng at its normal level.
        let delivery = &answer["scorecard"]["delivery"];
        assert!(delivery["score"].as_f64().is_some(), "{delivery}");
        assert!(delivery["level"]["speech_dbfs"].as_f64().unwrap() > -30.0);
    }
    // The follow-up was scored against its one concept.
    let follow_up = &answers[1]["scorecard"]["coverage"]["concepts"];
    assert_eq!(follow_up.as_array().unwrap().len(), 1);
    assert_eq!(follow_up[0]["name"], "ownership");

    // History follows each prompt's own answers; the follow-up answered another question.
    let history = d.sb.viva_json(&["history", "--json"]);
    let prompts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["prompt_id"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["decide", "design", "design"]);
    let export =
        d.sb.viva_ok(&["export", session["id"].as_str().unwrap(), "--format", "md"]);
    assert!(export.contains("decide"), "{export}");
}

#[test]
fn a_drill_stops_cleanly_when_the_recordings_run_out() {
    let d = Drill::new(PLAYLIST);
    let one = d.answer("a1.wav", "I decided on my own.");
    let args = d.args(&[
        "drill",
        "test",
        "--tts",
        "none",
        "--input",
        one.to_str().unwrap(),
    ]);
    let out = d.sb.viva(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no more --input recordings"), "{stderr}");
    assert_eq!(d.review()["answers"].as_array().unwrap().len(), 1);
}

#[test]
fn an_answer_ends_on_silence_after_speech() {
    let d = Drill::new(ONE_QUESTION);
    let speech = d.answer(
        "speech.wav",
        "I would start from the member and the success metric.",
    );
    let silence = d.sb.silence("silence.wav", 8.0, 22_050);
    let input = d.sb.concat("answer.wav", &[&speech, &silence]);
    let args = d.args(&[
        "drill",
        "test",
        "--tts",
        "none",
        "--input",
        input.to_str().unwrap(),
    ]);
    d.sb.viva_ok(&args);
    let answer = &d.review()["answers"][0];
    let recorded = seconds_of(Path::new(answer["audio"].as_str().unwrap()));
    let spoken = seconds_of(&speech);
    // Three seconds of silence end it (the default), well before the file's eight run out.
    assert!(
        recorded > spoken + 2.0 && recorded < spoken + 5.0,
        "recorded {recorded:.2} s of {spoken:.2} s speech + 8 s silence"
    );
}

#[test]
fn killing_viva_mid_answer_keeps_what_was_recorded() {
    let d = Drill::new(ONE_QUESTION);
    let long = d.answer(
        "long.wav",
        "I would start with the member, then the success metric, then candidate generation, \
         ranking, the artwork, cold start, offline training and online serving, and finally \
         how every change is tested against long term retention rather than clicks alone.",
    );
    let mut child = d.spawn_realtime(&long);
    // Wait until at least three seconds of the answer are on disk, then SIGKILL.
    let wav = d.answer_wav_longer_than(&mut child, 44 + 16_000 * 2 * 3);
    child.kill().unwrap();
    child.wait().unwrap();

    let session = d.review();
    assert_eq!(session["status"], "interrupted", "{session}");
    let answer = &session["answers"][0];
    assert_eq!(answer["complete"], false);
    assert_eq!(PathBuf::from(answer["audio"].as_str().unwrap()), wav);
    // The header was kept valid: the file reads, with (nearly) everything said before the kill.
    let kept = seconds_of(&wav);
    assert!(kept >= 2.0, "only {kept:.2} s readable");
    let samples: Vec<i16> = hound::WavReader::open(&wav)
        .unwrap()
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        samples.iter().any(|s| s.unsigned_abs() > 1000),
        "speech, not silence"
    );
}

/// The samples of a 16-bit WAV as hound reads them (as far as its header says).
fn samples_of(wav: &Path) -> Vec<i16> {
    hound::WavReader::open(wav)
        .unwrap_or_else(|e| panic!("{}: {e}", wav.display()))
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// How many frames Python's `wave` module reads from a WAV (it refuses a broken header).
fn python_wave_frames(wav: &Path) -> usize {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, wave\n\
             w = wave.open(sys.argv[1])\n\
             print(len(w.readframes(w.getnframes())) // w.getsampwidth())",
            wav.to_str().unwrap(),
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for this test ({e}); `apt-get install python3` (scripts/setup-debian installs it)")
        });
    assert!(
        out.status.success(),
        "Python's wave refused {}: {}",
        wav.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn killing_viva_in_the_first_second_of_an_answer_leaves_a_readable_wav_repaired_on_next_start() {
    let d = Drill::new(ONE_QUESTION);
    let long = d.answer(
        "long.wav",
        "I would start with the member, then the success metric, then candidate generation.",
    );
    let mut child = d.spawn_realtime(&long);
    // The moment the first samples are on disk, then 0.2 s more: SIGKILL.
    let wav = d.answer_wav_longer_than(&mut child, 44);
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();

    // Before any repair, hound and Python both read the samples the header covers.
    let read = samples_of(&wav);
    assert!(!read.is_empty(), "the header claimed no audio");
    assert_eq!(python_wave_frames(&wav), read.len());
    let on_disk = (std::fs::metadata(&wav).unwrap().len() - 44) / 2;
    assert!(read.len() as u64 <= on_disk);

    // The next start repairs any lag between header and data; nothing read before is lost.
    let out = d.sb.viva(&["review", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repaired = samples_of(&wav);
    assert_eq!(repaired.len() as u64, on_disk);
    assert_eq!(repaired[..read.len()], read[..]);
    assert_eq!(python_wave_frames(&wav), repaired.len());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.contains("repaired the header"),
        repaired.len() > read.len(),
        "a repair is reported exactly when one was made: {stderr}"
    );
}

#[test]
fn an_unknown_device_is_a_clear_error_listing_devices() {
    let d = Drill::new(PLAYLIST);
    let err = d.sb.viva_err(&d.args(&[
        "drill",
        "test",
        "--tts",
        "none",
        "--device",
        "no-such-mic-xyz",
    ]));
    assert!(err.contains("no-such-mic-xyz"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn unknown_playlists_and_prompts_are_named() {
    let d = Drill::new(PLAYLIST);
    let err = d.sb.viva_err(&d.args(&["drill", "nope", "--tts", "none"]));
    assert!(err.contains("no playlist named `nope`"), "{err}");
    let err = d.sb.viva_err(&d.args(&["ask", "nope", "--tts", "none"]));
    assert!(err.contains("no prompt with id `nope`"), "{err}");
    // A recording that is not audio is refused before any session exists.
    let notes = d.sb.path("notes.wav");
    std::fs::write(&notes, "my notes, not audio").unwrap();
    let err = d.sb.viva_err(&d.args(&[
        "drill",
        "test",
        "--tts",
        "none",
        "--input",
        notes.to_str().unwrap(),
    ]));
    assert!(err.contains("notes.wav: not a WAV file"), "{err}");
    let err = d.sb.viva_err(&["review"]);
    assert!(
        err.contains("no sessions yet"),
        "no session was started: {err}"
    );
    let err = d.sb.viva_err(&["review", "../../etc"]);
    assert!(err.contains("../../etc"), "{err}");
}

#[test]
fn a_playlist_with_an_error_is_reported_at_file_line_col() {
    let d = Drill::new("name = \"bad\"\n[[step]]\nprompt = \"missing\"\n");
    let err = d.sb.viva_err(&d.args(&["drill", "test", "--tts", "none"]));
    let file = d.home.join("prompts/playlists/test.toml");
    assert!(
        err.contains(&format!(
            "{}:3:10: playlist names unknown prompt `missing`",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn an_unwritable_home_is_a_clear_error_and_writes_nothing() {
    let d = Drill::new(PLAYLIST);
    let blocker = d.sb.path("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let home = blocker.join("home");
    let input = d.answer("a1.wav", "I decided.");
    let bank = d.home.join("prompts");
    let out = Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(d.args(&[
            "--prompts",
            bank.to_str().unwrap(),
            "ask",
            "decide",
            "--tts",
            "none",
            "--input",
            input.to_str().unwrap(),
        ]))
        .env("VIVA_HOME", &home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&home.display().to_string()) && stderr.contains("VIVA_HOME"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&blocker).unwrap(),
        "not a directory"
    );
}

#[test]
fn devices_lists_without_failing_even_with_no_sound_hardware() {
    let sb = Sandbox::new();
    let list = sb.viva_json(&["devices", "--json"]);
    assert!(list.is_array());
}
