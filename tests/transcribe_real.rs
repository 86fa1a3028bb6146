//! Transcription on real Whisper weights (tiny.en, from `scripts/install-models`), through the
//! `viva` binary: words right on several synthetic voices, none on steady noise, live segments
//! as good as the whole file, and pauses placed between the right words.
//!
//! The audio is synthesised once per run (espeak-ng, flite, festival, sox) into one temporary
//! directory shared by the tests; the long answer is transcribed once and shared too.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{
    errors_per_reference_word, real_model, run, wer_words, word_error_rate, Sandbox, JFK_WORDS,
};

/// A text-to-speech voice installed on the machine (scripts/setup-debian installs them all).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Voice {
    EspeakNg,
    FliteSlt,
    FliteRms,
    FliteAwb,
    FestivalSltHts,
}

impl Voice {
    const ALL: [Voice; 5] = [
        Voice::EspeakNg,
        Voice::FliteSlt,
        Voice::FliteRms,
        Voice::FliteAwb,
        Voice::FestivalSltHts,
    ];

    /// The highest word error rate (percent) allowed on this voice's two answers (about 150
    /// words). Measured with tiny.en, greedy decoding: espeak-ng 13.6% (20 errors), flite slt
    /// 1.9% (3), rms 2.0% (3), awb 4.6% (7), festival slt hts 0.7% (1). Each bound leaves five
    /// to nine words of margin, so a change that makes transcription clearly worse fails here
    /// and a one-word wobble does not.
    fn wer_bound(self) -> f64 {
        match self {
            Voice::EspeakNg => 20.0,
            Voice::FliteSlt => 6.0,
            Voice::FliteRms => 6.0,
            Voice::FliteAwb => 10.0,
            Voice::FestivalSltHts => 5.0,
        }
    }

    /// Speaks `text` into a 16 kHz mono WAV at `path`.
    fn speak(self, text: &str, path: &Path) {
        let raw = path.with_extension("raw.wav");
        let raw_str = raw.to_str().unwrap();
        match self {
            Voice::EspeakNg => {
                run("espeak-ng", &["-v", "en-us", "-w", raw_str, text]);
            }
            Voice::FliteSlt | Voice::FliteRms | Voice::FliteAwb => {
                let name = match self {
                    Voice::FliteSlt => "slt",
                    Voice::FliteRms => "rms",
                    _ => "awb",
                };
                run("flite", &["-voice", name, "-t", text, "-o", raw_str]);
            }
            Voice::FestivalSltHts => {
                let script = path.with_extension("txt");
                std::fs::write(&script, format!("{text}\n")).unwrap();
                run(
                    "text2wave",
                    &[
                        "-eval",
                        "(voice_cmu_us_slt_arctic_hts)",
                        script.to_str().unwrap(),
                        "-o",
                        raw_str,
                    ],
                );
            }
        }
        to_16k(&raw, path);
    }
}

fn to_16k(from: &Path, to: &Path) {
    run(
        "sox",
        &[
            from.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            to.to_str().unwrap(),
        ],
    );
}

/// Interview answers written for these tests, about 30 s each when spoken.
fn answer_texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spoken-answers.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// One answer inside the long recording: who spoke it and what they said.
struct SpokenAnswer {
    voice: Voice,
    text: String,
}

/// Audio made once for every test in this file.
struct Fixture {
    sandbox: Sandbox,
    model: PathBuf,
    /// Two answers per voice, one after another with short pauses (0.6 s and 1.5 s, as a
    /// speaker takes breath or gathers a thought): about four minutes.
    long_answer: PathBuf,
    answers: Vec<SpokenAnswer>,
}

