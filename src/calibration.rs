//! The scoring bench: the labelled calibration set (`calibration/`), replayed through the
//! meaning stage and `score`, and measured against the hand labels. What `viva bench scoring`
//! prints, and what the scoring thresholds are chosen on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::bank::Bank;
use crate::engine::HeardAnswer;
use crate::meaning::{self, Encode, MeaningMatches};
use crate::score::phrase::Phrase;
use crate::score::text::Normalizer;
use crate::score::{self, ScoringSettings};

/// One hand-written, hand-labelled answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledAnswer {
    pub id: String,
    pub prompt: String,
    pub kind: String,
    pub split: String,
    pub text: String,
    /// For an `offtopic` answer: the prompt it really answers (it is scored against `prompt`).
    #[serde(default)]
    pub answers: Option<String>,
    /// A coach's holistic score of the answer, 0 to 100, given blind to its kind.
    #[serde(default)]
    pub coach: Option<f64>,
    /// Concept name to `backed`, `mentioned` or `absent`.
    pub concepts: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AnswersFile {
    answer: Vec<LabelledAnswer>,
}

/// One answer as one voice spoke it and Whisper heard it.
pub struct Spoken {
    pub answer: usize,
    pub voice: String,
    pub heard: HeardAnswer,
}

/// The whole set: answers and their transcripts.
pub struct CalibrationSet {
    pub answers: Vec<LabelledAnswer>,
    pub spoken: Vec<Spoken>,
}

impl CalibrationSet {
    /// Reads `DIR/answers.toml` and every `DIR/asr/ID.VOICE.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let answers_path = dir.join("answers.toml");
        let text = std::fs::read_to_string(&answers_path).with_context(|| {
            format!(
                "{}: cannot read the calibration set (run from the repository, or pass --dir)",
                answers_path.display()
            )
        })?;
        let answers = toml::from_str::<AnswersFile>(&text)
            .with_context(|| format!("{}: not a calibration set", answers_path.display()))?
            .answer;
        let index: BTreeMap<&str, usize> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("asr"))
            .with_context(|| format!("{}: no transcripts", dir.join("asr").display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        let mut spoken = Vec::new();
        for path in paths {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let Some((id, voice)) = stem.rsplit_once('.') else {
                bail!("{}: expected ANSWER-ID.VOICE.json", path.display());
            };
            let Some(&answer) = index.get(id) else {
                bail!("{}: no answer with id {id} in answers.toml", path.display());
            };
            let heard: HeardAnswer = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| {
                    format!("{}: not a `viva transcribe --json` file", path.display())
                })?;
            spoken.push(Spoken {
                answer,
                voice: voice.to_owned(),
                heard,
            });
        }
        Ok(Self { answers, spoken })
    }

    /// Adds every answer's written text as a transcript of its own (voice `text`), spoken
    /// evenly at 150 words a minute: how the scorer does when Whisper makes no mistakes.
    pub fn with_written_text(mut self) -> Self {
        const WPM: f64 = 150.0;
        for (answer, labelled) in self.answers.iter().enumerate() {
            let words = labelled.text.split_whitespace().count();
            let seconds = words as f64 * 60.0 / WPM;
            let speech = vec![crate::vad::SpeechRegion {
                start: 0.5,
                end: 0.5 + seconds,
            }];
            let transcript =
                crate::transcribe::transcript_from_text(&labelled.text, &speech, seconds + 1.0);
            self.spoken.push(Spoken {
                answer,
                voice: "text".into(),
                heard: HeardAnswer {
                    duration_seconds: seconds + 1.0,
                    speech,
                    transcript,
                },
            });
        }
        self
    }

    /// Only the transcripts of answers in `split` and of `kind` (`None` keeps every one).
    pub fn only_answers(mut self, split: Option<&str>, kind: Option<&str>) -> Self {
        let answers = &self.answers;
        self.spoken.retain(|s| {
            let a = &answers[s.answer];
            split.is_none_or(|x| x == a.split) && kind.is_none_or(|k| k == a.kind)
        });
        self
    }

    /// Only the transcripts of one kind of source: `asr` (every voice) or `text`.
    pub fn only(mut self, source: &str) -> Self {
        self.spoken
            .retain(|s| (s.voice == "text") == (source == "text"));
        self
    }
}

