//! Transcription: speech regions of a [`Recording`] in, a [`Transcript`] with word times out.
//!
//! Whisper runs locally through whisper-rs on the speech regions only (it invents text on
//! silence), with word times from the model's alignment heads, no carried context, non-speech
//! tokens suppressed, and a short prompt that keeps the fillers Whisper would otherwise tidy
//! away.
//! A corrected transcript from a file can stand in for Whisper's words; it is then spread over
//! the same speech regions, so pace and pauses still come from the audio.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

use crate::audio::{Recording, SAMPLE_RATE};
use crate::score::lexicon;
use crate::vad::{self, SpeechRegion};

/// What was said, word by word, with times in seconds from the start of the recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub words: Vec<Word>,
    /// Where the words came from: `whisper` or `file`.
    pub source: String,
}

/// One spoken word, as written (with its punctuation), and when it was said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// Heard from the sound, not by Whisper: a filled pause ("uh") Whisper left out, found by
    /// `hesitation`. Shown as such on the scorecard and the page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_sound: bool,
}

impl Transcript {
    /// Joins words into a transcript; `source` says where they came from.
    pub fn from_words(words: Vec<Word>, source: &str) -> Self {
        let text = words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            text,
            words,
            source: source.to_owned(),
        }
    }
}

/// Why transcription failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("{path}: not a usable Whisper model ({detail}); fetch a fresh copy with `viva models fetch base.en`")]
    BadModel { path: PathBuf, detail: String },
    #[error("Whisper failed on {path}: {detail}")]
    Inference { path: PathBuf, detail: String },
}

/// Transcription settings that do not depend on the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscribeSettings {
    /// Spoken language, as Whisper's two-letter code.
    pub language: String,
    /// CPU threads for inference; 0 means every available core.
    pub threads: usize,
    /// Text Whisper reads before the audio. Kept short: a long prompt steers the words, this
    /// one only shows that hesitations are to be written down.
    pub initial_prompt: String,
    /// Let Whisper write non-speech tokens (sound notes, some punctuation runs); off by
    /// default: on, it writes "(laughs)" and "♪" on breath and noise.
    pub allow_non_speech: bool,
    /// The first decoding temperature; 0 is greedy. Hotter samples more freely (and keeps a
    /// few more hesitations), at the cost of words.
    pub temperature: f32,
    /// Word start times from the model's alignment heads (whisper.cpp's DTW over the
    /// cross-attention), not from its timestamp tokens, whose times drift by seconds inside a
    /// window: the filled-pause detector and the filler bench read where each word was said.
    /// Models without known alignment heads (large-v1/v2, unknown shapes) keep token times.
    pub align_words: bool,
    /// Live segments are decoded after this many words of the segment before them (of the
    /// same answer), as Whisper decodes one window after the last inside a long file: the cut
    /// then loses less context (four-minute answers, tune half: live WER 6.3% alone, 5.8%
    /// after 40 words, against 6.1% whole). 0 decodes each segment alone.
    pub live_context_words: usize,
    /// Beam search width; 0 decodes greedily (faster; as accurate on clear speech).
    pub beam_size: usize,
    /// Candidates sampled at each fallback temperature.
    pub best_of: usize,
    /// When a decode fails the checks below, it is tried again this much hotter, up to 1.0.
    pub temperature_increment: f32,
    /// A decode whose tokens are this repetitive (whisper.cpp's entropy, the counterpart of
    /// the reference decoder's compression ratio) has fallen into a loop: decode again.
    pub entropy_threshold: f32,
    /// A decode whose average token log-probability is below this is unsure: decode again.
    pub logprob_threshold: f32,
    /// Above this no-speech probability, with an unsure decode, the window is silence.
    pub no_speech_threshold: f32,
}

impl Default for TranscribeSettings {
    fn default() -> Self {
        Self {
            language: "en".into(),
            threads: 0,
            initial_prompt: "Umm, so, uh, let me think, like, hmm, I mean, okay.".into(),
            allow_non_speech: false,
            temperature: 0.0,
            live_context_words: 40,
            align_words: true,
            beam_size: 0,
            best_of: 5,
            temperature_increment: 0.2,
            entropy_threshold: 2.4,
            logprob_threshold: -1.0,
            no_speech_threshold: 0.6,
        }
    }
}

/// Regions closer than this share one Whisper call, for context across short pauses.
const JOIN_GAP_SECONDS: f64 = 1.0;
/// Whisper's window is 30 s; leave room for padding.
const MAX_CHUNK_SECONDS: f64 = 28.0;
/// whisper.cpp refuses input under a second.
const MIN_CHUNK_SAMPLES: usize = SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10;

/// What the next live segment of an answer is decoded after.
struct LiveContext {
    answer: PathBuf,
    end: f64,
    words: Vec<String>,
}

