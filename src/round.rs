//! Rounds: the state machine that walks a playlist through the stages.
//!
//! A playlist is first planned into a queue of [`Item`]s (picks drawn, due prompts chosen,
//! order shuffled when asked). Each question is then spoken, answered, scored and stored, in
//! that order; a weak answer may be redone (`repeat_until`), and a missed concept with a
//! follow-up question puts that question next in the queue.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};

use crate::bank::{Bank, Concept, Playlist, Prompt, Rubric, Step, StepTiming};
use crate::engine::{Engine, Words};
use crate::listen::{self, AnswerEnd, AnswerRules, LiveInput};
use crate::schedule::{self, PracticeState};
use crate::score::Scorecard;
use crate::speak::{self, SpeakSettings, TtsBackend};
use crate::store::{AnswerStatus, NewAnswer, SessionStatus, Store};
use crate::{devices, report};

/// Seconds added to a question's time limit before the answer is cut.
const GRACE_SECONDS: f64 = 10.0;
/// Silence kept after the question is spoken before the microphone opens, so viva never
/// records the tail of its own voice.
const MIC_GATE_TAIL_SECONDS: f64 = 0.3;
/// Tries of a `repeat_until` step when the playlist names no `max_tries`.
const DEFAULT_MAX_TRIES: u32 = 3;
/// Answer length for a follow-up question, which probes one concept.
const FOLLOW_UP_SECONDS: [f64; 2] = [20.0, 90.0];

/// One thing the interviewer does.
#[derive(Debug, Clone)]
pub enum Item {
    /// Say something; no answer.
    Say(String),
    /// Ask a question and record the answer.
    Ask(Box<Question>),
}

/// A question as the round asks it.
#[derive(Debug, Clone)]
pub struct Question {
    pub prompt: Prompt,
    /// The concept this follow-up probes, when it is one.
    pub follow_up_of: Option<String>,
    pub think_seconds: u32,
    /// The answer is cut at this many seconds plus a grace period.
    pub max_seconds: f64,
    pub repeat_until: Option<f64>,
    pub max_tries: u32,
}

/// Turns a playlist into the queue of things to say and ask. `seed` makes picks repeatable.
pub fn plan(
    playlist: &Playlist,
    bank: &Bank,
    practice: &HashMap<String, PracticeState>,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<Vec<Item>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut items = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for step in &playlist.steps {
        let chosen: Vec<(&Prompt, &StepTiming)> = match step {
            Step::Say { text } => {
                items.push(Item::Say(text.clone()));
                continue;
            }
            Step::Prompt { id, timing } => vec![(bank.prompt(id)?, timing)],
            Step::Pick {
                category,
                tag,
                count,
                timing,
            } => {
                let mut pool: Vec<&Prompt> = bank
                    .prompts
                    .iter()
                    .filter(|p| category.as_ref().is_none_or(|c| &p.category == c))
                    .filter(|p| tag.as_ref().is_none_or(|t| p.tags.contains(t)))
                    .filter(|p| !used.contains(&p.id))
                    .collect();
                rng.shuffle(&mut pool);
                pool.into_iter().take(*count).map(|p| (p, timing)).collect()
            }
            Step::Due { count, timing } => {
                let ids: Vec<&str> = bank
                    .prompts
                    .iter()
                    .map(|p| p.id.as_str())
                    .filter(|id| !used.iter().any(|u| u == id))
                    .collect();
                schedule::most_due(&ids, practice, now, *count)
                    .iter()
                    .map(|id| bank.prompt(id).map(|p| (p, timing)))
                    .collect::<Result<_, _>>()?
            }
        };
        for (prompt, timing) in chosen {
            used.push(prompt.id.clone());
            items.push(Item::Ask(Box::new(Question {
                think_seconds: timing
                    .think_seconds
                    .or(prompt.think_seconds)
                    .or(playlist.think_seconds)
                    .unwrap_or(0),
                max_seconds: timing
                    .max_seconds
                    .map_or(prompt.rubric.seconds[1], f64::from),
                repeat_until: timing.repeat_until,
                max_tries: timing.max_tries.unwrap_or(DEFAULT_MAX_TRIES).max(1),
                follow_up_of: None,
                prompt: prompt.clone(),
            })));
        }
    }
    if playlist.shuffle {
        shuffle_questions(&mut items, &mut rng);
    }
    Ok(items)
}