/// Concept detection counts against the labels (a concept is there when labelled `backed` or
/// `mentioned`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Confusion {
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    /// Concepts covered in `negated` answers whose label is `absent`: covered by a denial.
    pub covered_by_negation: usize,
}

impl Confusion {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, labelled: bool, found: bool, negated_answer: bool) {
        match (labelled, found) {
            (true, true) => self.true_positive += 1,
            (false, true) => {
                self.false_positive += 1;
                if negated_answer {
                    self.covered_by_negation += 1;
                }
            }
            (true, false) => self.false_negative += 1,
            (false, false) => {}
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The figures for one split of the set under one rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SplitReport {
    pub transcripts: usize,
    /// The phrase rule before this bench existed: any phrase said covers the concept.
    pub phrases_before: Confusion,
    /// Today's rule without the meaning model (what runs when it is not installed).
    pub phrases_now: Confusion,
    /// Today's rule with the meaning model.
    pub meaning_now: Confusion,
    /// The same, on `plain` answers only: how much of a strong answer in everyday words,
    /// without the rubric's phrases, the meaning stage finds.
    pub plain_now: Confusion,
    /// Overall scores by answer kind.
    pub medians: BTreeMap<String, f64>,
    /// Share of (strong, twin) pairs of the same prompt where the strong answer scores higher.
    pub strong_over_weak: f64,
    pub strong_over_reciting: f64,
    /// Median of strong minus twin, over those pairs.
    pub margin_over_weak: f64,
    pub margin_over_reciting: f64,
    /// Share of strong and plain transcripts that score above every transcript of every
    /// other kind (weak, reciting, gamed, short, negated, off-topic) of the same prompt.
    pub good_above_all: f64,
    /// The (good, other) pairs that break that order: `good-id.voice < other-id.voice`.
    pub order_breaks: Vec<String>,
    /// Spearman's rank correlation of viva's overall with the coach's score.
    pub spearman_with_coach: Option<f64>,
}

/// The kinds a good answer must beat; `hedged` is a good answer told unsurely, ranked by the
/// coach, not by this rule.
const GOOD_KINDS: &[&str] = &["strong", "plain"];
const POOR_KINDS: &[&str] = &["weak", "reciting", "gamed", "short", "negated", "offtopic"];

/// What `viva bench scoring` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ScoringBench {
    pub model: Option<String>,
    pub meaning_threshold: f64,
    pub splits: BTreeMap<String, SplitReport>,
    /// Meaning-matching time, milliseconds per minute of answer (median).
    pub meaning_ms_per_minute: Option<f64>,
    /// Meaning-matching time of one 3-minute answer, milliseconds (median of runs).
    pub meaning_ms_three_minutes: Option<f64>,
}

/// Meaning matches for every transcript, computed once (the expensive part).
pub fn meanings(
    set: &CalibrationSet,
    bank: &Bank,
    encoder: Option<&dyn Encode>,
    windows: meaning::Windows,
) -> Result<(Vec<Option<MeaningMatches>>, Option<f64>)> {
    let Some(encoder) = encoder else {
        return Ok((set.spoken.iter().map(|_| None).collect(), None));
    };
    let mut per_minute = Vec::new();
    let mut all = Vec::new();
    for spoken in &set.spoken {
        let prompt = bank.prompt(&set.answers[spoken.answer].prompt)?;
        let started = Instant::now();
        let m = meaning::match_concepts_with(
            encoder,
            prompt,
            &bank.prompts,
            &spoken.heard.transcript,
            windows,
        )?;
        let minutes = spoken.heard.duration_seconds / 60.0;
        if minutes > 0.5 {
            per_minute.push(started.elapsed().as_secs_f64() * 1000.0 / minutes);
        }
        all.push(Some(m));
    }
    Ok((all, median(&mut per_minute)))
}

/// Times the meaning stage on one 3-minute answer: the set's transcripts, one after another
/// until three minutes are filled, matched against the first one's prompt (the encoder warmed
/// first, then the median of five runs).
pub fn time_three_minutes(
    set: &CalibrationSet,
    bank: &Bank,
    encoder: Option<&dyn Encode>,
) -> Result<Option<f64>> {
    let Some(encoder) = encoder else {
        return Ok(None);
    };
    let Some(first) = set.spoken.first() else {
        return Ok(None);
    };
    let prompt = bank.prompt(&set.answers[first.answer].prompt)?;
    let mut words = Vec::new();
    let mut offset = 0.0;
    'fill: loop {
        for spoken in &set.spoken {
            for w in &spoken.heard.transcript.words {
                if offset + w.end > 180.0 {
                    break 'fill;
                }
                words.push(crate::transcribe::Word {
                    text: w.text.clone(),
                    start: offset + w.start,
                    end: offset + w.end,
                    by_sound: false,
                });
            }
            offset += spoken.heard.duration_seconds;
            if offset >= 180.0 {
                break 'fill;
            }
        }
    }
    let transcript = crate::transcribe::Transcript::from_words(words, "file");
    meaning::match_concepts(encoder, prompt, &bank.prompts, &transcript)?;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        meaning::match_concepts(encoder, prompt, &bank.prompts, &transcript)?;
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&mut runs))
}

