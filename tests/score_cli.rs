//! `viva score` end to end through the binary: espeak-ng speech, sox edits, the real whisper-rs
//! path on a weightless model, and every kind of bad input.

mod common;

use common::{trimmed_seconds, Sandbox};
use serde_json::Value;

const ANSWER: &str =
    "At the time our sign ups were flat in two markets. My goal was to find out why \
    before the next quarter. So I pulled the funnel data myself and I took full ownership of the \
    test plan without waiting for approval. We ran a small experiment with new artwork. As a \
    result conversion grew by four percent, and I learned to share early numbers sooner.";

/// A one-prompt bank whose rubric the answer above partly covers.
const BANK: &str = r#"
[[prompt]]
id = "story"
category = "culture"
tags = ["test"]
text = "Tell me about a decision you made alone."
structure = "star"

[prompt.rubric]
seconds = [20, 60]
wpm = [120, 170]

[[prompt.rubric.concept]]
name = "ownership"
any = ["took ownership", "my call"]
weight = 2

[[prompt.rubric.concept]]
name = "experiment"
any = ["ran an experiment", "a/b test"]

[[prompt.rubric.concept]]
name = "stakeholders"
any = ["kept my manager informed", "told the team"]
follow_up = "Who did you tell, and when?"

[[prompt.rubric.avoid]]
phrase = "without waiting for approval"
why = "Say how you kept people informed, not that you skipped them."
"#;