/// A loaded Whisper model with a reusable inference state.
pub struct Transcriber {
    state: WhisperState,
    settings: TranscribeSettings,
    threads: usize,
    /// Whether word starts come from the alignment heads (see `align_words`).
    aligned: bool,
    /// The live answer being transcribed, where its last segment ended, and its last words:
    /// the next segment's context.
    live: Option<LiveContext>,
}

impl Transcriber {
    /// Loads a ggml Whisper model from disk.
    pub fn load(model_path: &Path, settings: TranscribeSettings) -> Result<Self, TranscribeError> {
        whisper_rs::install_logging_hooks();
        let bad = |detail: String| TranscribeError::BadModel {
            path: model_path.to_owned(),
            detail,
        };
        let summary = crate::ggml::check_model_file(model_path).map_err(bad)?;
        let path_str = model_path
            .to_str()
            .ok_or_else(|| bad("the path is not valid UTF-8".into()))?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let heads = alignment_heads(&summary).filter(|_| settings.align_words);
        let aligned = heads.is_some();
        if let Some(model_preset) = heads {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..DtwParameters::default()
            });
        }
        let ctx = WhisperContext::new_with_params(path_str, params)
            .map_err(|e| bad(format!("whisper.cpp could not load it: {e}")))?;
        let state = ctx
            .create_state()
            .map_err(|e| bad(format!("could not create an inference state: {e}")))?;
        let threads = match settings.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Self {
            state,
            settings,
            threads,
            aligned,
            live: None,
        })
    }

    /// Transcribes the speech regions of a recording.
    pub fn transcribe(
        &mut self,
        recording: &Recording,
        speech: &[SpeechRegion],
    ) -> Result<Transcript, TranscribeError> {
        let mut words = Vec::new();
        let levels = vad::speech_band_levels(&recording.samples);
        for chunk in vad::transcription_chunks(speech, &levels, JOIN_GAP_SECONDS, MAX_CHUNK_SECONDS)
        {
            words.extend(self.transcribe_chunk(recording, chunk)?);
        }
        Ok(Transcript::from_words(words, "whisper"))
    }

    fn transcribe_chunk(
        &mut self,
        recording: &Recording,
        chunk: SpeechRegion,
    ) -> Result<Vec<Word>, TranscribeError> {
        let from = (chunk.start * SAMPLE_RATE as f64) as usize;
        let to = ((chunk.end * SAMPLE_RATE as f64) as usize).min(recording.samples.len());
        let audio = &recording.samples[from.min(to)..to];
        self.transcribe_segment(audio, chunk.start, &recording.source)
    }

    /// Transcribes the next live segment of the answer recorded at `source`: as
    /// [`Transcriber::transcribe_segment`], after the last words of the segment before it when
    /// `live_context_words` asks for them. Segments of one answer come in order (the one
    /// worker takes them in order), so the context, like the cut, depends on the audio alone.
    pub fn transcribe_live_segment(
        &mut self,
        samples: &[f32],
        start: f64,
        source: &Path,
    ) -> Result<Vec<Word>, TranscribeError> {
        let keep = self.settings.live_context_words;
        // The same answer, going on from where its last segment ended (a new take of the same
        // file starts afresh).
        let earlier = self
            .live
            .take()
            .filter(|c| c.answer == source && start >= c.end - 1e-6)
            .map(|c| c.words)
            .unwrap_or_default();
        let words = self.decode(samples, start, source, &earlier.join(" "))?;
        let mut context = earlier;
        context.extend(words.iter().map(|w| w.text.clone()));
        context.drain(..context.len().saturating_sub(keep));
        self.live = Some(LiveContext {
            answer: source.to_owned(),
            end: start + samples.len() as f64 / SAMPLE_RATE as f64,
            words: context,
        });
        Ok(words)
    }

    /// Transcribes one stretch of speech that starts `start` seconds into its recording; the
    /// words' times are in the recording's time.
    pub fn transcribe_segment(
        &mut self,
        samples: &[f32],
        start: f64,
        source: &Path,
    ) -> Result<Vec<Word>, TranscribeError> {
        self.decode(samples, start, source, "")
    }

    fn decode(
        &mut self,
        samples: &[f32],
        start: f64,
        source: &Path,
        before: &str,
    ) -> Result<Vec<Word>, TranscribeError> {
        let chunk = SpeechRegion {
            start,
            end: start + samples.len() as f64 / SAMPLE_RATE as f64,
        };
        if vad::is_steady_noise(samples, &vad::VadSettings::default()) {
            return Ok(Vec::new());
        }
        let mut audio = samples.to_vec();
        if audio.len() < MIN_CHUNK_SAMPLES {
            audio.resize(MIN_CHUNK_SAMPLES, 0.0);
        }

        let settings = &self.settings;
        let strategy = match settings.beam_size {
            0 => SamplingStrategy::Greedy {
                best_of: settings.best_of.max(1) as i32,
            },
            beam_size => SamplingStrategy::BeamSearch {
                beam_size: beam_size as i32,
                patience: -1.0,
            },
        };
        let mut params = FullParams::new(strategy);
        params.set_temperature(settings.temperature);
        params.set_temperature_inc(settings.temperature_increment);
        params.set_entropy_thold(settings.entropy_threshold);
        params.set_logprob_thold(settings.logprob_threshold);
        params.set_no_speech_thold(settings.no_speech_threshold);
        params.set_audio_ctx(audio_ctx_for(audio.len()));
        params.set_n_threads(self.threads as i32);
        params.set_language(Some(&self.settings.language));
        params.set_no_context(true);
        params.set_suppress_nst(!settings.allow_non_speech);
        params.set_token_timestamps(true);
        let prompt = if before.is_empty() {
            self.settings.initial_prompt.clone()
        } else {
            format!("{} {before}", self.settings.initial_prompt)
        };
        params.set_initial_prompt(&prompt);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);

        self.state
            .full(params, &audio)
            .map_err(|e| TranscribeError::Inference {
                path: source.to_owned(),
                detail: e.to_string(),
            })?;

        let mut pieces = Vec::new();
        for segment in self.state.as_iter() {
            for t in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(t) else {
                    continue;
                };
                let Ok(text) = token.to_str_lossy() else {
                    continue;
                };
                let data = token.token_data();
                pieces.push(TokenPiece {
                    text: text.into_owned(),
                    start: chunk.start + data.t0 as f64 / 100.0,
                    end: chunk.start + data.t1 as f64 / 100.0,
                    aligned: (self.aligned && data.t_dtw >= 0)
                        .then(|| chunk.start + data.t_dtw as f64 / 100.0),
                });
            }
        }
        // The same words on two clocks: timestamp tokens, which show a word written twice at one
        // time, and the alignment, which says where each was said.
        let on_token_times = words_from_tokens(&pieces, chunk);
        take_aligned_starts(&mut pieces);
        let aligned = words_from_tokens(&pieces, chunk);
        debug_assert_eq!(on_token_times.len(), aligned.len());
        let doubled = doubled_phrases(&on_token_times, &aligned);
        let crowded = crowded_hesitations(&aligned);
        let once: Vec<Word> = aligned
            .into_iter()
            .zip(doubled.into_iter().zip(crowded))
            .filter_map(|(word, (doubled, crowded))| (!doubled && !crowded).then_some(word))
            .collect();
        let context: Vec<String> = before.split_whitespace().map(str::to_owned).collect();
        let words = drop_repeated_passages(collapse_loops(once), chunk.seconds(), &context);
        Ok(if is_repetition_hallucination(&words) {
            Vec::new()
        } else {
            words
        })
    }
}