/// Shuffles the questions among themselves; what the interviewer says stays in place.
fn shuffle_questions(items: &mut [Item], rng: &mut fastrand::Rng) {
    let slots: Vec<usize> = (0..items.len())
        .filter(|&i| matches!(items[i], Item::Ask(_)))
        .collect();
    let mut questions: Vec<Item> = slots.iter().map(|&i| items[i].clone()).collect();
    rng.shuffle(&mut questions);
    for (slot, question) in slots.into_iter().zip(questions) {
        items[slot] = question;
    }
}

/// The follow-up question for the weightiest missed concept that has one.
pub fn follow_up(question: &Question, card: &Scorecard) -> Option<Question> {
    if question.follow_up_of.is_some() {
        return None;
    }
    let missed = card
        .coverage
        .concepts
        .iter()
        .filter(|c| !c.hit && c.follow_up.is_some())
        .max_by(|a, b| a.weight.total_cmp(&b.weight))?;
    let concept: &Concept = question
        .prompt
        .rubric
        .concepts
        .iter()
        .find(|c| c.name == missed.name)?;
    let text = concept.follow_up.clone()?;
    let prompt = Prompt {
        text,
        structure: None,
        think_seconds: Some(0),
        rubric: Rubric {
            seconds: FOLLOW_UP_SECONDS,
            wpm: question.prompt.rubric.wpm,
            weights: question.prompt.rubric.weights,
            concepts: vec![Concept {
                follow_up: None,
                ..concept.clone()
            }],
            avoid: question.prompt.rubric.avoid.clone(),
        },
        ..question.prompt.clone()
    };
    Some(Question {
        prompt,
        follow_up_of: Some(concept.name.clone()),
        think_seconds: 0,
        max_seconds: FOLLOW_UP_SECONDS[1],
        repeat_until: None,
        max_tries: 1,
    })
}

/// How a drill gets its answers and speaks its questions.
#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// Recordings to use as answers, one per question, in order; empty means the microphone.
    pub inputs: Vec<PathBuf>,
    /// Feed recordings at the speed a microphone would.
    pub realtime: bool,
    /// Text-to-speech backend: `auto`, a backend name, or `none`.
    pub tts: Option<String>,
    /// Input device name (exact, case-insensitive, or a substring).
    pub device: Option<String>,
    /// Seed for picks and shuffles; random when absent.
    pub seed: Option<u64>,
}

/// What a finished drill reports.
#[derive(Debug, Clone)]
pub struct DrillResult {
    pub session_id: String,
    pub answers: usize,
    pub status: SessionStatus,
}

/// Where the answer should come from next.
enum AnswerSource {
    Files(VecDeque<PathBuf>, bool),
    Microphone(Option<String>),
}