/// Scores the whole set with `settings` and measures it against the labels.
pub fn bench(
    set: &CalibrationSet,
    bank: &Bank,
    meanings: &[Option<MeaningMatches>],
    settings: &ScoringSettings,
) -> Result<BTreeMap<String, SplitReport>> {
    let normalizer = Normalizer::default();
    let mut splits: BTreeMap<String, SplitReport> = BTreeMap::new();
    // Per split: prompt -> kind -> overall scores.
    let mut scores: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>> =
        BTreeMap::new();
    // Per split: every transcript's (prompt, kind, name, overall, coach).
    let mut scored: BTreeMap<String, Vec<ScoredTranscript>> = BTreeMap::new();
    for (spoken, meaning) in set.spoken.iter().zip(meanings) {
        let answer = &set.answers[spoken.answer];
        let prompt = bank.prompt(&answer.prompt)?;
        let with_meaning = score::score(prompt, spoken.heard.answer(meaning.as_ref()), settings);
        let phrases_only = score::score(prompt, spoken.heard.answer(None), settings);
        let tokens = normalizer.tokenize(
            spoken
                .heard
                .transcript
                .words
                .iter()
                .map(|w| w.text.as_str()),
        );
        let report = splits.entry(answer.split.clone()).or_default();
        report.transcripts += 1;
        let negated_answer = answer.kind == "negated";
        for (i, concept) in prompt.rubric.concepts.iter().enumerate() {
            let Some(label) = answer.concepts.get(&concept.name) else {
                bail!("{}: concept {:?} has no label", answer.id, concept.name);
            };
            let labelled = label != "absent";
            let before = concept
                .any
                .iter()
                .any(|p| Phrase::new(p, &normalizer).find(&tokens).is_some());
            report.phrases_before.add(labelled, before, negated_answer);
            report.phrases_now.add(
                labelled,
                phrases_only.coverage.concepts[i].hit,
                negated_answer,
            );
            report.meaning_now.add(
                labelled,
                with_meaning.coverage.concepts[i].hit,
                negated_answer,
            );
            if answer.kind == "plain" {
                report
                    .plain_now
                    .add(labelled, with_meaning.coverage.concepts[i].hit, false);
            }
        }
        scores
            .entry(answer.split.clone())
            .or_default()
            .entry(answer.prompt.clone())
            .or_default()
            .entry(answer.kind.clone())
            .or_default()
            .push(with_meaning.overall);
        scored
            .entry(answer.split.clone())
            .or_default()
            .push(ScoredTranscript {
                prompt: answer.prompt.clone(),
                kind: answer.kind.clone(),
                name: format!("{}.{}", answer.id, spoken.voice),
                overall: with_meaning.overall,
                coach: answer.coach,
            });
    }
    for (split, transcripts) in &scored {
        let report = splits.entry(split.clone()).or_default();
        let (share, breaks) = good_above_all(transcripts);
        report.good_above_all = share;
        report.order_breaks = breaks;
        let pairs: Vec<(f64, f64)> = transcripts
            .iter()
            .filter_map(|t| Some((t.overall, t.coach?)))
            .collect();
        report.spearman_with_coach = spearman(&pairs);
    }
    for (split, prompts) in scores {
        let report = splits.entry(split).or_default();
        let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let (mut over_weak, mut over_reciting) = (Vec::new(), Vec::new());
        for kinds in prompts.values() {
            for (kind, values) in kinds {
                by_kind.entry(kind.clone()).or_default().extend(values);
            }
            let strong = kinds.get("strong").cloned().unwrap_or_default();
            for (twin, margins) in [("weak", &mut over_weak), ("reciting", &mut over_reciting)] {
                for s in &strong {
                    for t in kinds.get(twin).into_iter().flatten() {
                        margins.push(s - t);
                    }
                }
            }
        }
        report.medians = by_kind
            .into_iter()
            .filter_map(|(kind, mut v)| Some((kind, median(&mut v)?)))
            .collect();
        let share = |m: &[f64]| ratio(m.iter().filter(|&&d| d > 0.0).count(), m.len());
        report.strong_over_weak = share(&over_weak);
        report.strong_over_reciting = share(&over_reciting);
        report.margin_over_weak = median(&mut over_weak).unwrap_or(0.0);
        report.margin_over_reciting = median(&mut over_reciting).unwrap_or(0.0);
    }
    Ok(splits)
}