/// The alignment heads whisper.cpp knows for a model of this shape: the cross-attention heads
/// that follow the audio, which give each token the time it was said. Large-v1 and v2 have the
/// same shape and different heads, so they get none.
fn alignment_heads(model: &crate::ggml::ModelSummary) -> Option<DtwModelPreset> {
    use DtwModelPreset::*;
    if model.tensors == 0 {
        return None;
    }
    let english = model.n_vocab == 51864;
    Some(match (model.n_audio_layer, model.n_text_layer, english) {
        (4, 4, true) => TinyEn,
        (4, 4, false) => Tiny,
        (6, 6, true) => BaseEn,
        (6, 6, false) => Base,
        (12, 12, true) => SmallEn,
        (12, 12, false) => Small,
        (24, 24, true) => MediumEn,
        (24, 24, false) => Medium,
        (32, 32, false) if model.n_mels == 128 => LargeV3,
        (32, 4, false) if model.n_mels == 128 => LargeV3Turbo,
        _ => return None,
    })
}

/// Whisper's encoder window for a chunk: its full window is 1500 frames (30 s, 50 a second),
/// and encoding costs in proportion, so a short chunk gets a window just covering it, with
/// half a second spare, in steps of 64, never under 384 frames (7.7 s), below which accuracy
/// falls off.
fn audio_ctx_for(samples: usize) -> i32 {
    const FULL: usize = 1500;
    let seconds = samples as f64 / SAMPLE_RATE as f64;
    let frames = ((seconds + 0.5) * 50.0).ceil() as usize;
    frames.div_ceil(64).saturating_mul(64).clamp(384, FULL) as i32
}

/// One decoded token with its time.
struct TokenPiece {
    text: String,
    start: f64,
    end: f64,
    /// The time the alignment heads give it, as whisper.cpp writes it (see
    /// [`take_aligned_starts`]).
    aligned: Option<f64>,
}