impl Fixture {
    fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(Fixture::make)
    }

    fn make() -> Fixture {
        let model = real_model("tiny.en");
        let sandbox = Sandbox::new();
        let texts = answer_texts();
        let answers: Vec<SpokenAnswer> = Voice::ALL
            .iter()
            .flat_map(|&voice| [voice, voice])
            .enumerate()
            .map(|(i, voice)| SpokenAnswer {
                voice,
                text: texts[i % texts.len()].clone(),
            })
            .collect();
        let short = sandbox.silence("pause-short.wav", 0.6, 16_000);
        let long = sandbox.silence("pause-long.wav", 1.5, 16_000);
        let mut parts = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            let wav = sandbox.path(&format!("answer-{i}.wav"));
            answer.voice.speak(&answer.text, &wav);
            if i > 0 {
                parts.push(if i % 2 == 0 {
                    long.clone()
                } else {
                    short.clone()
                });
            }
            parts.push(wav);
        }
        let parts: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
        let long_answer = sandbox.concat("long-answer.wav", &parts);
        Fixture {
            sandbox,
            model,
            long_answer,
            answers,
        }
    }

    fn reference(&self) -> String {
        self.answers
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `viva transcribe WAV --json [--live]` with tiny.en.
    fn transcribe(&self, wav: &Path, live: bool) -> serde_json::Value {
        self.transcribe_with(&self.model, wav, live)
    }

    /// `viva transcribe WAV --json [--live]` with `model`.
    fn transcribe_with(&self, model: &Path, wav: &Path, live: bool) -> serde_json::Value {
        let mut args = vec![
            "transcribe",
            wav.to_str().unwrap(),
            "--json",
            "--model",
            model.to_str().unwrap(),
        ];
        if live {
            args.push("--live");
        }
        self.sandbox.viva_json(&args)
    }

    /// The long answer transcribed as a whole file, once.
    fn long_answer_text(&self) -> &str {
        static WHOLE: OnceLock<String> = OnceLock::new();
        WHOLE.get_or_init(|| transcript_text(&self.transcribe(&self.long_answer, false)))
    }
}

fn transcript_text(json: &serde_json::Value) -> String {
    json["transcript"]["text"]
        .as_str()
        .expect("transcript.text")
        .to_owned()
}

/// `sox` noise (or silence) of `seconds` at 16 kHz, made with the effects given.
fn sox_audio(path: &Path, seconds: f64, effects: &[&str]) -> PathBuf {
    let seconds = seconds.to_string();
    let mut args = vec![
        "-n",
        "-r",
        "16000",
        "-c",
        "1",
        "-b",
        "16",
        path.to_str().unwrap(),
    ];
    if effects.is_empty() {
        args.extend(["trim", "0", &seconds]);
    } else {
        args.extend(["synth", &seconds]);
        args.extend(effects);
    }
    run("sox", &args);
    path.to_owned()
}

#[test]
fn jfk_is_transcribed_word_for_word() {
    let fixture = Fixture::get();
    let json = fixture.transcribe(&common::jfk_wav(), false);
    assert_eq!(common::normalised_words(&transcript_text(&json)), JFK_WORDS);
}

#[test]
fn every_voice_is_transcribed_within_its_word_error_bound() {
    let fixture = Fixture::get();
    let hypothesis = wer_words(fixture.long_answer_text());
    // Score the one long transcript answer by answer: align it with the whole reference and
    // charge each error to the answer whose word it falls on.
    let mut voice_of_word = Vec::new();
    for answer in &fixture.answers {
        voice_of_word.extend(wer_words(&answer.text).iter().map(|_| answer.voice));
    }
    let reference = wer_words(&fixture.reference());
    let charged = errors_per_reference_word(&reference, &hypothesis);
    let mut failures = Vec::new();
    for voice in Voice::ALL {
        let (errors, words) = charged
            .iter()
            .zip(&voice_of_word)
            .filter(|(_, v)| **v == voice)
            .fold((0, 0), |(e, n), (c, _)| (e + c, n + 1));
        let wer = 100.0 * errors as f64 / words as f64;
        eprintln!("{voice:?}: WER {wer:.1}% ({errors} errors in {words} words)");
        if wer > voice.wer_bound() {
            failures.push(format!("{voice:?} {wer:.1}% > {}%", voice.wer_bound()));
        }
    }
    assert!(
        failures.is_empty(),
        "word error rate over its bound: {failures:?}\ntranscript: {}",
        fixture.long_answer_text()
    );
}

#[test]
fn live_segments_transcribe_a_long_answer_as_well_as_the_whole_file() {
    let fixture = Fixture::get();
    let reference = fixture.reference();
    let live = transcript_text(&fixture.transcribe(&fixture.long_answer, true));
    let whole_wer = word_error_rate(&reference, fixture.long_answer_text());
    let live_wer = word_error_rate(&reference, &live);
    eprintln!("long answer: whole file WER {whole_wer:.1}%, live WER {live_wer:.1}%");
    // Cut at fixed 28 s marks, live segments lost 3.1 points (7.6% against 4.5%); cut at every
    // half-second pause, 2.3 to 2.7. Since they run on through sentence breaks until 6 s are
    // said, `viva bench fillers` measures 0.2 points on 80-s answers (6.0% against 6.2%). The
    // bound sits below the old failures.
    assert!(
        live_wer <= whole_wer + 3.0,
        "live WER {live_wer:.1}% is more than 3 points over the whole file's {whole_wer:.1}%\n\
         live: {live}\nwhole: {}",
        fixture.long_answer_text()
    );
}

