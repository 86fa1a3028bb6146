//! `viva models ...` end to end through the binary: listing known, installed and custom
//! models, and downloads from a local HTTP server that go wrong in every way, each of which
//! must leave the model directory as it was.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::Value;

/// What the test server sends instead of a model.
const JUNK: &[u8] = b"this is not a whisper model, just junk bytes";
/// `printf 'this is not a whisper model, just junk bytes' | sha1sum`
const JUNK_SHA1: &str = "eb2c7e4d2cd0963aedd4c9ad7dc918a4f32e8647";
/// The published SHA-1 of ggml-tiny.en.bin (ggml-org/whisper.cpp models/README.md).
const TINY_EN_SHA1: &str = "c78c86eb1a8faa21b369bcd33207cc90d64ae9df";

/// At most this many requests are answered; a client that keeps retrying is not served forever.
const MAX_REQUESTS: usize = 4;

/// A one-response HTTP server on 127.0.0.1 that answers every request with the same status
/// and body, records the request lines, and stops when told to, after `MAX_REQUESTS`, or
/// after a minute, whichever comes first.
struct Server {
    base: String,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<String>>,
}

impl Server {
    fn start(status: u16, body: &'static [u8]) -> Self {
        Self::start_claiming(status, body, body.len())
    }

    /// Like `start`, but announces `content_length` bytes whatever the body's real length.
    fn start_claiming(status: u16, body: &'static [u8], content_length: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut requests = Vec::new();
            while requests.len() < MAX_REQUESTS
                && !stop_flag.load(Ordering::SeqCst)
                && Instant::now() < deadline
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        requests.push(answer(stream, status, body, content_length));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
            requests
        });
        Server { base, stop, thread }
    }

    /// Stops the server and returns the request lines it saw, such as `GET /x HTTP/1.1`.
    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("server thread")
    }
}

/// Reads one request head and answers it; returns the request line.
fn answer(stream: TcpStream, status: u16, body: &[u8], content_length: usize) -> String {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    // Consume the rest of the head so the client never sees a reset mid-write.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
        line.clear();
    }
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status} Test\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    request_line.trim_end().to_owned()
}

/// A URL on 127.0.0.1 where nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// `viva models fetch ARGS` in the sandbox with no proxy, so requests go straight to 127.0.0.1.
fn fetch(sb: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.args(["models", "fetch"])
        .args(args)
        .env("VIVA_HOME", sb.home())
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS")
        .current_dir(sb.dir.path());
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run viva")
}

/// Asserts the fetch failed cleanly and returns its stderr.
fn failed(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "fetch should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "a failed fetch printed a path: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn models_dir(sb: &Sandbox) -> PathBuf {
    sb.home().join("models")
}

/// Every entry in `dir`, hidden ones included; none when it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(list) => list
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    }
}

fn assert_nothing_left(sb: &Sandbox) {
    let left = entries(&models_dir(sb));
    assert!(left.is_empty(), "left behind in models/: {left:?}");
}

/// The table line for a model, found by its label (`tiny.en`, `base.en (default)`...).
fn row<'a>(table: &'a str, label: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no row for {label}:\n{table}"))
}

fn json_row<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[test]
fn a_fresh_home_lists_base_en_as_the_default_and_nothing_installed() {
    let sb = Sandbox::new();
    let table = sb.viva_ok(&["models", "list"]);
    assert!(table.lines().next().unwrap().starts_with("NAME"), "{table}");
    assert!(
        row(&table, "base.en (default)").ends_with("not installed"),
        "{table}"
    );
    for label in ["tiny", "tiny.en", "small.en", "large-v3-turbo"] {
        assert!(row(&table, label).ends_with("not installed"), "{table}");
    }
    assert!(!table.contains("(custom)"), "{table}");

    let list = sb.viva_json(&["models", "list", "--json"]);
    let models = list.as_array().unwrap();
    assert!(models.len() >= 9, "{list}");
    for m in models {
        assert!(m["name"].is_string(), "{m}");
        assert!(m.get("installed").is_some(), "no installed field: {m}");
        assert!(m["installed"].is_null(), "{m}");
        assert_eq!(m["known"], true, "{m}");
    }
    assert_eq!(json_row(&list, "tiny.en")["sha1"], TINY_EN_SHA1);
}