/// Moves each text token's start to its aligned time. whisper.cpp writes each text token the
/// time at which the alignment moves past it, which is when the *next* token starts (its DTW
/// path starts at the row that predicts the first text token and skips that first jump), so a
/// token starts at the time written on the text token before it. The first has no such time
/// and keeps its timestamp-token start, held no later than the one after it begins. A token
/// keeps its timestamp-token length.
fn take_aligned_starts(pieces: &mut [TokenPiece]) {
    let mut next_start: Option<f64> = None;
    for piece in pieces.iter_mut() {
        let Some(aligned) = piece.aligned else {
            continue;
        };
        let start = next_start.unwrap_or(piece.start.min(aligned));
        // Token-timestamp lengths are about right where their places are not: keep the length.
        piece.end = start + (piece.end - piece.start).max(0.0);
        piece.start = start;
        next_start = Some(aligned);
    }
}

/// Joins Whisper's sub-word tokens into words: a token starting with a space opens a word.
/// Special tokens (`[_BEG_]`, `<|endoftext|>`, timestamps) and bracketed non-speech notes
/// (`[BLANK_AUDIO]`, `(music)`) are dropped.
fn words_from_tokens(pieces: &[TokenPiece], chunk: SpeechRegion) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    for piece in pieces {
        let text = piece.text.as_str();
        if text.is_empty() || is_special_token(text) {
            continue;
        }
        let (start, end) = (
            piece.start.clamp(chunk.start, chunk.end),
            piece.end.clamp(chunk.start, chunk.end),
        );
        let opens_word = text.starts_with(' ') || words.is_empty();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        match words.last_mut() {
            Some(last) if !opens_word => {
                last.text.push_str(trimmed);
                last.end = end.max(last.end);
            }
            _ => words.push(Word {
                text: trimmed.to_owned(),
                start,
                end: end.max(start),
                by_sound: false,
            }),
        }
    }
    words.retain(|w| !is_non_speech_note(&w.text));
    // A word is over by the time the next one starts: aligned starts and token-timestamp ends
    // come from two different clocks and can cross.
    for i in 1..words.len() {
        let next_start = words[i].start;
        let word = &mut words[i - 1];
        word.end = word.end.min(next_start).max(word.start);
    }
    words
}

fn is_special_token(text: &str) -> bool {
    (text.starts_with("[_") && text.ends_with(']'))
        || (text.starts_with("<|") && text.ends_with("|>"))
}

fn is_non_speech_note(word: &str) -> bool {
    (word.starts_with('[') && word.ends_with(']'))
        || (word.starts_with('(') && word.ends_with(')'))
        || word.chars().all(|c| !c.is_alphanumeric())
}

/// A word as the loop and repeat guards compare it: letters and digits, lower case.
fn word_key(word: &Word) -> String {
    text_key(&word.text)
}

fn text_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The longest phrase looked for when removing loops.
const LOOP_MAX_WORDS: usize = 10;
/// A phrase of one or two words must come this many times in a row to be a loop ("no, no" is
/// speech); a longer phrase, twice.
const LOOP_MIN_REPEATS_SHORT: usize = 3;

/// Whisper's other failure: a phrase repeated over and over ("I'm gonna get this in the next
/// episode" six times). Runs of the same phrase are kept once.
fn collapse_loops(words: Vec<Word>) -> Vec<Word> {
    let keys: Vec<String> = words.iter().map(word_key).collect();
    let mut keep = vec![true; words.len()];
    let mut i = 0;
    while i < words.len() {
        let mut skipped = 0;
        for n in (1..=LOOP_MAX_WORDS).rev() {
            let phrase = &keys[i..(i + n).min(keys.len())];
            if phrase.len() < n {
                continue;
            }
            let mut repeats = 1;
            while keys.get(i + repeats * n..i + (repeats + 1) * n) == Some(phrase) {
                repeats += 1;
            }
            let needed = if n <= 2 { LOOP_MIN_REPEATS_SHORT } else { 2 };
            if repeats >= needed {
                keep[i + n..i + repeats * n].fill(false);
                skipped = repeats * n;
                break;
            }
        }
        i += skipped.max(1);
    }
    words
        .into_iter()
        .zip(keep)
        .filter_map(|(w, k)| k.then_some(w))
        .collect()
}

