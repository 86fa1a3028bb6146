//! The review page in a real browser: headless Chromium, driven through chromedriver, reads a
//! real `viva serve` whose VIVA_HOME holds sessions scored by the library itself (no network,
//! no model weights). Each test checks what a person sees and does: the sessions list, one
//! session's marked transcript, its audio, its charts, and the drill panel.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use viva::audio;
use viva::bank::{self, BankSource};
use viva::score::{self, Answer, Scorecard, ScoringSettings};
use viva::store::{NewAnswer, SessionStatus, Store};
use viva::transcribe::{self, Transcript};
use viva::vad::SpeechRegion;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The prompt both tries answer.
const PROMPT: &str = "culture-decision-without-approval";
/// The rubric concepts of [`PROMPT`] the first try never names.
const MISSED_BY_FIRST_TRY: [&str; 4] = [
    "context",
    "weighing the risk",
    "informing people",
    "result and learning",
];
/// How long the page may take to show something.
const PATIENCE: Duration = Duration::from_secs(15);
/// How long a drill may take to record, transcribe and score a short answer.
const SCORING_PATIENCE: Duration = Duration::from_secs(90);

/// One try: the words said before a three-second silence and after it.
struct Try {
    before_pause: &'static str,
    after_pause: &'static str,
}

/// Names ownership ("I decided") and no other concept, says "um" once, and pauses between
/// "markets" and "we".
const FIRST_TRY: Try = Try {
    before_pause:
        "So um last spring our launch plan was stuck waiting on a legal review that kept \
        slipping week after week and the campaign assets were ready to go so I decided to ship it \
        in two smaller markets",
    after_pause:
        "we kept the budget small and watched the numbers every morning with the analytics \
        team and the regional leads while the rest of the plan waited for the lawyers to finish \
        their review of the wider release",
};
/// Names context, ownership, the risk and the result.
const SECOND_TRY: Try = Try {
    before_pause:
        "At the time our launch was stuck behind a legal review so I made the decision to \
        ship early in two smaller markets without waiting for the final sign off",
    after_pause: "the risk was small because the change was reversible and it turned out well \
        since sales rose in both markets so next time I would do the same and say so sooner",
};

/// Seconds of recording each answer has.
const ANSWER_SECONDS: f64 = 40.0;
/// Where each try's voice is heard: before the pause, then after it.
const BEFORE_PAUSE: SpeechRegion = SpeechRegion {
    start: 0.5,
    end: 17.5,
};
const AFTER_PAUSE: SpeechRegion = SpeechRegion {
    start: 20.5,
    end: 39.5,
};

/// A VIVA_HOME with two sessions: an older one cut short, and a culture-fit session with two
/// scored tries of [`PROMPT`].
struct Practice {
    dir: tempfile::TempDir,
    /// The culture-fit session.
    session: String,
    /// The session a crash cut short.
    interrupted: String,
    /// The scorecards of both tries, as the daemon will serve them.
    tries: Vec<Scorecard>,
}

impl Practice {
    fn first(&self) -> &Scorecard {
        &self.tries[0]
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("home")).expect("open the store");
        let bank = bank::load(&[BankSource::Builtin]).expect("the built-in bank");
        let prompt = bank.prompt(PROMPT).expect("the prompt is built in");

        let interrupted = store.create_session(Some("phone-screen")).unwrap();
        // Two seconds were on disk when it died.
        let cut = store.session_dir(&interrupted).join("answer-001.wav");
        let heard = SpeechRegion {
            start: 0.2,
            end: 2.0,
        };
        audio::write_wav(&cut, &tone(&[heard], 2.0)).unwrap();
        store
            .start_answer(NewAnswer {
                session_id: interrupted.clone(),
                prompt_id: "phone-screen-why-netflix".into(),
                category: "phone-screen".into(),
                follow_up_of: None,
                try_number: 1,
                audio_path: cut,
                question_audio_path: None,
            })
            .unwrap();
        store
            .end_session(&interrupted, SessionStatus::Interrupted)
            .unwrap();

