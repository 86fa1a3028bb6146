//! Listening: a live input (the microphone, or a recording played as one) in, one answer on
//! disk out.
//!
//! Both kinds of input go through the same pipeline. The producer side (the cpal callback, or
//! a feeder thread reading a WAV file) only converts samples to `f32` and pushes them into a
//! lock-free ring buffer. The consumer here mixes to mono, resamples to 16 kHz, writes the WAV
//! as it goes ([`AnswerWav`]: its header kept true, so a crash keeps everything said), and runs
//! the voice detector to decide when the answer is over.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::answer_wav::AnswerWav;
use crate::audio::{Recording, SAMPLE_RATE};

/// Ring buffer size in seconds of audio: room for the consumer to fall behind while the
/// model or the disk is busy, without dropping samples.
const RING_SECONDS: usize = 4;
/// Samples per voice-detector frame (16 ms at 16 kHz), fixed by earshot.
const VAD_FRAME: usize = 256;

/// Rate and channel count of what the producer pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputFormat {
    pub sample_rate: u32,
    pub channels: u16,
}

/// The consumer's end of a live input.
pub struct LiveInput {
    pub format: InputFormat,
    samples: rtrb::Consumer<f32>,
    /// Set by the producer when it will push no more (a file ran out, a device was pulled).
    ended: Arc<AtomicBool>,
    /// Samples the producer could not push because the ring was full.
    dropped: Arc<AtomicU64>,
    /// Keeps the producer alive (the stream-owning thread, or the file feeder) until dropped.
    _producer: Box<dyn Send>,
}

/// What a short listen to an input heard (`viva doctor`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HeardLevel {
    /// Samples per channel that arrived.
    pub frames: u64,
    /// RMS level over everything heard, in dBFS (-120 for digital silence).
    pub rms_db: f32,
    /// Loudest sample, in dBFS.
    pub peak_db: f32,
    /// The input ended on its own (the device went away) before the time was up.
    pub ended: bool,
}

