//! Delivery you can hear: a monotone voice, a level too quiet or clipped, sentences that trail
//! off, and words or crutch phrases said far more than usual. Judged from the [`Prosody`] the
//! audio side measured once, and from the transcript's words; nothing here touches audio.

use serde::{Deserialize, Serialize};

use super::lexicon;
use super::text::{Normalizer, Token};
use crate::audio::SAMPLE_RATE;
use crate::prosody::{Prosody, SILENCE_DBFS};
use crate::transcribe::Word;

/// Pitch spread (standard deviation in semitones over the voiced frames) below which a voice
/// is monotone. Calibrated (README, "Delivery"): flite with a flat f0 target (slt, awb,
/// kal16) measures 0.16 to 0.35 st and espeak-ng's `x-low` pitch range 0.40 to 0.51; flite's
/// lively target 1.39 to 4.03, espeak-ng's default range 1.75 to 2.35, jfk.wav 2.52.
pub const MONOTONE_SEMITONES: f64 = 0.9;
/// Speech level (median over voiced frames) below which the microphone is too far or too low.
/// Calibrated: flite and espeak-ng voices at their own level -14.1 to -28.5 dBFS, jfk.wav
/// -15.2; the same 30 dB down -44.0 to -57.6 dBFS.
pub const TOO_QUIET_DBFS: f64 = -40.0;
/// Share of the speech's samples in clipped runs at which clipping is reported. Calibrated:
/// unclipped speech 0%; 8 dB too hot 0.7 to 5.8%; 20 dB too hot 7.4 to 59%.
pub const CLIPPED_PERCENT: f64 = 0.1;
/// How much quieter (dB) a phrase's last moments must be than its body to trail off.
/// Calibrated: steady sentences drop -0.5 to 2.2 dB at their ends; with their last 0.6 s
/// turned down 14 dB, 8.9 to 15.9 dB.
pub const TRAILING_DROP_DB: f64 = 8.0;
/// A phrase trails off when its tail drops; the answer trails off when at least this share of
/// its phrases do (and at least two).
const TRAILING_SHARE: f64 = 0.4;
/// The tail of a phrase: its last this many seconds of sound.
const TAIL_SECONDS: f64 = 0.4;
/// Phrases shorter than this have no body to compare the tail with.
const MIN_PHRASE_SECONDS: f64 = 1.2;
/// A silence this long ends a phrase.
const PHRASE_GAP_SECONDS: f64 = 0.25;
/// Frames within this many dB of the speech level are sound; below, silence.
const SOUND_RANGE_DB: f64 = 35.0;
/// Fewer voiced seconds than this say nothing about pitch.
const MIN_VOICED_SECONDS: f64 = 1.0;
/// Pitch further than this from the median (semitones) is an octave error, not intonation.
const PITCH_OUTLIER_SEMITONES: f64 = 9.0;
/// The review page's strip: one point per this many seconds.
const STRIP_STEP_SECONDS: f64 = 0.1;

/// A content word is repeated far more than usual from this many uses…
const REPEATED_MIN_COUNT: usize = 5;
/// …when it is also at least this share of the answer's words. The calibration set's 66
/// answers have no word above 4% (topic words like "page" reach 3.8%).
const REPEATED_MIN_SHARE: f64 = 0.05;
/// A crutch phrase is flagged from this many uses.
const CRUTCH_MIN_COUNT: usize = 3;

/// Points taken off the delivery score for each problem.
const MONOTONE_COST: f64 = 30.0;
const TOO_QUIET_COST: f64 = 30.0;
const CLIPPING_COST: f64 = 20.0;
const TRAILING_COST: f64 = 20.0;
const REPEATED_COST: f64 = 10.0;
const REPEATED_COST_MAX: f64 = 20.0;

/// How the answer sounded. Its JSON is part of the scorecard's contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryScore {
    /// 0 to 100; `None` when the audio was not measured (a transcript scored without its
    /// recording), and then it carries no weight.
    pub score: Option<f64>,
    pub pitch: Option<PitchSummary>,
    pub level: Option<LevelSummary>,
    /// Content words and crutch phrases said far more than usual.
    pub repeated: Vec<RepeatedWord>,
    /// What was found wrong, each with its advice.
    pub flags: Vec<DeliveryFlag>,
    /// Pitch and level over time, coarse enough to store, for the review page.
    pub strip: Option<DeliveryStrip>,
}

