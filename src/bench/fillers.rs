//! `viva bench fillers`: how many of the fillers said viva hears, how many it invents, and how
//! good the words around them are, whole-file and live, on recordings whose every filler has a
//! known time (`scripts/filler-set` makes them).
//!
//! A hesitation (um, uh, er, hmm) counts as heard when any hesitation is found over it: which
//! of the four Whisper writes matters less than that it is counted. "you know", "I mean" and
//! "like" must be found as themselves. A filler found where none was said is invented. The
//! word error rate leaves fillers out of both sides, so it measures the other words only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::audio;
use crate::engine::{Engine, HeardAnswer};
use crate::hesitation::Stretch;
use crate::score::{self, ScoringSettings};
use crate::transcribe::Word;

/// One recording of the set, as `scripts/filler-set` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Clip {
    pub name: String,
    pub voice: String,
    pub split: String,
    /// What was said, fillers included, as words.
    pub text: String,
    pub fillers: Vec<TrueFiller>,
    #[serde(skip)]
    pub wav: PathBuf,
}

/// A filler that was said, and when.
#[derive(Debug, Clone, Deserialize)]
pub struct TrueFiller {
    pub kind: String,
    pub start: f64,
    pub end: f64,
}

/// The filler kinds, in the order the tables show them.
pub const KINDS: [&str; 7] = ["um", "uh", "er", "hmm", "you know", "i mean", "like"];
/// The kinds a speaking coach counts as hesitations: one sound, spelled four ways.
const HESITATIONS: [&str; 4] = ["um", "uh", "er", "hmm"];
/// How far (seconds) a found filler may sit outside the said one's span and still be it. With
/// aligned word times nine in ten of Whisper's hesitations start within 0.65-0.82 s of the
/// said one (tune half, tiny.en, per voice); token times drifted by over 2 s, and a 3-s slack
/// then let a second "uh" pair with a missed neighbour. The pairing keeps order.
const TIME_SLACK: f64 = 1.0;

/// How one recording was heard, one way (whole file or live).
#[derive(Debug, Clone, Serialize)]
pub struct ClipResult {
    pub name: String,
    pub voice: String,
    pub live: bool,
    /// Per kind: fillers said, and of them, heard.
    pub said: BTreeMap<String, usize>,
    pub heard: BTreeMap<String, usize>,
    /// Heard by sound (the filled-pause detector), of those heard.
    pub heard_by_sound: usize,
    /// Fillers found where none was said: (what, when, heard by sound).
    pub invented: Vec<(String, f64, bool)>,
    /// Fillers said and not heard: (kind, when, the words written around that time).
    pub missed: Vec<(String, f64, String)>,
    /// Every filler found: (what, when, heard by sound).
    pub found: Vec<(String, f64, bool)>,
    pub word_errors: usize,
    pub reference_words: usize,
    /// Words per minute of speech, Whisper's words: a passage heard twice shows here.
    pub words_per_minute: f64,
    pub transcript: String,
    /// Every steady voiced stretch the filled-pause detector looked at, for tuning it.
    pub stretches: Vec<Stretch>,
}

/// Reads every `*.json` of a set directory with its WAV beside it; `split` narrows to the
/// tune or holdout half.
pub fn load_set(dir: &Path, split: Option<&str>) -> Result<Vec<Clip>> {
    let mut clips = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "{}: no filler set here; make one with scripts/filler-set {}",
            dir.display(),
            dir.display()
        )
    })?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let mut clip: Clip = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a filler-set description", path.display()))?;
        clip.wav = path.with_extension("wav");
        if split.is_none_or(|s| s == clip.split) {
            clips.push(clip);
        }
    }
    clips.sort_by(|a, b| (&a.name, &a.voice).cmp(&(&b.name, &b.voice)));
    anyhow::ensure!(
        !clips.is_empty(),
        "{}: no recordings in the set",
        dir.display()
    );
    Ok(clips)
}

/// The filled-pause detector's view of one clip without Whisper: every steady voiced stretch
/// (none ruled out by words), and what was said there (a filler kind, or `None` for speech).
pub fn sound_only(clip: &Clip) -> Result<Vec<(Stretch, Option<String>)>> {
    let recording = audio::load_wav(&clip.wav)?;
    let speech = crate::vad::detect(&recording.samples, &crate::vad::VadSettings::default());
    let prosody = crate::prosody::measure(&recording.samples, &speech);
    Ok(
        crate::hesitation::stretches(&recording.samples, &prosody, &[])
            .into_iter()
            .map(|s| {
                let said = clip
                    .fillers
                    .iter()
                    .find(|f| f.start < s.end && f.end > s.start)
                    .map(|f| f.kind.clone());
                (s, said)
            })
            .collect(),
    )
}

