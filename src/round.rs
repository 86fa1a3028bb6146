//! Rounds: the state machine that walks a playlist through the stages.
//!
//! A playlist is first planned into a queue of [`Item`]s (picks drawn, due prompts chosen,
//! order shuffled when asked). Each question is then spoken, answered, scored and stored, in
//! that order; a weak answer may be redone (`repeat_until`), and a missed concept with a
//! follow-up question puts that question next in the queue.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::bank::{Bank, Concept, Playlist, Prompt, Rubric, Step, StepTiming};
use crate::engine::Words;
use crate::listen::{self, AnswerEnd, AnswerRules, LiveInput};
use crate::listen::{AnswerObserver, Level, SpeechSegment};
use crate::schedule::{self, PracticeState};
use crate::score::Scorecard;
use crate::speak::{self, SpeakSettings, TtsBackend};
use crate::store::{AnswerStatus, NewAnswer, SessionStatus, Store};
use crate::transcribe::Word;
use crate::worker::{PendingWords, Worker};
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

/// The playlist behind `viva ask`: one question, one answer, no follow-ups.
pub fn single_question(prompt: &Prompt) -> Playlist {
    Playlist {
        id: format!("ask-{}", prompt.id),
        name: format!("One question: {}", prompt.id),
        think_seconds: prompt.think_seconds,
        shuffle: false,
        follow_ups: false,
        steps: vec![Step::Prompt {
            id: prompt.id.clone(),
            timing: StepTiming::default(),
        }],
        source: "viva ask".into(),
    }
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
#[derive(Debug, Clone)]
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
    /// The interviewer's voice.
    pub speak: SpeakSettings,
    /// Silence after speech that ends an answer.
    pub silence_seconds: f64,
}

impl DrillOptions {
    /// Options from what the candidate asked for, with the rest from the configuration.
    pub fn new(
        config: &crate::config::Config,
        inputs: Vec<PathBuf>,
        realtime: bool,
        tts: Option<String>,
        device: Option<String>,
        seed: Option<u64>,
    ) -> Self {
        Self {
            inputs,
            realtime,
            tts,
            device: device.or_else(|| config.listen.device.clone()),
            seed,
            speak: config.speak.clone(),
            silence_seconds: config.listen.silence_seconds,
        }
    }
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

/// What happens in a round, for whoever watches it (the daemon's event stream).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RoundEvent {
    Started {
        session_id: String,
        playlist: String,
    },
    Say {
        text: String,
    },
    Question {
        prompt_id: String,
        text: String,
        follow_up_of: Option<String>,
        try_number: u32,
    },
    Recording {
        prompt_id: String,
        audio: PathBuf,
    },
    Level {
        rms: f32,
        seconds: f64,
        speaking: bool,
        /// The voice has stayed too quiet to score well: move closer or raise the input level.
        too_quiet: bool,
    },
    /// The answer so far, as live transcription has it.
    Partial {
        text: String,
    },
    Scorecard {
        prompt_id: String,
        scorecard: Box<Scorecard>,
    },
    Ended {
        session_id: String,
        status: String,
        answers: usize,
    },
}

/// How a round is steered and watched, apart from its audio.
#[derive(Default)]
pub struct RoundIo {
    /// Lines from the candidate: while answering, `q` quits and anything else ends the answer;
    /// between questions, the choices of [`Control`]. Stdin in a terminal, the API in the daemon.
    pub controls: Option<Receiver<String>>,
    /// Wait for a choice between questions (otherwise go straight on).
    pub pause_between: bool,
    /// Told of every step of the round.
    pub events: Option<Box<dyn FnMut(RoundEvent) + Send>>,
    /// Set when the process is shutting down: the answer in progress is finalised on disk
    /// and kept unscored, and the round ends at once (scoring could outlast the shutdown).
    pub abort: Option<Arc<AtomicBool>>,
}

impl RoundIo {
    /// A person at this terminal: stdin steers when it is a terminal and no recordings answer.
    pub fn terminal(options: &DrillOptions) -> Self {
        let interactive = std::io::stdin().is_terminal() && options.inputs.is_empty();
        Self {
            controls: interactive.then(spawn_key_reader),
            pause_between: interactive,
            events: None,
            abort: None,
        }
    }

