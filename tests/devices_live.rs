//! viva on real sound devices: each test starts its own PulseAudio server whose null sink is
//! the speaker and whose monitor is the microphone (`tests/common/sound.rs`). Answers are
//! played into the sink with paplay while the real binary records them through cpal and
//! transcribes them with the real tiny.en model.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::sound::{self, SoundServer, NAMED_INPUT, NAMED_INPUT_ID, SINK};
use common::Sandbox;
use serde_json::Value;

/// Two short prompts, and `brief` whose rubric allows 3 s, so its answer is cut at 3 + 10 s.
const BANK: &str = r#"
[[prompt]]
id = "decide"
category = "culture"
tags = ["test"]
text = "Tell me about a decision you made alone."

[prompt.rubric]
seconds = [5, 30]

[[prompt.rubric.concept]]
name = "ownership"
any = ["took ownership"]

[[prompt]]
id = "design"
category = "system-design"
tags = ["test"]
text = "How would you start designing a recommendation engine?"

[prompt.rubric]
seconds = [5, 30]

[[prompt.rubric.concept]]
name = "goal"
any = ["success metric"]

[[prompt]]
id = "brief"
category = "culture"
tags = ["test"]
text = "Say it in three seconds."

[prompt.rubric]
seconds = [1, 3]

[[prompt.rubric.concept]]
name = "ownership"
any = ["took ownership"]
"#;

const PLAYLIST: &str = r#"
name = "Two questions"
[[step]]
prompt = "decide"
[[step]]
prompt = "design"
"#;

const DECIDE_ANSWER: &str =
    "I took ownership of the database migration, and as a result we shipped two weeks early.";
const DESIGN_ANSWER: &str =
    "I would start with the users, and pick watch time as the success metric.";

/// One device test at a time: each runs real-time audio and Whisper, and two at once on a
/// small machine starve each other's sound servers.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A sandbox, a sound server, a bank, and the real tiny.en model.
struct Live {
    _turn: std::sync::MutexGuard<'static, ()>,
    sb: Sandbox,
    sound: SoundServer,
    bank: PathBuf,
    model: PathBuf,
}

impl Live {
    fn new() -> Live {
        // A test that failed still hands on its turn.
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let sb = Sandbox::new();
        let bank = sb.path("bank");
        std::fs::create_dir_all(bank.join("playlists")).unwrap();
        std::fs::write(bank.join("test.toml"), BANK).unwrap();
        std::fs::write(bank.join("playlists/two.toml"), PLAYLIST).unwrap();
        Live {
            _turn: turn,
            model: common::real_model("tiny.en"),
            sound: SoundServer::start(),
            sb,
            bank,
        }
    }

