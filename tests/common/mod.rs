//! Test support: a temporary VIVA_HOME, the viva binary, speech from espeak-ng, audio edits with
//! sox, and a weightless Whisper model built from scratch (no download, no ../shared).

#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod sound;

/// Two prompts for drills: `decide` (whose `ownership` concept has a follow-up question) and
/// `design`.
pub const TWO_PROMPT_BANK: &str = r#"
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
follow_up = "What exactly did you own?"

[[prompt.rubric.concept]]
name = "result"
any = ["as a result"]

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
"#;

/// A scratch directory that is also VIVA_HOME for the commands run in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// `viva ARGS` with VIVA_HOME here and no inherited model or bank overrides.
    pub fn viva(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_viva"))
            .args(args)
            .env("VIVA_HOME", self.home())
            .env_remove("VIVA_MODEL")
            .env_remove("VIVA_PROMPTS")
            .current_dir(self.dir.path())
            .output()
            .expect("run viva")
    }

    /// Runs viva, asserts success, and returns stdout.
    pub fn viva_ok(&self, args: &[&str]) -> String {
        let out = self.viva(args);
        assert!(
            out.status.success(),
            "viva {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs viva, asserts failure, and returns stderr.
    pub fn viva_err(&self, args: &[&str]) -> String {
        let out = self.viva(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "viva {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !stderr.contains("panicked"),
            "viva {args:?} panicked: {stderr}"
        );
        stderr
    }

    /// Runs viva with `--json` output and parses it.
    pub fn viva_json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.viva_ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
    }

    /// Speaks `text` with espeak-ng at `wpm` into a WAV file (22.05 kHz mono, as espeak writes).
    pub fn speak(&self, name: &str, text: &str, wpm: u32) -> PathBuf {
        let path = self.path(name);
        run(
            "espeak-ng",
            &[
                "-v",
                "en-us",
                "-s",
                &wpm.to_string(),
                "-w",
                path.to_str().unwrap(),
                text,
            ],
        );
        path
    }

    /// `count` seconds of silence at `rate` Hz.
    pub fn silence(&self, name: &str, seconds: f64, rate: u32) -> PathBuf {
        let path = self.path(name);
        run(
            "sox",
            &[
                "-n",
                "-r",
                &rate.to_string(),
                "-c",
                "1",
                "-b",
                "16",
                path.to_str().unwrap(),
                "trim",
                "0",
                &seconds.to_string(),
            ],
        );
        path
    }

    /// Joins WAV files end to end.
    pub fn concat(&self, name: &str, parts: &[&Path]) -> PathBuf {
        let path = self.path(name);
        let mut args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
        args.push(path.to_str().unwrap());
        run("sox", &args);
        path
    }

    /// Writes a weightless Whisper model and returns its path.
    pub fn weightless_model(&self) -> PathBuf {
        let path = self.path("ggml-weightless.bin");
        std::fs::write(&path, weightless_ggml_model()).unwrap();
        path
    }
}

/// The first answer recording under `$VIVA_HOME/sessions/*/`, if one exists yet.
pub fn first_answer_wav(home: &Path) -> Option<PathBuf> {
    std::fs::read_dir(home.join("sessions"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|s| std::fs::read_dir(s.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("answer-"))
        })
}

/// What a session asked, answer by answer: (prompt id, follow-up concept, try number).
pub fn asked(session: &serde_json::Value) -> Vec<(String, Option<String>, u64)> {
    session["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| {
            (
                a["prompt_id"].as_str().expect("prompt_id").to_owned(),
                a["follow_up_of"].as_str().map(str::to_owned),
                a["try"].as_u64().expect("try"),
            )
        })
        .collect()
}