        let session = store.create_session(Some("culture-fit")).unwrap();
        let mut cards = Vec::new();
        for (n, said) in [FIRST_TRY, SECOND_TRY].iter().enumerate() {
            let wav = store
                .session_dir(&session)
                .join(format!("answer-{:03}.wav", n + 1));
            let (transcript, speech) = spoken(said);
            let samples = tone(&speech, ANSWER_SECONDS);
            audio::write_wav(&wav, &samples).unwrap();
            // A steady tone: a voice on one pitch, which the delivery strip shows as monotone.
            let prosody = viva::prosody::measure(&samples, &speech);
            let answer = store
                .start_answer(NewAnswer {
                    session_id: session.clone(),
                    prompt_id: prompt.id.clone(),
                    category: prompt.category.clone(),
                    follow_up_of: None,
                    try_number: n as u32 + 1,
                    audio_path: wav,
                    question_audio_path: None,
                })
                .unwrap();
            let card = score::score(
                prompt,
                Answer {
                    transcript: &transcript,
                    duration_seconds: ANSWER_SECONDS,
                    speech: &speech,
                    meaning: None,
                    prosody: Some(&prosody),
                },
                &ScoringSettings::default(),
            );
            store.complete_answer(answer, &transcript, &card).unwrap();
            cards.push(card);
        }
        store
            .end_session(&session, SessionStatus::Complete)
            .unwrap();

        let first = &cards[0];
        // The page is checked against these; a change in the scorer should fail here, plainly.
        let hits: Vec<(&str, Option<&str>)> = first
            .coverage
            .concepts
            .iter()
            .filter(|c| c.hit)
            .map(|c| (c.name.as_str(), c.evidence.as_deref()))
            .collect();
        assert_eq!(
            hits,
            [("ownership", Some("I decided"))],
            "first try's concepts"
        );
        let fillers: Vec<&str> = first
            .fillers
            .items
            .iter()
            .map(|f| f.word.as_str())
            .collect();
        assert_eq!(fillers, ["um"], "first try's fillers");
        assert_eq!(first.pauses.len(), 1, "first try's pauses");
        assert_eq!(first.pace.curve.len(), 3, "{:?}", first.pace.curve);
        Practice {
            dir,
            session,
            interrupted,
            tries: cards,
        }
    }
}

/// A written try spread over [`BEFORE_PAUSE`] and [`AFTER_PAUSE`], each part's words inside
/// its own region.
fn spoken(said: &Try) -> (Transcript, Vec<SpeechRegion>) {
    let (first, second) = (BEFORE_PAUSE, AFTER_PAUSE);
    let mut words =
        transcribe::transcript_from_text(said.before_pause, &[first], ANSWER_SECONDS).words;
    words.extend(
        transcribe::transcript_from_text(said.after_pause, &[second], ANSWER_SECONDS).words,
    );
    let transcript = Transcript {
        text: format!("{} {}", said.before_pause, said.after_pause),
        words,
        source: "file".into(),
    };
    (transcript, vec![first, second])
}

