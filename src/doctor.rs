//! `viva doctor`: every part a working installation needs, checked the way viva uses it (the
//! model file read, a phrase spoken to a file, the microphone opened and listened to), and for
//! each problem the one command that fixes it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Env;

/// How long the default input is listened to.
const LISTEN_SECONDS: f64 = 1.0;
/// Below this the input is there but hears nothing: muted, or a monitor of a silent sink.
const SILENT_DB: f32 = -90.0;

/// What `viva doctor --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// This binary's version.
    pub version: String,
    /// Where this binary is.
    pub binary: Option<PathBuf>,
    pub checks: Vec<Check>,
}

/// One part of the installation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `viva`, `viva_home`, `whisper`, `embeddings`, `speech`, `output`, `input`, `daemon`.
    pub name: &'static str,
    pub status: Status,
    /// What was found, where, and how it behaved.
    pub detail: String,
    /// The command (or the step) that fixes a problem.
    pub fix: Option<String>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Works.
    Ok,
    /// viva runs, with less: phrases only, printed questions, answers from files only.
    Warn,
    /// viva cannot score an answer until this is fixed.
    Fail,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

impl Report {
    /// Whether viva can score answers here.
    pub fn usable(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }
}

/// Runs every check.
pub fn examine(env: &Env) -> Report {
    let checks = vec![
        binary_on_path(),
        home(&env.home),
        whisper(env),
        embeddings(env),
        speech(env),
        output(),
        input(env),
        daemon(&env.home),
    ];
    Report {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        binary: std::env::current_exe().ok(),
        checks,
    }
}

/// The report as a person reads it: a line a check, the fix under each problem.
pub fn render(report: &Report) -> String {
    let mut out = format!(
        "viva {} ({})\n",
        report.version,
        report
            .binary
            .as_deref()
            .map_or_else(|| "location unknown".into(), |p| p.display().to_string())
    );
    for check in &report.checks {
        let status = match check.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!(
            "{status:<5} {:<11} {}\n",
            check.name, check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("{:<17} fix: {fix}\n", ""));
        }
    }
    let problems = report.checks.iter().filter(|c| c.fix.is_some()).count();
    out.push_str(&match problems {
        0 => "Everything viva uses works.".to_owned(),
        1 => "1 problem; its fix is above.".to_owned(),
        n => format!("{n} problems; their fixes are above."),
    });
    out
}

/// The binary itself, and whether a plain `viva` runs it.
fn binary_on_path() -> Check {
    let version = format!("viva {}", env!("CARGO_PKG_VERSION"));
    let Ok(exe) = std::env::current_exe() else {
        return Check::ok("viva", version);
    };
    let dir = exe.parent().map(Path::to_path_buf);
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|p| {
            Some(p.canonicalize().unwrap_or(p))
                == dir
                    .as_ref()
                    .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()))
        })
    });
    if on_path {
        Check::ok("viva", format!("{version} at {}", exe.display()))
    } else {
        Check::problem(
            "viva",
            Status::Warn,
            format!("{version} at {}, which is not on PATH", exe.display()),
            "cargo install --locked --path . (in viva's checkout; it installs into ~/.cargo/bin, which rustup puts on PATH)",
        )
    }
}

/// `VIVA_HOME`: there, or creatable, and writable.
fn home(home: &Path) -> Check {
    let set_by = if std::env::var_os("VIVA_HOME").is_some_and(|v| !v.is_empty()) {
        "from VIVA_HOME"
    } else {
        "the default; VIVA_HOME moves it"
    };
    let probe = home.join(format!(".doctor-{}", std::process::id()));
    let writable = std::fs::create_dir_all(home)
        .and_then(|()| std::fs::write(&probe, b"viva doctor"))
        .and_then(|()| std::fs::remove_file(&probe));
    match writable {
        Ok(()) => Check::ok("viva_home", format!("{} ({set_by})", home.display())),
        Err(e) => Check::problem(
            "viva_home",
            Status::Fail,
            format!("{} ({set_by}) is not writable: {e}", home.display()),
            format!(
                "mkdir -p {} (or export VIVA_HOME=/a/writable/directory)",
                home.display()
            ),
        ),
    }
}

