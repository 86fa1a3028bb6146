//! Delivery flags on controlled audio made with the real speech tools: a flat voice against a
//! lively one (flite's f0 spread, espeak-ng's pitch range), quiet against normal against
//! clipped (sox gain), sentences whose last words drop against steady ones (sox gain on each
//! sentence's tail), repeated words against varied ones; and jfk.wav as real speech.
//!
//! The texts and voices here were kept out of the calibration in the README: these cases
//! check the thresholds, they did not set them. Run with `--nocapture` to see each measure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use viva::prosody::{self, Prosody};
use viva::score::delivery::{self, DeliveryInput, DeliveryScore, FlagKind, KeyTerms, LiveLevel};
use viva::score::text::Normalizer;
use viva::vad::{self, VadSettings};

const PARAGRAPH: &str = "Our checkout page kept timing out during the holiday sale. \
    I traced the slow calls to a payment library that retried without limits. \
    We capped the retries, added a circuit breaker, and moved receipts to a background job. \
    Timeouts went from two hundred a day to fewer than five.";

const SENTENCES: &[&str] = &[
    "Our checkout page kept timing out during the holiday sale.",
    "I traced the slow calls to a payment library that retried without limits.",
    "We capped the retries and added a circuit breaker.",
    "Then we moved the receipts to a background job.",
    "Timeouts went from two hundred a day to fewer than five.",
];

/// Runs a speech or audio tool; a missing tool fails the test with the command that installs it.
fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for this test ({e}); install it with scripts/setup-debian")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Studio {
    dir: tempfile::TempDir,
}

impl Studio {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// flite with its f0 model's spread set: 0 speaks on one pitch, 40 a lively one.
    fn flite(&self, voice: &str, f0_stddev: u32, text: &str) -> PathBuf {
        let path = self.path(&format!("flite-{voice}-{f0_stddev}.wav"));
        tool(
            "flite",
            &[
                "-voice",
                voice,
                "--setf",
                &format!("int_f0_target_stddev={f0_stddev}"),
                "-t",
                text,
                "-o",
                path.to_str().unwrap(),
            ],
        );
        path
    }

    /// espeak-ng with an SSML pitch range (`x-low` is nearly flat, `x-high` wide).
    fn espeak(&self, voice: &str, range: &str, text: &str) -> PathBuf {
        let path = self.path(&format!("espeak-{voice}-{range}.wav"));
        let ssml = format!("<speak><prosody range=\"{range}\">{text}</prosody></speak>");
        tool(
            "espeak-ng",
            &["-v", voice, "-m", "-w", path.to_str().unwrap(), &ssml],
        );
        path
    }