    fn emit(&mut self, event: RoundEvent) {
        if let Some(events) = self.events.as_mut() {
            events(event);
        }
    }
}

/// Runs a playlist: speaks, listens, scores and stores each answer.
pub fn drill(
    worker: &Worker,
    store: &mut Store,
    bank: &Bank,
    playlist: &Playlist,
    options: &DrillOptions,
    io: &mut RoundIo,
) -> Result<DrillResult> {
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    let practice = store.practice_states()?;
    let queue = plan(playlist, bank, &practice, Utc::now(), seed)?.into();
    let mut round = Round::begin(worker, store, playlist, options, io)?;
    let status = round.run(queue)?;
    round.end(status)
}

/// A drill under way: its session, its voice, where its answers come from, and what it has
/// asked so far.
struct Round<'a> {
    worker: &'a Worker,
    store: &'a mut Store,
    playlist: &'a Playlist,
    options: &'a DrillOptions,
    io: &'a mut RoundIo,
    session_id: String,
    session_dir: PathBuf,
    voice: Voice,
    source: AnswerSource,
    /// Answers started in this session, which also numbers their files.
    answers: usize,
    /// Tries so far per question (a prompt, or one of its follow-ups).
    tries: HashMap<String, u32>,
}

/// What the candidate's answer leads to.
enum Then {
    /// Ask the same question again, aloud or (a redo) not.
    Again { replay_question: bool },
    /// Go on to the next item in the queue.
    NextItem,
    /// End the round with this status.
    End(SessionStatus),
}

/// One answer, recorded and transcribed while it was spoken.
struct HeardAnswer {
    answer_id: i64,
    recording: crate::audio::Recording,
    end: AnswerEnd,
    words: Vec<Word>,
}

impl<'a> Round<'a> {
    /// Chooses the voice and checks the inputs, then starts the session (only then, so a bad
    /// input leaves nothing behind) and announces it.
    fn begin(
        worker: &'a Worker,
        store: &'a mut Store,
        playlist: &'a Playlist,
        options: &'a DrillOptions,
        io: &'a mut RoundIo,
    ) -> Result<Self> {
        let backend = speak::choose(options.tts.as_deref().unwrap_or(&options.speak.backend))?;
        let source = AnswerSource::checked(options)?;
        let session_id = store.create_session(Some(&playlist.id))?;
        let session_dir = store.session_dir(&session_id);
        eprintln!("viva: session {session_id} ({})", playlist.name);
        io.emit(RoundEvent::Started {
            session_id: session_id.clone(),
            playlist: playlist.id.clone(),
        });
        let voice = Voice {
            backend,
            settings: options.speak.clone(),
            dir: session_dir.clone(),
            player: devices::play,
            told_no_speaker: false,
            spoken: 0,
        };
        Ok(Self {
            worker,
            store,
            playlist,
            options,
            io,
            session_id,
            session_dir,
            voice,
            source,
            answers: 0,
            tries: HashMap::new(),
        })
    }

    /// Walks the queue until it is empty or the round ends early; returns how it ended.
    fn run(&mut self, mut queue: VecDeque<Item>) -> Result<SessionStatus> {
        while let Some(item) = queue.pop_front() {
            match item {
                Item::Say(text) => {
                    self.io.emit(RoundEvent::Say { text: text.clone() });
                    self.voice.say(&text, false)?;
                }
                Item::Ask(question) => {
                    if let Some(status) = self.ask(&question, &mut queue)? {
                        return Ok(status);
                    }
                }
            }
        }
        Ok(SessionStatus::Complete)
    }