    /// `viva ARGS` on this sound server, with this bank and model, stdout and stderr piped.
    fn viva(&self, args: &[&str]) -> Command {
        let mut command = self.sound.command(env!("CARGO_BIN_EXE_viva"));
        command
            .args(["--prompts", self.bank.to_str().unwrap()])
            .args(["--model", self.model.to_str().unwrap()])
            .args(args)
            .env("VIVA_HOME", self.sb.home())
            .env_remove("VIVA_MODEL")
            .env_remove("VIVA_PROMPTS")
            .current_dir(self.sb.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts viva with its stderr in `viva-stderr.log`, which failure messages quote.
    fn spawn(&self, args: &[&str]) -> Child {
        let log = std::fs::File::create(self.sb.path("viva-stderr.log")).unwrap();
        self.viva(args).stderr(log).spawn().expect("run viva")
    }

    /// What the last spawned viva said on stderr so far, without the sound libraries' noise.
    fn said(&self) -> String {
        std::fs::read_to_string(self.sb.path("viva-stderr.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("viva"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.viva(args).output().unwrap();
        assert!(out.status.success(), "viva {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// An answer spoken by espeak-ng, with a second of silence before it.
    fn answer(&self, name: &str, text: &str) -> PathBuf {
        let speech = self.sb.speak(&format!("{name}-speech.wav"), text, 160);
        let lead = self.sb.silence(&format!("{name}-lead.wav"), 1.0, 22050);
        self.sb.concat(name, &[&lead, &speech])
    }

    /// Waits for answer number `n` to start recording (its WAV appears when the microphone
    /// opens), then plays `wav` into the sink.
    fn speak_when_recording(&self, n: usize, wav: &Path) -> Child {
        let home = self.sb.home();
        let name = format!("answer-{n:03}.wav");
        sound::wait_for_file(
            || session_file(&home, &name),
            120,
            &format!(
                "{name} (the microphone opening); viva said: {}",
                self.said()
            ),
        );
        self.sound.play(wav, SINK)
    }

    /// The session's JSON, through `viva review`.
    fn review(&self) -> Value {
        self.json(&["review", "--json"])
    }
}

/// Waits until answer `n`'s WAV, as written so far, holds `seconds` of voice (100 ms blocks
/// above -40 dBFS), reading its 16-bit samples past the header.
fn wait_for_voice(live: &Live, n: usize, seconds: f64) {
    let home = live.sb.home();
    let name = format!("answer-{n:03}.wav");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let bytes = session_file(&home, &name)
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        let samples: Vec<f32> = bytes
            .get(44..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        let voiced = sound::block_rms(&samples)
            .iter()
            .filter(|&&rms| rms > 0.01)
            .count();
        if voiced as f64 / 10.0 >= seconds {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never held {seconds} s of voice; viva said: {}",
            live.said()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A file in the (only) session folder under `home`.
fn session_file(home: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(home.join("sessions"))
        .ok()?
        .flatten()
        .map(|s| s.path().join(name))
        .find(|p| p.is_file())
}

/// Waits for viva to exit within `seconds`, or kills it and fails; its stderr is `said`.
fn finish(live: &Live, mut child: Child, seconds: u64) -> (Output, String) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "viva did not finish within {seconds} s; it said: {}",
                live.said()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), live.said())
}

/// Stops a helper process (a player, the daemon) and reaps it.
fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn seconds_of(wav: &Path) -> f64 {
    let reader = hound::WavReader::open(wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    reader.duration() as f64 / reader.spec().sample_rate as f64
}

fn samples_of(wav: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(wav).unwrap();
    reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

/// Seconds from the start of a 16 kHz recording to its first and after its last 100 ms block
/// louder than `floor` RMS.
fn loud_span(samples: &[f32], floor: f32) -> Option<(f64, f64)> {
    let blocks = sound::block_rms(samples);
    let first = blocks.iter().position(|&r| r > floor)?;
    let last = blocks.iter().rposition(|&r| r > floor)?;
    Some((first as f64 * 0.1, (last + 1) as f64 * 0.1))
}

fn words(text: &str) -> String {
    common::normalised_words(text)
}

fn transcript_of(answer: &Value) -> String {
    words(
        answer["scorecard"]["transcript"]["text"]
            .as_str()
            .unwrap_or(""),
    )
}

#[test]
fn ask_speaks_the_question_and_keeps_the_microphone_shut_while_it_plays() {
    let live = Live::new();
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    // Everything viva plays reaches the monitor: this is what the microphone would hear.
    let monitor = live.sound.record(&format!("{SINK}.monitor"));
    let viva = live.spawn(&["ask", "decide", "--tts", "espeak-ng"]);
    let player = live.speak_when_recording(1, &answer);
    let (out, said) = finish(&live, viva, 180);
    assert!(out.status.success(), "{said}");
    stop(player);
    let heard = monitor.stop(&live.sb.path("monitor.wav"));

    let session = live.review();
    let kept = &session["answers"][0];
    let question_wav = PathBuf::from(kept["question_audio"].as_str().unwrap());
    let answer_wav = PathBuf::from(kept["audio"].as_str().unwrap());

    // The question was played through cpal: the monitor carried it, and tiny.en hears it there.
    let question_seconds = seconds_of(&question_wav);
    assert!(question_seconds > 1.0, "espeak-ng spoke the question");
    let on_monitor = live.json(&[
        "transcribe",
        "--json",
        live.sb.path("monitor.wav").to_str().unwrap(),
    ]);
    let monitor_words = words(on_monitor["transcript"]["text"].as_str().unwrap());
    assert!(
        monitor_words.contains("decision you made alone"),
        "the question is audible on the monitor: {monitor_words:?}"
    );
    assert!(
        monitor_words.contains("ownership"),
        "and so is the answer: {monitor_words:?}"
    );
    let (sound_starts, _) = loud_span(&heard, 0.01).expect("the monitor heard something");

    // Yet the answer holds none of it: its words are the answer's only, and its sound is as
    // long as the answer's speech (the question is longer than that gap by far).
    let transcript = transcript_of(kept);
    assert!(transcript.contains("ownership"), "{transcript:?}");
    for question_word in ["decision", "alone", "tell me"] {
        assert!(
            !transcript.contains(question_word),
            "the question leaked into the answer: {transcript:?}"
        );
    }
    let recorded = samples_of(&answer_wav);
    let (speech_from, speech_to) = loud_span(&recorded, 0.01).expect("the answer was recorded");
    let spoken = common::trimmed_seconds(&live.sb.path("answer.wav-speech.wav"));
    assert!(
        speech_to - speech_from < spoken + 0.5,
        "the answer WAV holds {:.1} s of sound for {spoken:.1} s of answer",
        speech_to - speech_from
    );
    assert!(
        speech_from > 0.5,
        "the answer WAV starts with the answer's second of silence, not the question's tail (sound at {speech_from:.1} s)"
    );
    // And the monitor heard the question before anything was recorded.
    assert!(sound_starts < 2.0 + question_seconds, "{sound_starts}");
}

#[test]
fn a_drill_records_each_answer_from_the_microphone() {
    let live = Live::new();
    let answers = [
        live.answer("a1.wav", DECIDE_ANSWER),
        live.answer("a2.wav", DESIGN_ANSWER),
    ];
    let viva = live.spawn(&["drill", "two", "--tts", "none", "--seed", "1"]);
    for (n, answer) in answers.iter().enumerate() {
        let mut player = live.speak_when_recording(n + 1, answer);
        player.wait().unwrap();
    }
    let (out, said) = finish(&live, viva, 240);
    assert!(out.status.success(), "{said}");

    let session = live.review();
    assert_eq!(session["status"], "complete", "{session}");
    let kept = session["answers"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "{session}");
    assert_eq!(kept[0]["prompt_id"], "decide");
    assert!(
        transcript_of(&kept[0]).contains("database migration"),
        "{}",
        kept[0]
    );
    assert_eq!(kept[1]["prompt_id"], "design");
    assert!(
        transcript_of(&kept[1]).contains("success metric"),
        "{}",
        kept[1]
    );
    for answer in kept {
        let wav = PathBuf::from(answer["audio"].as_str().unwrap());
        let reader = hound::WavReader::open(&wav).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().channels, 1);
    }
}

#[test]
fn devices_lists_the_sound_server_and_an_input_is_picked_by_name() {
    let live = Live::new();
    let devices = live.json(&["devices", "--json"]);
    let list = devices.as_array().unwrap();
    let named: Vec<&Value> = list
        .iter()
        .filter(|d| d["name"] == NAMED_INPUT && d["direction"] == "input")
        .collect();
    assert_eq!(named.len(), 1, "{devices}");
    assert_eq!(named[0]["id"], NAMED_INPUT_ID);
    assert!(
        named[0]["config"]
            .as_str()
            .is_some_and(|c| c.contains("Hz")),
        "{devices}"
    );
    for direction in ["input", "output"] {
        let defaults: Vec<&Value> = list
            .iter()
            .filter(|d| d["direction"] == direction && d["default"] == true)
            .collect();
        assert_eq!(defaults.len(), 1, "one default {direction}: {devices}");
        assert_eq!(defaults[0]["id"], "default");
    }
    let table = live.viva(&["devices"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&format!("input  {NAMED_INPUT} [{NAMED_INPUT_ID}]")),
        "{table}"
    );

    // The default microphone now listens to another, silent sink; only the named device
    // hears the answer.
    live.sound
        .pactl(&["load-module", "module-null-sink", "sink_name=elsewhere"]);
    live.sound
        .pactl(&["set-default-source", "elsewhere.monitor"]);
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    let viva = live.spawn(&[
        "ask",
        "decide",
        "--tts",
        "none",
        "--device",
        "test MICROPHONE",
    ]);
    let mut player = live.speak_when_recording(1, &answer);
    player.wait().unwrap();
    let (out, said) = finish(&live, viva, 180);
    assert!(out.status.success(), "{said}");
    let transcript = transcript_of(&live.review()["answers"][0]);
    assert!(transcript.contains("ownership"), "{transcript:?}");

    let out = live
        .viva(&[
            "ask",
            "decide",
            "--tts",
            "none",
            "--device",
            "no such device",
        ])
        .output()
        .unwrap();
    let message = stderr(&out);
    assert!(!out.status.success());
    assert!(
        message.contains("no input device matches `no such device`")
            && message.contains(NAMED_INPUT),
        "the error lists the inputs there are: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn the_answer_ends_after_the_configured_silence_on_a_live_device() {
    let live = Live::new();
    std::fs::create_dir_all(live.sb.home()).unwrap();
    std::fs::write(
        live.sb.home().join("config.toml"),
        "[listen]\nsilence_seconds = 2.0\n",
    )
    .unwrap();
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    let viva = live.spawn(&["ask", "decide", "--tts", "none"]);
    let mut player = live.speak_when_recording(1, &answer);
    player.wait().unwrap();
    let (out, said) = finish(&live, viva, 180);
    assert!(out.status.success(), "{said}");
    let wav = PathBuf::from(
        live.review()["answers"][0]["audio"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let (_, speech_end) = loud_span(&samples_of(&wav), 0.01).expect("the answer was recorded");
    let after = seconds_of(&wav) - speech_end;
    assert!(
        (1.6..3.0).contains(&after),
        "the answer ended {after:.2} s after the voice stopped; the configured silence is 2.0 s"
    );
}

#[test]
fn a_live_answer_is_cut_at_the_rubrics_maximum_plus_grace() {
    let live = Live::new();
    // Speech for 16 s, with no pause long enough to end the answer: the clock must.
    let sentence = live.sb.speak("sentence.wav", DECIDE_ANSWER, 160);
    let parts: Vec<&Path> = std::iter::repeat_n(sentence.as_path(), 4).collect();
    let long = live.sb.concat("long.wav", &parts);
    assert!(seconds_of(&long) > 15.0);
    let viva = live.spawn(&["ask", "brief", "--tts", "none"]);
    let player = live.speak_when_recording(1, &long);
    let (out, said) = finish(&live, viva, 180);
    stop(player);
    assert!(out.status.success(), "{said}");
    let wav = PathBuf::from(
        live.review()["answers"][0]["audio"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let length = seconds_of(&wav);
    assert!(
        (length - 13.0).abs() < 0.02,
        "the answer is cut at 3 s + 10 s of grace, not {length:.3} s"
    );
}

#[test]
fn a_microphone_that_disappears_mid_answer_ends_it_and_keeps_what_was_said() {
    let live = Live::new();
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    let viva = live.spawn(&["ask", "decide", "--tts", "none"]);
    let player = live.speak_when_recording(1, &answer);
    // Unplugged once the answer holds 2.6 s of voice: "I took ownership of the database
    // migration" is said by then, and "two weeks", 2 s later, never is. Counted on the
    // recording itself, so a slow machine that starts the player late changes nothing.
    wait_for_voice(&live, 1, 2.6);
    live.sound.pactl(&["unload-module", "module-null-sink"]);
    let (out, message) = finish(&live, viva, 120);
    stop(player);
    assert!(out.status.success(), "{message}");
    assert_eq!(
        message
            .matches("the answer ends here and what was said is kept")
            .count(),
        1,
        "one clear message: {message}"
    );
    assert!(message.contains("the microphone ("), "{message}");

    let kept = &live.review()["answers"][0];
    assert_eq!(kept["complete"], true, "{kept}");
    let transcript = transcript_of(kept);
    assert!(transcript.contains("ownership"), "{transcript:?}");
    assert!(
        !transcript.contains("two weeks"),
        "nothing after the device went: {transcript:?}"
    );
    let wav = PathBuf::from(kept["audio"].as_str().unwrap());
    let length = seconds_of(&wav);
    assert!(
        (1.0..5.0).contains(&length),
        "the recording stops where the device went, 3.8 s in, less what the sound server still held ({length:.2} s)"
    );
}

#[test]
fn a_microphone_that_disappears_in_a_drill_ends_the_session_as_interrupted_at_once() {
    let live = Live::new();
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    let viva = live.spawn(&["drill", "two", "--tts", "none"]);
    let player = live.speak_when_recording(1, &answer);
    wait_for_voice(&live, 1, 2.6);
    live.sound.pactl(&["unload-module", "module-null-sink"]);
    let unplugged = Instant::now();
    let (out, message) = finish(&live, viva, 120);
    stop(player);
    assert!(out.status.success(), "{message}");
    // At once: the first answer is scored (tiny.en, a few seconds) and nothing more is tried.
    assert!(
        unplugged.elapsed() < Duration::from_secs(40),
        "the drill took {:.0} s to end after the microphone went",
        unplugged.elapsed().as_secs_f64()
    );
    assert_eq!(
        message.matches("the microphone (").count(),
        1,
        "one message about the microphone: {message}"
    );
    assert!(message.contains("marked interrupted"), "{message}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("recommendation engine"),
        "the second question is never asked: {stdout}"
    );
    let all_stderr = std::fs::read_to_string(live.sb.path("viva-stderr.log")).unwrap();
    assert!(
        !all_stderr.contains("ALSA lib"),
        "no sound-library noise: {all_stderr}"
    );

    let session = live.review();
    assert_eq!(session["status"], "interrupted", "{session}");
    let answers = session["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{session}");
    let transcript = transcript_of(&answers[0]);
    assert!(transcript.contains("ownership"), "{transcript:?}");
}

#[test]
fn the_level_meter_reports_the_voice_as_it_is_heard() {
    let live = Live::new();
    let answer = live.answer("answer.wav", DECIDE_ANSWER);
    let daemon = live
        .viva(&["serve", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let info = wait_for_serve(&live.sb.home(), daemon.id());
    let base = format!("http://127.0.0.1:{}", info["port"]);
    let token = info["token"].as_str().unwrap().to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let (events_tx, events) = std::sync::mpsc::channel::<(String, Value)>();
    let stream = agent
        .get(format!("{base}/api/rounds/current/events"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    std::thread::spawn(move || {
        let mut name = String::new();
        for line in std::io::BufReader::new(stream.into_body().into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let value = serde_json::from_str(data).unwrap_or(Value::Null);
                if events_tx.send((name.clone(), value)).is_err() {
                    return;
                }
            }
        }
    });
    let started = agent
        .post(format!("{base}/api/rounds"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(r#"{"prompt": "decide", "tts": "none"}"#)
        .unwrap();
    assert!(started.status().is_success(), "{:?}", started.status());

    let mut levels = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut player = None;
    loop {
        let (name, event) = events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the round ended");
        match name.as_str() {
            "recording" => player = Some(live.sound.play(&answer, SINK)),
            "level" => levels.push(event),
            "ended" => break,
            _ => {}
        }
    }
    if let Some(player) = player {
        stop(player);
    }
    stop(daemon);

    let rms: Vec<f64> = levels.iter().map(|l| l["rms"].as_f64().unwrap()).collect();
    let seconds: Vec<f64> = levels
        .iter()
        .map(|l| l["seconds"].as_f64().unwrap())
        .collect();
    let recorded = *seconds.last().expect("levels were reported");
    // About ten a second, in order, each between 0 and 1.
    assert!(
        (levels.len() as f64) > 7.0 * recorded && (levels.len() as f64) < 13.0 * recorded,
        "{} levels in {recorded:.1} s",
        levels.len()
    );
    assert!(seconds.windows(2).all(|w| w[0] <= w[1]), "{seconds:?}");
    assert!(rms.iter().all(|r| (0.0..=1.0).contains(r)), "{rms:?}");
    // Quiet before the voice (the answer opens with a second of silence), loud during it, and
    // as loud as the played file is: the meter measures what the device delivered.
    let quiet: Vec<f64> = levels
        .iter()
        .filter(|l| l["seconds"].as_f64().unwrap() < 0.6)
        .map(|l| l["rms"].as_f64().unwrap())
        .collect();
    assert!(
        !quiet.is_empty() && quiet.iter().all(|&r| r < 0.003),
        "{quiet:?}"
    );
    assert!(
        levels
            .iter()
            .filter(|l| l["seconds"].as_f64().unwrap() < 0.6)
            .all(|l| l["speaking"] == false),
        "no voice in the silence: {levels:?}"
    );
    assert!(
        levels.iter().any(|l| l["speaking"] == true),
        "the voice is marked"
    );
    let file_peak = sound::block_rms(&resampled_16k(&live, &answer))
        .into_iter()
        .fold(0.0f32, f32::max) as f64;
    let meter_peak = rms.iter().cloned().fold(0.0, f64::max);
    assert!(
        meter_peak > 0.6 * file_peak && meter_peak < 1.5 * file_peak,
        "the meter's loudest block is {meter_peak:.3}; the file's is {file_peak:.3}"
    );
}

/// The daemon's serve.json, once the daemon with `pid` has written it.
fn wait_for_serve(home: &Path, pid: u32) -> Value {
    let file = home.join("serve.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Ok(info) = serde_json::from_str::<Value>(&text) {
            if info["pid"].as_u64() == Some(pid as u64) {
                return info;
            }
        }
        assert!(Instant::now() < deadline, "serve.json never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A WAV converted by sox to 16 kHz mono, as samples.
fn resampled_16k(live: &Live, wav: &Path) -> Vec<f32> {
    let out = live.sb.path("answer-16k.wav");
    common::run(
        "sox",
        &[
            wav.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            out.to_str().unwrap(),
        ],
    );
    samples_of(&out)
}