    /// `input` with sox effects applied, as 16 kHz mono 16-bit.
    fn sox(&self, input: &Path, name: &str, effects: &[&str]) -> PathBuf {
        let path = self.path(name);
        let mut args = vec![
            input.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(effects);
        tool("sox", &args);
        path
    }

    /// The sentences spoken one by one with half a second between them; with `tail_gain_db`,
    /// each sentence's last 0.6 s is turned down by that much (its last words trail off).
    fn sentences(&self, voice: &str, tail_gain_db: Option<f64>) -> PathBuf {
        let tag = tail_gain_db.map_or("steady".to_owned(), |g| format!("tail{g}"));
        let pad = self.path("pad.wav");
        tool(
            "sox",
            &[
                "-n",
                "-r",
                "16000",
                "-c",
                "1",
                "-b",
                "16",
                pad.to_str().unwrap(),
                "trim",
                "0",
                "0.5",
            ],
        );
        let mut parts = vec![pad.clone()];
        for (i, sentence) in SENTENCES.iter().enumerate() {
            let raw = self.path(&format!("{voice}-{i}-raw.wav"));
            tool(
                "flite",
                &["-voice", voice, "-t", sentence, "-o", raw.to_str().unwrap()],
            );
            let said = self.sox(&raw, &format!("{voice}-{i}.wav"), &[]);
            let part = match tail_gain_db {
                None => said,
                Some(gain) => {
                    let seconds = viva::audio::load_wav(&said).unwrap().seconds();
                    let cut = format!("{:.3}", seconds - 0.6);
                    let head = self.sox(
                        &said,
                        &format!("{voice}-{i}-head.wav"),
                        &["trim", "0", &cut],
                    );
                    let tail = self.sox(
                        &said,
                        &format!("{voice}-{i}-tail.wav"),
                        &["trim", &cut, "gain", &gain.to_string()],
                    );
                    self.join(&format!("{voice}-{i}-{tag}.wav"), &[head, tail])
                }
            };
            parts.push(part);
            parts.push(pad.clone());
        }
        self.join(&format!("{voice}-{tag}.wav"), &parts)
    }

    fn join(&self, name: &str, parts: &[PathBuf]) -> PathBuf {
        let path = self.path(name);
        let mut args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
        args.push(path.to_str().unwrap());
        tool("sox", &args);
        path
    }
}

/// What the audio side measures and the delivery check judges, as in `Engine::score`.
fn judge(wav: &Path) -> (Prosody, DeliveryScore) {
    let recording = viva::audio::load_wav(wav).unwrap();
    let speech = vad::detect(&recording.samples, &VadSettings::default());
    let measured = prosody::measure(&recording.samples, &speech);
    let key_terms = KeyTerms::new([], &Normalizer::default());
    let judged = delivery::judge(&DeliveryInput {
        prosody: Some(&measured),
        words: &[],
        tokens: &[],
        key_terms: &key_terms,
        counted_elsewhere: &[],
        windows: &[],
    });
    (measured, judged)
}

fn flagged(d: &DeliveryScore, kind: FlagKind) -> bool {
    d.flags.iter().any(|f| f.kind == kind)
}

fn spread(d: &DeliveryScore) -> f64 {
    d.pitch.as_ref().expect("a pitch track").spread_semitones
}

fn level(d: &DeliveryScore) -> &delivery::LevelSummary {
    d.level.as_ref().expect("a speech level")
}

#[test]
fn a_flat_voice_is_monotone_and_a_lively_one_is_not() {
    let studio = Studio::new();
    let mut pairs = Vec::new();
    for voice in ["slt", "awb", "kal16"] {
        pairs.push((
            format!("flite {voice}, f0 spread 0 vs 40"),
            studio.flite(voice, 0, PARAGRAPH),
            studio.flite(voice, 40, PARAGRAPH),
        ));
    }
    for voice in ["en-us", "en+f3", "en-gb"] {
        pairs.push((
            format!("espeak-ng {voice}, range x-low vs x-high"),
            studio.espeak(voice, "x-low", PARAGRAPH),
            studio.espeak(voice, "x-high", PARAGRAPH),
        ));
    }
    for (name, flat, lively) in pairs {
        let (_, flat) = judge(&flat);
        let (_, lively) = judge(&lively);
        println!(
            "{name}: {:.2} vs {:.2} semitones",
            spread(&flat),
            spread(&lively)
        );
        assert!(flagged(&flat, FlagKind::Monotone), "{name}: {flat:?}");
        assert!(!flagged(&lively, FlagKind::Monotone), "{name}: {lively:?}");
        assert!(spread(&lively) > 2.0 * spread(&flat), "{name}");
    }
}

#[test]
fn quiet_speech_is_too_quiet_loud_speech_clips_and_normal_speech_is_neither() {
    let studio = Studio::new();
    for voice in ["slt", "awb"] {
        let said = studio.flite(voice, 40, PARAGRAPH);
        let normal = studio.sox(&said, "normal.wav", &["gain", "-n", "-6"]);
        let quiet = studio.sox(&said, "quiet.wav", &["gain", "-n", "-36"]);
        let clipped = studio.sox(&said, "clipped.wav", &["gain", "-n", "-6", "gain", "18"]);
        let (_, normal) = judge(&normal);
        let (_, quiet) = judge(&quiet);
        let (_, clipped) = judge(&clipped);
        println!(
            "flite {voice}: speech level quiet {:.1} / normal {:.1} / clipped {:.1} dBFS; clipped {:.2}% / {:.2}% / {:.2}% of speech",
            level(&quiet).speech_dbfs,
            level(&normal).speech_dbfs,
            level(&clipped).speech_dbfs,
            level(&quiet).clipped_percent,
            level(&normal).clipped_percent,
            level(&clipped).clipped_percent,
        );
        assert!(flagged(&quiet, FlagKind::TooQuiet), "{quiet:?}");
        assert!(!flagged(&quiet, FlagKind::Clipping));
        assert!(!flagged(&normal, FlagKind::TooQuiet), "{normal:?}");
        assert!(!flagged(&normal, FlagKind::Clipping), "{normal:?}");
        assert!(flagged(&clipped, FlagKind::Clipping), "{clipped:?}");
        assert!(!flagged(&clipped, FlagKind::TooQuiet));
        // A quiet voice is still a voice: its pitch is tracked, so it is judged for monotone too.
        assert!(!flagged(&quiet, FlagKind::Monotone), "{quiet:?}");
    }
}

#[test]
fn sentences_whose_last_words_drop_trail_off_and_steady_ones_do_not() {
    let studio = Studio::new();
    for voice in ["slt", "kal16"] {
        let (_, steady) = judge(&studio.sentences(voice, None));
        let (_, trailing) = judge(&studio.sentences(voice, Some(-14.0)));
        println!(
            "flite {voice}: tail drop steady {:.1} dB ({} of {} phrases) vs trailing {:.1} dB ({} of {} phrases)",
            level(&steady).tail_drop_db,
            level(&steady).trailing.len(),
            level(&steady).phrases,
            level(&trailing).tail_drop_db,
            level(&trailing).trailing.len(),
            level(&trailing).phrases,
        );
        assert!(level(&steady).phrases >= 4, "{steady:?}");
        assert!(!flagged(&steady, FlagKind::TrailingOff), "{steady:?}");
        assert!(flagged(&trailing, FlagKind::TrailingOff), "{trailing:?}");
        assert!(!flagged(&trailing, FlagKind::TooQuiet));
    }
}

#[test]
fn jfk_is_neither_monotone_nor_too_quiet() {
    let (_, jfk) = judge(&common::jfk_wav());
    println!(
        "jfk.wav: pitch spread {:.2} semitones, speech level {:.1} dBFS",
        spread(&jfk),
        level(&jfk).speech_dbfs
    );
    assert!(!flagged(&jfk, FlagKind::Monotone), "{jfk:?}");
    assert!(!flagged(&jfk, FlagKind::TooQuiet), "{jfk:?}");
    assert!(!flagged(&jfk, FlagKind::Clipping), "{jfk:?}");
}

/// The live meter's blocks (100 ms) of a recording, as `listen` reports them while speaking.
fn live_verdict(wav: &Path) -> bool {
    let recording = viva::audio::load_wav(wav).unwrap();
    let speech = vad::detect(&recording.samples, &VadSettings::default());
    let mut watch = LiveLevel::default();
    let mut said = false;
    for (i, block) in recording.samples.chunks(1600).enumerate() {
        let t = i as f64 * 0.1;
        let speaking = speech.iter().any(|r| r.start <= t && t <= r.end);
        let rms = (block.iter().map(|x| x * x).sum::<f32>() / block.len() as f32).sqrt();
        said |= watch.hear(prosody::amplitude_dbfs(rms), speaking);
    }
    said
}

#[test]
fn the_live_meter_says_too_quiet_for_quiet_speech_only() {
    let studio = Studio::new();
    for voice in ["slt", "kal16"] {
        let said = studio.flite(voice, 40, PARAGRAPH);
        let normal = studio.sox(&said, "normal.wav", &["gain", "-n", "-6"]);
        let quiet = studio.sox(&said, "quiet.wav", &["gain", "-n", "-36"]);
        assert!(
            live_verdict(&quiet),
            "{voice}: quiet speech not flagged live"
        );
        assert!(
            !live_verdict(&normal),
            "{voice}: normal speech flagged live"
        );
    }
    assert!(!live_verdict(&common::jfk_wav()));
}

#[test]
fn repeated_words_are_flagged_in_the_scorecard_and_varied_ones_are_not() {
    let sandbox = common::Sandbox::new();
    let repeated = "Basically the launch was awesome. Basically we planned an awesome rollout \
        and the awesome team basically shipped it. The awesome part was the awesome dashboard, \
        basically. It was awesome.";
    let varied = "The launch went well. We planned a staged rollout and the team shipped it on \
        time. The best part was the dashboard, which showed errors by region. It worked.";
    for (name, text, expect) in [("repeated", repeated, true), ("varied", varied, false)] {
        let wav = sandbox.speak(&format!("{name}.wav"), text, 160);
        let words = sandbox.path(&format!("{name}.txt"));
        std::fs::write(&words, text).unwrap();
        let card = sandbox.viva_json(&[
            "score",
            "--prompt",
            "behavioral-failure",
            "--transcript",
            words.to_str().unwrap(),
            "--json",
            wav.to_str().unwrap(),
        ]);
        let d = &card["delivery"];
        let repeats: Vec<(String, u64)> = d["repeated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["text"].as_str().unwrap().to_owned(),
                    r["count"].as_u64().unwrap(),
                )
            })
            .collect();
        println!("{name}: {repeats:?}");
        let kinds: Vec<&str> = d["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.contains(&"repeated"), expect, "{name}: {d}");
        if expect {
            assert!(repeats.contains(&("awesome".into(), 6)), "{repeats:?}");
            assert!(repeats.contains(&("basically".into(), 4)), "{repeats:?}");
            assert_eq!(d["repeated"][0]["times"].as_array().unwrap().len(), 6);
            // A short, empty answer has weightier findings to lead its feedback; the advice is
            // among its ranked findings.
            assert!(card["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["reason"]
                    .as_str()
                    .unwrap()
                    .contains("\"awesome\" 6 times")));
        }
        // The audio was measured: espeak-ng at its normal level is neither quiet nor clipped.
        assert!(d["score"].as_f64().is_some(), "{d}");
        assert!(
            d["pitch"]["spread_semitones"].as_f64().unwrap() > 0.9,
            "{d}"
        );
        assert!(
            !kinds.contains(&"too_quiet") && !kinds.contains(&"clipping"),
            "{d}"
        );
        assert!(!d["strip"]["level_dbfs"].as_array().unwrap().is_empty());
        // Every part the scorecard had before is still there.
        for field in common::SCORECARD_FIELDS {
            assert!(card.get(field).is_some(), "{field} is missing");
        }
        assert_eq!(card["weights"]["delivery"].as_f64(), Some(0.05));
    }
}