#[test]
fn a_model_placed_in_viva_home_is_listed_as_installed_at_its_path() {
    let sb = Sandbox::new();
    let path = models_dir(&sb).join("ggml-tiny.en.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![0u8; 3 * 1024 * 1024]).unwrap();

    let table = sb.viva_ok(&["models", "list"]);
    let tiny = row(&table, "tiny.en");
    assert!(tiny.ends_with(&path.display().to_string()), "{table}");
    assert!(
        tiny.contains("3 MiB"),
        "size on disk, not the table's: {tiny}"
    );
    assert!(row(&table, "tiny").ends_with("not installed"), "{table}");
    assert!(
        row(&table, "base.en (default)").ends_with("not installed"),
        "{table}"
    );

    let list = sb.viva_json(&["models", "list", "--json"]);
    let tiny = json_row(&list, "tiny.en");
    assert_eq!(tiny["installed"], path.display().to_string());
    assert_eq!(tiny["size_bytes"], 3 * 1024 * 1024);
    assert!(json_row(&list, "tiny")["installed"].is_null());
}

#[test]
fn a_ggml_file_of_its_own_in_the_working_models_dir_is_listed_as_custom() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("models")).unwrap();
    std::fs::write(sb.path("models/ggml-mine.bin"), b"mine").unwrap();
    std::fs::write(sb.path("models/notes.txt"), b"not a model").unwrap();

    let table = sb.viva_ok(&["models", "list"]);
    let mine = row(&table, "mine (custom)");
    assert!(mine.ends_with("ggml-mine.bin"), "{table}");
    assert!(!table.contains("notes"), "{table}");

    let list = sb.viva_json(&["models", "list", "--json"]);
    let mine = json_row(&list, "mine");
    assert_eq!(mine["known"], false);
    assert!(mine["sha1"].is_null(), "{mine}");
    assert_eq!(mine["size_bytes"], 4);
    assert!(
        mine["installed"]
            .as_str()
            .is_some_and(|p| p.ends_with("models/ggml-mine.bin")),
        "{mine}"
    );
}

#[test]
fn a_download_with_the_wrong_sha1_fails_and_leaves_no_file_at_all() {
    let sb = Sandbox::new();
    let server = Server::start(200, JUNK);
    let base = server.base.clone();
    let out = fetch(&sb, &["tiny.en", "--from", &base]);
    let requests = server.finish();
    let err = failed(&out);

    assert_eq!(requests, ["GET /ggml-tiny.en.bin HTTP/1.1"]);
    assert!(
        err.contains(&format!(
            "SHA-1 mismatch for {base}/ggml-tiny.en.bin: expected {TINY_EN_SHA1}, got {JUNK_SHA1}"
        )),
        "{err}"
    );
    assert!(err.contains("the download was deleted"), "{err}");
    assert!(
        models_dir(&sb).is_dir(),
        "fetch should have made the directory"
    );
    assert_nothing_left(&sb);
}

#[test]
fn a_failed_download_keeps_an_existing_file_untouched() {
    let sb = Sandbox::new();
    let path = models_dir(&sb).join("ggml-tiny.en.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"an older copy").unwrap();
    let server = Server::start(200, JUNK);
    let out = fetch(&sb, &["tiny.en", "--from", &server.base]);
    let requests = server.finish();
    let err = failed(&out);

    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(err.contains("SHA-1 mismatch"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"an older copy");
    assert_eq!(entries(&models_dir(&sb)), ["ggml-tiny.en.bin"]);
}

#[test]
fn a_404_fails_naming_the_url_and_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let server = Server::start(404, b"Entry not found");
    let base = format!("{}/mirror/", server.base);
    let out = fetch(&sb, &["base.en", "--from", &base]);
    let url = format!("{}/mirror/ggml-base.en.bin", server.base);
    let requests = server.finish();
    let err = failed(&out);

    assert_eq!(requests, ["GET /mirror/ggml-base.en.bin HTTP/1.1"]);
    assert!(
        err.contains(&format!("download of {url} failed with HTTP 404")),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_nothing_left(&sb);
}

#[test]
fn a_download_cut_short_fails_naming_the_url_and_leaves_nothing_behind() {
    let sb = Sandbox::new();
    // A million bytes promised, a few dozen sent, then the connection closes.
    let server = Server::start_claiming(200, JUNK, 1_000_000);
    let base = server.base.clone();
    let out = fetch(&sb, &["tiny.en", "--from", &base]);
    let requests = server.finish();
    let err = failed(&out);

    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        err.contains(&format!("download of {base}/ggml-tiny.en.bin broke off")),
        "{err}"
    );
    assert!(
        !err.contains("SHA-1"),
        "a cut-off body is not a hash problem: {err}"
    );
    assert_nothing_left(&sb);
}

#[test]
fn a_closed_port_fails_naming_the_url_and_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let base = closed_port_url();
    let err = failed(&fetch(&sb, &["tiny.en", "--from", &base]));
    assert!(
        err.contains(&format!("could not download {base}/ggml-tiny.en.bin")),
        "{err}"
    );
    assert_eq!(err.matches("refused").count(), 1, "the cause once: {err}");
    assert_nothing_left(&sb);
}