/// Transcribes one clip whole and live (or live only) and measures each.
pub fn measure(
    engine: &mut Engine,
    clip: &Clip,
    settings: &ScoringSettings,
    live_only: bool,
) -> Result<Vec<ClipResult>> {
    let recording = audio::load_wav(&clip.wav)?;
    let speech = crate::vad::detect(&recording.samples, &crate::vad::VadSettings::default());
    let prosody = crate::prosody::measure(&recording.samples, &speech);
    let mut results = Vec::new();
    for live in [false, true] {
        if live_only && !live {
            continue;
        }
        let heard = if live {
            engine.hear_live(&recording)?
        } else {
            engine.hear(&recording)?
        };
        let whisper: Vec<Word> = heard
            .transcript
            .words
            .iter()
            .filter(|w| !w.by_sound)
            .cloned()
            .collect();
        let stretches = crate::hesitation::stretches(&recording.samples, &prosody, &whisper);
        results.push(judge(clip, &heard, live, settings, stretches));
    }
    Ok(results)
}

fn judge(
    clip: &Clip,
    heard: &HeardAnswer,
    live: bool,
    settings: &ScoringSettings,
    stretches: Vec<Stretch>,
) -> ClipResult {
    let words = &heard.transcript.words;
    let found = score::fillers_in(words, settings);
    let pairs = align(&clip.fillers, &found);
    let mut taken = vec![false; found.len()];
    let mut said = BTreeMap::new();
    let mut heard_by_kind = BTreeMap::new();
    let mut heard_by_sound = 0;
    let mut missed = Vec::new();
    for (t, truth) in clip.fillers.iter().enumerate() {
        *said.entry(truth.kind.clone()).or_insert(0) += 1;
        if let Some(i) = pairs[t] {
            taken[i] = true;
            *heard_by_kind.entry(truth.kind.clone()).or_insert(0) += 1;
            heard_by_sound += usize::from(found[i].by_sound);
        } else {
            let around: Vec<&str> = words
                .iter()
                .filter(|w| w.end > truth.start - 1.0 && w.start < truth.end + 1.0)
                .map(|w| w.text.as_str())
                .collect();
            missed.push((truth.kind.clone(), truth.start, around.join(" ")));
        }
    }
    let found_list = found
        .iter()
        .map(|f| (f.word.clone(), f.at_seconds, f.by_sound))
        .collect();
    let invented = found
        .iter()
        .zip(&taken)
        .filter(|(_, taken)| !**taken)
        .map(|(f, _)| (f.word.clone(), f.at_seconds, f.by_sound))
        .collect();
    let reference = crate::wer::wer_words(&without_fillers(&clip.text));
    let hypothesis = crate::wer::wer_words(&without_fillers(&heard.transcript.text));
    let word_errors = crate::wer::errors_per_reference_word(&reference, &hypothesis)
        .iter()
        .sum();
    let speaking = crate::score::timing::speaking_span(&heard.speech).map_or(0.0, |(a, b)| b - a);
    ClipResult {
        name: clip.name.clone(),
        voice: clip.voice.clone(),
        live,
        said,
        heard: heard_by_kind,
        heard_by_sound,
        invented,
        missed,
        found: found_list,
        word_errors,
        reference_words: reference.len(),
        words_per_minute: spoken_words(words) as f64 / (speaking / 60.0).max(1e-9),
        transcript: heard.transcript.text.clone(),
        stretches,
    }
}

/// Pairs each said filler with the found one that is it, in order: the most pairs of the same
/// kind whose times are within `TIME_SLACK`, neither list reordered (an alignment, as for word
/// errors), so Whisper's drifting times cannot pair a filler with its neighbour's.
fn align(said: &[TrueFiller], found: &[score::FillerItem]) -> Vec<Option<usize>> {
    let fits = |t: &TrueFiller, f: &score::FillerItem| {
        same_kind(&t.kind, &f.word)
            && f.at_seconds >= t.start - TIME_SLACK
            && f.at_seconds <= t.end + TIME_SLACK
    };
    let (n, m) = (said.len(), found.len());
    // best[i][j]: most pairs between the first i said and the first j found.
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in 1..=n {
        for j in 1..=m {
            let pair = if fits(&said[i - 1], &found[j - 1]) {
                best[i - 1][j - 1] + 1
            } else {
                0
            };
            best[i][j] = pair.max(best[i - 1][j]).max(best[i][j - 1]);
        }
    }
    let mut pairs = vec![None; n];
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        if fits(&said[i - 1], &found[j - 1]) && best[i][j] == best[i - 1][j - 1] + 1 {
            pairs[i - 1] = Some(j - 1);
            i -= 1;
            j -= 1;
        } else if best[i][j] == best[i - 1][j] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs
}