/// The first passage of `min_words` or more that `hypothesis` holds twice in a row where
/// `reference` does not.
fn passage_written_twice(
    reference: &[String],
    hypothesis: &[String],
    min_words: usize,
) -> Option<String> {
    let said_twice = |passage: &[String]| {
        let doubled: Vec<&String> = passage.iter().chain(passage).collect();
        reference
            .windows(doubled.len())
            .any(|w| w.iter().zip(&doubled).all(|(a, b)| a == *b))
    };
    for n in (min_words..=hypothesis.len() / 2).rev() {
        for i in 0..=hypothesis.len() - 2 * n {
            let passage = &hypothesis[i..i + n];
            if passage == &hypothesis[i + n..i + 2 * n] && !said_twice(passage) {
                return Some(passage.join(" "));
            }
        }
    }
    None
}

/// Base repeated a whole 46-word answer once (93 words, 428 a minute). No transcript from
/// tiny.en or base, whole or live, in any voice, holds a passage twice that was said once, or
/// runs above 250 words a minute of speech.
#[test]
fn no_model_writes_a_passage_twice_or_faster_than_anyone_speaks() {
    let fixture = Fixture::get();
    let models = [fixture.model.clone(), real_model("base")];
    for (i, answer) in fixture.answers.iter().enumerate() {
        let wav = fixture.sandbox.path(&format!("answer-{i}.wav"));
        let reference = wer_words(&answer.text);
        for model in &models {
            for live in [false, true] {
                let heard = fixture.transcribe_with(model, &wav, live);
                let words = wer_words(&transcript_text(&heard));
                let speech = heard["speech"].as_array().unwrap();
                let first = speech[0]["start"].as_f64().unwrap();
                let last = speech[speech.len() - 1]["end"].as_f64().unwrap();
                let wpm = words.len() as f64 / ((last - first) / 60.0);
                let what = format!(
                    "{:?} answer {i}, {}, {}",
                    answer.voice,
                    model.file_name().unwrap().to_string_lossy(),
                    if live { "live" } else { "whole file" }
                );
                assert!(wpm <= 250.0, "{what}: {wpm:.0} words a minute: {words:?}");
                if let Some(twice) = passage_written_twice(&reference, &words, 4) {
                    panic!("{what}: \"{twice}\" written twice, said once");
                }
            }
        }
    }
}

