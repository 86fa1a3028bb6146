//! Property-based fuzzing of everything viva reads from outside: bank and playlist TOML, WAV
//! files, ggml model files, and every body and query of the daemon's HTTP API (the model
//! importer is fuzzed beside its own tests, in `src/import/tests.rs`).
//!
//! Inputs are valid files mutated (bytes flipped, numbers replaced by extremes, pieces cut,
//! repeated or inserted) or plain arbitrary data. For each: no panic, and either a result or
//! an error that says where the problem is; nothing written where nothing should be.
//!
//! `cargo test` runs a bounded number of cases per property; `VIVA_FUZZ_CASES=N` runs N each
//! (the long mode). Each property prints its case count and time (see `--nocapture`).

mod common;

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use common::Sandbox;

/// Cases per property: `VIVA_FUZZ_CASES`, or `default` (sized so the whole file runs in well
/// under a minute in a debug build).
fn cases(default: u32) -> u32 {
    std::env::var("VIVA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on `cases` inputs from `strategy`; a failure (or a panic inside `check`) is
/// shrunk by proptest to a small input and reported.
fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let cases = cases(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        // Nothing written into the source tree; the shrunk input is in the failure message.
        failure_persistence: None,
        ..Config::default()
    });
    let start = Instant::now();
    let result = runner.run(&strategy, check);
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

// ---- Mutations -------------------------------------------------------------------------

/// Where an edit lands: in the first bytes (headers, where lengths live) or anywhere.
#[derive(Debug, Clone)]
enum At {
    Head(usize),
    Anywhere(f64),
}

impl At {
    fn index(&self, len: usize) -> usize {
        match self {
            At::Head(i) => (*i).min(len),
            At::Anywhere(f) => ((len as f64) * f) as usize,
        }
    }
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Flip(At, u8),
    Byte(At, u8),
    /// A little-endian number with meaning to a parser: 0, 1, a sign bit, the maximum...
    Word(At, u32),
    Insert(At, Vec<u8>),
    Delete(At, usize),
    Truncate(At),
    Repeat(At, usize),
}

const WORDS: [u32; 12] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0xffff,
    16_000,
    44_100,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff0,
    0xffff_ffff,
];

fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        (0usize..64).prop_map(At::Head),
        (0.0f64..1.0).prop_map(At::Anywhere)
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (at(), 0u8..8).prop_map(|(a, bit)| Edit::Flip(a, bit)),
        (at(), any::<u8>()).prop_map(|(a, b)| Edit::Byte(a, b)),
        (at(), prop::sample::select(WORDS.to_vec())).prop_map(|(a, w)| Edit::Word(a, w)),
        (at(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(a, b)| Edit::Insert(a, b)),
        (at(), 1usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
        at().prop_map(Edit::Truncate),
        (at(), 1usize..64).prop_map(|(a, n)| Edit::Repeat(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len();
        match edit {
            Edit::Flip(a, bit) if len > 0 => {
                let i = a.index(len - 1);
                bytes[i] ^= 1 << bit;
            }
            Edit::Byte(a, b) if len > 0 => {
                let i = a.index(len - 1);
                bytes[i] = *b;
            }
            Edit::Word(a, w) => {
                let i = a.index(len.saturating_sub(4));
                for (k, b) in w.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(i + k) {
                        *slot = *b;
                    }
                }
            }
            Edit::Insert(a, new) => {
                let i = a.index(len);
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Delete(a, n) => {
                let i = a.index(len);
                bytes.drain(i..(i + n).min(len));
            }
            Edit::Truncate(a) => bytes.truncate(a.index(len)),
            Edit::Repeat(a, n) => {
                let i = a.index(len);
                let piece: Vec<u8> = bytes[i..(i + n).min(len)].to_vec();
                bytes.splice(i..i, piece);
            }
            _ => {}
        }
    }
    bytes
}

/// `seed` with a few edits, or arbitrary bytes (one case in eight).
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        7 => prop::collection::vec(edit(), 1..6).prop_map(move |edits| apply(seed.clone(), &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..600),
    ]
}

// ---- Bank and playlist TOML --------------------------------------------------------------

/// One change to a TOML file, by line: what a person editing it by hand might do wrong.
#[derive(Debug, Clone)]
enum TextEdit {
    DeleteLine(f64),
    RepeatLine(f64),
    SwapLines(f64, f64),
    InsertLine(f64, String),
    /// The value after a line's `=` replaced.
    Value(f64, String),
    Bytes(Edit),
}

/// Pieces of TOML that mean something to the bank's parser.
const FRAGMENTS: [&str; 24] = [
    "[[prompt]]",
    "[prompt.rubric]",
    "[[prompt.rubric.concept]]",
    "[[step]]",
    "[[prompt.rubric.concept.follow_up]]",
    "id = \"decide\"",
    "prompt = \"decide\"",
    "seconds = [30, 5]",
    "weight = -1",
    "weight = 0",
    "repeat_until = 101",
    "max_tries = 0",
    "due = 0",
    "pick = 99",
    "any = []",
    "means = \"\"",
    "say = \"\"",
    "think_seconds = -5",
    "max_seconds = 0",
    "shuffle = \"yes\"",
    "[rubric",
    "= 1",
    "\"unterminated",
    "x.y.z = 1",
];

const VALUES: [&str; 22] = [
    "\"\"",
    "-1",
    "0",
    "1e999",
    "nan",
    "inf",
    "-inf",
    "[5, 1]",
    "[]",
    "[[]]",
    "{}",
    "\"\\u0000\"",
    "99999999999999999999",
    "-9223372036854775808",
    "true",
    "[1, 2, 3]",
    "\"x\"",
    "'''\nmulti\n'''",
    "1979-05-27T07:32:00Z",
    "[\"a\", 1]",
    "{ a = 1 }",
    "\"\u{202e}\u{fffd}\"",
];

fn text_edit() -> impl Strategy<Value = TextEdit> {
    let piece = prop_oneof![
        prop::sample::select(FRAGMENTS.to_vec()).prop_map(str::to_owned),
        "\\PC{0,24}",
    ];
    let value = prop_oneof![
        prop::sample::select(VALUES.to_vec()).prop_map(str::to_owned),
        "\\PC{0,12}",
    ];
    prop_oneof![
        (0.0f64..1.0).prop_map(TextEdit::DeleteLine),
        (0.0f64..1.0).prop_map(TextEdit::RepeatLine),
        (0.0f64..1.0, 0.0f64..1.0).prop_map(|(a, b)| TextEdit::SwapLines(a, b)),
        (0.0f64..1.0, piece).prop_map(|(a, p)| TextEdit::InsertLine(a, p)),
        (0.0f64..1.0, value).prop_map(|(a, v)| TextEdit::Value(a, v)),
        edit().prop_map(TextEdit::Bytes),
    ]
}

fn apply_text(text: &str, edits: &[TextEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let pick = |f: f64, n: usize| ((n as f64) * f) as usize;
    for edit in edits {
        let n = lines.len();
        match edit {
            TextEdit::DeleteLine(f) if n > 0 => {
                lines.remove(pick(*f, n));
            }
            TextEdit::RepeatLine(f) if n > 0 => {
                let i = pick(*f, n);
                lines.insert(i, lines[i].clone());
            }
            TextEdit::SwapLines(a, b) if n > 0 => lines.swap(pick(*a, n), pick(*b, n)),
            TextEdit::InsertLine(f, piece) => lines.insert(pick(*f, n + 1), piece.clone()),
            TextEdit::Value(f, value) => {
                let with_value: Vec<usize> = (0..n).filter(|&i| lines[i].contains('=')).collect();
                if !with_value.is_empty() {
                    let i = with_value[pick(*f, with_value.len())];
                    let key = lines[i].split('=').next().unwrap_or("").to_owned();
                    lines[i] = format!("{key}= {value}");
                }
            }
            TextEdit::Bytes(edit) => {
                let bytes = apply(lines.join("\n").into_bytes(), std::slice::from_ref(edit));
                lines = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

fn mutated_text(seed: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        7 => prop::collection::vec(text_edit(), 1..6).prop_map(move |e| apply_text(seed, &e)),
        1 => "\\PC{0,400}",
    ]
}

/// Every problem of a refused bank says where it is: a file given, and a line and column that
/// exist in it.
fn check_bank(
    result: Result<viva::bank::Bank, viva::bank::BankError>,
    fuzzed: &viva::bank::BankFile,
) -> Result<(), TestCaseError> {
    let Err(error) = result else { return Ok(()) };
    prop_assert!(!error.problems.is_empty());
    for problem in &error.problems {
        prop_assert!(!problem.message.trim().is_empty(), "{problem}");
        prop_assert!(problem.line >= 1 && problem.column >= 1, "{problem}");
        if problem.file == fuzzed.display {
            let lines = fuzzed.text.lines().count().max(1);
            prop_assert!(
                problem.line <= lines + 1,
                "{problem} (the file has {lines} lines)"
            );
        }
    }
    Ok(())
}

#[test]
fn fuzz_bank_prompt_files() {
    fuzz(
        "bank prompts",
        256,
        mutated_text(common::TWO_PROMPT_BANK),
        |text| {
            let file = viva::bank::BankFile {
                display: "fuzz/prompts.toml".into(),
                is_playlist: false,
                text,
            };
            check_bank(viva::bank::build(&[vec![file.clone()]]), &file)
        },
    );
}

const PLAYLIST: &str = r#"
name = "Fuzzed"
shuffle = true
follow_ups = true

[[step]]
say = "We start."

[[step]]
prompt = "decide"
repeat_until = 70
max_tries = 2

[[step]]
pick = 1
tags = ["test"]

[[step]]
due = 1
max_seconds = 60
"#;

#[test]
fn fuzz_bank_playlist_files() {
    let prompts = viva::bank::BankFile {
        display: "fuzz/prompts.toml".into(),
        is_playlist: false,
        text: common::TWO_PROMPT_BANK.into(),
    };
    viva::bank::build(&[vec![prompts.clone()]]).expect("the seed prompts are valid");
    fuzz("bank playlists", 256, mutated_text(PLAYLIST), |text| {
        let file = viva::bank::BankFile {
            display: "fuzz/playlists/fuzzed.toml".into(),
            is_playlist: true,
            text,
        };
        check_bank(
            viva::bank::build(&[vec![prompts.clone(), file.clone()]]),
            &file,
        )
    });
}

// ---- WAV ---------------------------------------------------------------------------------

/// A valid WAV of some shape viva reads (or refuses by its format), with random samples.
fn wav_file() -> impl Strategy<Value = Vec<u8>> {
    let shape = prop_oneof![
        Just((16u16, hound::SampleFormat::Int)),
        Just((8, hound::SampleFormat::Int)),
        Just((24, hound::SampleFormat::Int)),
        Just((32, hound::SampleFormat::Int)),
        Just((32, hound::SampleFormat::Float)),
    ];
    let rate = prop::sample::select(vec![4_000u32, 8_000, 16_000, 22_050, 44_100, 48_000]);
    (
        shape,
        rate,
        1u16..=3,
        prop::collection::vec(-1.0f32..1.0, 0..1200),
    )
        .prop_map(|((bits, format), rate, channels, values)| {
            let spec = hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: bits,
                sample_format: format,
            };
            let mut bytes = Cursor::new(Vec::new());
            let mut writer = hound::WavWriter::new(&mut bytes, spec).unwrap();
            let whole = values.len() - values.len() % channels as usize;
            for &v in &values[..whole] {
                match format {
                    hound::SampleFormat::Float => writer.write_sample(v).unwrap(),
                    hound::SampleFormat::Int => {
                        let max = ((1i64 << (bits - 1)) - 1) as f32;
                        writer.write_sample((v * max) as i32).unwrap()
                    }
                }
            }
            writer.finalize().unwrap();
            bytes.into_inner()
        })
}

fn check_wav_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    match viva::audio::decode_wav(Cursor::new(bytes), Path::new("fuzz.wav")) {
        Ok(recording) => {
            prop_assert!(recording
                .samples
                .iter()
                .all(|s| s.is_finite() && s.abs() < 4.0));
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("fuzz.wav: "), "{message}");
        }
    }
    Ok(())
}

#[test]
fn fuzz_wav_reader() {
    fuzz("wav", 512, wav_file().prop_flat_map(mutated), |bytes| {
        check_wav_bytes(&bytes)
    });
}

#[test]
fn unmutated_wavs_decode() {
    // The seed is sound: without edits every generated file decodes, or holds no frame.
    fuzz(
        "wav seeds",
        32,
        wav_file(),
        |bytes| match viva::audio::decode_wav(Cursor::new(&bytes), Path::new("seed.wav")) {
            Ok(_) | Err(viva::audio::AudioError::Empty { .. }) => Ok(()),
            Err(e) => Err(TestCaseError::fail(e.to_string())),
        },
    );
}

// ---- ggml model files --------------------------------------------------------------------

/// The weightless model with one small tensor record after its vocabulary.
fn ggml_seed() -> Vec<u8> {
    let mut bytes = common::weightless_ggml_model();
    for v in [1i32, 4, 0, 4] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(b"test");
    bytes.extend_from_slice(&[0u8; 16]);
    bytes
}

#[test]
fn fuzz_ggml_checker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ggml-fuzz.bin");
    std::fs::write(&path, ggml_seed()).unwrap();
    let summary = viva::ggml::check_model_file(&path).expect("the seed is a valid model");
    assert_eq!(summary.tensors, 1);
    fuzz("ggml", 384, mutated(ggml_seed()), |bytes| {
        std::fs::write(&path, &bytes).unwrap();
        if let Err(message) = viva::ggml::check_model_file(&path) {
            prop_assert!(!message.trim().is_empty());
        }
        Ok(())
    });
}

// ---- The HTTP API --------------------------------------------------------------------------

/// A daemon on a loopback port with the weightless model and no sound devices at all.
struct Daemon {
    child: std::process::Child,
    port: u16,
    token: String,
}

impl Daemon {
    fn start(sb: &Sandbox) -> Daemon {
        let model = sb.weightless_model();
        let no_alsa = sb.path("no-alsa.conf");
        std::fs::write(&no_alsa, "").unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_viva"))
            .args(["--model", model.to_str().unwrap(), "serve", "--port", "0"])
            .env("VIVA_HOME", sb.home())
            .env("HOME", sb.dir.path())
            // A round that reaches for the microphone finds none, whatever this machine has.
            .env("ALSA_CONFIG_PATH", &no_alsa)
            .env("PULSE_SERVER", "unix:/nonexistent")
            .current_dir(sb.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(sb.path("serve-stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let info = common::wait_for_serve_json(&sb.home(), child.id(), 60);
        Daemon {
            child,
            port: info["port"].as_u64().unwrap() as u16,
            token: info["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Sends a request as raw bytes (any target, any body) and returns the status and body.
    fn send(&self, method: &str, target: &[u8], content_type: &str, body: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut request = Vec::new();
        request.extend_from_slice(method.as_bytes());
        request.push(b' ');
        request.extend_from_slice(target);
        request.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                self.port,
                self.token,
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body);
        // The server may answer and close before reading a body it refuses.
        let _ = stream.write_all(&request);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A built-in prompt, so some fuzzed requests get past the lookup.
const PROMPT: &str = "culture-decision-without-approval";

/// A piece of a URL: percent-encoded arbitrary bytes, raw visible characters, or a known
/// troublemaker.
fn url_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| b.iter().map(|c| format!("%{c:02X}")).collect()),
        "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,24}",
        prop::sample::select(vec![
            "..",
            "%2e%2e",
            "..%2f..%2fetc%2fpasswd",
            "%00",
            "-1",
            "0",
            "18446744073709551616",
            "4294967296",
            "99999999999999999999999",
            "%zz",
            "%",
            "",
            PROMPT,
            "20260101-000000",
            "audio",
            "question",
            "next",
            "stop",
        ])
        .prop_map(str::to_owned),
        "[a-z]{4000}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(vec!["prompt", "transcript", "limit", "x", ""])
            .prop_map(str::to_owned),
        url_piece(),
    ];
    prop::collection::vec((key, url_piece(), any::<bool>()), 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v, bare)| if bare { k } else { format!("{k}={v}") })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// A round request: a valid one mutated (its recordings never exist), or any JSON.
fn round_body() -> impl Strategy<Value = Vec<u8>> {
    let seed = format!(
        r#"{{"prompt": "{PROMPT}", "inputs": ["/nonexistent/answer.wav"], "tts": "none", "seed": 3, "realtime": false, "pause_between": false, "device": "none"}}"#
    );
    let json_leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,16}".prop_map(Value::from),
    ];
    let json = json_leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "prompt",
                    "playlist",
                    "inputs",
                    "tts",
                    "device",
                    "seed",
                    "realtime",
                    "pause_between",
                    "other"
                ]),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    prop_oneof![
        3 => mutated(seed.into_bytes()),
        2 => json.prop_map(|v| v.to_string().into_bytes()),
    ]
}

/// One request to the API.
#[derive(Debug, Clone)]
struct Request {
    method: &'static str,
    target: String,
    content_type: &'static str,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = Request> {
    let get = |target: String| Request {
        method: "GET",
        target,
        content_type: "text/plain",
        body: Vec::new(),
    };
    prop_oneof![
        query().prop_map(move |q| get(format!("/api/sessions?{q}"))),
        query().prop_map(move |q| get(format!("/api/history?{q}"))),
        query().prop_map(move |q| get(format!("/api/prompts?{q}"))),
        query().prop_map(move |q| get(format!("/auth?{q}"))),
        url_piece().prop_map(move |id| get(format!("/api/sessions/{id}"))),
        (url_piece(), url_piece(), url_piece()).prop_map(move |(id, seq, which)| get(format!(
            "/api/sessions/{id}/answers/{seq}/{which}"
        ))),
        (
            query(),
            prop_oneof![wav_file().prop_flat_map(mutated), mutated(Vec::new())]
        )
            .prop_map(|(q, body)| Request {
                method: "POST",
                target: format!("/api/score?prompt={PROMPT}&{q}"),
                content_type: "audio/wav",
                body,
            }),
        (query(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(q, body)| Request {
            method: "POST",
            target: format!("/api/score?{q}"),
            content_type: "audio/wav",
            body,
        }),
        round_body().prop_map(|body| Request {
            method: "POST",
            target: "/api/rounds".into(),
            content_type: "application/json",
            body,
        }),
        // Characters a URL may not hold: the HTTP library refuses these before viva sees them.
        "[!-~]{1,40}".prop_map(move |raw| get(format!("/api/sessions?{raw}"))),
        url_piece().prop_map(|action| Request {
            method: "POST",
            target: format!("/api/rounds/current/{action}"),
            content_type: "application/json",
            body: Vec::new(),
        }),
    ]
}

/// Characters a URL may carry as they are (RFC 3986), `%` included.
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}

#[test]
fn fuzz_http_api_bodies_and_queries() {
    let sb = Sandbox::new();
    let mut daemon = Daemon::start(&sb);
    let sessions_dir = sb.home().join("sessions");
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    fuzz("http api", 600, request(), |request| {
        let (status, body) = daemon.send(
            request.method,
            request.target.as_bytes(),
            request.content_type,
            &request.body,
        );
        *statuses.lock().unwrap().entry(status).or_default() += 1;
        prop_assert!(
            (200..500).contains(&status),
            "{} {} answered {status}: {body}; the daemon said: {}",
            request.method,
            request.target,
            std::fs::read_to_string(sb.path("serve-stderr.log")).unwrap_or_default()
        );
        // viva's own refusals say why; a request line the HTTP library cannot parse gets its
        // bare 400.
        if status >= 400 && request.target.bytes().all(is_url_byte) {
            let error = serde_json::from_str::<Value>(&body).ok();
            let message = error.as_ref().and_then(|e| e["error"].as_str());
            prop_assert!(
                message.is_some_and(|m| !m.trim().is_empty()),
                "a {status} says why, as {{\"error\": message}}: {body:?}"
            );
        }
        // Nothing reaches the store: no recording named here exists, so no round gets as far
        // as creating a session.
        let written = std::fs::read_dir(&sessions_dir)
            .map(|d| d.count())
            .unwrap_or(0);
        prop_assert_eq!(written, 0, "a session was written");
        Ok(())
    });
    eprintln!("fuzz http api: statuses {:?}", statuses.lock().unwrap());
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    let (status, body) = daemon.send("GET", b"/api/sessions", "text/plain", b"");
    assert_eq!((status, body.trim()), (200, "[]"));
}