    /// Asks one question until the candidate moves on: each try is posed, recorded, scored
    /// and kept, then repeated, redone, followed up or left. Returns a status when the round
    /// ends here.
    fn ask(
        &mut self,
        question: &Question,
        queue: &mut VecDeque<Item>,
    ) -> Result<Option<SessionStatus>> {
        let mut attempt = 0;
        let mut replay_question = true;
        let mut question_audio: Option<PathBuf> = None;
        loop {
            attempt += 1;
            let try_number = self.next_try_number(question);
            // Checked before the question is spoken: no recording left means no answer.
            if self.source.exhausted() {
                eprintln!("viva: no more --input recordings; the drill ends here");
                return Ok(Some(SessionStatus::Complete));
            }
            self.pose(question, try_number, replay_question, &mut question_audio)?;
            let Some(answer) = self.record(question, try_number, question_audio.clone())? else {
                return Ok(Some(SessionStatus::Quit));
            };
            let end = answer.end;
            let card = self.score_and_keep(question, answer)?;
            let then = if end == AnswerEnd::Quit {
                Then::End(SessionStatus::Quit)
            } else if end == AnswerEnd::InputEnded && self.source.is_microphone() {
                // A microphone's input only ends when the device is gone: the answer it held
                // is kept and scored, and the session ends now rather than failing to open
                // it for the next question (devices::device_lost has said so, once).
                Then::End(SessionStatus::Interrupted)
            } else if wants_another_try(question, &card, attempt) {
                Then::Again {
                    replay_question: true,
                }
            } else {
                self.choose_next(question, &card, queue)
            };
            match then {
                Then::Again {
                    replay_question: replay,
                } => replay_question = replay,
                Then::NextItem => return Ok(None),
                Then::End(status) => return Ok(Some(status)),
            }
        }
    }

    /// Counts a try of `question`; the first is 1. A prompt and each of its follow-ups count
    /// apart.
    fn next_try_number(&mut self, question: &Question) -> u32 {
        let key = format!(
            "{}/{}",
            question.prompt.id,
            question.follow_up_of.as_deref().unwrap_or("")
        );
        let n = self.tries.entry(key).or_insert(0);
        *n += 1;
        *n
    }

    /// Puts the question: aloud (keeping its audio), or for a redo only on the screen.
    fn pose(
        &mut self,
        question: &Question,
        try_number: u32,
        aloud: bool,
        question_audio: &mut Option<PathBuf>,
    ) -> Result<()> {
        self.io.emit(RoundEvent::Question {
            prompt_id: question.prompt.id.clone(),
            text: question.prompt.text.clone(),
            follow_up_of: question.follow_up_of.clone(),
            try_number,
        });
        if aloud {
            *question_audio = self.voice.say(&question.prompt.text, true)?;
        } else {
            println!(
                "\nAnswer again: {}",
                report::wrap(&question.prompt.text, 90)
            );
        }
        Ok(())
    }

    /// Think time, then the answer, transcribed segment by segment as it is spoken. `None`
    /// when the process is shutting down: the recording is kept, marked interrupted, unscored.
    fn record(
        &mut self,
        question: &Question,
        try_number: u32,
        question_audio: Option<PathBuf>,
    ) -> Result<Option<HeardAnswer>> {
        let (input, answer_id, audio_path) =
            self.open_answer(question, try_number, question_audio)?;
        let rules = AnswerRules {
            silence_seconds: self.options.silence_seconds,
            min_speech_seconds: 0.5,
            max_seconds: question.max_seconds + GRACE_SECONDS,
        };
        let show_meter = std::io::stderr().is_terminal();
        let RoundIo {
            controls,
            events,
            abort,
            ..
        } = &mut *self.io;
        let mut live = LiveAnswer {
            worker: self.worker,
            audio: audio_path.clone(),
            segments: Vec::new(),
            heard: String::new(),
            show_meter,
            events: events.as_mut(),
            failed: None,
            loudness: Default::default(),
        };
        let recorded =
            match listen::record_answer(input, &audio_path, &rules, controls.as_ref(), &mut live) {
                Ok(recorded) => recorded,
                Err(e) => {
                    // What reached the disk stays; the answer is marked as cut short.
                    let _ = self
                        .store
                        .set_answer_status(answer_id, AnswerStatus::Interrupted);
                    let _ = self
                        .store
                        .end_session(&self.session_id, SessionStatus::Interrupted);
                    return Err(e);
                }
            };
        if show_meter {
            eprintln!();
        }
        beep(self.voice.told_no_speaker, 660.0);
        if abort.as_ref().is_some_and(|a| a.load(Ordering::Relaxed)) {
            drop(live);
            self.store
                .set_answer_status(answer_id, AnswerStatus::Interrupted)?;
            return Ok(None);
        }
        // Only the last segment can still be in the worker's hands.
        let words = live.finish()?;
        Ok(Some(HeardAnswer {
            answer_id,
            recording: recorded.recording,
            end: recorded.end,
            words,
        }))
    }