fn sandbox_with_bank() -> (Sandbox, String) {
    let sb = Sandbox::new();
    let bank = sb.path("bank");
    std::fs::create_dir_all(&bank).unwrap();
    std::fs::write(bank.join("test.toml"), BANK).unwrap();
    let bank = bank.to_str().unwrap().to_owned();
    (sb, bank)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn wpm_matches_espeak_speech_at_two_rates_within_ten_percent() {
    let (sb, bank) = sandbox_with_bank();
    let transcript = sb.path("answer.txt");
    std::fs::write(&transcript, ANSWER).unwrap();
    let words = ANSWER.split_whitespace().count() as f64;
    let mut measured = Vec::new();
    for rate in [130, 200] {
        let wav = sb.speak(&format!("answer-{rate}.wav"), ANSWER, rate);
        let expected = words / (trimmed_seconds(&wav) / 60.0);
        let card = sb.viva_json(&[
            "--prompts",
            &bank,
            "score",
            wav.to_str().unwrap(),
            "--prompt",
            "story",
            "--transcript",
            transcript.to_str().unwrap(),
            "--json",
        ]);
        let wpm = f(&card["wpm"]);
        assert!(
            (wpm - expected).abs() / expected < 0.10,
            "espeak at {rate}: viva says {wpm:.1} wpm, words over trimmed duration give {expected:.1}"
        );
        assert_eq!(card["word_count"], words as u64);
        measured.push(wpm);
    }
    assert!(
        measured[1] > measured[0] * 1.3,
        "faster speech must read faster: {measured:?}"
    );
}

/// Two sentences with three seconds of silence between them, optionally under pink noise at
/// `noise` amplitude, scored with a written transcript. Returns the scorecard and where the
/// first sentence ends.
fn score_with_inserted_pause(noise: Option<f64>) -> (Value, f64) {
    let (sb, bank) = sandbox_with_bank();
    let first = sb.speak(
        "first.wav",
        "We started with the customer problem and the data we had.",
        160,
    );
    let second = sb.speak(
        "second.wav",
        "Then we chose the smallest test that could prove us wrong.",
        160,
    );
    let gap = sb.silence("gap.wav", 3.0, 22_050);
    let mut joined = sb.concat("joined.wav", &[&first, &gap, &second]);
    if let Some(volume) = noise {
        let seconds = common::run("soxi", &["-D", joined.to_str().unwrap()]);
        let hiss = sb.path("noise.wav");
        common::run(
            "sox",
            &[
                "-n",
                "-r",
                "22050",
                "-c",
                "1",
                "-b",
                "16",
                hiss.to_str().unwrap(),
                "synth",
                seconds.trim(),
                "pinknoise",
                "vol",
                &volume.to_string(),
            ],
        );
        let noisy = sb.path("noisy.wav");
        common::run(
            "sox",
            &[
                "-m",
                joined.to_str().unwrap(),
                hiss.to_str().unwrap(),
                noisy.to_str().unwrap(),
            ],
        );
        joined = noisy;
    }
    let transcript = sb.path("t.txt");
    std::fs::write(
        &transcript,
        "We started with the customer problem and the data we had. Then we chose the smallest test that could prove us wrong.",
    )
    .unwrap();
    let card = sb.viva_json(&[
        "--prompts",
        &bank,
        "score",
        joined.to_str().unwrap(),
        "--prompt",
        "story",
        "--transcript",
        transcript.to_str().unwrap(),
        "--json",
    ]);
    let first_len = common::run("soxi", &["-D", first.to_str().unwrap()])
        .trim()
        .parse::<f64>()
        .unwrap();
    (card, first_len)
}

fn assert_one_pause_where_it_was_put(card: &Value, first_len: f64) {
    let pauses = card["pauses"].as_array().unwrap();
    assert_eq!(pauses.len(), 1, "exactly the inserted pause: {pauses:?}");
    let seconds = f(&pauses[0]["seconds"]);
    // The inserted 3 s plus espeak's own lead-in and tail silence, less the detector's padding.
    assert!((2.7..=4.0).contains(&seconds), "pause of {seconds} s");
    let at = f(&pauses[0]["at_seconds"]);
    assert!(
        at > first_len - 1.0 && at <= first_len + 0.1,
        "pause at {at} s, first sentence ends by {first_len} s"
    );
    // No word is placed inside the silence.
    for word in card["transcript"]["words"].as_array().unwrap() {
        let start = f(&word["start"]);
        assert!(
            !(at + 0.2..at + seconds - 0.2).contains(&start),
            "word inside the pause: {word}"
        );
    }
}

#[test]
fn a_pause_inserted_with_sox_is_found_where_it_was_put() {
    let (card, first_len) = score_with_inserted_pause(None);
    assert_one_pause_where_it_was_put(&card, first_len);
}

#[test]
fn a_pause_is_still_found_under_room_noise() {
    // Pink noise at about a quarter of the speech's RMS: an energy floor would hear the hiss as
    // speech and lose the pause; the voice detector must not.
    let (quiet, first_len) = score_with_inserted_pause(None);
    let (noisy, _) = score_with_inserted_pause(Some(0.1));
    assert_one_pause_where_it_was_put(&noisy, first_len);
    let (a, b) = (f(&quiet["speaking_seconds"]), f(&noisy["speaking_seconds"]));
    assert!(
        (a - b).abs() < 0.5,
        "speaking time {a} s quiet, {b} s in noise"
    );
}

#[test]
fn the_scorecard_json_has_every_field_and_finds_concepts_fillers_and_avoid_phrases() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("answer.wav", ANSWER, 160);
    let transcript = sb.path("answer.txt");
    let spoken = ANSWER
        .replace("So I pulled", "So, um, I pulled")
        .replace("We ran", "We, like, ran");
    std::fs::write(&transcript, &spoken).unwrap();
    let card = sb.viva_json(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
        "--transcript",
        transcript.to_str().unwrap(),
        "--json",
    ]);
    for key in common::SCORECARD_FIELDS {
        assert!(card.get(key).is_some(), "missing {key}");
    }
    assert_eq!(card["prompt_id"], "story");
    let concepts = card["coverage"]["concepts"].as_array().unwrap();
    let by_name = |n: &str| concepts.iter().find(|c| c["name"] == n).unwrap().clone();
    let ownership = by_name("ownership");
    assert_eq!(ownership["hit"], true);
    assert_eq!(ownership["evidence"], "took full ownership");
    assert!(f(&ownership["at_seconds"]) > 1.0);
    // "ran a small experiment": one extra word inside the phrase.
    assert_eq!(by_name("experiment")["hit"], true);
    assert_eq!(by_name("stakeholders")["hit"], false);
    // Coverage is the concepts' credit weighted by concept: ownership 2, experiment 1,
    // stakeholders 1 (missed, so at most 75).
    let weighted: f64 = concepts
        .iter()
        .map(|c| f(&c["weight"]) * f(&c["credit"]))
        .sum::<f64>()
        / concepts.iter().map(|c| f(&c["weight"])).sum::<f64>();
    let coverage = f(&card["coverage"]["score"]);
    assert!(
        (coverage - 100.0 * weighted).abs() < 0.6,
        "{coverage} against {weighted}"
    );
    assert!(coverage > 0.0 && coverage <= 75.0, "{coverage}");

    let items = card["fillers"]["items"].as_array().unwrap();
    let fillers: Vec<&str> = items.iter().map(|i| i["word"].as_str().unwrap()).collect();
    assert_eq!(fillers, ["um", "like"]);
    assert_eq!(card["fillers"]["count"], 2);

    let avoided = card["avoided"].as_array().unwrap();
    assert_eq!(avoided.len(), 1);
    assert_eq!(avoided[0]["phrase"], "without waiting for approval");
    assert!(avoided[0]["why"]
        .as_str()
        .unwrap()
        .starts_with("Say how you kept"));

    let overall = f(&card["overall"]);
    assert!((0.0..=100.0).contains(&overall));
    assert!(!card["feedback"].as_array().unwrap().is_empty());
    let structure = &card["structure"];
    assert!(
        structure["parts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["found"] == true),
        "{structure}"
    );
    assert_eq!(card["transcript"]["source"], "file");
}

