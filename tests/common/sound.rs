//! A private PulseAudio server per test: a null sink is the speaker, its monitor the
//! microphone, so viva's real cpal capture and playback run on a machine with no sound card.
//!
//! Each server lives in its own temporary directory (runtime dir, socket, HOME with an
//! `.asoundrc` that routes ALSA's default device to it), so tests running at once never hear
//! each other. Commands run through [`SoundServer::command`] see only this server. The server
//! is killed when the value is dropped.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The null sink every server has: what viva plays goes here, and its monitor is the default
/// microphone.
pub const SINK: &str = "vivatest";
/// An ALSA device defined in the server's `.asoundrc` that records the sink's monitor, listed
/// by `viva devices` under this description.
pub const NAMED_INPUT: &str = "Viva test microphone";
/// That device's ALSA name (its id in `viva devices`).
pub const NAMED_INPUT_ID: &str = "vivamic";

pub struct SoundServer {
    dir: tempfile::TempDir,
    server: Child,
}

impl SoundServer {
    /// Starts a server with the null sink [`SINK`] as default sink, its monitor as default
    /// source, and waits until it answers.
    pub fn start() -> SoundServer {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["run", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("home/.asoundrc"),
            format!(
                "pcm.!default pulse\nctl.!default pulse\n\
                 pcm.{NAMED_INPUT_ID} {{\n  type pulse\n  device \"{SINK}.monitor\"\n  \
                 hint {{\n    show on\n    description \"{NAMED_INPUT}\"\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("pulseaudio.log")).unwrap();
        let mut command = Command::new("pulseaudio");
        // Not a system daemon, no default script, no idle exit, no realtime or D-Bus: just a
        // socket without a cookie, and the null sink. As root it warns, and works.
        command
            .args([
                "--daemonize=no",
                "--system=false",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--realtime=false",
                "--high-priority=false",
                "--use-pid-file=false",
                "--log-target=stderr",
                "--load=module-native-protocol-unix auth-anonymous=1",
            ])
            .arg(format!(
                "--load=module-null-sink sink_name={SINK} rate=48000 channels=2"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut sound = SoundServer {
            server: {
                Self::environment(dir.path(), &mut command);
                command.spawn().unwrap_or_else(|e| {
                    panic!("pulseaudio is needed for the device tests ({e}); scripts/setup-debian installs it")
                })
            },
            dir,
        };
        sound.wait_until_ready();
        sound.pactl(&["set-default-sink", SINK]);
        sound.pactl(&["set-default-source", &format!("{SINK}.monitor")]);
        sound
    }

    fn environment(dir: &Path, command: &mut Command) {
        command
            .env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("PULSE_RUNTIME_PATH", dir.join("run/pulse"))
            .env(
                "PULSE_SERVER",
                format!("unix:{}", dir.join("run/pulse/native").display()),
            )
            .env_remove("ALSA_CONFIG_PATH");
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.server.try_wait().unwrap() {
                panic!(
                    "pulseaudio exited at start ({status}): {}",
                    std::fs::read_to_string(self.dir.path().join("pulseaudio.log"))
                        .unwrap_or_default()
                );
            }
            let ready = self
                .command("pactl")
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not answer within 15 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A command that talks to this server only (its HOME, runtime dir and socket).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        Self::environment(self.dir.path(), &mut command);
        command
    }

    /// `pactl ARGS` on this server; asserts success and returns stdout.
    pub fn pactl(&self, args: &[&str]) -> String {
        let out = self
            .command("pactl")
            .args(args)
            .output()
            .expect("pactl is needed (scripts/setup-debian installs pulseaudio-utils)");
        assert!(
            out.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Plays a WAV file into `sink`, as a person speaking into the microphone would.
    pub fn play(&self, wav: &Path, sink: &str) -> Child {
        self.command("paplay")
            .arg(format!("--device={sink}"))
            .arg(wav)
            .stderr(Stdio::null())
            .spawn()
            .expect("paplay is needed (scripts/setup-debian installs pulseaudio-utils)")
    }

    /// Records `source` until the returned recorder is stopped.
    pub fn record(&self, source: &str) -> MonitorRecording {
        let raw = self.dir.path().join(format!("{source}.raw"));
        let child = self
            .command("parec")
            .args([
                &format!("--device={source}"),
                "--format=s16le",
                "--rate=16000",
                "--channels=1",
                "--raw",
            ])
            .stdout(std::fs::File::create(&raw).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec is needed (scripts/setup-debian installs pulseaudio-utils)");
        MonitorRecording { child, raw }
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulseaudio.log")).unwrap_or_default()
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// What `parec` hears on a source, as 16 kHz mono samples.
pub struct MonitorRecording {
    child: Child,
    raw: PathBuf,
}

impl MonitorRecording {
    /// Stops recording and writes what was heard to `wav`; returns the samples.
    pub fn stop(mut self, wav: &Path) -> Vec<f32> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.raw).unwrap();
        let samples: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
            .collect();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(wav, spec).unwrap();
        for s in &samples {
            writer.write_sample((s * 32767.0) as i16).unwrap();
        }
        writer.finalize().unwrap();
        samples
    }
}

/// Waits until `path` exists, or fails naming `what`.
pub fn wait_for_file(path: impl Fn() -> Option<PathBuf>, seconds: u64, what: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = path() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// RMS of each 100 ms block of 16 kHz samples.
pub fn block_rms(samples: &[f32]) -> Vec<f32> {
    samples
        .chunks(1600)
        .map(|b| (b.iter().map(|s| s * s).sum::<f32>() / b.len() as f32).sqrt())
        .collect()
}
