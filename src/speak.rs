//! The interviewer's voice: turns a question into a WAV file with the system's text-to-speech
//! program (`say` on macOS, SAPI on Windows, espeak-ng elsewhere), and makes the answer beeps.
//!
//! viva synthesises to a file rather than speaking straight to the speakers so that it plays
//! the question itself: it then knows exactly when the question ends (the microphone stays
//! gated until then), and the file is kept with the session as a record of what was asked.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// Every value `SpeakSettings::backend` accepts, in the order error messages list them.
pub const BACKEND_NAMES: [&str; 5] = ["auto", "say", "espeak-ng", "sapi", "none"];

/// A RIFF/WAVE header with no samples after it; a file no longer than this holds no speech.
const WAV_HEADER_BYTES: u64 = 44;

/// The words per minute SAPI speaks at its default rate of 0, roughly, for every common voice.
const SAPI_DEFAULT_WPM: f64 = 175.0;

/// How the interviewer speaks: the `[speak]` section of `config.toml`, every key optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeakSettings {
    /// One of [`BACKEND_NAMES`]; `auto` picks the platform's own voice.
    pub backend: String,
    /// A voice name the backend knows (`espeak-ng --voices`, `say -v '?'`); `None` is its default.
    pub voice: Option<String>,
    /// Speaking rate in words per minute; `None` leaves the backend's own default. 165 is the
    /// top of the pace most rubrics ask of the candidate, so the interviewer models it.
    pub rate_wpm: Option<u32>,
}

impl Default for SpeakSettings {
    fn default() -> Self {
        Self {
            backend: "auto".into(),
            voice: None,
            rate_wpm: Some(165),
        }
    }
}

/// The text-to-speech program viva speaks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsBackend {
    /// macOS's `say`.
    Say,
    /// `espeak-ng`, on Linux and anywhere it is installed.
    EspeakNg,
    /// Windows' System.Speech, driven through Windows PowerShell.
    Sapi,
    /// No voice: the caller prints the question instead.
    None,
}

impl TtsBackend {
    /// The name `SpeakSettings::backend` uses for it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Say => "say",
            Self::EspeakNg => "espeak-ng",
            Self::Sapi => "sapi",
            Self::None => "none",
        }
    }

    /// The program that must be on `PATH`, and how to get it when it is not.
    fn program(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Say => Some((
                "say",
                "`say` comes with macOS; on Linux use espeak-ng instead \
                 (`sudo apt-get install espeak-ng`)",
            )),
            Self::EspeakNg => Some((
                "espeak-ng",
                "install it with `sudo apt-get install espeak-ng` (Debian, Ubuntu), \
                 `sudo dnf install espeak-ng` (Fedora) or `brew install espeak-ng` (macOS)",
            )),
            Self::Sapi => Some((
                "powershell",
                "SAPI speaks through Windows PowerShell, which comes with Windows; \
                 elsewhere use `say` or `espeak-ng`",
            )),
            Self::None => None,
        }
    }
}

/// Why the interviewer could not speak. Each message names the backend, and the file or fix.
#[derive(Debug, thiserror::Error)]
pub enum SpeakError {
    #[error("unknown speech backend `{name}`; the known ones are {}", BACKEND_NAMES.join(", "))]
    UnknownBackend { name: String },
    #[error("the {backend} speech backend needs `{program}`, which is not on PATH; {install}")]
    MissingProgram {
        backend: &'static str,
        program: &'static str,
        install: &'static str,
    },
    #[error("{backend}: nothing to say into {path}: the text is empty")]
    EmptyText {
        backend: &'static str,
        path: PathBuf,
    },
    #[error("{backend}: cannot replace the old {path}: {source}")]
    Output {
        backend: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{backend}: cannot start `{program}` to write {path}: {source}")]
    Spawn {
        backend: &'static str,
        program: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{backend}: speaking into {path} failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        backend: &'static str,
        path: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{backend}: no audio was written to {path}; check that its directory exists and is writable")]
    NoAudio {
        backend: &'static str,
        path: PathBuf,
    },
}

/// What the program printed on failure, as the tail of an error message.
fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", stderr.lines().collect::<Vec<_>>().join("; "))
    }
}