/// Runs a playlist: speaks, listens, scores and stores each answer.
pub fn drill(
    engine: &mut Engine,
    store: &mut Store,
    bank: &Bank,
    playlist: &Playlist,
    options: &DrillOptions,
    speak_settings: &SpeakSettings,
    answer_silence_seconds: f64,
) -> Result<DrillResult> {
    let now = Utc::now();
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    let practice = store.practice_states()?;
    let mut queue: VecDeque<Item> = plan(playlist, bank, &practice, now, seed)?.into();
    let backend = speak::choose(options.tts.as_deref().unwrap_or(&speak_settings.backend))?;
    let mut source = if options.inputs.is_empty() {
        // Before the session exists, so a missing microphone leaves nothing behind.
        devices::check_input(options.device.as_deref())?;
        AnswerSource::Microphone(options.device.clone())
    } else {
        for input in &options.inputs {
            if !input.is_file() {
                bail!(
                    "{}: no such recording (given with --input)",
                    input.display()
                );
            }
        }
        AnswerSource::Files(options.inputs.iter().cloned().collect(), options.realtime)
    };
    let interactive = std::io::stdin().is_terminal() && options.inputs.is_empty();
    // Load the model before the first question, not after the first answer.
    engine.transcriber()?;

    let session_id = store.create_session(Some(&playlist.id))?;
    let session_dir = store.session_dir(&session_id);
    eprintln!("viva: session {session_id} ({})", playlist.name);
    let mut voice = Voice {
        backend,
        settings: speak_settings.clone(),
        dir: session_dir.clone(),
        told_no_speaker: false,
        spoken: 0,
    };
    let keys = interactive.then(spawn_key_reader);
    let mut answers = 0;
    let mut status = SessionStatus::Complete;
    let mut tries: HashMap<String, u32> = HashMap::new();

    'questions: while let Some(item) = queue.pop_front() {
        let question = match item {
            Item::Say(text) => {
                voice.say(&text, false)?;
                continue;
            }
            Item::Ask(question) => question,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let try_key = format!(
                "{}/{}",
                question.prompt.id,
                question.follow_up_of.as_deref().unwrap_or("")
            );
            let try_number = {
                let n = tries.entry(try_key).or_insert(0);
                *n += 1;
                *n
            };
            let question_audio = voice.say(&question.prompt.text, true)?;
            think(question.think_seconds, interactive || options.realtime);
            let input = match next_input(&mut source)? {
                Some(input) => input,
                None => {
                    eprintln!("viva: no more --input recordings; the drill ends here");
                    break 'questions;
                }
            };
            let audio_path = session_dir.join(format!("answer-{:03}.wav", answers + 1));
            let answer_id = store.start_answer(NewAnswer {
                session_id: session_id.clone(),
                prompt_id: question.prompt.id.clone(),
                category: question.prompt.category.clone(),
                follow_up_of: question.follow_up_of.clone(),
                try_number,
                audio_path: audio_path.clone(),
                question_audio_path: question_audio.clone(),
            })?;
            answers += 1;
            beep(voice.told_no_speaker, 880.0);
            let rules = AnswerRules {
                silence_seconds: answer_silence_seconds,
                min_speech_seconds: 0.5,
                max_seconds: question.max_seconds + GRACE_SECONDS,
            };
            let show_meter = std::io::stderr().is_terminal();
            let recorded =
                listen::record_answer(input, &audio_path, &rules, keys.as_ref(), |level| {
                    if show_meter {
                        draw_meter(level);
                    }
                });
            let recorded = match recorded {
                Ok(recorded) => recorded,
                Err(e) => {
                    // What reached the disk stays; the answer is marked as cut short.
                    let _ = store.set_answer_status(answer_id, AnswerStatus::Interrupted);
                    let _ = store.end_session(&session_id, SessionStatus::Interrupted);
                    return Err(e);
                }
            };
            if show_meter {
                eprintln!();
            }
            beep(voice.told_no_speaker, 660.0);
            let card = engine.score(&question.prompt, &recorded.recording, Words::Whisper)?;
            store.complete_answer(answer_id, &card.transcript, &card)?;
            println!("{}", report::scorecard(&card, &question.prompt));
            if recorded.end == AnswerEnd::Quit {
                status = SessionStatus::Quit;
                break 'questions;
            }
            let again = question
                .repeat_until
                .is_some_and(|target| card.overall < target && attempt < question.max_tries);
            if again {
                println!(
                    "Scored {:.0}; this step wants {:.0}. Again (try {} of {}).",
                    card.overall,
                    question.repeat_until.unwrap_or_default(),
                    attempt + 1,
                    question.max_tries
                );
                continue;
            }
            match between_questions(keys.as_ref()) {
                Control::Next => {}
                Control::Redo => continue,
                Control::Skip => {
                    queue.pop_front();
                }
                Control::Quit => {
                    status = SessionStatus::Quit;
                    break 'questions;
                }
                Control::Repeat => {
                    queue.push_front(Item::Ask(question.clone()));
                    break;
                }
            }
            if playlist.follow_ups {
                if let Some(next) = follow_up(&question, &card) {
                    queue.push_front(Item::Ask(Box::new(next)));
                }
            }
            break;
        }
    }
    store.end_session(&session_id, status)?;
    Ok(DrillResult {
        session_id,
        answers,
        status,
    })
}