/// The fastest a person says words, per minute of audio: more means Whisper wrote something
/// twice. Fast speakers reach 220; auctioneers 250.
pub const MAX_HUMAN_WPM: f64 = 250.0;
/// The shortest passage checked for a second copy (shorter loops are `collapse_loops`' work).
const PASSAGE_MIN_WORDS: usize = 3;
/// Words a second copy may differ by, per word of the passage: Whisper rarely writes the same
/// passage twice letter for letter (punctuation, a number as digits).
const PASSAGE_EDITS_PER_WORD: f64 = 0.15;
/// A second copy whose words start this long (seconds) before the first copy ends was decoded
/// from audio already transcribed.
const PASSAGE_OVERLAP_SLACK: f64 = 0.5;

/// Whisper's third failure: a passage written twice when it was said once, as when it decodes
/// the same audio again after a wrong timestamp, continues a window with what it already
/// wrote, or writes out the previous live segment's words it was given as context. A passage
/// followed by (nearly) itself, here or at the end of `context`, is kept once when its audio
/// cannot hold it twice: the copies' word times overlap; the copy's words are crammed into
/// less time than half what the fastest speaker would need (aligned times put a copy with no
/// audio of its own at one instant); or with both copies the chunk holds more words than anyone
/// says in its `seconds`. A passage really said twice keeps both.
fn drop_repeated_passages(mut words: Vec<Word>, seconds: f64, context: &[String]) -> Vec<Word> {
    let before: Vec<String> = context.iter().map(|w| text_key(w)).collect();
    let c = before.len();
    let mut i = 0;
    while i + 2 * PASSAGE_MIN_WORDS <= c + words.len() {
        let keys: Vec<String> = before
            .iter()
            .cloned()
            .chain(words.iter().map(word_key))
            .collect();
        let too_many = |n: usize| {
            words.len() as f64 / (seconds / 60.0).max(1e-9) > MAX_HUMAN_WPM
                && (words.len() - n) as f64 / (seconds / 60.0).max(1e-9) <= MAX_HUMAN_WPM * 1.2
        };
        let copy = (PASSAGE_MIN_WORDS..=(keys.len() - i) / 2)
            .rev()
            // The second copy lies in this decode's words.
            .filter(|n| i + n >= c)
            .find_map(|n| {
                let first = &keys[i..i + n];
                let anchor = &first[..PASSAGE_MIN_WORDS];
                // The second copy starts where the first ends, with the same opening words.
                if keys[i + n..].get(..PASSAGE_MIN_WORDS) != Some(anchor) {
                    return None;
                }
                let second_len = n.min(keys.len() - i - n);
                let second = &keys[i + n..i + n + second_len];
                let allowed = (n as f64 * PASSAGE_EDITS_PER_WORD).floor() as usize;
                if edit_distance(first, second) > allowed {
                    return None;
                }
                let copy = &words[i + n - c..i + n - c + second_len];
                let overlaps = i + n > c
                    && words[i + n - c].start < words[i + n - c - 1].end - PASSAGE_OVERLAP_SLACK;
                (overlaps || is_crammed(copy) || too_many(second_len))
                    .then_some((i + n - c, second_len))
            });
        match copy {
            Some((from, len)) => {
                words.drain(from..from + len);
            }
            None => i += 1,
        }
    }
    words
}

/// Whether `words` were written into less time than half what the fastest speaker needs for
/// them: no audio holds them.
fn is_crammed(words: &[Word]) -> bool {
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    let needed = words.len() as f64 * 60.0 / MAX_HUMAN_WPM;
    words.len() >= PASSAGE_MIN_WORDS && last.end - first.start < needed / 2.0
}

/// The longest phrase looked for written twice at one instant ("I mean, I mean").
const DOUBLED_MAX_WORDS: usize = 3;

/// Two words can share no sound: a phrase of up to three words written again, starting at the
/// very time it started, is the same phrase twice ("uh, uh" both at 33.84 s for one "uh", on
/// timestamp-token times; "I mean, I mean" both at 26.4 s for one, on aligned times, which
/// otherwise spread two copies over the one sound). `on_token_times` and `aligned` are the
/// same words on the two clocks. Marks each copy.
fn doubled_phrases(on_token_times: &[Word], aligned: &[Word]) -> Vec<bool> {
    const SAME_START_SECONDS: f64 = 0.02;
    let keys: Vec<String> = aligned.iter().map(word_key).collect();
    let at_once = |original: usize, copy: usize| {
        [on_token_times, aligned]
            .iter()
            .any(|words| words[copy].start <= words[original].start + SAME_START_SECONDS)
    };
    let mut doubled = vec![false; keys.len()];
    let mut i = 0;
    while i < keys.len() {
        let copy = (1..=DOUBLED_MAX_WORDS).find(|&n| {
            i + 2 * n <= keys.len() && keys[i..i + n] == keys[i + n..i + 2 * n] && at_once(i, i + n)
        });
        match copy {
            Some(n) => {
                doubled[i + n..i + 2 * n].fill(true);
                // The copy is compared with what follows it: a third copy goes too.
                i += n;
            }
            None => i += 1,
        }
    }
    doubled
}