/// Turns a backend name from the settings into a backend whose program is present.
///
/// `auto` never fails: macOS speaks with `say`, Windows with SAPI, anything else with
/// espeak-ng when it is on `PATH`, and otherwise not at all ([`TtsBackend::None`]), in which
/// case the caller prints the question instead. A backend named explicitly must be usable.
pub fn choose(requested: &str) -> Result<TtsBackend, SpeakError> {
    choose_on(requested, std::env::consts::OS, on_path)
}

/// [`choose`] for a given operating system and view of `PATH`, so every branch is testable.
fn choose_on(
    requested: &str,
    os: &str,
    has_program: impl Fn(&str) -> bool,
) -> Result<TtsBackend, SpeakError> {
    let backend = match requested {
        "auto" => {
            return Ok(match os {
                "macos" => TtsBackend::Say,
                "windows" => TtsBackend::Sapi,
                _ if has_program("espeak-ng") => TtsBackend::EspeakNg,
                _ => TtsBackend::None,
            })
        }
        "none" => return Ok(TtsBackend::None),
        "say" => TtsBackend::Say,
        "espeak-ng" => TtsBackend::EspeakNg,
        "sapi" => TtsBackend::Sapi,
        other => {
            return Err(SpeakError::UnknownBackend {
                name: other.to_owned(),
            })
        }
    };
    match backend.program() {
        Some((program, install)) if !has_program(program) => Err(SpeakError::MissingProgram {
            backend: backend.name(),
            program,
            install,
        }),
        _ => Ok(backend),
    }
}

/// Whether an executable called `program` is in one of `PATH`'s directories.
fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(program);
        is_executable(&candidate) || (cfg!(windows) && candidate.with_extension("exe").is_file())
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Speaks `text` into a WAV file at `out`, replacing any file already there.
///
/// Returns the file written, or `None` for [`TtsBackend::None`], which writes nothing. The
/// text never reaches a command line where it could be read as an option or as script: it
/// follows `--` for espeak-ng, goes through stdin for `say`, and through an environment
/// variable for PowerShell.
pub fn synthesize(
    backend: TtsBackend,
    text: &str,
    out: &Path,
    settings: &SpeakSettings,
) -> Result<Option<PathBuf>, SpeakError> {
    let name = backend.name();
    if backend == TtsBackend::None {
        return Ok(None);
    }
    if text.trim().is_empty() {
        return Err(SpeakError::EmptyText {
            backend: name,
            path: out.to_owned(),
        });
    }
    // An old file left in place would pass for fresh output if the program failed quietly
    // (espeak-ng exits 0 when it cannot open the output file).
    match std::fs::remove_file(out) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SpeakError::Output {
                backend: name,
                path: out.to_owned(),
                source,
            })
        }
    }
    let voice = settings.voice.as_deref().filter(|v| !v.trim().is_empty());
    let (command, stdin) = match backend {
        TtsBackend::EspeakNg => (espeak_ng_command(text, out, voice, settings.rate_wpm), None),
        TtsBackend::Say => (say_command(out, voice, settings.rate_wpm), Some(text)),
        TtsBackend::Sapi => (sapi_command(text, out, voice, settings.rate_wpm), None),
        TtsBackend::None => unreachable!("handled above"),
    };
    run(name, command, stdin, out)?;
    let written = std::fs::metadata(out).map_or(0, |m| if m.is_file() { m.len() } else { 0 });
    if written <= WAV_HEADER_BYTES {
        return Err(SpeakError::NoAudio {
            backend: name,
            path: out.to_owned(),
        });
    }
    Ok(Some(out.to_owned()))
}

/// `espeak-ng [-v VOICE] [-s RATE] -w OUT -- TEXT`.
fn espeak_ng_command(text: &str, out: &Path, voice: Option<&str>, rate: Option<u32>) -> Command {
    let mut command = Command::new("espeak-ng");
    if let Some(voice) = voice {
        command.arg("-v").arg(voice);
    }
    if let Some(rate) = rate {
        command.arg("-s").arg(rate.to_string());
    }
    command.arg("-w").arg(out).arg("--").arg(text);
    command
}