impl LiveInput {
    /// Measures the level of `seconds` of what the input delivers, counted from its first
    /// samples (a sound server can take a while to start a stream), waiting at most
    /// `FIRST_SAMPLES_WAIT` for those.
    pub fn listen_for(&mut self, seconds: f64) -> HeardLevel {
        const FIRST_SAMPLES_WAIT: Duration = Duration::from_secs(5);
        let mut deadline = Instant::now() + FIRST_SAMPLES_WAIT;
        let mut started = false;
        let (mut count, mut sum_squares, mut peak) = (0u64, 0f64, 0f32);
        let mut ended = false;
        while Instant::now() < deadline {
            if !started && !self.samples.is_empty() {
                started = true;
                deadline = Instant::now() + Duration::from_secs_f64(seconds);
            }
            let available = self.samples.slots();
            if let Ok(chunk) = self.samples.read_chunk(available) {
                for sample in chunk.into_iter() {
                    let value = if sample.is_finite() { sample } else { 0.0 };
                    count += 1;
                    sum_squares += f64::from(value) * f64::from(value);
                    peak = peak.max(value.abs());
                }
            }
            if self.ended.load(Ordering::Acquire) && self.samples.is_empty() {
                ended = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let db = |amplitude: f64| {
            if amplitude > 1e-6 {
                (20.0 * amplitude.log10()) as f32
            } else {
                -120.0
            }
        };
        let rms = if count == 0 {
            0.0
        } else {
            (sum_squares / count as f64).sqrt()
        };
        HeardLevel {
            frames: count / u64::from(self.format.channels.max(1)),
            rms_db: db(rms),
            peak_db: db(f64::from(peak)),
            ended,
        }
    }
}

/// The producer's end, handed to a cpal callback or a feeder thread.
pub struct InputFeed {
    samples: rtrb::Producer<f32>,
    ended: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl InputFeed {
    /// Pushes converted samples; never blocks, never allocates (safe in an audio callback).
    pub fn push(&mut self, samples: impl Iterator<Item = f32>) {
        for sample in samples {
            if self.samples.push(sample).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Free room in the ring, in samples.
    pub fn room(&self) -> usize {
        self.samples.slots()
    }

    /// Marks the input finished: the consumer drains what is left and ends the answer.
    pub fn finish(&self) {
        self.ended.store(true, Ordering::Release);
    }

    /// A handle that ends the input from outside the producer: a device's error callback,
    /// which fires when the device is gone and no more samples will ever come.
    pub fn ender(&self) -> InputEnder {
        InputEnder(self.ended.clone())
    }
}

/// Ends a live input from wherever its producer learns it is over.
#[derive(Clone)]
pub struct InputEnder(Arc<AtomicBool>);

impl InputEnder {
    /// The consumer drains what was pushed before and ends the answer.
    pub fn finish(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A connected producer/consumer pair for input of `format`.
pub fn channel(format: InputFormat) -> (InputFeed, impl FnOnce(Box<dyn Send>) -> LiveInput) {
    let capacity = format.sample_rate as usize * format.channels as usize * RING_SECONDS;
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let ended = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let feed = InputFeed {
        samples: producer,
        ended: ended.clone(),
        dropped: dropped.clone(),
    };
    let finish = move |keepalive: Box<dyn Send>| LiveInput {
        format,
        samples: consumer,
        ended,
        dropped,
        _producer: keepalive,
    };
    (feed, finish)
}

/// Plays a WAV file into the pipeline as if a microphone heard it: at its own rate and channel
/// count, in 10 ms blocks, either at real-time speed or as fast as the consumer takes it.
pub fn file_input(path: &Path, realtime: bool) -> Result<LiveInput> {
    let wav = crate::audio::read_interleaved(path)?;
    let format = InputFormat {
        sample_rate: wav.sample_rate,
        channels: wav.channels,
    };
    let samples = wav.samples;
    let (mut feed, into_input) = channel(format);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_feeder = stop.clone();
    let block = (format.sample_rate as usize / 100).max(1) * format.channels as usize;
    let feeder = std::thread::spawn(move || {
        let start = Instant::now();
        let per_second = format.sample_rate as f64 * format.channels as f64;
        let mut sent = 0;
        while sent < samples.len() && !stop_feeder.load(Ordering::Relaxed) {
            if realtime {
                let due = Duration::from_secs_f64(sent as f64 / per_second);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            } else if feed.room() < block {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            let end = (sent + block).min(samples.len());
            feed.push(samples[sent..end].iter().copied());
            sent = end;
        }
        feed.finish();
    });
    Ok(into_input(Box::new(FeederGuard {
        stop,
        feeder: Some(feeder),
    })))
}

/// Stops the feeder thread when the answer is over.
struct FeederGuard {
    stop: Arc<AtomicBool>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FeederGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

/// When an answer is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerRules {
    /// Silence this long after some speech ends the answer.
    pub silence_seconds: f64,
    /// Speech needed before silence can end the answer (a cough is not an answer).
    pub min_speech_seconds: f64,
    /// The answer is cut here: the rubric's maximum plus a grace period.
    pub max_seconds: f64,
}

/// Why an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerEnd {
    /// The candidate pressed Enter.
    Enter,
    /// They stopped speaking for long enough.
    Silence,
    /// The time limit ran out.
    MaxLength,
    /// The input ran out (a file ended, the device went away).
    InputEnded,
    /// The candidate asked to quit; what was said is kept.
    Quit,
}

/// What the meter callback is told, about ten times a second.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    /// RMS of the last block, 0 to 1.
    pub rms: f32,
    pub seconds: f64,
    pub speaking: bool,
}

/// A finished stretch of speech, cut while the answer is still being recorded.
#[derive(Debug, Clone)]
pub struct SpeechSegment {
    /// Seconds from the start of the answer.
    pub start: f64,
    /// 16 kHz mono samples.
    pub samples: Vec<f32>,
}

/// Watches an answer as it is recorded.
pub trait AnswerObserver {
    /// About ten times a second.
    fn level(&mut self, _level: Level) {}
    /// Each time a stretch of speech is finished: at a pause, or when it grows long.
    fn segment(&mut self, _segment: SpeechSegment) {}
}

/// Watches nothing.
pub struct NoObserver;
impl AnswerObserver for NoObserver {}

/// A recorded answer, on disk and in memory.
pub struct RecordedAnswer {
    pub path: PathBuf,
    pub recording: Recording,
    pub end: AnswerEnd,
    /// Samples lost because the consumer fell behind (should be 0).
    pub dropped_samples: u64,
}

/// Records one answer from `input` into a 16 kHz mono WAV at `out`. `keys` carries lines typed
/// by the candidate, when someone is at the keyboard.
pub fn record_answer(
    mut input: LiveInput,
    out: &Path,
    rules: &AnswerRules,
    keys: Option<&Receiver<String>>,
    observer: &mut dyn AnswerObserver,
) -> Result<RecordedAnswer> {
    let mut writer = AnswerWav::create(out)?;
    let mut mono = MonoResampler::new(input.format)?;
    let mut endpoint = Endpointer::new(rules);
    let mut segmenter = Segmenter::default();
    let mut recorded: Vec<f32> = Vec::new();
    let mut last_meter = Instant::now();
    // Where the meter's next block starts: it measures everything since its last report, not
    // just the last read (which can be a handful of samples, and read 0 mid-word).
    let mut meter_from = 0;
    let mut raw = Vec::new();
    let read_block =
        (input.format.sample_rate as usize / 10).max(1) * input.format.channels as usize;
    let max_samples = (rules.max_seconds * SAMPLE_RATE as f64) as usize;

    let end = loop {
        raw.clear();
        // A tenth of a second at a time, so the time limit and the silence rule act promptly
        // even when a file is fed faster than real time.
        let available = input.samples.slots().min(read_block);
        if available > 0 {
            if let Ok(chunk) = input.samples.read_chunk(available) {
                let (a, b) = chunk.as_slices();
                raw.extend_from_slice(a);
                raw.extend_from_slice(b);
                chunk.commit_all();
            }
        }
        let mut fresh = mono.push(&raw)?;
        fresh.truncate(max_samples.saturating_sub(recorded.len()));
        if !fresh.is_empty() {
            writer.write(&fresh)?;
            let start = recorded.len();
            recorded.extend_from_slice(&fresh);
            for voiced in endpoint.feed(&recorded[start..]) {
                let level = frame_level_db(&recorded, segmenter.frames_seen());
                if let Some((from, to)) = segmenter.frame_with_level(voiced, level) {
                    observer.segment(SpeechSegment {
                        start: from as f64 / SAMPLE_RATE as f64,
                        samples: recorded[from..to].to_vec(),
                    });
                }
            }
            if last_meter.elapsed() >= Duration::from_millis(100) {
                observer.level(Level {
                    rms: rms(&recorded[meter_from..]),
                    seconds: recorded.len() as f64 / SAMPLE_RATE as f64,
                    speaking: endpoint.speaking(),
                });
                last_meter = Instant::now();
                meter_from = recorded.len();
            }
        }
        if let Some(reason) = endpoint.verdict(recorded.len()) {
            break reason;
        }
        if let Some(keys) = keys {
            // A line typed while answering: `q` quits, anything else (Enter) ends the answer.
            match keys.try_recv() {
                Ok(line) if line.trim() == "q" => break AnswerEnd::Quit,
                Ok(_) => break AnswerEnd::Enter,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
            }
        }
        if raw.is_empty() {
            if input.ended.load(Ordering::Acquire) && input.samples.is_empty() {
                break AnswerEnd::InputEnded;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        writer.update_header_on_schedule()?;
    };

    let mut tail = mono.finish()?;
    tail.truncate(max_samples.saturating_sub(recorded.len()));
    writer.write(&tail)?;
    recorded.extend_from_slice(&tail);
    writer.finalize()?;
    if let Some((from, to)) = segmenter.finish(recorded.len()) {
        observer.segment(SpeechSegment {
            start: from as f64 / SAMPLE_RATE as f64,
            samples: recorded[from..to].to_vec(),
        });
    }
    Ok(RecordedAnswer {
        path: out.to_owned(),
        recording: Recording {
            samples: recorded,
            source: out.to_owned(),
            original_rate: input.format.sample_rate,
            original_channels: input.format.channels,
        },
        end,
        dropped_samples: input.dropped.load(Ordering::Relaxed),
    })
}

/// Mixes interleaved input to mono and resamples it to 16 kHz in fixed blocks, carrying partial
/// frames and blocks between calls. A new one per answer, so no take bleeds into the next.
struct MonoResampler {
    channels: usize,
    rate: u32,
    partial_frame: Vec<f32>,
    pending: Vec<f32>,
    resampler: Option<Fft<f32>>,
    /// Output samples still to drop: the resampler's start-up delay.
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
}

impl MonoResampler {
    fn new(format: InputFormat) -> Result<Self> {
        anyhow::ensure!(format.channels > 0, "the input has no channels");
        let resampler = if format.sample_rate == SAMPLE_RATE {
            None
        } else {
            Some(Fft::<f32>::new(
                format.sample_rate as usize,
                SAMPLE_RATE as usize,
                1024,
                1,
                FixedSync::Input,
            )?)
        };
        let delay_left = resampler.as_ref().map_or(0, |r| r.output_delay());
        Ok(Self {
            channels: format.channels as usize,
            rate: format.sample_rate,
            partial_frame: Vec::new(),
            pending: Vec::new(),
            resampler,
            delay_left,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Takes interleaved samples, returns whatever 16 kHz mono output is ready.
    fn push(&mut self, interleaved: &[f32]) -> Result<Vec<f32>> {
        let mut samples = std::mem::take(&mut self.partial_frame);
        samples.extend_from_slice(interleaved);
        let whole = samples.len() / self.channels * self.channels;
        self.partial_frame = samples[whole..].to_vec();
        for frame in samples[..whole].chunks_exact(self.channels) {
            // A float device may deliver more than full scale; the voice detector takes [-1, 1].
            self.pending
                .push((frame.iter().sum::<f32>() / self.channels as f32).clamp(-1.0, 1.0));
        }
        self.frames_in += (whole / self.channels) as u64;
        let Some(resampler) = self.resampler.as_mut() else {
            self.frames_out += self.pending.len() as u64;
            return Ok(std::mem::take(&mut self.pending));
        };
        let mut out = Vec::new();
        let need = resampler.input_frames_next();
        let mut used = 0;
        while self.pending.len() - used >= need {
            let block = &self.pending[used..used + need];
            let input = InterleavedSlice::new(block, 1, need)?;
            out.extend(resampler.process(&input, None)?.take_data());
            used += need;
        }
        self.pending.drain(..used);
        Ok(self.trim_delay(out))
    }

    /// Flushes what is left, padding the last block with silence, and cuts the output to the
    /// exact length the input calls for.
    fn finish(&mut self) -> Result<Vec<f32>> {
        if self.resampler.is_none() {
            return Ok(std::mem::take(&mut self.pending));
        }
        let expected =
            (self.frames_in as f64 * SAMPLE_RATE as f64 / self.rate as f64).round() as u64;
        let mut out = Vec::new();
        let mut block = std::mem::take(&mut self.pending);
        // The partial block, then silence until the delay line has given up the last sample.
        for _ in 0..16 {
            if self.frames_out >= expected {
                break;
            }
            let resampler = self.resampler.as_mut().expect("checked above");
            let need = resampler.input_frames_next();
            let filled = block.len().min(need);
            block.resize(need, 0.0);
            let input = InterleavedSlice::new(&block, 1, need)?;
            let indexing = rubato::Indexing::new().partial_len(filled);
            let chunk = resampler.process(&input, Some(&indexing))?.take_data();
            block.clear();
            out.extend(self.trim_delay(chunk));
        }
        let excess = self.frames_out.saturating_sub(expected) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.frames_out -= excess as u64;
        Ok(out)
    }

    fn trim_delay(&mut self, mut out: Vec<f32>) -> Vec<f32> {
        let cut = self.delay_left.min(out.len());
        self.delay_left -= cut;
        out.drain(..cut);
        // The resampler overshoots full-scale input a little.
        crate::audio::clamp_full_scale(&mut out);
        if self.resampler.is_some() {
            self.frames_out += out.len() as u64;
        }
        out
    }
}

/// Streaming end-of-answer detection on earshot's voice probabilities.
struct Endpointer {
    detector: earshot::Detector,
    rules: AnswerRules,
    buffer: Vec<f32>,
    speech_frames: usize,
    silent_frames: usize,
}

impl Endpointer {
    fn new(rules: &AnswerRules) -> Self {
        Self {
            detector: earshot::Detector::default(),
            rules: *rules,
            buffer: Vec::with_capacity(VAD_FRAME),
            speech_frames: 0,
            silent_frames: 0,
        }
    }

    /// Feeds samples; returns whether each frame completed by them was voiced.
    fn feed(&mut self, samples: &[f32]) -> Vec<bool> {
        let mut frames = Vec::new();
        for &s in samples {
            self.buffer.push(s);
            if self.buffer.len() == VAD_FRAME {
                let voiced = self.detector.predict_f32(&self.buffer) >= 0.5;
                if voiced {
                    self.speech_frames += 1;
                    self.silent_frames = 0;
                } else {
                    self.silent_frames += 1;
                }
                frames.push(voiced);
                self.buffer.clear();
            }
        }
        frames
    }

    fn speaking(&self) -> bool {
        self.speech_frames > 0 && self.silent_frames < 10
    }

    fn verdict(&self, samples: usize) -> Option<AnswerEnd> {
        let frame_seconds = VAD_FRAME as f64 / SAMPLE_RATE as f64;
        if samples as f64 / SAMPLE_RATE as f64 >= self.rules.max_seconds {
            return Some(AnswerEnd::MaxLength);
        }
        let heard = self.speech_frames as f64 * frame_seconds >= self.rules.min_speech_seconds;
        let quiet = self.silent_frames as f64 * frame_seconds >= self.rules.silence_seconds;
        (heard && quiet).then_some(AnswerEnd::Silence)
    }
}

/// Cuts speech into segments for live transcription, frame by frame: a segment ends at a
/// pause, or once it is long (at the next dip, or at the hard limit), so that when the answer
/// ends only its last few seconds are left to transcribe.
#[derive(Debug, Default)]
pub struct Segmenter {
    frames: usize,
    start: Option<usize>,
    last_voiced: usize,
    silent_run: usize,
    /// Where the last segment ended (in frames): segments never overlap.
    emitted_to: usize,
    /// Each frame's level (dB) since `levels_from`: where to cut a long segment between words.
    levels: Vec<f32>,
    levels_from: usize,
}

/// Silence that ends a segment of at least `SEGMENT_ENOUGH_FRAMES`: 0.5 s.
const SEGMENT_PAUSE_FRAMES: usize = 31;
/// Speech that gives Whisper enough context to cut at a short pause: 6 s. Cut at every
/// sentence break, segments of 2 to 4 s lost 2.4 points of WER against the whole file.
const SEGMENT_ENOUGH_FRAMES: usize = 375;
/// Silence that ends any segment: 1 s, the gap over which whole-file transcription joins
/// speech into one chunk. The end of an answer is cut here, a second after its last word.
const SEGMENT_LONG_PAUSE_FRAMES: usize = 62;
/// A segment this long is cut at the next dip of 50 ms: 16 s.
const SEGMENT_SOFT_FRAMES: usize = 1000;
/// And at this length whatever happens: 20 s.
const SEGMENT_HARD_FRAMES: usize = 1250;
/// Padding around speech so word edges are kept: 0.2 s.
const SEGMENT_PAD_FRAMES: usize = 12;

/// Frames averaged when looking for the gap between two words: 80 ms.
const SEGMENT_GAP_FRAMES: usize = 5;

impl Segmenter {
    /// Takes one frame's verdict; returns a finished segment as a sample range. Without a
    /// level, a long segment is cut where it reaches its length.
    pub fn frame(&mut self, voiced: bool) -> Option<(usize, usize)> {
        self.frame_with_level(voiced, 0.0)
    }

    /// As [`Segmenter::frame`], with the frame's level in dB: a segment cut for length (not
    /// at a pause) is cut at its quietest 80 ms since the soft limit, between words, and the
    /// next segment goes on from there, so no word is split in two.
    pub fn frame_with_level(&mut self, voiced: bool, level_db: f32) -> Option<(usize, usize)> {
        let index = self.frames;
        self.frames += 1;
        self.levels.push(level_db);
        if voiced {
            self.silent_run = 0;
            self.last_voiced = index;
            if self.start.is_none() {
                self.start = Some(
                    index
                        .saturating_sub(SEGMENT_PAD_FRAMES)
                        .max(self.emitted_to),
                );
            }
        } else {
            self.silent_run += 1;
        }
        let Some(start) = self.start else {
            self.levels.clear();
            self.levels_from = self.frames;
            return None;
        };
        let length = index + 1 - start;
        let spoken = (self.last_voiced + 1).saturating_sub(start);
        if self.silent_run >= SEGMENT_LONG_PAUSE_FRAMES
            || (self.silent_run >= SEGMENT_PAUSE_FRAMES && spoken >= SEGMENT_ENOUGH_FRAMES)
        {
            let end = (self.last_voiced + 1 + SEGMENT_PAD_FRAMES).min(self.frames);
            self.start = None;
            self.emitted_to = end;
            return Some((start * VAD_FRAME, end * VAD_FRAME));
        }
        if !((length >= SEGMENT_SOFT_FRAMES && self.silent_run >= 3)
            || length >= SEGMENT_HARD_FRAMES)
        {
            return None;
        }
        let end = self.quietest_gap(start + SEGMENT_SOFT_FRAMES / 2, index + 1);
        self.emitted_to = end;
        // Speech goes on: the next segment starts where this one ends.
        self.start = (end < self.frames).then_some(end);
        Some((start * VAD_FRAME, end * VAD_FRAME))
    }

    /// The frame at the middle of the quietest 80 ms between frames `from` and `to`; `to`
    /// when the levels do not reach back that far.
    fn quietest_gap(&self, from: usize, to: usize) -> usize {
        let from = from.max(self.levels_from);
        if to < from + SEGMENT_GAP_FRAMES {
            return to;
        }
        let level = |f: usize| {
            self.levels
                .get(f - self.levels_from)
                .copied()
                .unwrap_or(0.0)
        };
        let sum = |f: usize| (f..f + SEGMENT_GAP_FRAMES).map(level).sum::<f32>();
        let quietest = (from..=to - SEGMENT_GAP_FRAMES)
            .rev()
            .min_by(|&a, &b| sum(a).total_cmp(&sum(b)))
            .unwrap_or(to - SEGMENT_GAP_FRAMES);
        // Equal levels everywhere (no levels given): cut at `to`, as before.
        if sum(quietest) >= sum(to - SEGMENT_GAP_FRAMES) {
            return to;
        }
        quietest + SEGMENT_GAP_FRAMES / 2
    }

    /// How many frames have been given so far.
    pub fn frames_seen(&self) -> usize {
        self.frames
    }

    /// The segment still open when the answer ends, up to the last sample.
    pub fn finish(&mut self, samples: usize) -> Option<(usize, usize)> {
        let start = self.start.take()? * VAD_FRAME;
        (start < samples).then_some((start, samples))
    }
}

/// One segment live transcription would send: samples `from..to`, ready `arrives_at` seconds
/// into the answer (when its last frame has been heard).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSegment {
    pub from: usize,
    pub to: usize,
    pub arrives_at: f64,
}

/// The segments live transcription cuts from a whole recording, exactly as the microphone
/// path cuts them frame by frame: for benches and for `viva transcribe --live`.
pub fn live_segments(samples: &[f32]) -> Vec<LiveSegment> {
    let verdicts =
        crate::vad::frame_verdicts(samples, crate::vad::VadSettings::default().threshold);
    let frame_seconds = VAD_FRAME as f64 / SAMPLE_RATE as f64;
    let mut segmenter = Segmenter::default();
    let mut segments = Vec::new();
    for (i, voiced) in verdicts.into_iter().enumerate() {
        if let Some((from, to)) = segmenter.frame_with_level(voiced, frame_level_db(samples, i)) {
            segments.push(LiveSegment {
                from,
                to: to.min(samples.len()),
                arrives_at: (i + 1) as f64 * frame_seconds,
            });
        }
    }
    if let Some((from, to)) = segmenter.finish(samples.len()) {
        segments.push(LiveSegment {
            from,
            to,
            arrives_at: samples.len() as f64 / SAMPLE_RATE as f64,
        });
    }
    segments
}

/// The level of voice-detector frame `frame` of `samples`, in dB.
fn frame_level_db(samples: &[f32], frame: usize) -> f32 {
    let from = (frame * VAD_FRAME).min(samples.len());
    let to = (from + VAD_FRAME).min(samples.len());
    20.0 * (rms(&samples[from..to]) + 1e-6).log10()
}

fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, channels: u16, seconds: f64) -> Vec<f32> {
        let frames = (rate as f64 * seconds) as usize;
        (0..frames)
            .flat_map(|i| {
                let v = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin();
                std::iter::repeat_n(v, channels as usize)
            })
            .collect()
    }

    #[test]
    fn streaming_resampling_gives_the_exact_length_whatever_the_block_sizes() {
        for (rate, channels) in [(48_000, 2), (44_100, 1), (16_000, 1), (22_050, 2)] {
            let input = tone(rate, channels, 1.5);
            let mut mono = MonoResampler::new(InputFormat {
                sample_rate: rate,
                channels,
            })
            .unwrap();
            let mut out = Vec::new();
            // Odd block sizes, split mid-frame.
            for block in input.chunks(333) {
                out.extend(mono.push(block).unwrap());
            }
            out.extend(mono.finish().unwrap());
            assert_eq!(out.len(), 24_000, "{rate} Hz x{channels}");
            let middle = &out[4_000..20_000];
            assert!(
                (rms(middle) - 0.3536).abs() < 0.01,
                "{rate} Hz: rms {}",
                rms(middle)
            );
        }
    }

    #[test]
    fn a_file_played_as_a_microphone_arrives_whole() {
        let dir = tempfile::tempdir().unwrap();
        let input_path = dir.path().join("in.wav");
        let samples = tone(22_050, 2, 2.0);
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&input_path, spec).unwrap();
        for s in &samples {
            w.write_sample((s * 32767.0) as i16).unwrap();
        }
        w.finalize().unwrap();

        let rules = AnswerRules {
            silence_seconds: 3.0,
            min_speech_seconds: 0.3,
            max_seconds: 60.0,
        };
        let out = dir.path().join("answer.wav");
        let input = file_input(&input_path, false).unwrap();
        let answer = record_answer(input, &out, &rules, None, &mut NoObserver).unwrap();
        assert_eq!(answer.end, AnswerEnd::InputEnded);
        assert_eq!(answer.dropped_samples, 0);
        assert_eq!(answer.recording.samples.len(), 32_000);
        let on_disk = crate::audio::load_wav(&out).unwrap();
        assert_eq!(on_disk.samples.len(), 32_000);
    }

    fn run_segmenter(pattern: &[(bool, usize)]) -> Vec<(f64, f64)> {
        let mut segmenter = Segmenter::default();
        let mut out = Vec::new();
        let mut total = 0;
        for &(voiced, n) in pattern {
            for _ in 0..n {
                out.extend(segmenter.frame(voiced));
                total += VAD_FRAME;
            }
        }
        out.extend(segmenter.finish(total));
        let seconds = |s: usize| s as f64 / SAMPLE_RATE as f64;
        out.into_iter()
            .map(|(a, b)| (seconds(a), seconds(b)))
            .collect()
    }

    #[test]
    fn segments_end_at_pauses_and_never_overlap() {
        // 3 s speech, 1 s pause, 2 s speech, then the answer ends mid-speech.
        let segments = run_segmenter(&[(true, 187), (false, 62), (true, 125)]);
        assert_eq!(segments.len(), 2, "{segments:?}");
        assert!(segments[0].1 <= segments[1].0);
        assert!((segments[0].1 - 3.2).abs() < 0.1, "{segments:?}");
        assert!(
            (segments[1].1 - 6.0).abs() < 0.02,
            "the last runs to the end: {segments:?}"
        );
    }

    #[test]
    fn a_short_pause_cuts_only_after_enough_speech() {
        // 3 s, a sentence break of 0.6 s, 4 s, a break, 2 s: cut at the second break only,
        // once 7.6 s were said.
        let segments = run_segmenter(&[
            (true, 187),
            (false, 37),
            (true, 250),
            (false, 37),
            (true, 125),
            (false, 100),
        ]);
        assert_eq!(segments.len(), 2, "{segments:?}");
        assert!((segments[0].1 - 7.8).abs() < 0.05, "{segments:?}");
    }

    #[test]
    fn long_speech_is_cut_into_pieces_of_at_most_twenty_seconds() {
        let segments = run_segmenter(&[(true, 4_000)]);
        assert!(segments.len() >= 3, "{segments:?}");
        assert!(segments.iter().all(|(a, b)| b - a <= 20.01));
        let covered: f64 = segments.iter().map(|(a, b)| b - a).sum();
        assert!(
            (covered - 64.0).abs() < 0.02,
            "all speech is covered once: {covered}"
        );
    }

    #[test]
    fn the_answer_is_cut_at_the_time_limit() {
        let dir = tempfile::tempdir().unwrap();
        let input_path = dir.path().join("in.wav");
        crate::audio::write_wav(&input_path, &tone(16_000, 1, 5.0)).unwrap();
        let rules = AnswerRules {
            silence_seconds: 3.0,
            min_speech_seconds: 0.3,
            max_seconds: 2.0,
        };
        let out = dir.path().join("answer.wav");
        let answer = record_answer(
            file_input(&input_path, false).unwrap(),
            &out,
            &rules,
            None,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(answer.end, AnswerEnd::MaxLength);
        let seconds = answer.recording.seconds();
        assert!((2.0..2.1).contains(&seconds), "{seconds} s");
    }
}