/// Two hesitations said one after the other start this far apart at least (seconds).
const HESITATIONS_APART_SECONDS: f64 = 0.3;

/// One "uh" written as two: a hesitation starting within `HESITATIONS_APART_SECONDS` of the
/// hesitation just before it, on aligned times, is that one again, in another spelling or the
/// same ("um, uh" 0.28 s apart and "uh, uh" 0.06 s apart, each for one "uh", on the tune half of
/// the filler set). A filled pause lasts longer than that: two said back to back started 0.38 s
/// apart or more. Marks each copy; a third close behind the second is one too.
fn crowded_hesitations(aligned: &[Word]) -> Vec<bool> {
    let is_hesitation = |w: &Word| lexicon::is_hesitation_spelling(&w.text);
    let mut crowded = vec![false; aligned.len()];
    for (i, pair) in aligned.windows(2).enumerate() {
        crowded[i + 1] = is_hesitation(&pair[0])
            && is_hesitation(&pair[1])
            && pair[1].start - pair[0].start < HESITATIONS_APART_SECONDS;
    }
    crowded
}

/// Words inserted, deleted or replaced to turn `a` into `b`.
fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diagonal + usize::from(x != y))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Whisper's typical failure on noise: one word over and over. Such output is dropped.
fn is_repetition_hallucination(words: &[Word]) -> bool {
    if words.len() < 4 {
        return false;
    }
    let first = words[0].text.to_lowercase();
    words.iter().all(|w| w.text.to_lowercase() == first)
}