fn next_input(source: &mut AnswerSource) -> Result<Option<LiveInput>> {
    match source {
        AnswerSource::Files(files, realtime) => match files.pop_front() {
            Some(path) => Ok(Some(listen::file_input(&path, *realtime)?)),
            None => Ok(None),
        },
        AnswerSource::Microphone(name) => Ok(Some(devices::microphone(name.as_deref())?)),
    }
}

/// The interviewer's voice: synthesises to the session folder and plays it, or prints.
struct Voice {
    backend: TtsBackend,
    settings: SpeakSettings,
    dir: PathBuf,
    told_no_speaker: bool,
    spoken: usize,
}

impl Voice {
    /// Says `text`; returns the synthesised audio's path when there is one. Returns only once
    /// the audio has finished playing and the microphone gate's tail has passed.
    fn say(&mut self, text: &str, is_question: bool) -> Result<Option<PathBuf>> {
        println!(
            "\n{}{}",
            if is_question { "Q: " } else { "" },
            report::wrap(text, 90)
        );
        self.spoken += 1;
        let kind = if is_question { "question" } else { "say" };
        let path = self.dir.join(format!("{kind}-{:03}.wav", self.spoken));
        let Some(path) = speak::synthesize(self.backend, text, &path, &self.settings)? else {
            return Ok(None);
        };
        if !self.told_no_speaker {
            let played = crate::audio::load_wav(&path)
                .map_err(anyhow::Error::from)
                .and_then(|audio| devices::play(&audio.samples, crate::audio::SAMPLE_RATE));
            match played {
                Ok(true) => {
                    std::thread::sleep(std::time::Duration::from_secs_f64(MIC_GATE_TAIL_SECONDS))
                }
                Ok(false) => self.no_speaker("no output device"),
                Err(e) => self.no_speaker(&format!("{e:#}")),
            }
        }
        Ok(Some(path))
    }

    fn no_speaker(&mut self, why: &str) {
        eprintln!("viva: cannot play audio ({why}); questions are printed from now on");
        self.told_no_speaker = true;
    }
}

/// A short tone marks the start and end of an answer, where there is a speaker.
fn beep(no_speaker: bool, frequency: f32) {
    if !no_speaker {
        let tone = speak::tone(frequency, 0.12, crate::audio::SAMPLE_RATE);
        let _ = devices::play(&tone, crate::audio::SAMPLE_RATE);
    }
}

/// Think time with a countdown, when someone is there to think.
fn think(seconds: u32, wait: bool) {
    if seconds == 0 || !wait {
        return;
    }
    for left in (1..=seconds).rev() {
        eprint!("\rThink: {left:>3} s ");
        let _ = std::io::stderr().flush();
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    eprintln!("\rAnswer now.        ");
}

fn draw_meter(level: listen::Level) {
    let bars = ((level.rms * 60.0).sqrt() * 10.0).min(20.0) as usize;
    let secs = level.seconds as u64;
    eprint!(
        "\r{} {}:{:02} [{:<20}] Enter ends the answer, q quits ",
        if level.speaking { "●" } else { "○" },
        secs / 60,
        secs % 60,
        "#".repeat(bars)
    );
    let _ = std::io::stderr().flush();
}

/// What the candidate chose between questions.
enum Control {
    Next,
    Repeat,
    Redo,
    Skip,
    Quit,
}

fn between_questions(keys: Option<&Receiver<String>>) -> Control {
    let Some(keys) = keys else {
        return Control::Next;
    };
    // Lines typed while the scorecard printed are not choices.
    while keys.try_recv().is_ok() {}
    eprintln!(
        "[Enter] next  (r) repeat the question  (d) redo the answer  (s) skip the next  (p) pause  (q) quit"
    );
    loop {
        let Ok(line) = keys.recv() else {
            return Control::Next;
        };
        match line.trim() {
            "" => return Control::Next,
            "r" => return Control::Repeat,
            "d" => return Control::Redo,
            "s" => return Control::Skip,
            "q" => return Control::Quit,
            "p" => eprintln!("Paused. Press Enter to go on."),
            other => eprintln!("`{other}`? Enter, r, d, s, p or q."),
        }
    }
}

/// Reads stdin lines on a thread, for the listener (Enter ends an answer) and the choices
/// between questions.
fn spawn_key_reader() -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