    /// Think time, the tone that says "answer now", the input opened (after the tone, so no
    /// answer begins with it), then the answer's row (so a crash leaves it findable). Returns the input, the answer's id and
    /// where its recording goes.
    fn open_answer(
        &mut self,
        question: &Question,
        try_number: u32,
        question_audio: Option<PathBuf>,
    ) -> Result<(LiveInput, i64, PathBuf)> {
        think(
            question.think_seconds,
            self.io.pause_between || self.options.realtime,
        );
        start_tone(self.voice.told_no_speaker);
        let input = self.source.open()?;
        let audio_path = self
            .session_dir
            .join(format!("answer-{:03}.wav", self.answers + 1));
        let answer_id = self.store.start_answer(NewAnswer {
            session_id: self.session_id.clone(),
            prompt_id: question.prompt.id.clone(),
            category: question.prompt.category.clone(),
            follow_up_of: question.follow_up_of.clone(),
            try_number,
            audio_path: audio_path.clone(),
            question_audio_path: question_audio,
        })?;
        self.answers += 1;
        self.io.emit(RoundEvent::Recording {
            prompt_id: question.prompt.id.clone(),
            audio: audio_path.clone(),
        });
        Ok((input, answer_id, audio_path))
    }

    /// Scores the answer from the words heard live, stores it, and shows the scorecard.
    fn score_and_keep(&mut self, question: &Question, answer: HeardAnswer) -> Result<Scorecard> {
        let card = self.worker.score_blocking(
            &question.prompt,
            &answer.recording,
            Words::Live(answer.words),
        )?;
        self.store
            .complete_answer(answer.answer_id, &card.transcript, &card)?;
        println!("{}", report::scorecard(&card, &question.prompt));
        self.io.emit(RoundEvent::Scorecard {
            prompt_id: question.prompt.id.clone(),
            scorecard: Box::new(card.clone()),
        });
        Ok(card)
    }

    /// After an answer that needs no other try: the candidate's choice between questions,
    /// and this answer's follow-up (if it earned one) put next in the queue.
    fn choose_next(
        &mut self,
        question: &Question,
        card: &Scorecard,
        queue: &mut VecDeque<Item>,
    ) -> Then {
        let next_follow_up = self
            .playlist
            .follow_ups
            .then(|| follow_up(question, card))
            .flatten();
        let controls = self.io.controls.as_ref().filter(|_| self.io.pause_between);
        match between_questions(controls) {
            Control::Next => {
                if let Some(next) = next_follow_up {
                    queue.push_front(Item::Ask(Box::new(next)));
                }
                Then::NextItem
            }
            Control::Redo => Then::Again {
                replay_question: false,
            },
            Control::Repeat => Then::Again {
                replay_question: true,
            },
            Control::Skip => {
                // Skipping the follow-up is not asking it; otherwise drop the next item.
                if next_follow_up.is_none() {
                    queue.pop_front();
                }
                Then::NextItem
            }
            Control::Quit => Then::End(SessionStatus::Quit),
        }
    }

    /// Ends the session with `status` and says so.
    fn end(self, status: SessionStatus) -> Result<DrillResult> {
        self.store.end_session(&self.session_id, status)?;
        self.io.emit(RoundEvent::Ended {
            session_id: self.session_id.clone(),
            status: status.as_str().to_owned(),
            answers: self.answers,
        });
        Ok(DrillResult {
            session_id: self.session_id,
            answers: self.answers,
            status,
        })
    }
}

/// Whether a `repeat_until` step wants another try of this answer, and says so.
fn wants_another_try(question: &Question, card: &Scorecard, attempt: u32) -> bool {
    let Some(target) = question.repeat_until else {
        return false;
    };
    let again = card.overall < target && attempt < question.max_tries;
    if again {
        println!(
            "Scored {:.0}; this step wants {target:.0}. Again (try {} of {}).",
            card.overall,
            attempt + 1,
            question.max_tries
        );
    }
    again
}

impl AnswerSource {
    /// The recordings given with `--input`, each checked, or the microphone, checked to
    /// exist: before the session exists, so a bad input leaves nothing behind.
    fn checked(options: &DrillOptions) -> Result<Self> {
        if options.inputs.is_empty() {
            devices::check_input(options.device.as_deref())?;
            return Ok(AnswerSource::Microphone(options.device.clone()));
        }
        for input in &options.inputs {
            crate::audio::check_wav(input)?;
        }
        Ok(AnswerSource::Files(
            options.inputs.iter().cloned().collect(),
            options.realtime,
        ))
    }