/// Spreads the words of a written transcript over the speech regions, in proportion to each
/// word's length, so a corrected transcript still gets times from the audio.
pub fn transcript_from_text(text: &str, speech: &[SpeechRegion], duration: f64) -> Transcript {
    let written: Vec<&str> = text.split_whitespace().collect();
    let fallback = [SpeechRegion {
        start: 0.0,
        end: duration,
    }];
    let regions = if speech.is_empty() {
        &fallback[..]
    } else {
        speech
    };
    let total_speech: f64 = regions.iter().map(SpeechRegion::seconds).sum();
    // Each word's share: its letters plus one for the gap after it.
    let weights: Vec<f64> = written
        .iter()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).count() as f64 + 1.0)
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let to_time = |speech_offset: f64| {
        let mut left = speech_offset;
        for region in regions {
            if left < region.seconds() {
                return region.start + left;
            }
            left -= region.seconds();
        }
        regions.last().map_or(0.0, |r| r.end)
    };
    let mut offset = 0.0;
    let words = written
        .iter()
        .zip(&weights)
        .map(|(w, weight)| {
            let share = weight / total_weight * total_speech;
            let word = Word {
                text: (*w).to_owned(),
                start: to_time(offset),
                end: to_time(offset + share * 0.85),
                by_sound: false,
            };
            offset += share;
            word
        })
        .collect();
    Transcript::from_words(words, "file")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str, start: f64) -> TokenPiece {
        TokenPiece {
            text: text.into(),
            start,
            end: start + 0.2,
            aligned: None,
        }
    }

    #[test]
    fn alignment_heads_follow_the_model_shape_and_none_are_guessed() {
        let model =
            |n_vocab, n_audio_layer, n_text_layer, n_mels, tensors| crate::ggml::ModelSummary {
                n_vocab,
                n_audio_layer,
                n_text_layer,
                n_mels,
                tensors,
            };
        let heads = |m| alignment_heads(&m);
        assert!(matches!(
            heads(model(51864, 4, 4, 80, 167)),
            Some(DtwModelPreset::TinyEn)
        ));
        assert!(matches!(
            heads(model(51865, 6, 6, 80, 245)),
            Some(DtwModelPreset::Base)
        ));
        assert!(matches!(
            heads(model(51866, 32, 4, 128, 600)),
            Some(DtwModelPreset::LargeV3Turbo)
        ));
        // Large-v1 and v2 share a shape and not their heads; a weightless model has none.
        assert!(heads(model(51865, 32, 32, 80, 1000)).is_none());
        assert!(heads(model(51864, 4, 4, 80, 0)).is_none());
    }

    #[test]
    fn a_token_starts_at_the_aligned_time_written_on_the_token_before_it() {
        let mut pieces: Vec<TokenPiece> = [(" So", 0.5, Some(1.1)), (" yeah", 0.7, Some(1.6))]
            .into_iter()
            .chain([("[_TT_50]", 1.0, None), (",", 0.9, Some(1.9))])
            .map(|(text, start, aligned)| TokenPiece {
                aligned,
                ..piece(text, start)
            })
            .collect();
        take_aligned_starts(&mut pieces);
        let starts: Vec<f64> = pieces.iter().map(|p| p.start).collect();
        assert_eq!(starts, [0.5, 1.1, 1.0, 1.6]);
    }

    #[test]
    fn a_word_ends_by_the_time_the_next_one_starts() {
        let chunk = SpeechRegion {
            start: 0.0,
            end: 5.0,
        };
        let mut late = piece(" late", 1.0);
        late.end = 2.5;
        let words = words_from_tokens(&[late, piece(" next", 1.4)], chunk);
        assert_eq!((words[0].start, words[0].end), (1.0, 1.4));
    }

    #[test]
    fn sub_word_tokens_join_into_words_and_specials_drop() {
        let chunk = SpeechRegion {
            start: 0.0,
            end: 10.0,
        };
        let pieces = [
            piece("[_BEG_]", 0.0),
            piece(" We", 0.1),
            piece(" person", 0.4),
            piece("alized", 0.6),
            piece(" it", 0.9),
            piece(".", 1.0),
            piece(" [BLANK_AUDIO]", 1.2),
            piece("<|endoftext|>", 1.5),
        ];
        let words = words_from_tokens(&pieces, chunk);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["We", "personalized", "it."]);
        assert!((words[1].start - 0.4).abs() < 1e-9);
        assert!((words[1].end - 0.8).abs() < 1e-9);
    }

    #[test]
    fn short_chunks_get_a_smaller_encoder_window() {
        let second = SAMPLE_RATE as usize;
        assert_eq!(audio_ctx_for(second), 384);
        assert_eq!(audio_ctx_for(10 * second), 576);
        assert_eq!(audio_ctx_for(28 * second), 1472);
        assert_eq!(audio_ctx_for(30 * second), 1500);
        assert!(
            audio_ctx_for(12 * second) as usize >= 12 * 50,
            "the window covers the audio"
        );
    }

    #[test]
    fn one_word_repeated_is_a_hallucination() {
        let w = |t: &str| Word {
            text: t.into(),
            start: 0.0,
            end: 0.1,
            by_sound: false,
        };
        assert!(is_repetition_hallucination(&[
            w("you"),
            w("You"),
            w("you"),
            w("you")
        ]));
        assert!(!is_repetition_hallucination(&[
            w("I"),
            w("owned"),
            w("it"),
            w("fully")
        ]));
    }

    fn words(text: &str) -> Vec<Word> {
        text.split_whitespace()
            .map(|t| Word {
                text: t.into(),
                start: 0.0,
                end: 0.1,
                by_sound: false,
            })
            .collect()
    }

    fn texts(words: &[Word]) -> String {
        words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_phrase_loop_is_kept_once() {
        let looped = words(
            "so we shipped it. I'm gonna get this in the next episode. I'm gonna get this in \
             the next episode. I'm gonna get this in the next episode.",
        );
        assert_eq!(
            texts(&collapse_loops(looped)),
            "so we shipped it. I'm gonna get this in the next episode."
        );
    }

    #[test]
    fn a_word_said_twice_is_speech_not_a_loop() {
        let said = words("no, no, we tested it very very carefully over two two-week sprints");
        assert_eq!(texts(&collapse_loops(said.clone())), texts(&said));
        let looped = words("and and and and then we shipped");
        assert_eq!(texts(&collapse_loops(looped)), "and then we shipped");
    }

    /// `text` spread evenly from `start` to `end` seconds.
    fn timed(text: &str, start: f64, end: f64) -> Vec<Word> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let step = (end - start) / words.len() as f64;
        words
            .iter()
            .enumerate()
            .map(|(i, t)| Word {
                text: (*t).into(),
                start: start + i as f64 * step,
                end: start + (i as f64 + 0.8) * step,
                by_sound: false,
            })
            .collect()
    }

    const PASSAGE: &str = "We cut the launch to two markets, measured retention for six weeks, \
        and only then widened it, because the holiday traffic had inflated the first test";

    #[test]
    fn a_passage_written_twice_in_the_time_of_one_is_kept_once() {
        // 28 words said in 9 s (187 a minute); written twice, 373 a minute.
        let mut twice = timed(PASSAGE, 0.0, 4.5);
        twice.extend(timed(PASSAGE, 4.5, 9.0));
        assert_eq!(texts(&drop_repeated_passages(twice, 9.0, &[])), PASSAGE);
        // The second copy decoded over the same audio: its times overlap the first's.
        let mut overlapping = timed(PASSAGE, 0.0, 9.0);
        overlapping.extend(timed(&PASSAGE.replace("six", "6"), 2.0, 9.0));
        assert_eq!(
            texts(&drop_repeated_passages(overlapping, 30.0, &[])),
            PASSAGE
        );
    }

    /// The text of `words` without those `marked`.
    fn unmarked(words: &[Word], marked: Vec<bool>) -> String {
        let kept: Vec<Word> = words
            .iter()
            .zip(marked)
            .filter_map(|(w, m)| (!m).then_some(w.clone()))
            .collect();
        texts(&kept)
    }

    #[test]
    fn a_phrase_written_twice_at_one_time_is_kept_once() {
        let once = unmarked;
        // "uh," again at the first "uh"'s token time (the aligned clock spreads them apart).
        let mut on_tokens = timed("the cost was uh", 0.0, 2.0);
        let mut again = on_tokens[3].clone();
        again.text = "uh,".into();
        on_tokens.push(again);
        on_tokens.extend(timed("about forty thousand", 2.5, 4.0));
        let aligned = timed("the cost was uh uh, about forty thousand", 0.0, 4.0);
        assert_eq!(
            once(&aligned, doubled_phrases(&on_tokens, &aligned)),
            "the cost was uh about forty thousand"
        );
        // "I mean, I mean" with both copies at one aligned instant.
        let mut aligned = timed("so I mean,", 0.0, 1.0);
        aligned.extend(timed("I mean, it worked", 1.0, 2.0));
        aligned[3].start = aligned[1].start;
        let on_tokens = timed("so I mean, I mean, it worked", 0.0, 2.0);
        assert_eq!(
            once(&aligned, doubled_phrases(&on_tokens, &aligned)),
            "so I mean, it worked"
        );
        // Said twice, each in its own time: both stay.
        let said_twice = timed("uh, uh, I mean, I mean, about forty", 0.0, 3.0);
        assert!(!doubled_phrases(&said_twice, &said_twice).contains(&true));
    }

    #[test]
    fn one_hesitation_written_twice_close_together_is_kept_once() {
        let kept = |words: &[Word]| unmarked(words, crowded_hesitations(words));
        // "um, uh" 0.2 s apart, then "hmm hmm" 0.25 s apart: one hesitation each.
        let mut words = timed("so", 0.0, 0.3);
        words.extend(timed("um, uh,", 0.5, 0.9));
        words.extend(timed("we", 1.0, 1.2));
        words.extend(timed("uh hmm hmm", 1.5, 2.25));
        words.extend(timed("launched", 2.3, 2.8));
        assert_eq!(kept(&words), "so um, we uh launched");
        // Two hesitations said one after the other, each in its own time: both stay.
        let mut said = timed("um, uh,", 0.0, 0.9);
        said.extend(timed("so", 1.0, 1.3));
        assert_eq!(kept(&said), "um, uh, so");
        // Quick ordinary words are never touched.
        assert_eq!(kept(&timed("it is a", 0.0, 0.3)), "it is a");
    }

    #[test]
    fn the_last_live_segments_words_written_again_at_one_instant_are_dropped() {
        // The context ends with the passage; this segment writes it again, all at 23.8 s, then
        // goes on with what was said.
        let context: Vec<String> = PASSAGE.split_whitespace().map(str::to_owned).collect();
        let mut segment = timed(PASSAGE, 23.8, 23.84);
        segment.extend(timed("so I waited and asked her afterwards", 24.0, 26.5));
        let kept = drop_repeated_passages(segment, 12.0, &context);
        assert_eq!(texts(&kept), "so I waited and asked her afterwards");
        // Said again, at a speaker's pace, it stays.
        let mut said_again = timed(PASSAGE, 24.0, 33.0);
        said_again.extend(timed("so I waited", 33.0, 34.0));
        let kept = drop_repeated_passages(said_again, 10.0, &context);
        assert_eq!(texts(&kept), format!("{PASSAGE} so I waited"));
    }

    #[test]
    fn a_passage_said_twice_is_kept_twice() {
        let mut said = timed(PASSAGE, 0.0, 9.0);
        said.extend(timed(PASSAGE, 9.5, 18.5));
        let kept = drop_repeated_passages(said, 19.0, &[]);
        assert_eq!(kept.len(), 2 * PASSAGE.split_whitespace().count());
    }

    #[test]
    fn a_written_transcript_spreads_over_speech_only() {
        let speech = [
            SpeechRegion {
                start: 1.0,
                end: 3.0,
            },
            SpeechRegion {
                start: 6.0,
                end: 8.0,
            },
        ];
        let t = transcript_from_text("one two six ten", &speech, 10.0);
        assert_eq!(t.words.len(), 4);
        assert_eq!(t.source, "file");
        assert!((t.words[0].start - 1.0).abs() < 1e-9);
        // Halfway through the speech time is the start of the second region.
        assert!((t.words[2].start - 6.0).abs() < 1e-9, "{:?}", t.words[2]);
        assert!(t.words.iter().all(|w| !(3.0..6.0).contains(&w.start)));
    }
}