#[test]
fn the_terminal_scorecard_names_hits_misses_and_overall() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("answer.wav", ANSWER, 160);
    let transcript = sb.path("answer.txt");
    std::fs::write(&transcript, ANSWER).unwrap();
    let out = sb.viva_ok(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
        "--transcript",
        transcript.to_str().unwrap(),
    ]);
    assert!(out.contains("Overall "), "{out}");
    assert!(
        out.contains("+ ownership") || out.contains("~ ownership"),
        "{out}"
    );
    assert!(out.contains("- stakeholders"), "{out}");
    assert!(out.contains("words a minute"), "{out}");
}

#[test]
fn whisper_transcribes_through_a_weightless_model() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("answer.wav", ANSWER, 160);
    let model = sb.weightless_model();
    let card = sb.viva_json(&[
        "--prompts",
        &bank,
        "--model",
        model.to_str().unwrap(),
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
        "--json",
    ]);
    assert_eq!(card["transcript"]["source"], "whisper");
    // The audio side is real even though the model knows no words.
    assert!(
        f(&card["speaking_seconds"]) > 10.0,
        "{}",
        card["speaking_seconds"]
    );
    let total = common::run("soxi", &["-D", wav.to_str().unwrap()])
        .trim()
        .parse::<f64>()
        .unwrap();
    assert!((f(&card["duration_seconds"]) - total).abs() < 0.05);
}

#[test]
fn the_model_is_found_in_models_dir_and_through_viva_model() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("short.wav", "Ownership matters.", 160);
    // ./models/ggml-base.en.bin, the default model, relative to the working directory.
    std::fs::create_dir_all(sb.path("models")).unwrap();
    std::fs::write(
        sb.path("models/ggml-base.en.bin"),
        common::weightless_ggml_model(),
    )
    .unwrap();
    let card = sb.viva_json(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
        "--json",
    ]);
    assert_eq!(card["transcript"]["source"], "whisper");

    std::fs::remove_file(sb.path("models/ggml-base.en.bin")).unwrap();
    let model = sb.weightless_model();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_viva"))
        .args([
            "--prompts",
            &bank,
            "score",
            wav.to_str().unwrap(),
            "--prompt",
            "story",
            "--json",
        ])
        .env("VIVA_HOME", sb.home())
        .env("VIVA_MODEL", &model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_model_names_every_path_tried_and_the_fetch_command() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("short.wav", "Ownership matters.", 160);
    let err = sb.viva_err(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
    ]);
    assert!(err.contains("models/ggml-base.en.bin"), "{err}");
    assert!(
        err.contains(
            &sb.home()
                .join("models/ggml-base.en.bin")
                .display()
                .to_string()
        ),
        "{err}"
    );
    assert!(err.contains("viva models fetch base.en"), "{err}");

    let err = sb.viva_err(&[
        "--prompts",
        &bank,
        "--model",
        "/nowhere/model.bin",
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
    ]);
    assert!(err.contains("/nowhere/model.bin"), "{err}");
}

