//! `viva doctor`, and the sound libraries kept quiet, on a machine with no sound server at all
//! and on a private PulseAudio server (`tests/common/sound.rs`).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::sound::{SoundServer, SINK};
use common::Sandbox;
use serde_json::Value;

/// What alsa-lib and libjack print on their own when no device opens.
const LIBRARY_NOISE: &[&str] = &[
    "ALSA lib",
    "Cannot connect to server",
    "jack server",
    "JackShm",
];

/// `viva ARGS` as on a machine with no sound card and no sound server: a HOME with no
/// `.asoundrc`, an empty runtime directory (no PulseAudio or PipeWire socket).
fn without_sound(sb: &Sandbox, args: &[&str]) -> Output {
    for dir in ["bare-home", "bare-run"] {
        std::fs::create_dir_all(sb.path(dir)).unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(args)
        .env("VIVA_HOME", sb.home())
        .env("HOME", sb.path("bare-home"))
        .env("XDG_RUNTIME_DIR", sb.path("bare-run"))
        .env_remove("PULSE_SERVER")
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS")
        .env_remove("VIVA_EMBEDDER")
        .current_dir(sb.dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run viva")
}

fn assert_no_library_noise(stderr: &str) {
    for noise in LIBRARY_NOISE {
        assert!(
            !stderr.contains(noise),
            "the sound libraries reached the terminal ({noise}): {stderr}"
        );
    }
}

/// tiny.en's shape, without weights, where `scripts/install-models` puts models.
fn install_tiny_en(home: &Path) {
    std::fs::create_dir_all(home.join("models")).unwrap();
    std::fs::write(
        home.join("models/ggml-tiny.en.bin"),
        common::weightless_ggml_model(),
    )
    .unwrap();
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
}

#[test]
fn a_round_without_a_sound_card_says_so_in_one_line_and_the_libraries_say_nothing() {
    let sb = Sandbox::new();
    install_tiny_en(&sb.home());
    std::fs::create_dir_all(sb.path("bank")).unwrap();
    std::fs::write(sb.path("bank/test.toml"), common::TWO_PROMPT_BANK).unwrap();
    let answer = sb.speak("answer.wav", "I took ownership of the launch myself.", 160);
    let out = without_sound(
        &sb,
        &[
            "--prompts",
            sb.path("bank").to_str().unwrap(),
            "ask",
            "decide",
            "--tts",
            "espeak-ng",
            "--input",
            answer.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("viva: cannot play audio").count(),
        1,
        "viva's own line, once: {stderr}"
    );
    assert_no_library_noise(&stderr);
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with("viva") || line.starts_with("…"),
            "not viva's: {line}"
        );
    }

    // Listing the devices, the other place every device is probed.
    let out = without_sound(&sb, &["devices"]);
    assert!(out.status.success());
    assert_no_library_noise(&String::from_utf8_lossy(&out.stderr));
}

#[test]
fn doctor_without_a_sound_server_names_each_problem_and_its_fix() {
    let sb = Sandbox::new();
    install_tiny_en(&sb.home());
    let out = without_sound(&sb, &["doctor", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "answers can be scored: {stderr}");
    assert_no_library_noise(&stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));

    let whisper = check(&report, "whisper");
    assert_eq!(whisper["status"], "ok", "{whisper}");
    let detail = whisper["detail"].as_str().unwrap();
    assert!(
        detail.contains("tiny.en") && detail.contains("in place of base.en"),
        "{detail}"
    );
    assert_eq!(check(&report, "viva_home")["status"], "ok");
    let home = sb.home().display().to_string();
    assert!(check(&report, "viva_home")["detail"]
        .as_str()
        .unwrap()
        .contains(&home));
    let embeddings = check(&report, "embeddings");
    assert_eq!(embeddings["status"], "warn");
    assert!(embeddings["fix"]
        .as_str()
        .unwrap()
        .contains("scripts/install-models"));
    let speech = check(&report, "speech");
    assert_eq!(speech["status"], "ok", "{speech}");
    assert!(speech["detail"].as_str().unwrap().contains("espeak-ng"));
    for device in ["input", "output"] {
        let found = check(&report, device);
        assert_eq!(found["status"], "warn", "{found}");
        assert!(
            found["fix"].as_str().unwrap().contains("--input FILE"),
            "{found}"
        );
    }
    let daemon = check(&report, "daemon");
    assert!(daemon["detail"].as_str().unwrap().contains("not running"));

    // The same, as a person reads it: each problem with its fix under it.
    let out = without_sound(&sb, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("viva {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("fix: "), "{text}");
    assert_no_library_noise(&String::from_utf8_lossy(&out.stderr));
}

#[test]
fn doctor_without_a_model_fails_and_names_the_install_command() {
    let sb = Sandbox::new();
    let out = without_sound(&sb, &["doctor", "--json"]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let whisper = check(&report, "whisper");
    assert_eq!(whisper["status"], "fail", "{whisper}");
    assert!(
        whisper["fix"]
            .as_str()
            .unwrap()
            .contains("viva models fetch base.en"),
        "{whisper}"
    );
}

#[test]
fn doctor_on_a_sound_server_opens_the_microphone_and_hears_its_level() {
    let sb = Sandbox::new();
    install_tiny_en(&sb.home());
    let sound = SoundServer::start();
    // Something to hear: a tone played into the sink whose monitor is the microphone.
    let tone = sb.path("tone.wav");
    common::run(
        "sox",
        &[
            "-n",
            "-r",
            "48000",
            "-c",
            "2",
            tone.to_str().unwrap(),
            "synth",
            "8",
            "sine",
            "440",
            "vol",
            "0.3",
        ],
    );
    let mut player = sound.play(&tone, SINK);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = sound
        .command(env!("CARGO_BIN_EXE_viva"))
        .args(["doctor", "--json"])
        .env("VIVA_HOME", sb.home())
        .env_remove("VIVA_MODEL")
        .current_dir(sb.dir.path())
        .output()
        .unwrap();
    let _ = player.kill();
    let _ = player.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_no_library_noise(&stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let mut unique = lines.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(lines.len(), unique.len(), "a line said twice: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = check(&report, "input");
    assert_eq!(input["status"], "ok", "{input}\n{}", sound.log());
    let detail = input["detail"].as_str().unwrap();
    let level: f64 = detail
        .split("level ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no level in {detail}"));
    // A sine at 0.3 of full scale is -13.5 dBFS RMS; the monitor passes it through.
    assert!((-30.0..-5.0).contains(&level), "{detail}");
    let output = check(&report, "output");
    assert_eq!(output["status"], "ok", "{output}");
    assert!(
        output["detail"].as_str().unwrap().contains("plays"),
        "{output}"
    );
}