/// Runs a helper program and asserts it succeeded.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed for this test ({e}); .ci/run installs it"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Seconds of audio between the first and last sound above sox's 1% floor: the speech's
/// trimmed duration, measured independently of viva's voice detector.
pub fn trimmed_seconds(wav: &Path) -> f64 {
    let trimmed = wav.with_extension("trimmed.wav");
    run(
        "sox",
        &[
            wav.to_str().unwrap(),
            trimmed.to_str().unwrap(),
            "silence",
            "1",
            "0.02",
            "1%",
            "reverse",
            "silence",
            "1",
            "0.02",
            "1%",
            "reverse",
        ],
    );
    run("soxi", &["-D", trimmed.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap()
}

/// A whisper.cpp model file with the real tiny.en shapes, mel filters and a small vocabulary,
/// but no tensors: whisper.cpp loads such a file as an empty model meant for tests, and runs
/// real inference through it (with zero weights, so its output is not meaningful text).
pub fn weightless_ggml_model() -> Vec<u8> {
    const N_MELS: usize = 80;
    const N_BINS: usize = viva::import::mel::N_BINS;
    let mut out = Vec::new();
    let i32s = |out: &mut Vec<u8>, values: &[i32]| {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    out.extend_from_slice(&0x6767_6d6cu32.to_le_bytes());
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    // n_text_state, n_text_head, n_text_layer, n_mels, ftype (1 = f16): tiny.en's shapes.
    i32s(
        &mut out,
        &[51864, 1500, 384, 6, 4, 448, 384, 6, 4, N_MELS as i32, 1],
    );
    i32s(&mut out, &[N_MELS as i32, N_BINS as i32]);
    for filter in viva::import::mel::filters(N_MELS) {
        out.extend_from_slice(&filter.to_le_bytes());
    }
    let mut vocab: Vec<Vec<u8>> = (0u8..=255).map(|b| vec![b]).collect();
    for word in [
        "the", "and", "we", "I", "um", "uh", "like", "so", "product", "data",
    ] {
        vocab.push(format!(" {word}").into_bytes());
    }
    i32s(&mut out, &[vocab.len() as i32]);
    for token in vocab {
        out.extend_from_slice(&(token.len() as u32).to_le_bytes());
        out.extend_from_slice(&token);
    }
    out
}

/// Where real models are looked for, as viva looks: the repository's `models/` (a developer's
/// override), then viva's data directory (`$VIVA_HOME/models`, or the platform's data
/// directory), where `scripts/install-models` puts them.
pub fn models_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("models")];
    if let Ok(env) = viva::config::Env::resolve(None, None) {
        dirs.push(env.models_dir());
    }
    dirs
}

/// `NAME` (a file or directory) in the first of [`models_dirs`] that holds it; a test that
/// needs it fails (never skips) when it is missing, naming the command that installs it.
pub fn installed_model(name: &str, what: &str) -> PathBuf {
    let dirs = models_dirs();
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            let looked: Vec<String> = dirs
                .iter()
                .map(|d| d.join(name).display().to_string())
                .collect();
            panic!(
                "{what} is not installed: run {} (looked for {})",
                install_command(name),
                looked.join(", ")
            )
        })
}

/// The command that installs the model file or directory `name`.
fn install_command(name: &str) -> String {
    match name {
        "ggml-base.bin" => "scripts/install-models base".into(),
        "ggml-tiny.en.bin" => "scripts/install-models tiny.en".into(),
        "all-minilm-l6-v2" => "scripts/install-models minilm".into(),
        _ => "scripts/install-models".into(),
    }
}

/// A real Whisper model, `ggml-NAME.bin`, from [`installed_model`].
pub fn real_model(name: &str) -> PathBuf {
    installed_model(&format!("ggml-{name}.bin"), &format!("Whisper {name}"))
}

/// A public-domain recording and its words: "And so my fellow Americans, ask not what your
/// country can do for you, ask what you can do for your country."
pub fn jfk_wav() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jfk.wav")
}

pub const JFK_WORDS: &str =
    "and so my fellow americans ask not what your country can do for you ask what you can do for your country";

#[allow(unused_imports)]
pub use viva::wer::{errors_per_reference_word, normalised_words, wer_words, word_error_rate};

/// The `serve.json` a daemon with process id `pid` writes under `home` once it listens (not a
/// stale one another process left), waited for up to `seconds`.
pub fn wait_for_serve_json(home: &Path, pid: u32, seconds: u64) -> serde_json::Value {
    let file = home.join("serve.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) {
            if info["pid"].as_u64() == Some(u64::from(pid)) {
                return info;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve.json never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Every top-level field `viva score --json` has promised so far: later parts may only add.
pub const SCORECARD_FIELDS: &[&str] = &[
    "prompt_id",
    "duration_seconds",
    "speaking_seconds",
    "word_count",
    "wpm",
    "pace",
    "length",
    "coverage",
    "fillers",
    "pauses",
    "avoided",
    "specificity",
    "hedges",
    "substance",
    "topic",
    "weights",
    "overall",
    "feedback",
    "findings",
    "transcript",
];