#[test]
fn a_corrupt_model_is_named_with_the_fix() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("short.wav", "Ownership matters.", 160);
    let score_with = |model: &std::path::Path| {
        let (model, wav) = (model.to_str().unwrap(), wav.to_str().unwrap());
        sb.viva_err(&[
            "--prompts",
            &bank,
            "--model",
            model,
            "score",
            wav,
            "--prompt",
            "story",
        ])
    };
    let junk = sb.path("junk.bin");
    std::fs::write(&junk, b"this is not a model").unwrap();
    let err = score_with(&junk);
    assert!(
        err.contains("junk.bin") && err.contains("viva models fetch"),
        "{err}"
    );
    // A real header cut short: whisper.cpp would abort on it; viva must refuse it first.
    let cut = sb.path("cut.bin");
    let model = common::weightless_ggml_model();
    std::fs::write(&cut, &model[..model.len() / 3]).unwrap();
    let err = score_with(&cut);
    assert!(
        err.contains("cut.bin") && err.contains("ends early"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_audio_gets_a_one_line_error_naming_the_file() {
    let (sb, bank) = sandbox_with_bank();
    let transcript = sb.path("t.txt");
    std::fs::write(&transcript, "words").unwrap();
    let score = |wav: &std::path::Path| {
        sb.viva_err(&[
            "--prompts",
            &bank,
            "score",
            wav.to_str().unwrap(),
            "--prompt",
            "story",
            "--transcript",
            transcript.to_str().unwrap(),
        ])
    };

    let text = sb.path("notes.wav");
    std::fs::write(&text, "these are my notes, not audio").unwrap();
    let err = score(&text);
    assert!(err.contains("notes.wav: not a WAV file"), "{err}");

    let good = sb.speak("good.wav", "A complete answer.", 160);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = sb.path("truncated.wav");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = score(&truncated);
    assert!(
        err.contains("truncated.wav") && err.contains("stops early"),
        "{err}"
    );

    let empty = sb.silence("empty.wav", 0.0, 16_000);
    let err = score(&empty);
    assert!(
        err.contains("empty.wav") && err.contains("no audio"),
        "{err}"
    );

    let err = score(&sb.path("missing.wav"));
    assert!(
        err.contains("missing.wav") && err.contains("cannot open"),
        "{err}"
    );

    for err in [score(&text), score(&truncated), score(&empty)] {
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn an_unknown_prompt_id_is_an_error_that_says_how_to_list_them() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.speak("short.wav", "Hello.", 160);
    let err = sb.viva_err(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "nope",
    ]);
    assert!(
        err.contains("no prompt with id `nope`") && err.contains("viva prompts list"),
        "{err}"
    );
    let err = sb.viva_err(&[
        "--prompts",
        &bank,
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "stor",
    ]);
    assert!(err.contains("did you mean story?"), "{err}");
}

#[test]
fn silence_scores_zero_with_advice_and_no_invented_words() {
    let (sb, bank) = sandbox_with_bank();
    let wav = sb.silence("quiet.wav", 3.0, 16_000);
    let model = sb.weightless_model();
    let card = sb.viva_json(&[
        "--prompts",
        &bank,
        "--model",
        model.to_str().unwrap(),
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "story",
        "--json",
    ]);
    assert_eq!(card["word_count"], 0);
    assert_eq!(card["speaking_seconds"], 0.0);
    assert_eq!(card["overall"], 0.0);
    assert!(card["feedback"][0]
        .as_str()
        .unwrap()
        .contains("No words were heard"));
}