/// How much the voice moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitchSummary {
    pub median_hz: f64,
    /// Standard deviation of the pitch in semitones over the voiced frames.
    pub spread_semitones: f64,
    pub voiced_seconds: f64,
    /// The same spread per pace window (none where too little was voiced).
    pub windows: Vec<PitchWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitchWindow {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub spread_semitones: Option<f64>,
}

/// How loud the voice was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelSummary {
    /// Median level of the voiced frames, dBFS.
    pub speech_dbfs: f64,
    /// Share of the speech's samples in clipped runs, percent.
    pub clipped_percent: f64,
    /// Where it clipped (seconds; the first few).
    pub clips: Vec<f64>,
    /// Phrases measured for trailing off, and how many did.
    pub phrases: usize,
    /// Median drop from a phrase's body to its last moments, dB.
    pub tail_drop_db: f64,
    pub trailing: Vec<TrailingPhrase>,
}

/// A phrase whose last moments fell away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailingPhrase {
    /// When its tail starts.
    pub at_seconds: f64,
    pub drop_db: f64,
    /// The words said in the tail, when the transcript has them.
    pub words: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatKind {
    /// A content word of the answer's own.
    Word,
    /// A phrase that pads speech ("basically", "the thing is").
    Crutch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatedWord {
    pub text: String,
    pub kind: RepeatKind,
    pub count: usize,
    /// When each use starts.
    pub times: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    Monotone,
    TooQuiet,
    Clipping,
    TrailingOff,
    Repeated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFlag {
    pub kind: FlagKind,
    /// Plain-language advice.
    pub advice: String,
}

/// Pitch (Hz, `null` where unvoiced) and level (dBFS) every `step_seconds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryStrip {
    pub step_seconds: f64,
    /// Whole hertz and tenths of a dB, as `f64` so that every JSON path prints them alike.
    pub pitch_hz: Vec<Option<f64>>,
    pub level_dbfs: Vec<f64>,
}

/// The words the repeated-word check leaves alone: the prompt's own key terms, which a good
/// answer is expected to say often.
pub struct KeyTerms {
    stems: Vec<String>,
}

impl KeyTerms {
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>, normalizer: &Normalizer) -> Self {
        let mut stems: Vec<String> = texts
            .into_iter()
            .flat_map(|t| normalizer.tokenize_text(t))
            .filter(|t| !t.stop)
            .map(|t| t.stem)
            .collect();
        stems.sort();
        stems.dedup();
        Self { stems }
    }

    fn contains(&self, stem: &str) -> bool {
        self.stems
            .binary_search_by(|s| s.as_str().cmp(stem))
            .is_ok()
    }
}

/// What the delivery check needs: the measured audio (if any), the words and their tokens,
/// and which words are expected.
pub struct DeliveryInput<'a> {
    pub prosody: Option<&'a Prosody>,
    pub words: &'a [Word],
    pub tokens: &'a [Token],
    pub key_terms: &'a KeyTerms,
    /// Tokens already counted as fillers or hedges.
    pub counted_elsewhere: &'a [bool],
    /// Pace windows `(start, end)`, for pitch spread over time.
    pub windows: &'a [(f64, f64)],
}