    /// Whether answers come from a microphone (whose input ends only when it is gone).
    fn is_microphone(&self) -> bool {
        matches!(self, AnswerSource::Microphone(_))
    }

    /// Whether the recordings given with `--input` have all been used.
    fn exhausted(&self) -> bool {
        matches!(self, AnswerSource::Files(files, _) if files.is_empty())
    }

    /// Opens the input for the next answer: the microphone, or the next recording.
    fn open(&mut self) -> Result<LiveInput> {
        match self {
            AnswerSource::Files(files, realtime) => {
                let path = files
                    .pop_front()
                    .ok_or_else(|| anyhow::anyhow!("no --input recording is left"))?;
                listen::file_input(&path, *realtime)
            }
            AnswerSource::Microphone(name) => devices::microphone(name.as_deref()),
        }
    }
}

/// Sends each finished speech segment to the inference worker while the answer goes on, and
/// shows what has been transcribed so far.
struct LiveAnswer<'a> {
    worker: &'a Worker,
    audio: PathBuf,
    segments: Vec<Segment>,
    /// The words transcribed so far, for the partial transcript.
    heard: String,
    show_meter: bool,
    events: Option<&'a mut Box<dyn FnMut(RoundEvent) + Send>>,
    failed: Option<anyhow::Error>,
    /// Says "too quiet" while the answer can still be saved.
    loudness: crate::score::delivery::LiveLevel,
}

enum Segment {
    Pending(PendingWords),
    Done(Vec<Word>),
}

impl LiveAnswer<'_> {
    /// Collects finished segments; tells the terminal and the event stream when there is news.
    fn poll(&mut self) {
        let mut news = false;
        for segment in &mut self.segments {
            if let Segment::Pending(pending) = segment {
                match pending.try_take() {
                    Some(Ok(words)) => {
                        *segment = Segment::Done(words);
                        news = true;
                    }
                    Some(Err(e)) => self.failed = Some(e),
                    None => {}
                }
            }
        }
        if !news {
            return;
        }
        // Partial text runs up to the first segment still pending, so it never skips ahead.
        let words: Vec<&str> = self
            .segments
            .iter()
            .map_while(|s| match s {
                Segment::Done(words) => Some(words),
                Segment::Pending(_) => None,
            })
            .flatten()
            .map(|w| w.text.as_str())
            .collect();
        self.heard = words.join(" ");
        if self.show_meter {
            eprint!("\r\x1b[K… {}\n", self.heard);
        }
        if let Some(events) = self.events.as_mut() {
            events(RoundEvent::Partial {
                text: self.heard.clone(),
            });
        }
    }

    /// Every segment's words, in order, waiting for those still in the worker.
    fn finish(mut self) -> Result<Vec<Word>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut words = Vec::new();
        for segment in self.segments {
            match segment {
                Segment::Done(done) => words.extend(done),
                Segment::Pending(pending) => words.extend(pending.wait()?),
            }
        }
        Ok(words)
    }
}

impl AnswerObserver for LiveAnswer<'_> {
    fn level(&mut self, level: Level) {
        let too_quiet = self
            .loudness
            .hear(crate::prosody::amplitude_dbfs(level.rms), level.speaking);
        if self.show_meter {
            draw_meter(level, too_quiet);
        }
        if let Some(events) = self.events.as_mut() {
            events(RoundEvent::Level {
                rms: level.rms,
                seconds: level.seconds,
                speaking: level.speaking,
                too_quiet,
            });
        }
        self.poll();
    }

    fn segment(&mut self, segment: SpeechSegment) {
        match self
            .worker
            .transcribe_segment(segment.samples, segment.start, &self.audio)
        {
            Ok(pending) => self.segments.push(Segment::Pending(pending)),
            Err(e) => self.failed = Some(e),
        }
    }
}

/// The interviewer's voice: synthesises to the session folder and plays it, or prints.
struct Voice {
    backend: TtsBackend,
    settings: SpeakSettings,
    dir: PathBuf,
    /// Plays 16 kHz mono audio to the end; `Ok(false)` when there is nothing to play to.
    /// The sound card in real use ([`devices::play`]); a real-time sink in tests.
    player: Player,
    told_no_speaker: bool,
    spoken: usize,
}

