//! `viva serve` through real HTTP on a random loopback port: the guards, scoring, sessions,
//! traversal attempts, many clients at once, rounds driven over the API, and shutdown.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::Value;

/// A running daemon, stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    child: Child,
    port: u16,
    token: String,
    home: PathBuf,
}

impl Daemon {
    fn start(sb: &Sandbox) -> Daemon {
        let model = sb.weightless_model();
        let home = sb.home();
        let child = Command::new(env!("CARGO_BIN_EXE_viva"))
            .args(["--model", model.to_str().unwrap(), "serve", "--port", "0"])
            .env("VIVA_HOME", &home)
            // Where the CLI in these tests runs, so both find the same models.
            .current_dir(sb.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let info = common::wait_for_serve_json(&home, child.id(), 30);
        Daemon {
            child,
            port: info["port"].as_u64().unwrap() as u16,
            token: info["token"].as_str().unwrap().to_owned(),
            home,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    }

    /// GET with the token; returns status and JSON body.
    fn get(&self, path: &str) -> (u16, Value) {
        let mut response = Self::agent()
            .get(self.url(path))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let mut response = Self::agent()
            .post(self.url(path))
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "viva serve did not exit within 5 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raw_status(url: &str, headers: &[(&str, &str)], post: bool) -> u16 {
    let agent = Daemon::agent();
    let response = if post {
        let mut request = agent.post(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send(&b"{}"[..])
    } else {
        let mut request = agent.get(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.call()
    };
    response.unwrap().status().as_u16()
}

#[test]
fn requests_without_the_token_get_401_and_with_it_200() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    assert_eq!(raw_status(&d.url("/api/health"), &[], false), 401);
    assert_eq!(raw_status(&d.url("/"), &[], false), 401);
    let wrong = "Bearer 0000";
    assert_eq!(
        raw_status(&d.url("/api/health"), &[("Authorization", wrong)], false),
        401
    );
    let (status, health) = d.get("/api/health");
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["protocol"], 1);
    // The page's way in: the token once in a URL, then a cookie.
    let cookie = format!("viva_token={}", d.token);
    assert_eq!(
        raw_status(&d.url("/api/health"), &[("Cookie", &cookie)], false),
        200
    );
}

#[test]
fn a_foreign_host_gets_403_and_a_foreign_origin_cannot_change_state() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    let bearer = format!("Bearer {}", d.token);
    let host = |h: &str| {
        raw_status(
            &d.url("/api/health"),
            &[("Authorization", &bearer), ("Host", h)],
            false,
        )
    };
    assert_eq!(host("evil.example"), 403);
    assert_eq!(host(&format!("attacker.test:{}", d.port)), 403);
    assert_eq!(host(&format!("localhost:{}", d.port)), 200);
    let origin = |o: &str| {
        raw_status(
            &d.url("/api/rounds/current/stop"),
            &[
                ("Authorization", &bearer),
                ("Origin", o),
                ("Content-Type", "application/json"),
            ],
            true,
        )
    };
    assert_eq!(origin("http://evil.example"), 403);
    // Our own origin passes the guard (and finds no round to stop).
    assert_eq!(origin(&format!("http://127.0.0.1:{}", d.port)), 404);
}

/// GET without following redirects; returns the status and the Set-Cookie header.
fn status_and_cookie(url: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = agent.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.call().unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned());
    (response.status().as_u16(), cookie)
}

#[test]
fn the_page_cookie_outlives_a_browser_restart_and_the_guards_still_hold() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    let auth = d.url(&format!("/auth?token={}", d.token));
    let (status, cookie) = status_and_cookie(&auth, &[]);
    assert_eq!(status, 303);
    let cookie = cookie.expect("/auth sets the cookie");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert_eq!(attributes[0], format!("viva_token={}", d.token));
    for wanted in ["Path=/", "Max-Age=2592000", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    // A wrong token, a foreign Host, a stale cookie and a foreign Origin are all still refused.
    let (status, cookie) = status_and_cookie(&d.url("/auth?token=0000"), &[]);
    assert_eq!((status, cookie), (401, None));
    let (status, cookie) = status_and_cookie(&auth, &[("Host", "evil.example")]);
    assert_eq!((status, cookie), (403, None));
    let stale = "viva_token=0000";
    assert_eq!(raw_status(&d.url("/"), &[("Cookie", stale)], false), 401);
    let good = format!("viva_token={}", d.token);
    assert_eq!(raw_status(&d.url("/"), &[("Cookie", &good)], false), 200);
    assert_eq!(
        raw_status(
            &d.url("/api/rounds/current/stop"),
            &[("Cookie", &good), ("Origin", "http://evil.example")],
            true
        ),
        403
    );
    // A bookmark from before a daemon restart meets a page saying what to do.
    let mut response = Daemon::agent().get(d.url("/")).call().unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let page = response.body_mut().read_to_string().unwrap();
    assert!(page.contains("viva open"), "{page}");
}

/// `viva open` for this sandbox, with `BROWSER` and `PATH` as given.
fn viva_open(sb: &Sandbox, browser: &str, path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_viva"))
        .arg("open")
        .env("VIVA_HOME", sb.home())
        .env("BROWSER", browser)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn viva_open_hands_the_browser_a_one_time_address_never_the_token() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    let opened = sb.path("opened.txt");
    let script = sb.path("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = viva_open(&sb, script.to_str().unwrap(), Path::new("/usr/bin:/bin"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = std::fs::read_to_string(&opened).expect("the browser was started");
    // The browser's command line, readable by any local user with `ps`, holds a one-time code.
    let prefix = format!("http://127.0.0.1:{}/auth?once=", d.port);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(
        !url.contains(&d.token),
        "the token is on the command line: {url}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("opened the review page"));
    // The address signs the browser in, once.
    let (status, cookie) = status_and_cookie(&url, &[]);
    assert_eq!(status, 303);
    assert!(cookie.is_some_and(|c| c.contains(&d.token)));
    let (status, cookie) = status_and_cookie(&url, &[]);
    assert_eq!((status, cookie), (401, None), "a used address is refused");
    // A code that was never issued, and one for another daemon, are refused too.
    let (status, _) = status_and_cookie(&format!("{prefix}{}", d.token), &[]);
    assert_eq!(status, 401);
    // Minting one needs the token.
    assert_eq!(raw_status(&d.url("/api/sign-in-links"), &[], true), 401);
}

#[test]
fn viva_open_without_a_browser_prints_the_address_and_says_so() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    // No BROWSER that runs, and no xdg-open on an empty PATH.
    let empty = sb.path("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let out = viva_open(&sb, "/nonexistent/browser", &empty);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        printed.starts_with(&format!("http://127.0.0.1:{}/auth?once=", d.port)),
        "{printed}"
    );
    assert!(!printed.contains(&d.token), "{printed}");
    assert_eq!(
        status_and_cookie(&printed, &[]).0,
        303,
        "the printed address signs in"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no browser could be started"), "{stderr}");
    assert!(stderr.contains("/nonexistent/browser"), "{stderr}");
}

#[test]
fn viva_open_without_a_daemon_says_how_to_start_one() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let out = viva_open(&sb, "/nonexistent/browser", Path::new("/usr/bin:/bin"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no viva serve is running"), "{stderr}");
    assert!(stderr.contains("`viva serve`"), "{stderr}");
}

#[test]
fn serve_json_is_private_and_gone_after_sigterm() {
    let sb = Sandbox::new();
    let mut d = Daemon::start(&sb);
    let file = d.home.join("serve.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let status = d.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(!file.exists());
}

#[test]
fn scoring_over_http_gives_the_same_scorecard_as_the_cli() {
    let sb = Sandbox::new();
    let wav = sb.speak(
        "answer.wav",
        "I took ownership of the decision and told my manager the same day.",
        160,
    );
    let text = "I took ownership of the decision and told my manager the same day.";
    let transcript = sb.path("t.txt");
    std::fs::write(&transcript, text).unwrap();
    let prompt = "culture-decision-without-approval";
    // In-process first, before any daemon exists.
    let model = sb.weightless_model();
    let local = sb.viva_json(&[
        "--model",
        model.to_str().unwrap(),
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        prompt,
        "--transcript",
        transcript.to_str().unwrap(),
        "--json",
    ]);
    let d = Daemon::start(&sb);
    let query = format!(
        "/api/score?prompt={prompt}&transcript={}",
        text.replace(' ', "%20")
    );
    let (status, remote) = d.post(&query, "audio/wav", &std::fs::read(&wav).unwrap());
    assert_eq!(status, 200, "{remote}");
    assert_eq!(remote, local);

    // Not audio: a 4xx that says what is wrong.
    let (status, body) = d.post(
        &format!("/api/score?prompt={prompt}"),
        "audio/wav",
        b"hello, not audio",
    );
    assert_eq!(status, 422);
    assert!(
        body["error"].as_str().unwrap().contains("not a WAV file"),
        "{body}"
    );
    let (status, body) = d.post(
        "/api/score?prompt=nope",
        "audio/wav",
        &std::fs::read(&wav).unwrap(),
    );
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nope"));
}

#[test]
fn the_cli_scores_through_a_running_daemon_and_skips_the_model_load() {
    let sb = Sandbox::new();
    let wav = sb.speak("answer.wav", "A short answer.", 160);
    let _d = Daemon::start(&sb);
    // No model anywhere for an in-process run: only the daemon can score this.
    let card = sb.viva_json(&[
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "culture-decision-without-approval",
        "--json",
    ]);
    assert_eq!(card["transcript"]["source"], "whisper");
}

#[test]
fn a_stale_serve_json_is_detected_and_not_trusted() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let file = sb.home().join("serve.json");
    std::fs::write(&file, r#"{"port":9,"token":"x","pid":2147483647}"#).unwrap();
    let wav = sb.speak("answer.wav", "A short answer.", 160);
    let model = sb.weightless_model();
    let card = sb.viva_json(&[
        "--model",
        model.to_str().unwrap(),
        "score",
        wav.to_str().unwrap(),
        "--prompt",
        "culture-decision-without-approval",
        "--json",
    ]);
    assert_eq!(card["prompt_id"], "culture-decision-without-approval");
    assert!(!file.exists(), "the stale file was removed");
    // And a daemon starting over it replaces it.
    std::fs::write(&file, r#"{"port":9,"token":"x","pid":2147483647}"#).unwrap();
    let d = Daemon::start(&sb);
    assert_ne!(d.port, 9);
}

#[test]
fn traversal_attempts_never_leave_viva_home() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    for path in [
        "/api/sessions/..%2F..%2Fetc",
        "/api/sessions/..",
        "/api/sessions/%2Fetc%2Fpasswd",
        "/api/sessions/..%2F..%2Fetc/answers/1/audio",
        "/api/sessions/20260101-000000/answers/1/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/sessions/20260101-000000/answers/1/audio",
    ] {
        let (status, body) = d.get(path);
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert!(!body.to_string().contains("root:"), "{path} leaked a file");
    }
}

#[test]
fn forty_clients_at_once_all_get_answers() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    let wav = std::fs::read(sb.speak("a.wav", "Hello there.", 160)).unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (d, wav) = (&d, &wav);
                scope.spawn(move || match i % 4 {
                    0 => {
                        d.post(
                            "/api/score?prompt=culture-decision-without-approval",
                            "audio/wav",
                            wav,
                        )
                        .0
                    }
                    1 => d.get("/api/sessions").0,
                    2 => d.get("/api/prompts").0,
                    _ => d.get("/api/health").0,
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), 200);
        }
    });
}

fn wait_for(deadline_seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(deadline_seconds);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn seconds_of(wav: &Path) -> f64 {
    let reader = hound::WavReader::open(wav).unwrap();
    reader.duration() as f64 / reader.spec().sample_rate as f64
}

#[test]
fn a_round_runs_over_the_api_and_sigterm_mid_answer_saves_it() {
    let sb = Sandbox::new();
    let mut d = Daemon::start(&sb);
    let long = sb.speak(
        "long.wav",
        "I would start with the member and the success metric, then candidate generation and \
         ranking, then the artwork, cold start, offline training and online serving, and \
         finally how each change is tested against long term retention.",
        150,
    );
    let start = serde_json::json!({
        "playlist": "daily",
        "inputs": [long],
        "realtime": true,
        "tts": "none",
    });
    let (status, body) = d.post(
        "/api/rounds",
        "application/json",
        start.to_string().as_bytes(),
    );
    assert_eq!(status, 202, "{body}");
    let (status, _) = d.post(
        "/api/rounds",
        "application/json",
        start.to_string().as_bytes(),
    );
    assert_eq!(status, 409, "one round at a time");

    // Two seconds into the answer, stop the daemon.
    let home = d.home.clone();
    let answer = std::cell::RefCell::new(None::<PathBuf>);
    wait_for(30, "the answer recording", || {
        let found = common::first_answer_wav(&home);
        let big = found
            .as_ref()
            .is_some_and(|p| std::fs::metadata(p).map_or(0, |m| m.len()) > 44 + 16_000 * 2 * 2);
        *answer.borrow_mut() = found;
        big
    });
    let status = d.terminate();
    assert!(status.success(), "{status:?}");

    let wav = answer.into_inner().unwrap();
    let kept = seconds_of(&wav);
    assert!(kept >= 1.9 && kept < seconds_of(&long), "kept {kept:.2} s");
    // The answer is finalised on disk and recorded as cut short; the session as stopped, not
    // crashed.
    let reader = hound::WavReader::open(&wav).unwrap();
    let samples = reader.into_samples::<i16>().filter(Result::is_ok).count();
    assert_eq!(
        samples as f64 / 16_000.0,
        kept,
        "the header covers every sample"
    );
    let session = sb.viva_json(&["review", "--json"]);
    assert_eq!(session["status"], "quit", "{session}");
    assert_eq!(session["answers"][0]["status"], "interrupted", "{session}");
}

#[test]
fn drill_and_ask_run_on_a_running_daemon() {
    let sb = Sandbox::new();
    let d = Daemon::start(&sb);
    let answer = sb.speak(
        "a.wav",
        "I would start with the member and the success metric.",
        160,
    );
    // No model for an in-process run: these succeed only through the daemon's warm worker.
    let out = sb.viva(&[
        "ask",
        "culture-decision-without-approval",
        "--tts",
        "none",
        "--input",
        answer.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "running on the daemon at http://127.0.0.1:{}",
            d.port
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("Q: Tell me about a time you made an important decision"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Overall "),
        "the scorecard is shown: {stdout}"
    );

    let out = sb.viva(&[
        "drill",
        "daily",
        "--tts",
        "none",
        "--seed",
        "3",
        "--input",
        answer.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sessions = sb.viva_json(&["sessions", "--json"]);
    let playlists: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["playlist"].as_str().unwrap())
        .collect();
    assert_eq!(
        playlists,
        ["daily", "ask-culture-decision-without-approval"]
    );
}

#[test]
fn controls_between_questions_redo_repeat_and_skip() {
    let sb = Sandbox::new();
    let bank = sb.home().join("prompts");
    std::fs::create_dir_all(bank.join("playlists")).unwrap();
    std::fs::write(bank.join("ctl.toml"), common::TWO_PROMPT_BANK).unwrap();
    std::fs::write(
        bank.join("playlists/ctl.toml"),
        "name = \"controls\"\n[[step]]\nprompt = \"decide\"\n[[step]]\nprompt = \"design\"\n",
    )
    .unwrap();
    let d = Daemon::start(&sb);
    let inputs: Vec<PathBuf> = (1..=4)
        .map(|i| {
            sb.speak(
                &format!("a{i}.wav"),
                "I decided on my own and shipped it.",
                160,
            )
        })
        .collect();
    let start = serde_json::json!({
        "playlist": "ctl", "inputs": inputs, "tts": "espeak-ng", "pause_between": true,
    });
    let (status, body) = d.post(
        "/api/rounds",
        "application/json",
        start.to_string().as_bytes(),
    );
    assert_eq!(status, 202, "{body}");

    let session = |d: &Daemon| {
        let (_, list) = d.get("/api/sessions?limit=1");
        let id = list[0]["id"].as_str().unwrap_or("none").to_owned();
        d.get(&format!("/api/sessions/{id}")).1
    };
    let complete = |d: &Daemon| {
        session(d)["answers"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|a| a["complete"] == true).count())
    };
    // Answer, then choose: redo (no replay), skip (the earned follow-up), repeat (replay), next.
    for (answered, action) in [(1, "redo"), (2, "skip"), (3, "repeat"), (4, "next")] {
        wait_for(60, &format!("answer {answered}"), || {
            complete(&d) == answered
        });
        let (status, body) = d.post(
            &format!("/api/rounds/current/{action}"),
            "application/json",
            b"{}",
        );
        assert_eq!(status, 200, "{action}: {body}");
    }
    wait_for(60, "the session to end", || {
        session(&d)["status"] == "complete"
    });
    let view = session(&d);
    let answers = view["answers"].as_array().unwrap();
    let try_of = |id: &str, n: u64| (id.to_owned(), None, n);
    assert_eq!(
        common::asked(&view),
        [
            try_of("decide", 1),
            try_of("decide", 2),
            try_of("design", 1),
            try_of("design", 2)
        ]
    );
    let question = |i: usize| answers[i]["question_audio"].as_str().unwrap().to_owned();
    assert_eq!(
        question(0),
        question(1),
        "redo records again without replaying the question"
    );
    assert_ne!(
        question(2),
        question(3),
        "repeat asks the question aloud again"
    );
}