fn same_kind(said: &str, found: &str) -> bool {
    let hesitation = |k: &str| HESITATIONS.contains(&k) || !KINDS.contains(&k);
    if HESITATIONS.contains(&said) {
        hesitation(found)
    } else {
        said == found
    }
}

fn spoken_words(words: &[Word]) -> usize {
    words.iter().filter(|w| !w.by_sound).count()
}

/// The text without its hesitations and filler phrases, for a word error rate of the rest.
fn without_fillers(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = format!(
        " {} ",
        crate::wer::normalised_words(&lower.replace('-', " "))
    );
    for phrase in crate::score::lexicon::FILLER_PHRASES {
        out = out.replace(&format!(" {phrase} "), " ");
    }
    out.split_whitespace()
        .filter(|w| !crate::score::lexicon::is_hesitation_spelling(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tables `viva bench fillers` prints: recall per voice and kind, invented fillers, word
/// error rate and the fastest pace, for whole-file and live transcription.
pub fn render(model: &str, results: &[ClipResult]) -> String {
    let mut out = String::new();
    for live in [false, true] {
        let rows: Vec<&ClipResult> = results.iter().filter(|r| r.live == live).collect();
        if rows.is_empty() {
            continue;
        }
        let mut voices: Vec<&str> = rows.iter().map(|r| r.voice.as_str()).collect();
        voices.sort_unstable();
        voices.dedup();
        out.push_str(&format!(
            "\n{model}, {}: filler recall (heard / said)\n\n| voice | answers | {} | hesitations | by sound | invented | invented per 10 answers | WER | max wpm |\n|---|---|{}---|---|---|---|---|---|\n",
            if live { "live" } else { "whole file" },
            KINDS.join(" | "),
            "---|".repeat(KINDS.len()),
        ));
        for voice in voices.iter().copied().map(Some).chain([None]) {
            let picked: Vec<&&ClipResult> = rows
                .iter()
                .filter(|r| voice.is_none_or(|v| r.voice == v))
                .collect();
            out.push_str(&row(voice.unwrap_or("all"), &picked));
        }
    }
    out
}

fn row(label: &str, rows: &[&&ClipResult]) -> String {
    let sum = |kind: &str, of: fn(&ClipResult) -> &BTreeMap<String, usize>| -> usize {
        rows.iter()
            .map(|r| of(r).get(kind).copied().unwrap_or(0))
            .sum()
    };
    let cell = |heard: usize, said: usize| {
        if said == 0 {
            "–".to_owned()
        } else {
            format!(
                "{:.0}% ({heard}/{said})",
                100.0 * heard as f64 / said as f64
            )
        }
    };
    let kinds: Vec<String> = KINDS
        .iter()
        .map(|k| cell(sum(k, |r| &r.heard), sum(k, |r| &r.said)))
        .collect();
    let hesitation_heard: usize = HESITATIONS.iter().map(|k| sum(k, |r| &r.heard)).sum();
    let hesitation_said: usize = HESITATIONS.iter().map(|k| sum(k, |r| &r.said)).sum();
    let by_sound: usize = rows.iter().map(|r| r.heard_by_sound).sum();
    let invented: usize = rows.iter().map(|r| r.invented.len()).sum();
    let errors: usize = rows.iter().map(|r| r.word_errors).sum();
    let words: usize = rows.iter().map(|r| r.reference_words).sum();
    let fastest = rows.iter().map(|r| r.words_per_minute).fold(0.0, f64::max);
    format!(
        "| {label} | {} | {} | {} | {by_sound} | {invented} | {:.1} | {:.1}% | {fastest:.0} |\n",
        rows.len(),
        kinds.join(" | "),
        cell(hesitation_heard, hesitation_said),
        10.0 * invented as f64 / rows.len().max(1) as f64,
        100.0 * errors as f64 / words.max(1) as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fillers_are_left_out_of_the_word_error_rate() {
        assert_eq!(
            without_fillers("So, um, we, you know, shipped it, uhh, like in May. I mean it."),
            "so we shipped it in may it"
        );
    }

    #[test]
    fn any_hesitation_over_an_um_hears_it_but_only_like_hears_like() {
        assert!(same_kind("um", "uh"));
        assert!(same_kind("hmm", "umm"));
        assert!(!same_kind("like", "um"));
        assert!(same_kind("you know", "you know"));
    }
}