/// The fix for a missing or broken Whisper model.
const WHISPER_FIX: &str =
    "viva models fetch base.en (or, in viva's checkout, scripts/install-models)";

fn whisper(env: &Env) -> Check {
    let configured = &env.config.model.name;
    let search = env.model_search();
    let chosen = match search.choose(configured) {
        Ok(chosen) => chosen,
        Err(e) => {
            return Check::problem("whisper", Status::Fail, e.to_string(), WHISPER_FIX);
        }
    };
    if let Err(why) = crate::ggml::check_model_file(&chosen.path) {
        return Check::problem(
            "whisper",
            Status::Fail,
            format!("{} is damaged: {why}", chosen.path.display()),
            format!("rm {} && {WHISPER_FIX}", chosen.path.display()),
        );
    }
    match &chosen.instead_of {
        None => Check::ok(
            "whisper",
            format!("{} at {}", chosen.name, chosen.path.display()),
        ),
        Some(wanted) => Check {
            name: "whisper",
            status: Status::Ok,
            detail: format!(
                "{} at {}, in place of {wanted} (configured, not installed)",
                chosen.name,
                chosen.path.display()
            ),
            fix: None,
        },
    }
}

/// The fix for a missing or broken sentence-embedding model.
const EMBEDDINGS_FIX: &str = "scripts/install-models minilm (in viva's checkout)";

fn embeddings(env: &Env) -> Check {
    let explicit = std::env::var_os("VIVA_EMBEDDER").map(PathBuf::from);
    let dirs = env.model_search().dirs;
    let Some(dir) = crate::meaning::encoder_dir(explicit.as_deref(), &dirs) else {
        let looked: Vec<String> = dirs
            .iter()
            .map(|d| d.join(crate::embed::MODEL_DIR_NAME).display().to_string())
            .collect();
        return Check::problem(
            "embeddings",
            Status::Warn,
            format!(
                "all-MiniLM-L6-v2 not found (looked in {}); answers are matched by phrases only",
                looked.join(", ")
            ),
            EMBEDDINGS_FIX,
        );
    };
    match crate::embed::SentenceEncoder::load(&dir) {
        Ok(_) => Check::ok(
            "embeddings",
            format!("all-MiniLM-L6-v2 at {}", dir.display()),
        ),
        Err(e) => Check::problem("embeddings", Status::Warn, e.to_string(), EMBEDDINGS_FIX),
    }
}

/// The interviewer's voice: a test phrase spoken into a file.
fn speech(env: &Env) -> Check {
    let settings = &env.config.speak;
    let backend =
        match crate::speak::choose(&settings.backend) {
            Ok(backend) => backend,
            Err(e) => return Check::problem(
                "speech",
                Status::Warn,
                e.to_string(),
                "sudo apt-get install espeak-ng (or set [speak] backend = \"auto\" in config.toml)",
            ),
        };
    if backend == crate::speak::TtsBackend::None {
        return Check::problem(
            "speech",
            Status::Warn,
            "no text-to-speech program; questions are printed instead of spoken",
            "sudo apt-get install espeak-ng (macOS and Windows have their own voice)",
        );
    }
    let out = std::env::temp_dir().join(format!("viva-doctor-{}.wav", std::process::id()));
    let spoken = crate::speak::synthesize(
        backend,
        "This is how viva asks its questions.",
        &out,
        settings,
    );
    let result = match spoken {
        Ok(Some(path)) => match crate::audio::load_wav(&path) {
            Ok(audio) => Check::ok(
                "speech",
                format!(
                    "{} spoke a test phrase into a file ({:.1} s)",
                    backend.name(),
                    audio.seconds()
                ),
            ),
            Err(e) => Check::problem(
                "speech",
                Status::Warn,
                format!("{} wrote a file viva cannot read: {e}", backend.name()),
                "sudo apt-get install --reinstall espeak-ng",
            ),
        },
        Ok(None) => Check::ok("speech", "none: questions are printed"),
        Err(e) => Check::problem(
            "speech",
            Status::Warn,
            e.to_string(),
            "sudo apt-get install --reinstall espeak-ng",
        ),
    };
    let _ = std::fs::remove_file(&out);
    result
}