/// Judges delivery.
pub fn judge(input: &DeliveryInput<'_>) -> DeliveryScore {
    let repeated = repeated_words(
        input.tokens,
        input.words,
        input.key_terms,
        input.counted_elsewhere,
    );
    let Some(prosody) = input.prosody else {
        let flags = repeated_flag(&repeated).into_iter().collect();
        return DeliveryScore {
            repeated,
            flags,
            ..Default::default()
        };
    };
    let pitch = pitch_summary(prosody, input.windows);
    let level = level_summary(prosody, input.words);
    let mut flags = Vec::new();
    let mut cost = 0.0;
    if let Some(p) = pitch.as_ref().filter(|p| is_monotone(p)) {
        cost += MONOTONE_COST;
        flags.push(DeliveryFlag {
            kind: FlagKind::Monotone,
            advice: format!(
                "Vary your voice: your pitch moved {:.1} semitones on average, a monotone. Stress the words that matter and let questions rise.",
                p.spread_semitones
            ),
        });
    }
    if let Some(level) = &level {
        if is_too_quiet(level.speech_dbfs) {
            cost += TOO_QUIET_COST;
            flags.push(DeliveryFlag {
                kind: FlagKind::TooQuiet,
                advice: format!(
                    "Too quiet: your voice came in at {:.0} dBFS. Move closer to the microphone or raise its input level.",
                    level.speech_dbfs
                ),
            });
        }
        if level.clipped_percent >= CLIPPED_PERCENT {
            cost += CLIPPING_COST;
            flags.push(DeliveryFlag {
                kind: FlagKind::Clipping,
                advice: format!(
                    "The recording clipped ({:.1}% of the speech, first at {:.0}s): lower the microphone's input level or move back a little.",
                    level.clipped_percent,
                    level.clips.first().copied().unwrap_or(0.0)
                ),
            });
        }
        if trails_off(level) {
            cost += TRAILING_COST;
            let first = &level.trailing[0];
            flags.push(DeliveryFlag {
                kind: FlagKind::TrailingOff,
                advice: format!(
                    "Finish your sentences: {} of {} trailed off, {:.0} dB quieter at the end (first at {:.0}s{}). Keep your voice up to the last word.",
                    level.trailing.len(),
                    level.phrases,
                    level.tail_drop_db,
                    first.at_seconds,
                    if first.words.is_empty() { String::new() } else { format!(", \"{}\"", first.words) }
                ),
            });
        }
    }
    if let Some(flag) = repeated_flag(&repeated) {
        let words = repeated.len() as f64;
        cost += (REPEATED_COST * words).min(REPEATED_COST_MAX);
        flags.push(flag);
    }
    DeliveryScore {
        score: Some((100.0 - cost).max(0.0)),
        strip: Some(strip(prosody)),
        pitch,
        level,
        repeated,
        flags,
    }
}

/// Watches the live level meter for a voice too quiet to score well, so the candidate can fix
/// the microphone before the answer is lost. Fed the level of each meter block (about 100 ms)
/// and whether the candidate is speaking; says "too quiet" once a few seconds of speech have
/// stayed below [`TOO_QUIET_DBFS`] at their louder moments.
#[derive(Debug, Default)]
pub struct LiveLevel {
    /// The levels of the latest speaking blocks, dBFS, oldest first.
    recent: std::collections::VecDeque<f32>,
}

/// Speaking blocks the live check looks back over (about 3 s), and the fewest it judges on.
const LIVE_BLOCKS: usize = 30;
const LIVE_MIN_BLOCKS: usize = 15;
/// The live check's level is this quantile of the recent blocks: a block holds gaps between
/// words, so the louder ones stand for the voice.
const LIVE_QUANTILE: f64 = 0.8;

impl LiveLevel {
    /// Takes one meter block's level; returns whether the voice is too quiet now.
    pub fn hear(&mut self, level_dbfs: f32, speaking: bool) -> bool {
        if speaking {
            self.recent.push_back(level_dbfs);
            if self.recent.len() > LIVE_BLOCKS {
                self.recent.pop_front();
            }
        }
        self.too_quiet()
    }

    /// Whether the recent speech was too quiet (false until enough speech was heard).
    pub fn too_quiet(&self) -> bool {
        if self.recent.len() < LIVE_MIN_BLOCKS {
            return false;
        }
        let mut sorted: Vec<f32> = self.recent.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        let at = ((sorted.len() - 1) as f64 * LIVE_QUANTILE).round() as usize;
        is_too_quiet(sorted[at] as f64)
    }
}

/// Whether a pitch spread is a monotone.
pub fn is_monotone(pitch: &PitchSummary) -> bool {
    pitch.spread_semitones < MONOTONE_SEMITONES
}

/// Whether a speech level is too quiet.
pub fn is_too_quiet(speech_dbfs: f64) -> bool {
    speech_dbfs < TOO_QUIET_DBFS
}

/// Whether enough phrases trailed off for the answer to.
pub fn trails_off(level: &LevelSummary) -> bool {
    level.trailing.len() >= 2
        && level.trailing.len() as f64 >= TRAILING_SHARE * level.phrases as f64
}