#[test]
fn an_unknown_model_fails_listing_the_known_ones_and_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let err = failed(&fetch(
        &sb,
        &["gigantic", "--from", closed_port_url().as_str()],
    ));
    assert!(err.contains("unknown model 'gigantic'"), "{err}");
    for known in ["tiny", "tiny.en", "base.en", "small.en", "large-v3-turbo"] {
        assert!(
            err.split([' ', ',', ';']).any(|word| word == known),
            "{known} not listed: {err}"
        );
    }
    assert!(err.contains("--model PATH"), "{err}");
    assert_nothing_left(&sb);
}

/// A sandbox whose `$VIVA_HOME/models` holds tiny.en (a weightless model of its shape) and
/// not base.en, the configured default: a fresh installation after `scripts/install-models`.
fn only_tiny_en_installed() -> Sandbox {
    let sb = Sandbox::new();
    let models = sb.home().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(
        models.join("ggml-tiny.en.bin"),
        common::weightless_ggml_model(),
    )
    .unwrap();
    sb
}

/// The stand-in line, for counting.
const STAND_IN: &str = "model base.en is not installed; using tiny.en";

#[test]
fn an_installed_model_stands_in_for_a_configured_one_that_is_missing() {
    let sb = only_tiny_en_installed();
    let answer = sb.speak("answer.wav", "I took ownership of the launch.", 160);
    std::fs::create_dir_all(sb.path("bank")).unwrap();
    std::fs::write(sb.path("bank/test.toml"), common::TWO_PROMPT_BANK).unwrap();
    // From a directory with no models/ of its own: viva looks in $VIVA_HOME/models.
    let elsewhere = sb.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(["--prompts", sb.path("bank").to_str().unwrap()])
        .args([
            "score",
            answer.to_str().unwrap(),
            "--prompt",
            "decide",
            "--json",
        ])
        .env("VIVA_HOME", sb.home())
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS")
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches(STAND_IN).count(), 1, "one line: {stderr}");
    assert!(stderr.contains("viva models fetch base.en"), "{stderr}");
    let card: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(card["prompt_id"], "decide");

    // The list marks it as the one in use.
    let in_use = models_in_use(&sb);
    assert_eq!(in_use, ["tiny.en"]);
    let table = sb.viva_ok(&["models", "list"]);
    let tiny = table.lines().find(|l| l.starts_with("tiny.en ")).unwrap();
    assert!(tiny.contains("(in use)"), "{table}");
    assert!(!table.contains("base.en (default) (in use)"), "{table}");
}

#[test]
fn serve_starts_on_the_installed_model_when_the_default_is_missing() {
    let sb = only_tiny_en_installed();
    let log = std::fs::File::create(sb.path("serve.log")).unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(["serve", "--port", "0"])
        .env("VIVA_HOME", sb.home())
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS")
        .current_dir(sb.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let started =
        std::panic::catch_unwind(|| common::wait_for_serve_json(&sb.home(), daemon.id(), 60));
    let _ = daemon.kill();
    let _ = daemon.wait();
    let said = std::fs::read_to_string(sb.path("serve.log")).unwrap();
    assert!(started.is_ok(), "viva serve did not start: {said}");
    assert_eq!(said.matches(STAND_IN).count(), 1, "{said}");
    assert!(said.contains("ggml-tiny.en.bin loaded"), "{said}");
}

#[test]
fn the_configured_model_is_used_when_it_is_installed_and_no_line_is_said() {
    let sb = only_tiny_en_installed();
    std::fs::write(
        sb.home().join("models/ggml-base.en.bin"),
        common::weightless_ggml_model(),
    )
    .unwrap();
    let in_use = models_in_use(&sb);
    assert_eq!(in_use, ["base.en"]);
}

/// The names `viva models list --json` marks as in use.
fn models_in_use(sb: &Sandbox) -> Vec<String> {
    let list = sb.viva_json(&["models", "list", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["in_use"] == true)
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}