/// One scored transcript, for the figures that compare answers across kinds.
struct ScoredTranscript {
    prompt: String,
    kind: String,
    name: String,
    overall: f64,
    coach: Option<f64>,
}

/// The share of good transcripts that beat every poor transcript of their prompt, and the
/// pairs that do not.
fn good_above_all(transcripts: &[ScoredTranscript]) -> (f64, Vec<String>) {
    let mut good = 0;
    let mut above = 0;
    let mut breaks = Vec::new();
    for g in transcripts
        .iter()
        .filter(|t| GOOD_KINDS.contains(&t.kind.as_str()))
    {
        good += 1;
        let beaten: Vec<&ScoredTranscript> = transcripts
            .iter()
            .filter(|p| p.prompt == g.prompt && POOR_KINDS.contains(&p.kind.as_str()))
            .filter(|p| p.overall >= g.overall)
            .collect();
        if beaten.is_empty() {
            above += 1;
        }
        breaks.extend(
            beaten
                .into_iter()
                .map(|p| format!("{} {:.0} <= {} {:.0}", g.name, g.overall, p.name, p.overall)),
        );
    }
    (ratio(above, good), breaks)
}

/// Spearman's rank correlation (ties take their mean rank); none for fewer than 3 pairs.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let xs = ranks(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let ys = ranks(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let mean = (pairs.len() as f64 + 1.0) / 2.0;
    let (mut cov, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(&ys) {
        cov += (x - mean) * (y - mean);
        vx += (x - mean).powi(2);
        vy += (y - mean).powi(2);
    }
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

/// 1-based ranks, ties sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// One line per transcript and one per concept: what each answer scored and why, for reading
/// where the rules and the labels disagree.
pub fn answer_details(
    set: &CalibrationSet,
    bank: &Bank,
    meanings: &[Option<MeaningMatches>],
    settings: &ScoringSettings,
) -> Result<String> {
    let mut out = String::new();
    for (spoken, meaning) in set.spoken.iter().zip(meanings) {
        let answer = &set.answers[spoken.answer];
        let prompt = bank.prompt(&answer.prompt)?;
        let card = score::score(prompt, spoken.heard.answer(meaning.as_ref()), settings);
        out.push_str(&format!(
            "{} {} [{} {}] overall {:.0} (coach {}), coverage {:.0}, specificity {:.0}; own words {}, phrases {}, own per phrase {:.1}, cohesion {:.2}, links {:.2}, {:.0} s\n",
            answer.id,
            spoken.voice,
            answer.split,
            answer.kind,
            card.overall,
            answer.coach.map_or("-".into(), |c| format!("{c:.0}")),
            card.coverage.score,
            card.specificity.score,
            card.substance.own_words,
            card.substance.rubric_phrases,
            card.substance.own_words_per_phrase,
            card.substance.cohesion,
            card.substance.links,
            card.speaking_seconds,
        ));
        if let Some(topic) = meaning.as_ref().and_then(|m| m.topic.as_ref()) {
            let other = &topic.closest[0];
            out.push_str(&format!(
                "    topic: own {:.3}, closest other {} {:.3} (to this question {:.3}), factor {:.2}\n",
                topic.own, other.prompt_id, other.similarity, other.to_this_question, card.substance.content_factor
            ));
        }
        for concept in &card.coverage.concepts {
            let label = answer
                .concepts
                .get(&concept.name)
                .map_or("?", String::as_str);
            out.push_str(&format!(
                "    {:<22} label {:<9} credit {:.2}  {:?} backed by {:?}\n",
                concept.name, label, concept.credit, concept.evidence, concept.backed_by
            ));
        }
    }
    Ok(out)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The bench as a table a person reads.
pub fn render(bench: &ScoringBench) -> String {
    let mut out = format!(
        "scoring bench: meaning model {}, threshold {:.2}\n",
        bench
            .model
            .as_deref()
            .unwrap_or("not installed (phrases only)"),
        bench.meaning_threshold
    );
    for (split, r) in &bench.splits {
        out.push_str(&format!("\n[{split}] {} transcripts\n", r.transcripts));
        out.push_str(
            "rule                       precision  recall    F1   covered by a negation\n",
        );
        for (name, c) in [
            ("phrases (before)", &r.phrases_before),
            ("phrases + stance (now)", &r.phrases_now),
            ("meaning + stance (now)", &r.meaning_now),
        ] {
            out.push_str(&format!(
                "{name:<26} {:>9.2} {:>7.2} {:>5.2} {:>10}\n",
                c.precision(),
                c.recall(),
                c.f1(),
                c.covered_by_negation
            ));
        }
        out.push_str(&format!(
            "concepts found in plain answers (recall): {:.2}\n",
            r.plain_now.recall()
        ));
        let medians: Vec<String> = r
            .medians
            .iter()
            .map(|(k, v)| format!("{k} {v:.0}"))
            .collect();
        out.push_str(&format!("median overall: {}\n", medians.join(", ")));
        out.push_str(&format!(
            "strong above weak: {:.0}% of pairs (median margin {:+.0}); above reciting: {:.0}% (median margin {:+.0})\n",
            100.0 * r.strong_over_weak,
            r.margin_over_weak,
            100.0 * r.strong_over_reciting,
            r.margin_over_reciting
        ));
        out.push_str(&format!(
            "strong and plain above every weak, reciting, gamed, short, negated and off-topic answer of their prompt: {:.0}% ({} pairs out of order)\n",
            100.0 * r.good_above_all,
            r.order_breaks.len()
        ));
        if let Some(rho) = r.spearman_with_coach {
            out.push_str(&format!("Spearman with the coach's score: {rho:.2}\n"));
        }
    }
    if let Some(ms) = bench.meaning_ms_per_minute {
        out.push_str(&format!(
            "\nmeaning matching: {ms:.0} ms per minute of answer (median over the set)\n"
        ));
    }
    if let Some(ms) = bench.meaning_ms_three_minutes {
        out.push_str(&format!(
            "meaning matching of one 3-minute answer: {ms:.0} ms (median of 5 runs)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_ranks_with_ties() {
        let same = [(1.0, 10.0), (2.0, 20.0), (3.0, 35.0), (4.0, 90.0)];
        assert!((spearman(&same).unwrap() - 1.0).abs() < 1e-9);
        let reversed = [(1.0, 4.0), (2.0, 3.0), (3.0, 2.0), (4.0, 1.0)];
        assert!((spearman(&reversed).unwrap() + 1.0).abs() < 1e-9);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), [2.5, 1.0, 2.5]);
        assert_eq!(spearman(&[(1.0, 1.0), (2.0, 2.0)]), None);
    }
}