/// What to do about sound devices that are not there.
const SOUND_FIX: &str = "connect a headset or start the sound server (`pulseaudio --start`, \
or `systemctl --user start pipewire-pulse`); without one, answer from recordings with --input FILE";

/// What the sound libraries said while the devices were probed, for the detail line.
fn library_said() -> String {
    match crate::quiet::complaints() {
        (0, _) => String::new(),
        (n, Some(first)) => {
            format!(" (the sound libraries reported {n} errors, the first: {first})")
        }
        (n, None) => format!(" (the sound libraries reported {n} errors)"),
    }
}

fn output() -> Check {
    let Some(name) = crate::devices::default_output_name() else {
        return Check::problem(
            "output",
            Status::Warn,
            format!(
                "no output device; questions are printed instead of spoken{}",
                library_said()
            ),
            SOUND_FIX,
        );
    };
    // A default device can be named and still not open (ALSA names one on every machine).
    let silence = vec![0.0; crate::audio::SAMPLE_RATE as usize / 20];
    match crate::devices::play(&silence, crate::audio::SAMPLE_RATE) {
        Ok(true) => Check::ok("output", format!("default output {name} plays")),
        Ok(false) => Check::problem(
            "output",
            Status::Warn,
            format!("no output device; questions are printed instead of spoken{}", library_said()),
            SOUND_FIX,
        ),
        Err(e) => Check::problem(
            "output",
            Status::Warn,
            format!(
                "default output {name} does not play: {}; questions are printed instead of spoken{}",
                crate::cli::error_message(&e),
                library_said()
            ),
            SOUND_FIX,
        ),
    }
}

fn input(env: &Env) -> Check {
    let wanted = env.config.listen.device.as_deref();
    let mut microphone = match crate::devices::microphone(wanted) {
        Ok(input) => input,
        Err(e) => {
            return Check::problem(
                "input",
                Status::Warn,
                format!("{}{}", crate::cli::error_message(&e), library_said()),
                SOUND_FIX,
            )
        }
    };
    let format = microphone.format;
    let heard = microphone.listen_for(LISTEN_SECONDS);
    drop(microphone);
    let which = wanted.map_or_else(|| "default input".to_owned(), |w| format!("input `{w}`"));
    let opened = format!(
        "{which} opened at {} Hz, {} ch",
        format.sample_rate, format.channels
    );
    if heard.frames == 0 {
        return Check::problem(
            "input",
            Status::Warn,
            format!("{opened}, but no sound arrived in 5 s"),
            "check the microphone is not muted or taken (`viva devices` lists the inputs; --device NAME picks one)",
        );
    }
    let level = format!(
        "{opened}; {LISTEN_SECONDS:.0} s heard, level {:.1} dBFS (peak {:.1})",
        heard.rms_db, heard.peak_db
    );
    if heard.rms_db < SILENT_DB {
        Check::problem(
            "input",
            Status::Warn,
            format!("{level}: silent"),
            "unmute the microphone or turn its gain up (`pavucontrol`, `alsamixer`), or pick another with --device NAME",
        )
    } else {
        Check::ok("input", level)
    }
}

fn daemon(home: &Path) -> Check {
    match crate::serve::discovery::find(home) {
        Some(info) => Check::ok(
            "daemon",
            format!("running (pid {}) on {}", info.pid, info.base_url()),
        ),
        None => Check::ok("daemon", "not running (`viva serve` starts it)"),
    }
}