/// The spread of the voiced frames' pitch, over the answer and per window.
pub fn pitch_summary(prosody: &Prosody, windows: &[(f64, f64)]) -> Option<PitchSummary> {
    let voiced: Vec<(usize, f64)> = prosody
        .pitch_hz
        .iter()
        .enumerate()
        .filter(|(_, &f)| f > 0.0)
        .map(|(i, &f)| (i, f as f64))
        .collect();
    let voiced_seconds = voiced.len() as f64 * prosody.frame_seconds;
    if voiced_seconds < MIN_VOICED_SECONDS {
        return None;
    }
    let median_hz = median(voiced.iter().map(|&(_, f)| f).collect())?;
    let semitones = |from: usize, to: usize| -> Vec<f64> {
        voiced
            .iter()
            .filter(|&&(i, _)| i >= from && i < to)
            .map(|&(_, f)| 12.0 * (f / median_hz).log2())
            .filter(|st| st.abs() <= PITCH_OUTLIER_SEMITONES)
            .collect()
    };
    let all = semitones(0, usize::MAX);
    let spread_semitones = round2(std_dev(&all)?);
    let frame = |t: f64| (t / prosody.frame_seconds).round().max(0.0) as usize;
    let windows = windows
        .iter()
        .map(|&(start, end)| {
            let st = semitones(frame(start), frame(end));
            let enough = st.len() as f64 * prosody.frame_seconds >= MIN_VOICED_SECONDS;
            PitchWindow {
                start_seconds: start,
                end_seconds: end,
                spread_semitones: enough.then(|| std_dev(&st)).flatten().map(round2),
            }
        })
        .collect();
    Some(PitchSummary {
        median_hz: round1(median_hz),
        spread_semitones,
        voiced_seconds: round2(voiced_seconds),
        windows,
    })
}