/// `say [-v VOICE] [-r RATE] -o OUT --file-format=WAVE --data-format=LEI16@22050 -f -`, the
/// text on stdin: `say` has no `--`, and a message starting with `-` would be read as an option.
fn say_command(out: &Path, voice: Option<&str>, rate: Option<u32>) -> Command {
    let mut command = Command::new("say");
    if let Some(voice) = voice {
        command.arg("-v").arg(voice);
    }
    if let Some(rate) = rate {
        command.arg("-r").arg(rate.to_string());
    }
    command
        .arg("-o")
        .arg(out)
        .args(["--file-format=WAVE", "--data-format=LEI16@22050", "-f", "-"]);
    command
}

/// The PowerShell script behind the SAPI backend. It reads everything from `VIVA_TTS_*`
/// environment variables, so no text is ever spliced into the script.
const SAPI_SCRIPT: &str = r#"
$ErrorActionPreference = 'Stop'
try {
    Add-Type -AssemblyName System.Speech
    $synth = New-Object System.Speech.Synthesis.SpeechSynthesizer
    if ($env:VIVA_TTS_VOICE) { $synth.SelectVoice($env:VIVA_TTS_VOICE) }
    if ($env:VIVA_TTS_RATE) { $synth.Rate = [int]$env:VIVA_TTS_RATE }
    $format = New-Object System.Speech.AudioFormat.SpeechAudioFormatInfo(22050, [System.Speech.AudioFormat.AudioBitsPerSample]::Sixteen, [System.Speech.AudioFormat.AudioChannel]::Mono)
    $synth.SetOutputToWaveFile($env:VIVA_TTS_OUT, $format)
    $synth.Speak($env:VIVA_TTS_TEXT)
    $synth.Dispose()
} catch {
    [Console]::Error.WriteLine($_.Exception.Message)
    exit 1
}
"#;

/// `powershell -NoProfile -NonInteractive -Command SCRIPT`, with the text in the environment.
fn sapi_command(text: &str, out: &Path, voice: Option<&str>, rate: Option<u32>) -> Command {
    let mut command = Command::new("powershell");
    command
        .args(["-NoProfile", "-NonInteractive", "-Command", SAPI_SCRIPT])
        .env("VIVA_TTS_TEXT", text)
        // PowerShell resolves relative paths against its own location, not ours.
        .env(
            "VIVA_TTS_OUT",
            std::path::absolute(out).unwrap_or_else(|_| out.to_owned()),
        )
        .env_remove("VIVA_TTS_VOICE")
        .env_remove("VIVA_TTS_RATE");
    if let Some(voice) = voice {
        command.env("VIVA_TTS_VOICE", voice);
    }
    if let Some(rate) = rate {
        command.env("VIVA_TTS_RATE", sapi_rate(rate).to_string());
    }
    command
}

/// SAPI's rate runs from -10 (a third of the default speed) to 10 (three times it), on a
/// logarithmic scale; map words per minute onto it.
fn sapi_rate(wpm: u32) -> i32 {
    let steps = 10.0 * (f64::from(wpm.max(1)) / SAPI_DEFAULT_WPM).log(3.0);
    steps.round().clamp(-10.0, 10.0) as i32
}