/// A quiet 220 Hz tone where `speech` says someone speaks, silence elsewhere: 16 kHz samples.
fn tone(speech: &[SpeechRegion], seconds: f64) -> Vec<f32> {
    let rate = f64::from(audio::SAMPLE_RATE);
    (0..(seconds * rate) as usize)
        .map(|i| {
            let t = i as f64 / rate;
            let on = speech.iter().any(|r| t >= r.start && t < r.end);
            if on {
                (0.2 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// A child process killed with everything it started (its process group) when dropped.
struct Reaped {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Reaped {
    /// Starts `command` in a process group of its own, output to `log`.
    fn spawn(name: &'static str, mut command: Command, log: PathBuf) -> Self {
        let out = fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Reaped { child, name, log }
    }

    /// Panics with the process's output if it has exited.
    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}):\n{}",
                self.name,
                fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        // The negative id names the group: chromedriver's Chromium goes with it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port, for a program that must be told which port to take.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `viva serve` on `home`, once it has announced itself in `serve.json`: (guard, port, token).
fn start_daemon(home: &Path, scratch: &Path) -> (Reaped, u16, String) {
    let model = scratch.join("ggml-weightless.bin");
    fs::write(&model, common::weightless_ggml_model()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_viva"));
    command
        .args(["serve", "--port", "0", "--model"])
        .arg(&model)
        .env("VIVA_HOME", home)
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS");
    let mut daemon = Reaped::spawn("viva serve", command, scratch.join("serve.log"));
    let announced = home.join("serve.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        daemon.check_alive();
        if let Some(info) = fs::read_to_string(&announced)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        {
            let port = info["port"].as_u64().expect("serve.json port") as u16;
            let token = info["token"].as_str().expect("serve.json token").to_owned();
            return (daemon, port, token);
        }
        assert!(
            Instant::now() < deadline,
            "viva serve did not write {} within a minute",
            announced.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// chromedriver on a free port, once it answers: (guard, port).
fn start_chromedriver(scratch: &Path) -> (Reaped, u16) {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: this test drives the page in headless Chromium; \
             .ci/run installs chromium and chromium-driver (apt-get install chromium chromium-driver)"
        );
    }
    let port = free_port();
    let mut command = Command::new(CHROMEDRIVER);
    command.arg(format!("--port={port}"));
    let mut driver = Reaped::spawn("chromedriver", command, scratch.join("chromedriver.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        driver.check_alive();
        if driver_is_ready(port) {
            return (driver, port);
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether chromedriver answers `GET /status` on `port` with `"ready":true`. It ignores
/// HTTP/1.0 and keeps the connection open, so the reply is read until that shows up.
fn driver_is_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err()
        || stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .is_err()
    {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        reply.extend_from_slice(&chunk[..n]);
        if String::from_utf8_lossy(&reply).contains("\"ready\":true") {
            return true;
        }
    }
    false
}

/// The browser on the review page of a daemon serving [`Practice`], signed in.
struct Page {
    client: Client,
    // Dropped in this order, after the client: the daemon, chromedriver with its Chromium,
    // the browser's profile, and last the VIVA_HOME they used.
    _daemon: Reaped,
    _driver: Reaped,
    _profile: tempfile::TempDir,
    practice: Practice,
}

impl Page {
    async fn open() -> Page {
        let practice = Practice::new();
        let scratch = practice.dir.path().to_owned();
        let (driver, driver_port) = start_chromedriver(&scratch);
        let (daemon, port, token) = start_daemon(&practice.home(), &scratch);
        let profile = tempfile::tempdir().expect("browser profile dir");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1800",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start headless Chromium through chromedriver: {e}\n{}",
                    fs::read_to_string(scratch.join("chromedriver.log")).unwrap_or_default()
                )
            });
        client
            .goto(&format!("http://127.0.0.1:{port}/auth?token={token}"))
            .await
            .expect("open the sign-in address");
        let page = Page {
            client,
            _daemon: daemon,
            _driver: driver,
            _profile: profile,
            practice,
        };
        // The daemon sets its cookie and sends the browser on to the page.
        page.wait_for(&format!(
            "#sessions-body tr[data-session='{}']",
            page.practice.session
        ))
        .await;
        page
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("the page never showed {css}: {e}"))
    }

    async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.all(css).await {
            texts.push(element.text().await.expect("element text"));
        }
        texts
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns `true`; on timeout, says what the page shows instead.
    async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) {
        self.wait_until_within(PATIENCE, what, script, args).await;
    }

    async fn wait_until_within(
        &self,
        patience: Duration,
        what: &str,
        script: &str,
        args: Vec<Value>,
    ) {
        let deadline = Instant::now() + patience;
        while self.js(script, args.clone()).await != Value::Bool(true) {
            if Instant::now() > deadline {
                let shown = self
                    .js(
                        "const text = (id) => document.getElementById(id).innerText.trim();
                         const message = document.getElementById('message').hidden
                             ? null : text('message-text');
                         return {hash: location.hash, message, live: text('live')};",
                        vec![],
                    )
                    .await;
                panic!("the page never got to: {what}\nit shows: {shown:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens a session by selecting its row in the sessions list, and waits for its answers.
    async fn open_session(&self, id: &str) {
        self.wait_for(&format!("#sessions-body tr[data-session='{id}'] a"))
            .await
            .click()
            .await
            .expect("select the session");
        self.wait_for("#session .session-header h2").await;
        self.wait_until(
            "the session's header",
            "return document.querySelector('#session .session-header h2').textContent.includes(arguments[0]);",
            vec![json!(id)],
        )
        .await;
    }

    async fn hash(&self) -> String {
        self.js("return location.hash;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sessions_list_shows_sessions_newest_first_with_the_interrupted_one_marked() {
    let page = Page::open().await;
    let ids: Vec<String> = page
        .js(
            "return [...document.querySelectorAll('#sessions-body tr')].map(r => r.dataset.session);",
            vec![],
        )
        .await
        .as_array()
        .expect("row ids")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            page.practice.session.clone(),
            page.practice.interrupted.clone()
        ]
    );

    let rows = page.all("#sessions-body tr").await;
    let first = rows[0].text().await.unwrap();
    assert!(first.contains("culture-fit"), "{first}");
    assert!(first.contains("complete"), "{first}");
    let mean = page.practice.tries.iter().map(|c| c.overall).sum::<f64>() / 2.0;
    let cells = page.texts("#sessions-body tr:first-child td").await;
    assert_eq!(cells[2..4], ["2".to_owned(), format!("{}", mean.round())]);
    let cut = rows[1].text().await.unwrap();
    assert!(
        cut.contains("phone-screen") && cut.contains("interrupted"),
        "{cut}"
    );
    let marked = page
        .all("#sessions-body tr:nth-child(2) .status-interrupted")
        .await;
    assert_eq!(marked.len(), 1, "the interrupted status is marked");
    page.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_shows_its_transcript_with_concepts_fillers_and_pauses_marked() {
    let page = Page::open().await;
    let id = page.practice.session.clone();
    page.open_session(&id).await;
    assert_eq!(page.hash().await, format!("#/sessions/{id}"));

    let first = ".answer[data-seq='1']";
    let title = page.texts(&format!("{first} h3")).await;
    assert_eq!(title, [format!("1. {PROMPT}")]);
    let meta = page.texts(&format!("{first} .answer-meta")).await.join(" ");
    assert!(meta.contains("Try 1"), "{meta}");
    let second_meta = page
        .texts(".answer[data-seq='2'] .answer-meta")
        .await
        .join(" ");
    assert!(second_meta.contains("Try 2"), "{second_meta}");

    // Every word is there, in order, each with its start time.
    let words = page.texts(&format!("{first} .transcript .word")).await;
    let said = format!("{} {}", FIRST_TRY.before_pause, FIRST_TRY.after_pause);
    assert_eq!(words.join(" "), said);
    let starts = page
        .js(
            "return [...document.querySelectorAll(arguments[0])].map(w => Number(w.dataset.start));",
            vec![json!(format!("{first} .transcript .word"))],
        )
        .await;
    let starts: Vec<f64> = starts
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");

    // The concept heard, by its words; the ones missed, listed.
    let hits = page.all(&format!("{first} .transcript .concept-hit")).await;
    let mut hit_words = Vec::new();
    for hit in &hits {
        hit_words.push(hit.text().await.unwrap());
        assert_eq!(
            hit.attr("title").await.unwrap().as_deref(),
            Some("ownership")
        );
    }
    assert_eq!(hit_words, ["I", "decided"]);
    let underline = page
        .js(
            "return getComputedStyle(document.querySelector(arguments[0])).textDecorationLine;",
            vec![json!(format!("{first} .transcript .concept-hit"))],
        )
        .await;
    assert_eq!(underline, json!("underline"), "a hit reads without colour");
    let missed = page.texts(&format!("{first} .concept-missed")).await;
    assert_eq!(missed, MISSED_BY_FIRST_TRY);

    let fillers = page.texts(&format!("{first} .transcript .filler")).await;
    assert_eq!(fillers, ["um"]);

    // The pause sits between the words either side of the silence.
    let pauses = page.texts(&format!("{first} .transcript .pause")).await;
    let gap = AFTER_PAUSE.start - BEFORE_PAUSE.end;
    assert_eq!(pauses, [format!("{gap:.1} s pause")]);
    let around = page
        .js(
            "const p = document.querySelector(arguments[0]);
             return [p.previousElementSibling.textContent, p.nextElementSibling.textContent];",
            vec![json!(format!("{first} .transcript .pause"))],
        )
        .await;
    assert_eq!(around, json!(["markets", "we"]));

    let scores = page.texts(&format!("{first} .scores th")).await;
    assert_eq!(
        scores,
        [
            "Coverage",
            "Specificity",
            "Pace",
            "Length",
            "Fillers",
            "Hedges",
            "Delivery"
        ]
    );
    let method = page.texts(&format!("{first} .coverage-method")).await;
    assert_eq!(method.len(), 1);
    assert!(method[0].starts_with("Matched by phrases"), "{method:?}");
    let overall = page.texts(&format!("{first} .overall-value")).await;
    assert_eq!(
        overall,
        [format!("{}", page.practice.first().overall.round())]
    );
    let feedback = page.texts(&format!("{first} .feedback li")).await;
    assert_eq!(feedback, page.practice.first().feedback);

    // The charts: a point per pace window, a point per scored try of the prompt.
    let pace_points = page
        .all(&format!("{first} .pace-chart svg circle.point"))
        .await;
    assert_eq!(pace_points.len(), page.practice.first().pace.curve.len());
    assert_eq!(
        page.all(&format!("{first} .pace-chart svg .band"))
            .await
            .len(),
        1
    );
    // Under the pace curve, the voice: the level shaded, the pitch as a line, on one time axis.
    let strip = format!("{first} .pace-and-voice .delivery-strip svg");
    assert_eq!(page.all(&format!("{strip} polygon.level")).await.len(), 1);
    assert!(!page
        .all(&format!("{strip} polyline.pitch"))
        .await
        .is_empty());
    assert_eq!(page.all(&format!("{strip} line.quiet-line")).await.len(), 1);
    let vitals = page.texts(&format!("{first} .vitals")).await;
    assert!(
        vitals[0].contains("pitch moves 0.0 semitones"),
        "{vitals:?}"
    );
    assert!(vitals[0].contains("monotone"), "{vitals:?}");
    let label = page
        .js(
            "return document.querySelector(arguments[0]).getAttribute('aria-label')",
            vec![json!(strip)],
        )
        .await;
    assert!(
        label.as_str().unwrap().starts_with("Pitch around 220 Hz"),
        "{label}"
    );

    page.wait_for(&format!("{first} .history-chart svg")).await;
    let history = page
        .all(&format!("{first} .history-chart svg circle.point"))
        .await;
    assert_eq!(history.len(), 2, "two tries, two points");
    let current = page
        .all(&format!("{first} .history-chart svg circle.current"))
        .await;
    assert_eq!(current.len(), 1, "this try is ringed");

    let shot = page.client.screenshot().await.expect("screenshot");
    let path = std::env::temp_dir().join("viva-page.png");
    fs::write(&path, shot).expect("write the screenshot");
    eprintln!("screenshot: {}", path.display());
    page.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn selecting_a_word_plays_the_answer_audio_from_that_word() {
    let page = Page::open().await;
    let id = page.practice.session.clone();
    page.open_session(&id).await;
    let audio = ".answer[data-seq='1'] audio.answer-audio";
    let src = page.wait_for(audio).await.attr("src").await.unwrap();
    assert_eq!(src, Some(format!("/api/sessions/{id}/answers/1/audio")));
    // The recording itself arrives: the browser knows its length.
    page.wait_until(
        "the answer audio's metadata",
        "const a = document.querySelector(arguments[0]);
         return a.readyState >= 1 && Math.abs(a.duration - arguments[1]) < 0.1;",
        vec![json!(audio), json!(ANSWER_SECONDS)],
    )
    .await;

    let words = page.all(".answer[data-seq='1'] .transcript .word").await;
    // A word near the end, well after the pause.
    let word = &words[words.len() - 3];
    let start: f64 = word
        .attr("data-start")
        .await
        .unwrap()
        .expect("data-start")
        .parse()
        .unwrap();
    assert!(
        start > AFTER_PAUSE.start,
        "a word after the pause starts at {start}"
    );
    word.click().await.expect("select a word");
    // Where the audio is, and how far the browser may seek in it.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = page
            .js(
                "const a = document.querySelector(arguments[0]);
                 return [a.currentTime, a.seekable.length ? a.seekable.end(0) : 0];",
                vec![json!(audio)],
            )
            .await;
        let now = seen[0].as_f64().unwrap_or(-1.0);
        if (now - start).abs() < 0.5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the audio is at {now:.1} s, not at the selected word's {start:.1} s; the browser \
             can seek up to {} s in it (0 means the audio URL does not answer Range requests \
             with 206 Partial Content and Accept-Ranges: bytes, which Chromium needs to seek)",
            seen[1]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    page.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_open_session_survives_reload_and_back() {
    let page = Page::open().await;
    let (session, interrupted) = (
        page.practice.session.clone(),
        page.practice.interrupted.clone(),
    );
    page.open_session(&session).await;
    page.client.refresh().await.expect("reload");
    page.wait_for(".answer[data-seq='1'] .transcript .word")
        .await;
    assert_eq!(page.hash().await, format!("#/sessions/{session}"));

    page.open_session(&interrupted).await;
    // The header can land before the answers on a loaded machine.
    page.wait_for(".answer[data-seq='1'] .unfinished p").await;
    let state = page.texts(".answer[data-seq='1'] .unfinished p").await;
    assert_eq!(state.len(), 1);
    assert!(state[0].contains("Interrupted"), "{state:?}");
    page.client.back().await.expect("back");
    page.wait_until(
        "the first session again",
        "return location.hash === arguments[0] && !!document.querySelector('#session .transcript');",
        vec![json!(format!("#/sessions/{session}"))],
    )
    .await;
    let open = page
        .all("#sessions-body tr.open a[aria-current='page']")
        .await;
    assert_eq!(open.len(), 1, "the open session is marked in the list");
    assert_eq!(
        open[0].attr("href").await.unwrap(),
        Some(format!("#/sessions/{session}"))
    );
    page.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_drill_control_shows_the_daemons_error() {
    let page = Page::open().await;
    page.wait_for("#playlist-select option[value='culture-fit']")
        .await;
    let message = page.wait_for("#message").await;
    assert!(
        !message.is_displayed().await.unwrap(),
        "no message at first"
    );
    page.wait_for(".drill-controls button[data-action='stop']")
        .await
        .click()
        .await
        .expect("press Stop");
    page.wait_until(
        "the error shown",
        "const m = document.querySelector('#message');
         return !m.hidden && m.textContent.includes('no round is running');",
        vec![],
    )
    .await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_drill_streams_its_question_and_score_into_the_live_panel() {
    let page = Page::open().await;
    let answer = page.practice.dir.path().join("live-answer.wav");
    let speech = [SpeechRegion {
        start: 0.5,
        end: 5.5,
    }];
    audio::write_wav(&answer, &tone(&speech, 6.0)).unwrap();
    // The stream does not replay what was sent before the page listened.
    page.wait_until(
        "the page listening to round events",
        "return typeof roundEvents !== 'undefined' && roundEvents !== null
             && roundEvents.readyState === EventSource.OPEN;",
        vec![],
    )
    .await;
    // Started the way the page starts one, but answered from a recording: no microphone here.
    let started = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/rounds', {method: 'POST', credentials: 'same-origin',
                 headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({playlist: 'culture-fit', inputs: [arguments[0]], tts: 'none'})})
               .then(r => r.text().then(t => done(r.status + ' ' + t)), e => done(String(e)));",
            vec![json!(answer.to_str().unwrap())],
        )
        .await
        .expect("start a round");
    assert!(
        started.as_str().unwrap_or("").starts_with("202"),
        "{started}"
    );

    let bank = bank::load(&[BankSource::Builtin]).unwrap();
    let question = bank.prompt(PROMPT).unwrap().text.clone();
    page.wait_until(
        "the question in the live panel",
        "return document.querySelector('#live-question').textContent === arguments[0];",
        vec![json!(question)],
    )
    .await;
    // Whisper runs on the answer first; a loaded CI machine may take a while.
    page.wait_until_within(
        SCORING_PATIENCE,
        "the score in the live panel",
        "return document.querySelector('#live-score').textContent.startsWith('Overall');",
        vec![],
    )
    .await;
    // When the drill ends, its session opens and joins the list.
    page.wait_until(
        "the new session open",
        "return /^#\\/sessions\\/./.test(location.hash)
             && document.querySelectorAll('#sessions-body tr').length === 3;",
        vec![],
    )
    .await;
    let hash = page.hash().await;
    assert_ne!(hash, format!("#/sessions/{}", page.practice.session));
    let state = page.texts("#live-state").await.join(" ");
    assert!(state.contains("Drill ended"), "{state}");

    // A level event that says the voice is too quiet shows the warning; the next that does
    // not takes it away.
    let level =
        "showLevel({rms: arguments[0], seconds: 4, speaking: true, too_quiet: arguments[1]});
                 const note = document.querySelector('#live-quiet');
                 return note.hidden ? null : note.textContent;";
    let warned = page.js(level, vec![json!(0.003), json!(true)]).await;
    assert!(
        warned.as_str().unwrap_or("").starts_with("Too quiet"),
        "{warned}"
    );
    let cleared = page.js(level, vec![json!(0.1), json!(false)]).await;
    assert_eq!(cleared, Value::Null);
    page.close().await;
}