#[test]
fn a_live_segment_does_not_write_out_again_the_words_it_was_decoded_after() {
    // Filler-set answer f19 in festival's slt hts voice: tiny.en, live, wrote the 20 words
    // before a segment's cut three times, the copies at one instant: the context the segment
    // was decoded after, written out.
    let fixture = Fixture::get();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let texts = fixture.sandbox.path("filler-texts");
    let out = fixture.sandbox.path("filler-set");
    std::fs::create_dir_all(&texts).unwrap();
    std::fs::copy(
        repo.join("calibration/fillers/f19.txt"),
        texts.join("f19.txt"),
    )
    .unwrap();
    let made = std::process::Command::new(repo.join("scripts/filler-set"))
        .args([out.to_str().unwrap(), "hts"])
        .env("VIVA_FILLER_TEXTS", &texts)
        .output()
        .expect("scripts/filler-set runs");
    assert!(
        made.status.success(),
        "scripts/filler-set: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let said: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("f19.hts.json")).unwrap()).unwrap();
    let reference = wer_words(said["text"].as_str().unwrap());
    for live in [false, true] {
        let heard = fixture.transcribe(&out.join("f19.hts.wav"), live);
        let words = wer_words(&transcript_text(&heard));
        if let Some(twice) = passage_written_twice(&reference, &words, 4) {
            panic!("live {live}: \"{twice}\" written twice, said once");
        }
        let error = word_error_rate(said["text"].as_str().unwrap(), &transcript_text(&heard));
        assert!(error < 15.0, "live {live}: WER {error:.1}%: {words:?}");
    }
}

#[test]
fn steady_noise_and_silence_give_no_words() {
    let fixture = Fixture::get();
    let dir = &fixture.sandbox;
    // Peak levels. RMS: pink -19 dBFS, brown -42 dBFS (a desk fan under speech at -20 dBFS)
    // and -15 dBFS, hum -9 dBFS. The loud ones are what the voice detector takes for speech
    // (before the noise gate, tiny.en wrote "you" on the brown and "uh, uh," on the pink).
    let noises: [(&str, &[&str]); 5] = [
        ("silence", &[]),
        ("pink", &["pinknoise", "gain", "-n", "-6"]),
        ("brown-desk-fan", &["brownnoise", "gain", "-n", "-37"]),
        ("brown-loud", &["brownnoise", "gain", "-n", "-10"]),
        ("hum-120hz", &["sine", "120", "gain", "-n", "-6"]),
    ];
    let mut heard = Vec::new();
    for (name, effects) in noises {
        let wav = sox_audio(&dir.path(&format!("noise-{name}.wav")), 20.0, effects);
        let json = fixture.transcribe(&wav, false);
        let words = json["transcript"]["words"].as_array().expect("words").len();
        if words > 0 {
            heard.push(format!("{name}: {:?}", transcript_text(&json)));
        }
    }
    assert!(heard.is_empty(), "words written on noise: {heard:?}");
}

#[test]
fn speech_over_moderate_brown_noise_is_still_transcribed() {
    // Brown noise at about -35 dBFS RMS, some 17 dB under the voice. Measured with tiny.en:
    // WER 1.3% (one word in 78); the bound leaves four words.
    const WER_BOUND: f64 = 6.5;
    let fixture = Fixture::get();
    let dir = &fixture.sandbox;
    let text = &answer_texts()[2];
    let speech = dir.path("noisy-speech-clean.wav");
    Voice::FliteSlt.speak(text, &speech);
    let seconds: f64 = run("soxi", &["-D", speech.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap();
    let noise = sox_audio(
        &dir.path("noisy-speech-noise.wav"),
        seconds,
        &["brownnoise", "gain", "-n", "-30"],
    );
    let noisy = dir.path("noisy-speech.wav");
    run(
        "sox",
        &[
            "-m",
            "-v",
            "1",
            speech.to_str().unwrap(),
            "-v",
            "1",
            noise.to_str().unwrap(),
            noisy.to_str().unwrap(),
        ],
    );
    let heard = transcript_text(&fixture.transcribe(&noisy, false));
    let wer = word_error_rate(text, &heard);
    eprintln!("speech over brown noise: WER {wer:.1}%");
    assert!(
        wer <= WER_BOUND,
        "WER {wer:.1}% over brown noise (bound {WER_BOUND}%): {heard}"
    );
}

#[test]
fn a_pause_between_two_sentences_is_reported_between_their_words() {
    let fixture = Fixture::get();
    let dir = &fixture.sandbox;
    let first = dir.path("sentence-one.wav");
    let second = dir.path("sentence-two.wav");
    Voice::FliteSlt.speak(
        "I told my director about the problem the same afternoon.",
        &first,
    );
    Voice::FliteSlt.speak("Then we shipped the product on time.", &second);
    let gap = dir.silence("gap.wav", 3.0, 16_000);
    let wav = dir.concat("paused.wav", &[&first, &gap, &second]);
    let card = dir.viva_json(&[
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "behavioral-failure",
        "--json",
        "--model",
        fixture.model.to_str().unwrap(),
    ]);

    let words = card["transcript"]["words"].as_array().expect("words");
    let normalised: Vec<String> = words
        .iter()
        .map(|w| wer_words(w["text"].as_str().unwrap()).join(" "))
        .collect();
    let last_of_first = normalised
        .iter()
        .position(|w| w == "afternoon")
        .unwrap_or_else(|| panic!("no 'afternoon' in {normalised:?}"));
    assert_eq!(
        normalised.get(last_of_first + 1).map(String::as_str),
        Some("then"),
        "{normalised:?}"
    );
    let ends = words[last_of_first]["end"].as_f64().unwrap();
    let starts = words[last_of_first + 1]["start"].as_f64().unwrap();

    let pauses = card["pauses"].as_array().expect("pauses");
    assert_eq!(pauses.len(), 1, "{pauses:?}");
    let at = pauses[0]["at_seconds"].as_f64().unwrap();
    let seconds = pauses[0]["seconds"].as_f64().unwrap();
    assert!(
        (2.5..=3.5).contains(&seconds),
        "a 3 s pause reported as {seconds} s"
    );
    assert!(
        ends <= at && at <= starts,
        "pause at {at} s is not between 'afternoon' (ends {ends} s) and 'then' (starts {starts} s)"
    );
}