/// Runs a synthesis command to completion, feeding `stdin` if given, and checks its status.
fn run(
    backend: &'static str,
    mut command: Command,
    stdin: Option<&str>,
    out: &Path,
) -> Result<(), SpeakError> {
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| SpeakError::Spawn {
        backend,
        program: program.clone(),
        path: out.to_owned(),
        source,
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A question is far smaller than a pipe's buffer, so this cannot block on a child that
        // is busy writing stderr. A child that exits early closes the pipe: its exit status
        // below says why, so a broken pipe here is not the error to report.
        match pipe.write_all(text.as_bytes()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                return Err(SpeakError::Spawn {
                    backend,
                    program,
                    path: out.to_owned(),
                    source: e,
                })
            }
            _ => {}
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|source| SpeakError::Spawn {
            backend,
            program: program.clone(),
            path: out.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(SpeakError::Failed {
            backend,
            path: out.to_owned(),
            status: format!("`{}` {}", program_name(&program), output.status),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

/// The program's file name, for messages.
fn program_name(program: &str) -> &str {
    Path::new(program)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or(program)
}

/// A sine beep: `seconds` long at `sample_rate`, amplitude 0.3, with 10 ms linear fades at
/// both ends so it starts and stops without a click. Marks the start and end of an answer.
pub fn tone(frequency_hz: f32, seconds: f32, sample_rate: u32) -> Vec<f32> {
    const AMPLITUDE: f32 = 0.3;
    let len = (seconds.max(0.0) * sample_rate as f32).round() as usize;
    let fade = ((0.010 * sample_rate as f32).round() as usize)
        .min(len / 2)
        .max(1);
    let step = std::f32::consts::TAU * frequency_hz / sample_rate as f32;
    (0..len)
        .map(|i| {
            let from_edge = i.min(len - 1 - i);
            let envelope = (from_edge as f32 / fade as f32).min(1.0);
            AMPLITUDE * envelope * (step * i as f32).sin()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::load_wav;

    fn espeak(rate: u32) -> SpeakSettings {
        SpeakSettings {
            backend: "espeak-ng".into(),
            voice: None,
            rate_wpm: Some(rate),
        }
    }

    /// Speaks `text` with espeak-ng and returns its length in seconds, as viva would load it.
    fn spoken_seconds(text: &str, rate: u32) -> f64 {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("question.wav");
        let written = synthesize(TtsBackend::EspeakNg, text, &out, &espeak(rate))
            .unwrap()
            .expect("espeak-ng writes a file");
        assert_eq!(written, out);
        load_wav(&written).unwrap().seconds()
    }

    #[test]
    fn espeak_ng_is_chosen_when_named_and_installed() {
        // espeak-ng is a setup requirement (scripts/setup-debian, CI): fail loudly without it.
        assert_eq!(choose("espeak-ng").unwrap(), TtsBackend::EspeakNg);
    }

    #[test]
    fn espeak_ng_writes_a_wav_of_plausible_length() {
        // Ten words at 160 words per minute is 3.75 s of speech.
        let seconds = spoken_seconds(
            "Tell me about a decision you made without any approval.",
            160,
        );
        assert!((2.0..=6.0).contains(&seconds), "{seconds} s");
    }

    #[test]
    fn a_faster_rate_gives_a_shorter_file() {
        let text = "Walk me through your background and how you ended up in product marketing.";
        let slow = spoken_seconds(text, 120);
        let fast = spoken_seconds(text, 240);
        assert!(fast < slow * 0.75, "120 wpm: {slow} s, 240 wpm: {fast} s");
    }

    #[test]
    fn text_starting_with_a_dash_is_spoken_not_taken_as_a_flag() {
        // Read as options, `--help` and `--version` print and exit 0 without writing audio,
        // and `-v is` asks for a voice called "is"; spoken, each is a second or more of speech.
        for text in [
            "--help me understand the question, please.",
            "--version two of the launch plan came later.",
            "-v is not a voice, just the start of a sentence.",
        ] {
            let seconds = spoken_seconds(text, 165);
            assert!(seconds > 1.0, "{text:?}: {seconds} s");
        }
    }

    #[test]
    fn the_none_backend_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("question.wav");
        let written = synthesize(
            TtsBackend::None,
            "Tell me about yourself.",
            &out,
            &SpeakSettings::default(),
        )
        .unwrap();
        assert_eq!(written, None);
        assert!(!out.exists());
        assert_eq!(choose("none").unwrap(), TtsBackend::None);
    }

    #[test]
    fn an_unknown_backend_name_lists_the_known_ones() {
        let err = choose("festival").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown speech backend `festival`; the known ones are auto, say, espeak-ng, sapi, none"
        );
    }

    #[test]
    fn a_named_backend_whose_program_is_missing_says_how_to_install_it() {
        let err = choose_on("espeak-ng", "linux", |_| false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the espeak-ng speech backend needs `espeak-ng`, which is not on PATH"),
            "{err}"
        );
        assert!(err.contains("sudo apt-get install espeak-ng"), "{err}");
        let err = choose_on("sapi", "linux", |_| false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs `powershell`"), "{err}");
    }

    #[test]
    fn auto_takes_the_platform_voice_and_falls_back_to_none() {
        let everything = |_: &str| true;
        let nothing = |_: &str| false;
        assert_eq!(
            choose_on("auto", "macos", nothing).unwrap(),
            TtsBackend::Say
        );
        assert_eq!(
            choose_on("auto", "windows", nothing).unwrap(),
            TtsBackend::Sapi
        );
        assert_eq!(
            choose_on("auto", "linux", everything).unwrap(),
            TtsBackend::EspeakNg
        );
        assert_eq!(
            choose_on("auto", "linux", nothing).unwrap(),
            TtsBackend::None
        );
    }

    #[test]
    fn empty_text_is_refused_not_spoken_as_silence() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("question.wav");
        let err = synthesize(TtsBackend::EspeakNg, "  \n", &out, &espeak(165)).unwrap_err();
        assert!(matches!(err, SpeakError::EmptyText { .. }), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn a_missing_output_directory_is_reported_though_espeak_ng_exits_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("no-such-session").join("question.wav");
        let err = synthesize(TtsBackend::EspeakNg, "Hello there.", &out, &espeak(165))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("espeak-ng: no audio was written to "),
            "{err}"
        );
        assert!(err.contains("no-such-session"), "{err}");
    }

    #[test]
    fn a_failed_synthesis_names_the_backend_and_leaves_no_stale_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("question.wav");
        std::fs::write(&out, vec![1u8; 4096]).unwrap();
        let settings = SpeakSettings {
            voice: Some("nosuchvoice".into()),
            ..espeak(165)
        };
        let err = synthesize(TtsBackend::EspeakNg, "Hello there.", &out, &settings)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("espeak-ng: speaking into "), "{err}");
        assert!(err.contains("question.wav"), "{err}");
        assert!(err.contains("voice does not exist"), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn settings_default_to_auto_at_165_wpm_and_refuse_unknown_keys() {
        let settings: SpeakSettings = toml::from_str("voice = \"en-us\"").unwrap();
        assert_eq!(settings.backend, "auto");
        assert_eq!(settings.voice.as_deref(), Some("en-us"));
        assert_eq!(settings.rate_wpm, Some(165));
        assert!(toml::from_str::<SpeakSettings>("rate = 150").is_err());
    }

    #[test]
    fn sapi_rate_maps_words_per_minute_onto_its_scale() {
        assert_eq!(sapi_rate(175), 0);
        assert!(sapi_rate(165) <= 0 && sapi_rate(165) >= -1);
        assert_eq!(sapi_rate(525), 10);
        assert_eq!(sapi_rate(2_000), 10);
        assert_eq!(sapi_rate(1), -10);
    }

    #[test]
    fn tone_has_the_right_length_and_peak() {
        let beep = tone(880.0, 0.25, 16_000);
        assert_eq!(beep.len(), 4_000);
        let peak = beep.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.3).abs() < 0.01, "peak {peak}");
        assert!(tone(880.0, 0.0, 16_000).is_empty());
    }

    #[test]
    fn tone_starts_and_ends_near_zero() {
        let beep = tone(880.0, 0.25, 16_000);
        // Within the first and last millisecond the fade keeps it under a tenth of full level.
        let edge = 16;
        for s in beep[..edge].iter().chain(&beep[beep.len() - edge..]) {
            assert!(s.abs() < 0.03, "{s}");
        }
        assert!(beep[0].abs() < 1e-6 && beep[beep.len() - 1].abs() < 1e-6);
    }
}