/// Speech level, clipping and trailing off.
pub fn level_summary(prosody: &Prosody, words: &[Word]) -> Option<LevelSummary> {
    let speech_dbfs = speech_level(prosody)?;
    let voiced_seconds =
        prosody.pitch_hz.iter().filter(|&&f| f > 0.0).count() as f64 * prosody.frame_seconds;
    // Clipped samples against the voiced time; clipping outside speech still counts.
    let clipped_percent = if voiced_seconds > 0.0 {
        100.0 * prosody.clipped_samples as f64 / (voiced_seconds * f64::from(SAMPLE_RATE))
    } else {
        0.0
    };
    let phrases = phrases(prosody, speech_dbfs);
    let drops: Vec<(f64, f64)> = phrases
        .iter()
        .filter_map(|&(from, to)| tail_drop(prosody, from, to))
        .collect();
    let trailing = drops
        .iter()
        .filter(|&&(_, drop)| drop >= TRAILING_DROP_DB)
        .map(|&(at, drop)| TrailingPhrase {
            at_seconds: round2(at),
            drop_db: round1(drop),
            words: words
                .iter()
                .filter(|w| w.end > at && w.start < at + TAIL_SECONDS + 0.2)
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    Some(LevelSummary {
        speech_dbfs: round1(speech_dbfs),
        clipped_percent: round2(clipped_percent),
        clips: prosody.clips.iter().take(10).map(|&t| round2(t)).collect(),
        phrases: drops.len(),
        tail_drop_db: round1(median(drops.iter().map(|&(_, d)| d).collect()).unwrap_or(0.0)),
        trailing,
    })
}

/// The median level of the voiced frames; with too few of them (a voice too quiet to track),
/// the level of the loudest tenth of the recording.
fn speech_level(prosody: &Prosody) -> Option<f64> {
    let voiced: Vec<f64> = prosody
        .level_dbfs
        .iter()
        .zip(&prosody.pitch_hz)
        .filter(|(_, &f)| f > 0.0)
        .map(|(&l, _)| l as f64)
        .collect();
    if voiced.len() as f64 * prosody.frame_seconds >= MIN_VOICED_SECONDS {
        return median(voiced);
    }
    let mut all: Vec<f64> = prosody.level_dbfs.iter().map(|&l| l as f64).collect();
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    let loud = all[(all.len() * 9 / 10).min(all.len() - 1)];
    (loud > SILENCE_DBFS as f64).then_some(loud)
}

/// Stretches of sound between silences, as frame ranges.
fn phrases(prosody: &Prosody, speech_dbfs: f64) -> Vec<(usize, usize)> {
    let floor = (speech_dbfs - SOUND_RANGE_DB) as f32;
    let gap = (PHRASE_GAP_SECONDS / prosody.frame_seconds).round() as usize;
    let mut found = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_sound = 0;
    for (i, &level) in prosody.level_dbfs.iter().enumerate() {
        if level >= floor {
            if start.is_none() {
                start = Some(i);
            }
            last_sound = i;
        } else if let Some(s) = start {
            if i - last_sound >= gap {
                found.push((s, last_sound + 1));
                start = None;
            }
        }
    }
    if let Some(s) = start {
        found.push((s, last_sound + 1));
    }
    found
}

/// For a phrase long enough to have a body: when its tail starts, and how many dB quieter
/// than the body the tail is (each measured as the mean of its louder half of frames, so the
/// gaps between words do not count).
fn tail_drop(prosody: &Prosody, from: usize, to: usize) -> Option<(f64, f64)> {
    let seconds = (to - from) as f64 * prosody.frame_seconds;
    if seconds < MIN_PHRASE_SECONDS {
        return None;
    }
    let tail = (TAIL_SECONDS / prosody.frame_seconds).round() as usize;
    let split = to - tail;
    let body = louder_half_mean(&prosody.level_dbfs[from..split])?;
    let end = louder_half_mean(&prosody.level_dbfs[split..to])?;
    Some((split as f64 * prosody.frame_seconds, body - end))
}

fn louder_half_mean(levels: &[f32]) -> Option<f64> {
    let mut sorted: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let half = &sorted[..sorted.len().div_ceil(2)];
    (!half.is_empty()).then(|| half.iter().sum::<f64>() / half.len() as f64)
}

/// Content words used far more than usual and crutch phrases used again and again. Stop words,
/// numbers, the prompt's key terms and words counted as fillers or hedges never count.
pub fn repeated_words(
    tokens: &[Token],
    words: &[Word],
    key_terms: &KeyTerms,
    counted_elsewhere: &[bool],
) -> Vec<RepeatedWord> {
    let time = |token: usize| words.get(tokens[token].word_index).map_or(0.0, |w| w.start);
    let mut found: Vec<RepeatedWord> = Vec::new();
    let mut in_crutch = vec![false; tokens.len()];
    for crutch in lexicon::CRUTCH_PHRASES {
        let parts: Vec<&str> = crutch.split(' ').collect();
        let starts: Vec<usize> = (0..tokens.len().saturating_sub(parts.len() - 1))
            .filter(|&i| {
                parts
                    .iter()
                    .enumerate()
                    .all(|(k, p)| tokens[i + k].norm == *p && !counted_elsewhere[i + k])
            })
            .collect();
        for &i in &starts {
            in_crutch[i..i + parts.len()].fill(true);
        }
        if starts.len() >= CRUTCH_MIN_COUNT {
            found.push(RepeatedWord {
                text: crutch.to_string(),
                kind: RepeatKind::Crutch,
                count: starts.len(),
                times: starts.iter().map(|&i| time(i)).collect(),
            });
        }
    }
    let mut by_stem: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let counts = !token.stop
            && !in_crutch[i]
            && !counted_elsewhere[i]
            && token.norm.len() >= 3
            && !lexicon::NOT_CONTENT.contains(&token.norm.as_str())
            && !token.norm.chars().any(|c| c.is_ascii_digit())
            && !key_terms.contains(&token.stem);
        if !counts {
            continue;
        }
        match by_stem.iter_mut().find(|(s, _)| *s == token.stem) {
            Some((_, uses)) => uses.push(i),
            None => by_stem.push((&token.stem, vec![i])),
        }
    }
    let total = tokens.len() as f64;
    for (_, uses) in by_stem {
        if uses.len() >= REPEATED_MIN_COUNT && uses.len() as f64 >= REPEATED_MIN_SHARE * total {
            found.push(RepeatedWord {
                text: tokens[uses[0]].norm.clone(),
                kind: RepeatKind::Word,
                count: uses.len(),
                times: uses.iter().map(|&i| time(i)).collect(),
            });
        }
    }
    found.sort_by_key(|r| std::cmp::Reverse(r.count));
    found
}

fn repeated_flag(repeated: &[RepeatedWord]) -> Option<DeliveryFlag> {
    let listed: Vec<String> = repeated
        .iter()
        .take(3)
        .map(|r| format!("\"{}\" {} times", r.text, r.count))
        .collect();
    (!listed.is_empty()).then(|| DeliveryFlag {
        kind: FlagKind::Repeated,
        advice: format!(
            "Vary your words: {}. Drop the crutch words and find another way to say the rest.",
            listed.join(", ")
        ),
    })
}

/// Pitch and level every [`STRIP_STEP_SECONDS`]: the median voiced pitch (none when unvoiced)
/// and the level of the frames' mean power.
pub fn strip(prosody: &Prosody) -> DeliveryStrip {
    let per = ((STRIP_STEP_SECONDS / prosody.frame_seconds).round() as usize).max(1);
    let pitch_hz = prosody
        .pitch_hz
        .chunks(per)
        .map(|c| {
            median(c.iter().filter(|&&f| f > 0.0).map(|&f| f as f64).collect()).map(f64::round)
        })
        .collect();
    let level_dbfs = prosody
        .level_dbfs
        .chunks(per)
        .map(|c| {
            let power =
                c.iter().map(|&l| 10f64.powf(l as f64 / 10.0)).sum::<f64>() / c.len() as f64;
            let db = (10.0 * power.log10()).max(SILENCE_DBFS as f64);
            round1(db)
        })
        .collect();
    DeliveryStrip {
        step_seconds: per as f64 * prosody.frame_seconds,
        pitch_hz,
        level_dbfs,
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    Some(var.sqrt())
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: f64 = 0.02;

    /// A prosody of `seconds` of voiced speech at `level` dBFS whose pitch follows `hz(t)`.
    fn voiced(seconds: f64, level: f32, hz: impl Fn(f64) -> f32) -> Prosody {
        let frames = (seconds / FRAME) as usize;
        Prosody {
            frame_seconds: FRAME,
            pitch_hz: (0..frames).map(|i| hz(i as f64 * FRAME)).collect(),
            level_dbfs: vec![level; frames],
            clips: Vec::new(),
            clipped_samples: 0,
        }
    }

    fn tokens(text: &str) -> (Vec<Token>, Vec<Word>) {
        let words: Vec<Word> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                text: w.into(),
                start: i as f64 * 0.4,
                end: i as f64 * 0.4 + 0.3,
                by_sound: false,
            })
            .collect();
        let tokens = Normalizer::default().tokenize(words.iter().map(|w| w.text.as_str()));
        (tokens, words)
    }

    fn repeats(text: &str, key_terms: &[&str]) -> Vec<(String, usize)> {
        let (tokens, words) = tokens(text);
        let terms = KeyTerms::new(key_terms.iter().copied(), &Normalizer::default());
        repeated_words(&tokens, &words, &terms, &vec![false; tokens.len()])
            .into_iter()
            .map(|r| (r.text, r.count))
            .collect()
    }

    #[test]
    fn a_pitch_held_flat_is_monotone_and_one_that_moves_is_not() {
        let flat = pitch_summary(&voiced(5.0, -20.0, |_| 120.0), &[]).unwrap();
        assert_eq!(flat.spread_semitones, 0.0);
        assert!(is_monotone(&flat));
        // A slow swing of two semitones either way.
        let lively = voiced(5.0, -20.0, |t| {
            120.0 * 2f32.powf((2.0 * (t as f32 * 3.0).sin()) / 12.0)
        });
        let lively = pitch_summary(&lively, &[(0.0, 2.5), (2.5, 5.0)]).unwrap();
        assert!((lively.spread_semitones - 1.41).abs() < 0.05, "{lively:?}");
        assert!(!is_monotone(&lively));
        assert_eq!(lively.windows.len(), 2);
        assert!(lively.windows[0].spread_semitones.unwrap() > 1.0);
    }

    #[test]
    fn octave_errors_do_not_make_a_flat_voice_lively() {
        // Every tenth frame read an octave up, as pitch trackers do.
        let p = voiced(5.0, -20.0, |t| {
            if ((t / FRAME).round() as usize).is_multiple_of(10) {
                240.0
            } else {
                120.0
            }
        });
        assert!(is_monotone(&pitch_summary(&p, &[]).unwrap()));
    }

    #[test]
    fn too_little_voice_says_nothing_about_pitch() {
        assert!(pitch_summary(&voiced(0.5, -20.0, |_| 120.0), &[]).is_none());
        let silent = voiced(5.0, SILENCE_DBFS, |_| 0.0);
        assert!(pitch_summary(&silent, &[]).is_none());
    }

    #[test]
    fn the_speech_level_is_the_voiced_frames_and_quiet_is_below_minus_40() {
        let mut p = voiced(4.0, -22.0, |_| 150.0);
        // Unvoiced frames (breath, silence) do not pull the level down.
        p.level_dbfs.extend([-70.0; 100]);
        p.pitch_hz.extend([0.0; 100]);
        assert_eq!(level_summary(&p, &[]).unwrap().speech_dbfs, -22.0);
        assert!(!is_too_quiet(-22.0));
        assert!(is_too_quiet(-45.0));
        // No voiced frames at all: the loudest tenth of the recording stands in.
        let unvoiced = voiced(4.0, -50.0, |_| 0.0);
        assert_eq!(level_summary(&unvoiced, &[]).unwrap().speech_dbfs, -50.0);
    }

    #[test]
    fn phrases_whose_last_moments_drop_trail_off() {
        // Three 2-second phrases with half a second of silence between; the last 0.4 s of
        // each is `drop` dB down.
        let phrases = |drop: f32| {
            let mut p = Prosody {
                frame_seconds: FRAME,
                ..Default::default()
            };
            for _ in 0..3 {
                for i in 0..100 {
                    p.level_dbfs
                        .push(if i >= 80 { -20.0 - drop } else { -20.0 });
                    p.pitch_hz.push(140.0);
                }
                p.level_dbfs.extend([SILENCE_DBFS; 25]);
                p.pitch_hz.extend([0.0; 25]);
            }
            level_summary(&p, &[]).unwrap()
        };
        let steady = phrases(2.0);
        assert_eq!(steady.phrases, 3);
        assert!(!trails_off(&steady), "{steady:?}");
        let trailing = phrases(12.0);
        assert_eq!(trailing.trailing.len(), 3);
        assert_eq!(trailing.tail_drop_db, 12.0);
        assert!(trails_off(&trailing));
        assert_eq!(trailing.trailing[0].at_seconds, 1.6);
    }

    #[test]
    fn one_trailing_phrase_is_not_a_habit() {
        let level = LevelSummary {
            speech_dbfs: -20.0,
            clipped_percent: 0.0,
            clips: vec![],
            phrases: 6,
            tail_drop_db: 1.0,
            trailing: vec![TrailingPhrase {
                at_seconds: 3.0,
                drop_db: 12.0,
                words: String::new(),
            }],
        };
        assert!(!trails_off(&level));
    }

    #[test]
    fn crutch_phrases_are_counted_from_three_uses() {
        let found = repeats(
            "basically we shipped it and basically it worked and the thing is it was basically fine and the thing is cheap",
            &[],
        );
        assert_eq!(found, vec![("basically".to_owned(), 3)]);
    }

    #[test]
    fn stop_words_and_the_prompts_key_terms_are_never_repeated_words() {
        let text = "the cache the cache the cache the cache the cache and the team";
        // "the" is a stop word; "cache" is the prompt's own term.
        assert!(repeats(text, &["Design a cache for a feed"]).is_empty());
        // Without the prompt naming it, five caches in fourteen words are too many.
        assert_eq!(repeats(text, &[]), vec![("cache".to_owned(), 5)]);
    }

    #[test]
    fn a_topic_word_used_a_few_times_in_a_long_answer_is_fine() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!(
                "the page loaded slowly for users in region {i} so we measured every request, \
                 found a blocking call, moved it off the main thread and watched errors fall "
            ));
        }
        // "page" five times in 140 words: under 1 in 20.
        let (tokens, _) = tokens(&text);
        assert_eq!(tokens.len(), 140);
        assert!(repeats(&text, &[]).iter().all(|(w, _)| w != "page"));
        // Twice as many pages in the same words would be too many.
        let doubled = text.replace("the page", "the page page");
        assert!(repeats(&doubled, &[]).contains(&("page".to_owned(), 10)));
    }

    #[test]
    fn fillers_and_hedges_are_left_to_their_own_parts() {
        let (tokens, words) = tokens("like like like like like like");
        let terms = KeyTerms::new([], &Normalizer::default());
        assert!(repeated_words(&tokens, &words, &terms, &vec![true; tokens.len()]).is_empty());
    }

    #[test]
    fn without_audio_only_the_words_are_judged_and_no_score_is_given() {
        let (tokens, words) = tokens("basically basically basically yes");
        let terms = KeyTerms::new([], &Normalizer::default());
        let d = judge(&DeliveryInput {
            prosody: None,
            words: &words,
            tokens: &tokens,
            key_terms: &terms,
            counted_elsewhere: &vec![false; tokens.len()],
            windows: &[],
        });
        assert_eq!(d.score, None);
        assert!(d.pitch.is_none() && d.level.is_none() && d.strip.is_none());
        assert_eq!(d.flags.len(), 1);
        assert_eq!(d.flags[0].kind, FlagKind::Repeated);
    }

    #[test]
    fn each_problem_costs_delivery_points() {
        let terms = KeyTerms::new([], &Normalizer::default());
        let judged = |p: &Prosody| {
            judge(&DeliveryInput {
                prosody: Some(p),
                words: &[],
                tokens: &[],
                key_terms: &terms,
                counted_elsewhere: &[],
                windows: &[],
            })
        };
        let lively = |t: f64| 150.0 * 2f32.powf((3.0 * (t as f32 * 2.0).sin()) / 12.0);
        let good = judged(&voiced(5.0, -20.0, lively));
        assert_eq!(good.score, Some(100.0));
        assert!(good.flags.is_empty());
        let flat_and_quiet = judged(&voiced(5.0, -50.0, |_| 150.0));
        assert_eq!(
            flat_and_quiet.score,
            Some(100.0 - MONOTONE_COST - TOO_QUIET_COST)
        );
        let kinds: Vec<FlagKind> = flat_and_quiet.flags.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, vec![FlagKind::Monotone, FlagKind::TooQuiet]);
        let mut clipped = voiced(5.0, -3.0, lively);
        clipped.clipped_samples = 8_000; // 0.5 s of 5 s voiced
        clipped.clips = vec![1.0, 2.0];
        let clipped = judged(&clipped);
        assert_eq!(clipped.level.as_ref().unwrap().clipped_percent, 10.0);
        assert_eq!(clipped.flags[0].kind, FlagKind::Clipping);
        assert!(clipped.flags[0].advice.contains("first at 1s"));
    }

    #[test]
    fn the_strip_takes_a_point_every_tenth_of_a_second() {
        let mut p = voiced(1.0, -20.0, |_| 200.0);
        p.pitch_hz[..5].fill(0.0);
        let s = strip(&p);
        assert_eq!(s.step_seconds, 0.1);
        assert_eq!(s.level_dbfs.len(), 10);
        assert_eq!(s.pitch_hz[0], None);
        assert_eq!(s.pitch_hz[1], Some(200.0));
        assert!((s.level_dbfs[3] + 20.0).abs() < 0.01);
    }

    #[test]
    fn the_live_check_waits_for_speech_then_says_too_quiet() {
        let mut live = LiveLevel::default();
        // Silence between answers is not a quiet voice.
        for _ in 0..100 {
            assert!(!live.hear(-70.0, false));
        }
        let said: Vec<bool> = (0..20).map(|_| live.hear(-52.0, true)).collect();
        assert!(!said[..LIVE_MIN_BLOCKS - 1].iter().any(|&q| q));
        assert!(said[LIVE_MIN_BLOCKS - 1..].iter().all(|&q| q));
        // Speaking up clears it within the window.
        let cleared = (0..LIVE_BLOCKS).map(|_| live.hear(-20.0, true)).last();
        assert_eq!(cleared, Some(false));
    }
}