/// How `Voice` plays audio.
type Player = fn(&[f32], u32) -> Result<bool>;

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
                .and_then(|audio| (self.player)(&audio.samples, crate::audio::SAMPLE_RATE));
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

/// A short tone marks the start and end of an answer, where there is a speaker. Returns
/// whether it played.
fn beep(no_speaker: bool, frequency: f32) -> bool {
    if no_speaker {
        return false;
    }
    let tone = speak::tone(frequency, 0.12, crate::audio::SAMPLE_RATE);
    matches!(devices::play(&tone, crate::audio::SAMPLE_RATE), Ok(true))
}

/// The tone that says "answer now", and the gate's tail after it (see [`Voice::say`]).
fn start_tone(no_speaker: bool) {
    if beep(no_speaker, 880.0) {
        std::thread::sleep(std::time::Duration::from_secs_f64(MIC_GATE_TAIL_SECONDS));
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

fn draw_meter(level: listen::Level, too_quiet: bool) {
    let bars = ((level.rms * 60.0).sqrt() * 10.0).min(20.0) as usize;
    let secs = level.seconds as u64;
    eprint!(
        "\r\x1b[K{} {}:{:02} [{:<20}] {}",
        if level.speaking { "●" } else { "○" },
        secs / 60,
        secs % 60,
        "#".repeat(bars),
        if too_quiet {
            "TOO QUIET: move closer to the microphone "
        } else {
            "Enter ends the answer, q quits "
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A speaker with no sound card behind it that still takes real time to play.
    fn real_time_sink(samples: &[f32], rate: u32) -> Result<bool> {
        std::thread::sleep(Duration::from_secs_f64(samples.len() as f64 / rate as f64));
        Ok(true)
    }

    #[test]
    fn the_microphone_stays_gated_until_the_question_and_its_tail_are_over() {
        // The round opens the microphone only after `say` returns, so `say` returning early
        // would let viva record itself.
        let dir = tempfile::tempdir().unwrap();
        let mut voice = Voice {
            backend: TtsBackend::EspeakNg,
            settings: SpeakSettings::default(),
            dir: dir.path().to_owned(),
            player: real_time_sink,
            told_no_speaker: false,
            spoken: 0,
        };
        let started = Instant::now();
        let path = voice
            .say("How would you design a content delivery network?", true)
            .unwrap()
            .expect("espeak-ng wrote the question");
        let took = started.elapsed().as_secs_f64();
        let spoken = crate::audio::load_wav(&path).unwrap().seconds();
        assert!(spoken > 1.0, "{spoken} s of question audio");
        assert!(
            took >= spoken + MIC_GATE_TAIL_SECONDS,
            "say returned after {took:.2} s; the question lasts {spoken:.2} s plus a {MIC_GATE_TAIL_SECONDS} s tail"
        );
    }

    #[test]
    fn without_a_speaker_the_question_is_printed_and_the_round_goes_on() {
        fn no_device(_: &[f32], _: u32) -> Result<bool> {
            Ok(false)
        }
        let dir = tempfile::tempdir().unwrap();
        let mut voice = Voice {
            backend: TtsBackend::EspeakNg,
            settings: SpeakSettings::default(),
            dir: dir.path().to_owned(),
            player: no_device,
            told_no_speaker: false,
            spoken: 0,
        };
        assert!(voice.say("First question?", true).unwrap().is_some());
        assert!(voice.told_no_speaker);
        // The question audio is still kept with the session.
        assert!(voice
            .say("Second question?", true)
            .unwrap()
            .unwrap()
            .is_file());
    }

    fn bank_and_playlist(steps: &str) -> (Bank, Playlist) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("playlists")).unwrap();
        let mut prompts = String::new();
        for (id, category) in [
            ("a", "culture"),
            ("b", "culture"),
            ("c", "culture"),
            ("d", "tech"),
        ] {
            prompts.push_str(&format!(
                "[[prompt]]\nid = \"{id}\"\ncategory = \"{category}\"\ntext = \"Q {id}?\"\n\
                 [prompt.rubric]\nseconds = [10, 60]\n\
                 [[prompt.rubric.concept]]\nname = \"k\"\nany = [\"key\"]\nfollow_up = \"More on {id}?\"\n"
            ));
        }
        std::fs::write(dir.path().join("p.toml"), prompts).unwrap();
        std::fs::write(
            dir.path().join("playlists/t.toml"),
            format!("name = \"t\"\n{steps}"),
        )
        .unwrap();
        let bank = crate::bank::load(&[crate::bank::BankSource::Dir {
            path: dir.path().to_owned(),
            required: true,
        }])
        .unwrap();
        let playlist = bank.playlist("t").unwrap().clone();
        (bank, playlist)
    }

    fn asked(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Say(text) => format!("say:{text}"),
                Item::Ask(q) => q.prompt.id.clone(),
            })
            .collect()
    }

    #[test]
    fn picks_draw_without_repeats_and_skip_prompts_already_planned() {
        let (bank, playlist) = bank_and_playlist(
            "[[step]]\nprompt = \"a\"\n[[step]]\npick = { category = \"culture\", count = 2 }\n",
        );
        for seed in 0..20 {
            let items = plan(&playlist, &bank, &HashMap::new(), Utc::now(), seed).unwrap();
            let ids = asked(&items);
            assert_eq!(ids[0], "a");
            let mut picked = ids[1..].to_vec();
            picked.sort();
            assert_eq!(picked, ["b", "c"], "seed {seed}");
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_drill() {
        let (bank, playlist) = bank_and_playlist(
            "shuffle = true\n[[step]]\npick = { category = \"culture\", count = 3 }\n",
        );
        let plan_ids =
            |seed| asked(&plan(&playlist, &bank, &HashMap::new(), Utc::now(), seed).unwrap());
        assert_eq!(plan_ids(42), plan_ids(42));
        let orders: std::collections::HashSet<Vec<String>> = (0..20).map(plan_ids).collect();
        assert!(orders.len() > 1, "different seeds shuffle differently");
    }

    #[test]
    fn shuffling_moves_questions_but_not_what_the_interviewer_says() {
        let (bank, playlist) = bank_and_playlist(
            "shuffle = true\n[[step]]\nsay = \"hello\"\n[[step]]\nprompt = \"a\"\n[[step]]\nprompt = \"b\"\n[[step]]\nsay = \"bye\"\n",
        );
        for seed in 0..10 {
            let ids = asked(&plan(&playlist, &bank, &HashMap::new(), Utc::now(), seed).unwrap());
            assert_eq!(ids[0], "say:hello");
            assert_eq!(ids[3], "say:bye");
        }
    }

    #[test]
    fn due_steps_ask_the_prompts_most_due_first() {
        let (bank, playlist) = bank_and_playlist("[[step]]\ndue = 2\n");
        let now = Utc::now();
        let mut practice = HashMap::new();
        for (id, score) in [("a", 90.0), ("b", 20.0), ("c", 90.0), ("d", 90.0)] {
            practice.insert(
                id.to_string(),
                schedule::next(None, score, now - chrono::Duration::days(2)),
            );
        }
        let ids = asked(&plan(&playlist, &bank, &practice, now, 1).unwrap());
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], "b", "the low score comes back first: {ids:?}");
    }

    #[test]
    fn a_missed_concept_with_a_follow_up_becomes_the_next_question() {
        let (bank, playlist) = bank_and_playlist("[[step]]\nprompt = \"a\"\n");
        let items = plan(&playlist, &bank, &HashMap::new(), Utc::now(), 1).unwrap();
        let Item::Ask(question) = &items[0] else {
            panic!()
        };
        let transcript = crate::transcribe::Transcript::default();
        let answer = crate::score::Answer {
            transcript: &transcript,
            duration_seconds: 5.0,
            speech: &[],
            meaning: None,
            prosody: None,
        };
        let card = crate::score::score(&question.prompt, answer, &Default::default());
        let next = follow_up(question, &card).expect("a follow-up");
        assert_eq!(next.prompt.text, "More on a?");
        assert_eq!(next.follow_up_of.as_deref(), Some("k"));
        assert_eq!(next.prompt.rubric.concepts.len(), 1);
        // A follow-up does not breed follow-ups of its own.
        assert!(follow_up(&next, &card).is_none());
    }
}
