//! Scoring: transcript + timing + rubric in, scorecard out.
//!
//! This module is pure: no I/O, no clock, no model. Everything it needs arrives in an
//! [`Answer`] and a [`Prompt`]; everything it finds leaves in a [`Scorecard`].

pub mod clauses;
pub mod coverage;
pub mod delivery;
pub mod document;
pub mod fillers;
pub mod findings;
pub mod hedges;
pub mod lexicon;
pub mod mention;
pub mod phrase;
pub mod specifics;
pub mod structure;
pub mod substance;
pub mod text;
pub mod timing;
pub mod topic;

use serde::{Deserialize, Serialize};

use crate::bank::{Prompt, Structure, Weights};
use crate::meaning::MeaningMatches;
use crate::prosody::Prosody;
use crate::transcribe::{Transcript, Word};
use crate::vad::SpeechRegion;
use coverage::{CoverageRules, MatchedBy};
use mention::Stance;
use phrase::Phrase;
use specifics::SpecificKind;
use structure::StructureCheck;
use text::{Normalizer, Token};
pub use timing::{PaceWindow, Pause};

/// The scoring knobs that do not belong to one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringSettings {
    /// A silence inside the answer at least this long is reported as a pause.
    pub pause_seconds: f64,
    /// Pace target for prompts whose rubric names none.
    pub wpm: [f64; 2],
    /// Words and phrases counted as fillers.
    pub fillers: Vec<String>,
    /// Width of the pace-over-time windows.
    pub pace_window_seconds: f64,
    /// Fillers per minute that still score full marks.
    pub fillers_per_minute_ok: f64,
    /// Hedges per minute that still score full marks.
    pub hedges_per_minute_ok: f64,
    /// A window of the answer at least this similar in meaning to a concept mentions it.
    pub meaning_threshold: f64,
    /// Credit for a concept mentioned with nothing concrete behind it (1 is full credit).
    pub unbacked_credit: f64,
    /// Distinct words of the speaker's own said about a concept (in the clause that names it
    /// and the next) for its full credit.
    pub own_words_per_concept: f64,
    /// Specifics per minute of speech that score full marks for specificity.
    pub specifics_per_minute: f64,
    /// Fewest specifics that score full marks, however short the answer.
    pub specifics_min: f64,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        Self {
            pause_seconds: 2.0,
            wpm: [120.0, 165.0],
            fillers: lexicon::default_fillers().map(str::to_owned).collect(),
            pace_window_seconds: 15.0,
            fillers_per_minute_ok: 2.0,
            hedges_per_minute_ok: 1.0,
            meaning_threshold: 0.30,
            unbacked_credit: 0.25,
            own_words_per_concept: 6.0,
            specifics_per_minute: 6.0,
            specifics_min: 4.0,
        }
    }
}

/// What the scorer needs to know about one recorded answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub transcript: &'a Transcript,
    /// Length of the whole recording.
    pub duration_seconds: f64,
    /// Where the voice-activity detector heard speech.
    pub speech: &'a [SpeechRegion],
    /// How close each window of the answer comes to each concept in meaning; `None` when no
    /// sentence-embedding model is installed (coverage then goes by phrases alone).
    pub meaning: Option<&'a MeaningMatches>,
    /// Pitch and level as the audio side measured them; `None` when the recording is not at
    /// hand (delivery is then judged on the words alone and carries no weight).
    pub prosody: Option<&'a Prosody>,
}

/// Everything viva judged about one answer. Its JSON form is a contract (`viva score --json`,
/// the API, stored sessions): add fields freely, do not rename them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub prompt_id: String,
    pub duration_seconds: f64,
    pub speaking_seconds: f64,
    pub word_count: usize,
    pub wpm: f64,
    pub pace: PaceScore,
    pub length: LengthScore,
    pub coverage: CoverageScore,
    pub fillers: FillerScore,
    pub pauses: Vec<Pause>,
    pub avoided: Vec<AvoidedPhrase>,
    pub structure: Option<StructureCheck>,
    /// Numbers, names, results and actions: what shows the answer is real.
    #[serde(default)]
    pub specificity: SpecificityScore,
    /// "I think", "maybe", "probably"…: how much the answer softens its claims.
    #[serde(default)]
    pub hedges: HedgeScore,
    /// How it sounded: monotone, too quiet, clipped, trailing off, words said again and again.
    #[serde(default)]
    pub delivery: delivery::DeliveryScore,
    /// Whether it is an account or a list of claims: its own words, and how they carry.
    #[serde(default)]
    pub substance: substance::Substance,
    /// Whether it answers this question or sounds like an answer to another one; none without
    /// the sentence-embedding model.
    #[serde(default)]
    pub topic: Option<topic::TopicVerdict>,
    pub weights: Weights,
    /// 0 to 100, from the rubric's weights, less a penalty for avoid phrases used.
    pub overall: f64,
    /// Plain-language advice, the most important first: the top of `findings`.
    pub feedback: Vec<String>,
    /// Everything the rules found, with the points each cost, ranked.
    #[serde(default)]
    pub findings: Vec<findings::Finding>,
    pub transcript: Transcript,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaceScore {
    pub wpm: f64,
    pub target: [f64; 2],
    pub score: f64,
    pub curve: Vec<PaceWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthScore {
    pub speaking_seconds: f64,
    pub word_count: usize,
    pub target_seconds: [f64; 2],
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageScore {
    pub score: f64,
    pub concepts: Vec<ConceptResult>,
    /// How concepts were matched: `phrases and meaning (MODEL)`, or `phrases only` and why.
    #[serde(default)]
    pub method: String,
}

/// Whether one rubric concept was covered, and the words that covered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptResult {
    pub name: String,
    pub hit: bool,
    /// The transcript words that matched, as spoken.
    pub evidence: Option<String>,
    /// The rubric phrase that matched.
    pub phrase: Option<String>,
    pub at_seconds: Option<f64>,
    pub weight: f64,
    pub follow_up: Option<String>,
    /// How much of the concept's weight the answer earned: 1 when specifics back the
    /// mention, less when it is only named, 0 when it is missing.
    #[serde(default)]
    pub credit: f64,
    /// `phrase` or `meaning`.
    #[serde(default)]
    pub matched_by: Option<MatchedBy>,
    /// For a match by meaning: the cosine similarity of the window to the concept.
    #[serde(default)]
    pub similarity: Option<f64>,
    /// The specific near the mention that backs it ("12 percent", "Friday", "we rebuilt").
    #[serde(default)]
    pub backed_by: Option<String>,
    /// Mentions that did not count, and why (negated, hypothetical, a stated value).
    #[serde(default)]
    pub rejected: Vec<RejectedMention>,
}

/// A mention of a concept that does not cover it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedMention {
    pub evidence: String,
    pub at_seconds: f64,
    pub stance: Stance,
    pub why: String,
}

/// How concrete the answer is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpecificityScore {
    pub score: f64,
    pub count: usize,
    pub per_minute: f64,
    pub items: Vec<SpecificItem>,
}

/// One specific, outside the rubric's own phrases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecificItem {
    pub text: String,
    pub kind: SpecificKind,
    pub at_seconds: f64,
}

/// How often the answer hedges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HedgeScore {
    pub count: usize,
    pub per_minute: f64,
    pub score: f64,
    pub items: Vec<HedgeItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgeItem {
    pub text: String,
    pub at_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillerScore {
    pub count: usize,
    pub per_minute: f64,
    pub score: f64,
    pub items: Vec<FillerItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillerItem {
    pub word: String,
    pub at_seconds: f64,
    /// Heard from the sound (a filled pause Whisper left out), not in Whisper's words.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_sound: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvoidedPhrase {
    pub phrase: String,
    pub why: String,
    pub evidence: String,
    pub at_seconds: f64,
}

/// Points taken off `overall` for each avoid phrase used, and the most taken in all.
pub(crate) const AVOID_PENALTY: f64 = 5.0;
const AVOID_PENALTY_MAX: f64 = 20.0;
/// How far outside the pace range (as a fraction of the range's end) the pace score reaches 0.
const PACE_FALLOFF: f64 = 0.4;
/// Fillers per minute past the allowance at which the filler score reaches 0.
const FILLERS_PER_MINUTE_TO_ZERO: f64 = 8.0;
/// Coverage at which an answer's specifics count in full; below it they count in proportion.
const SPECIFICS_SERVE_FULLY: f64 = 50.0;
/// Feedback lines kept, the most important first.
const FEEDBACK_LINES: usize = 5;

/// The fillers in `words`, as the scorecard counts them: what `viva bench fillers` measures.
pub fn fillers_in(words: &[Word], settings: &ScoringSettings) -> Vec<FillerItem> {
    let normalizer = Normalizer::default();
    let tokens = normalizer.tokenize(words.iter().map(|w| w.text.as_str()));
    fillers::find_fillers(&tokens, &settings.fillers, &normalizer)
        .into_iter()
        .map(|hit| filler_item(hit, words, &tokens))
        .collect()
}

fn filler_item(hit: fillers::FillerHit, words: &[Word], tokens: &[Token]) -> FillerItem {
    let word = &words[tokens[hit.first_token].word_index];
    FillerItem {
        word: hit.filler,
        at_seconds: word.start,
        by_sound: word.by_sound,
    }
}

/// Scores one answer against one prompt's rubric.
pub fn score(prompt: &Prompt, answer: Answer<'_>, settings: &ScoringSettings) -> Scorecard {
    let normalizer = Normalizer::default();
    let transcript = answer.transcript;
    // The one analysis of the answer every rule reads.
    let doc = document::Document::new(prompt, &transcript.words, &normalizer);
    let tokens = &doc.tokens;
    let word_time = |token: usize| doc.time(token);

    let span = timing::speaking_span(answer.speech);
    let speaking_seconds = span.map_or(0.0, |(a, b)| b - a);
    let word_count = transcript.words.len();
    let minutes = speaking_seconds / 60.0;
    let wpm = if minutes > 0.0 {
        word_count as f64 / minutes
    } else {
        0.0
    };

    let wpm_target = prompt.rubric.wpm.unwrap_or(settings.wpm);
    let pace = PaceScore {
        wpm,
        target: wpm_target,
        score: if word_count == 0 {
            0.0
        } else {
            timing::range_score(wpm, wpm_target, PACE_FALLOFF)
        },
        curve: span.map_or_else(Vec::new, |span| {
            timing::pace_curve(&transcript.words, span, settings.pace_window_seconds)
        }),
    };

    let length = LengthScore {
        speaking_seconds,
        word_count,
        target_seconds: prompt.rubric.seconds,
        // Speech the transcriber found no words in (noise, a cough) is no answer.
        score: if word_count == 0 {
            0.0
        } else {
            length_score(speaking_seconds, prompt.rubric.seconds)
        },
    };

    let found_specifics = &doc.specifics;
    let substance = substance::measure(&doc, prompt.rubric.seconds[0]);
    let rules = CoverageRules {
        meaning_threshold: settings.meaning_threshold,
        unbacked_credit: settings.unbacked_credit,
        own_words_full: settings.own_words_per_concept,
    };
    let judged = coverage::judge(&doc, &prompt.rubric.concepts, answer.meaning, &rules);
    let concepts: Vec<ConceptResult> = prompt
        .rubric
        .concepts
        .iter()
        .zip(judged)
        .map(|(concept, judged)| {
            let best = judged.best.map(|i| &judged.mentions[i]);
            let rejected = judged
                .mentions
                .iter()
                .filter(|m| m.stance != Stance::Stated)
                .map(|m| RejectedMention {
                    evidence: doc.said(m.tokens.clone()),
                    at_seconds: doc.time(m.tokens.start),
                    stance: m.stance,
                    why: m.stance.reason().to_owned(),
                })
                .collect();
            ConceptResult {
                name: concept.name.clone(),
                hit: best.is_some(),
                evidence: best.map(|m| doc.said(m.tokens.clone())),
                phrase: best.and_then(|m| m.phrase.clone()),
                at_seconds: best.map(|m| doc.time(m.tokens.start)),
                weight: concept.weight,
                follow_up: concept.follow_up.clone(),
                credit: round2(judged.credit),
                matched_by: best.map(|m| m.matched_by),
                similarity: best.and_then(|m| m.similarity),
                backed_by: best
                    .and_then(|m| m.backing)
                    .map(|e| doc.said(doc.entities[e].tokens.clone())),
                rejected,
            }
        })
        .collect();
    // Folded from +0.0: an empty float sum is -0.0, which prints as "-0".
    let total_weight = concepts.iter().fold(0.0, |sum, c| sum + c.weight);
    let earned = concepts
        .iter()
        .fold(0.0, |sum, c| sum + c.weight * c.credit);
    let coverage = CoverageScore {
        score: if total_weight > 0.0 {
            round1(100.0 * earned / total_weight)
        } else {
            100.0
        },
        concepts,
        method: match answer.meaning {
            Some(m) => format!("phrases and meaning ({})", m.model),
            None => "phrases only: no sentence-embedding model is installed (run scripts/install-models)".into(),
        },
    };

    let specificity = specificity_score(
        found_specifics,
        &doc.rubric_tokens,
        tokens,
        transcript,
        minutes,
        settings,
    );
    let hedge_hits = hedges::find(tokens, found_specifics);
    let filler_hits = fillers::find_fillers(tokens, &settings.fillers, &normalizer);
    let mut counted_elsewhere = vec![false; tokens.len()];
    let spans = hedge_hits.iter().map(|h| (h.first_token, h.hedge)).chain(
        filler_hits
            .iter()
            .map(|f| (f.first_token, f.filler.as_str())),
    );
    for (first, text) in spans {
        let end = (first + text.split_whitespace().count()).min(tokens.len());
        counted_elsewhere[first..end].fill(true);
    }
    let hedge_items: Vec<HedgeItem> = hedge_hits
        .into_iter()
        .map(|hit| HedgeItem {
            text: hit.hedge.to_owned(),
            at_seconds: word_time(hit.first_token),
        })
        .collect();
    let hedge_rate = per_minute(hedge_items.len(), minutes);
    let hedges = HedgeScore {
        count: hedge_items.len(),
        per_minute: hedge_rate,
        score: filler_score(hedge_rate, settings.hedges_per_minute_ok, word_count),
        items: hedge_items,
    };

    let filler_items: Vec<FillerItem> = filler_hits
        .into_iter()
        .map(|hit| filler_item(hit, &transcript.words, tokens))
        .collect();
    let filler_rate = per_minute(filler_items.len(), minutes);
    let fillers = FillerScore {
        count: filler_items.len(),
        per_minute: filler_rate,
        score: filler_score(filler_rate, settings.fillers_per_minute_ok, word_count),
        items: filler_items,
    };

    let avoided: Vec<AvoidedPhrase> = prompt
        .rubric
        .avoid
        .iter()
        .filter_map(|avoid| {
            let m = Phrase::new(&avoid.phrase, &normalizer)
                .find_all(tokens)
                .into_iter()
                .find(|m| !is_negated(tokens, m.first_token))?;
            Some(AvoidedPhrase {
                phrase: avoid.phrase.clone(),
                why: avoid.why.clone(),
                evidence: doc.said(m.first_token..m.last_token + 1),
                at_seconds: word_time(m.first_token),
            })
        })
        .collect();

    let structure = prompt.structure.map(|kind| match kind {
        Structure::Star => structure::check_star(tokens, &normalizer, word_time),
    });

    let key_terms = delivery::KeyTerms::new(
        std::iter::once(prompt.text.as_str()).chain(prompt.rubric.concepts.iter().flat_map(|c| {
            std::iter::once(c.name.as_str()).chain(c.any.iter().map(String::as_str))
        })),
        &normalizer,
    );
    let windows: Vec<(f64, f64)> = pace
        .curve
        .iter()
        .map(|w| (w.start_seconds, w.end_seconds))
        .collect();
    let delivery = delivery::judge(&delivery::DeliveryInput {
        prosody: answer.prosody,
        words: &transcript.words,
        tokens,
        key_terms: &key_terms,
        counted_elsewhere: &counted_elsewhere,
        windows: &windows,
    });

    let pauses = timing::pauses(answer.speech, settings.pause_seconds);
    let weights = prompt.rubric.weights;
    let topic = topic::judge(answer.meaning.and_then(|m| m.topic.as_ref()));
    let on_topic = topic.as_ref().map_or(1.0, |t| t.factor);
    // Details count as far as they serve the question: an answer that covers nothing asked
    // earns nothing for being concrete about something else.
    let served = (coverage.score / SPECIFICS_SERVE_FULLY).min(1.0);
    let kept = substance.content_factor * on_topic;
    let overall = overall_score(
        &weights,
        [coverage.score * kept, specificity.score * served * kept],
        [pace.score, length.score, fillers.score, hedges.score],
        delivery.score,
        avoided.len(),
    );

    let mut card = Scorecard {
        prompt_id: prompt.id.clone(),
        duration_seconds: answer.duration_seconds,
        speaking_seconds,
        word_count,
        wpm,
        pace,
        length,
        coverage,
        fillers,
        pauses,
        avoided,
        structure,
        specificity,
        hedges,
        delivery,
        substance,
        topic,
        weights,
        overall,
        feedback: Vec::new(),
        findings: Vec::new(),
        transcript: transcript.clone(),
    };
    card.findings = findings::rank(&card, &prompt.text, !tokens.is_empty());
    card.feedback = card
        .findings
        .iter()
        .take(FEEDBACK_LINES)
        .map(|f| f.reason.clone())
        .collect();
    card
}

/// How many words before a phrase a negator may stand.
const NEGATION_REACH: usize = 3;

fn is_negated(tokens: &[Token], first: usize) -> bool {
    tokens[first.saturating_sub(NEGATION_REACH)..first]
        .iter()
        .any(|t| {
            let w = t.norm.as_str();
            lexicon::NEGATORS.contains(&w)
                || lexicon::REJECTORS.contains(&w)
                || lexicon::AVOID_REJECTORS.contains(&w)
        })
}

/// 100 inside the target; short answers score in proportion to how much of the minimum they
/// reached; long ones lose marks until twice the maximum.
fn length_score(seconds: f64, [min, max]: [f64; 2]) -> f64 {
    let score = if seconds < min {
        100.0 * seconds / min
    } else if seconds > max {
        100.0 * (1.0 - (seconds - max) / max)
    } else {
        100.0
    };
    score.clamp(0.0, 100.0)
}

fn filler_score(per_minute: f64, allowance: f64, word_count: usize) -> f64 {
    if word_count == 0 {
        return 0.0;
    }
    let over = (per_minute - allowance).max(0.0);
    (100.0 * (1.0 - over / FILLERS_PER_MINUTE_TO_ZERO)).clamp(0.0, 100.0)
}

/// The overall score: the weighted average of every part, except that how an answer is said
/// counts only as far as what it says earns. Delivery points (pace, length, fillers, hedges) are
/// scaled by the content score (coverage and specificity, weighted), so a fluent answer that
/// says nothing scores low, and a strong story told haltingly still scores well.
///
/// How the answer sounded (`sounded`, the delivery part) counts the same way, and only when the
/// audio was measured: without it, its weight drops out.
fn overall_score(
    weights: &Weights,
    content: [f64; 2],
    delivery: [f64; 4],
    sounded: Option<f64>,
    avoided: usize,
) -> f64 {
    let (content_weights, delivery_weights) = weights.content_and_delivery();
    let (delivery_weights, delivery): (Vec<f64>, Vec<f64>) = delivery_weights
        .into_iter()
        .zip(delivery)
        .chain(sounded.map(|score| (weights.delivery, score)))
        .unzip();
    let content_total: f64 = content_weights.iter().sum();
    let total = content_total + delivery_weights.iter().sum::<f64>();
    let content_points: f64 = content_weights
        .iter()
        .zip(content)
        .map(|(w, s)| w * s)
        .sum();
    let content_share = if content_total > 0.0 {
        content_points / content_total / 100.0
    } else {
        1.0
    };
    let delivery_points: f64 = delivery_weights
        .iter()
        .zip(delivery)
        .map(|(w, s)| w * s * content_share)
        .sum();
    let weighted = if total > 0.0 {
        (content_points + delivery_points) / total
    } else {
        0.0
    };
    let penalty = (avoided as f64 * AVOID_PENALTY).min(AVOID_PENALTY_MAX);
    round1((weighted - penalty).clamp(0.0, 100.0))
}

/// How many a minute; none when nothing was said.
fn per_minute(count: usize, minutes: f64) -> f64 {
    if minutes > 0.0 {
        count as f64 / minutes
    } else {
        0.0
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Specifics outside the rubric's own phrases, against a target that grows with the answer's
/// length but never falls below `specifics_min`.
fn specificity_score(
    found: &[specifics::Specific],
    rubric_tokens: &[bool],
    tokens: &[Token],
    transcript: &Transcript,
    minutes: f64,
    settings: &ScoringSettings,
) -> SpecificityScore {
    let items: Vec<SpecificItem> = found
        .iter()
        .filter(|s| !rubric_tokens[s.token])
        .map(|s| {
            let word = &transcript.words[tokens[s.token].word_index];
            SpecificItem {
                text: word.text.clone(),
                kind: s.kind,
                at_seconds: word.start,
            }
        })
        .collect();
    let count = items.len();
    let target = (settings.specifics_per_minute * minutes).max(settings.specifics_min);
    SpecificityScore {
        score: round1((100.0 * count as f64 / target).min(100.0)),
        count,
        per_minute: per_minute(count, minutes),
        items,
    }
}

/// Prompts for the scorer's unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::bank::{Concept, Prompt, Rubric, Structure, Weights};

    /// A story prompt with these concepts (name, phrases), each of weight 1.
    pub fn prompt_with(concepts: &[(&str, &[&str])]) -> Prompt {
        Prompt {
            id: "p".into(),
            category: "test".into(),
            tags: vec![],
            text: "Tell me about a time.".into(),
            think_seconds: None,
            structure: Some(Structure::Star),
            rubric: Rubric {
                seconds: [60.0, 120.0],
                wpm: None,
                weights: Weights::default(),
                concepts: concepts
                    .iter()
                    .map(|(name, any)| Concept {
                        name: (*name).into(),
                        any: any.iter().map(|s| s.to_string()).collect(),
                        weight: 1.0,
                        follow_up: None,
                        means: None,
                        also_means: Vec::new(),
                    })
                    .collect(),
                avoid: vec![],
            },
            source: "test".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::{AvoidPhrase, Concept, Rubric};
    use crate::transcribe::Word;

    fn prompt(structure: Option<Structure>) -> Prompt {
        let concept = |name: &str, any: &[&str], weight: f64| Concept {
            name: name.into(),
            any: any.iter().map(|s| s.to_string()).collect(),
            weight,
            follow_up: None,
            means: None,
            also_means: Vec::new(),
        };
        Prompt {
            id: "p".into(),
            category: "test".into(),
            tags: vec![],
            text: "Q?".into(),
            think_seconds: None,
            structure,
            rubric: Rubric {
                seconds: [10.0, 30.0],
                wpm: Some([120.0, 165.0]),
                weights: Weights::default(),
                concepts: vec![
                    concept("scale", &["open connect", "edge cache"], 3.0),
                    concept("cost", &["cost"], 1.0),
                ],
                avoid: vec![AvoidPhrase {
                    phrase: "use more servers".into(),
                    why: "Generic.".into(),
                }],
            },
            source: "test".into(),
        }
    }

    /// Words spoken evenly at `wpm` from t = 1 s.
    fn transcript(text: &str, wpm: f64) -> (Transcript, Vec<SpeechRegion>) {
        let step = 60.0 / wpm;
        let words: Vec<Word> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                text: w.into(),
                start: 1.0 + i as f64 * step,
                end: 1.0 + i as f64 * step + step * 0.8,
                by_sound: false,
            })
            .collect();
        let end = words.last().map_or(1.0, |w| w.end);
        let t = Transcript {
            text: text.into(),
            words,
            source: "test".into(),
        };
        (t, vec![SpeechRegion { start: 1.0, end }])
    }

    fn card(text: &str, wpm: f64, structure: Option<Structure>) -> Scorecard {
        let (t, speech) = transcript(text, wpm);
        let answer = Answer {
            transcript: &t,
            duration_seconds: 60.0,
            speech: &speech,
            meaning: None,
            prosody: None,
        };
        score(&prompt(structure), answer, &ScoringSettings::default())
    }

    /// 40 words that name every concept and no filler.
    const STRONG: &str = "We would serve video from Open Connect appliances in 6,000 partner \
        networks, so the edge cache absorbs 95 percent of peak demand and keeps the cost per \
        stream at 2 cents while the control plane stays in the cloud and every region can fail \
        over within minutes during launches like Stranger Things in 2022 when traffic doubled";

    #[test]
    fn a_strong_answer_on_pace_and_time_scores_full_marks() {
        let c = card(STRONG, 140.0, None);
        assert_eq!(c.coverage.score, 100.0);
        assert_eq!(c.pace.score, 100.0);
        assert_eq!(c.length.score, 100.0);
        assert_eq!(c.fillers.score, 100.0);
        assert_eq!(c.overall, 100.0);
        assert!((c.wpm - 140.0).abs() < 6.0, "wpm {}", c.wpm);
    }

    #[test]
    fn coverage_is_weighted_by_concept() {
        let c = card(
            "we kept the cost of each stream down to 2 cents by moving encoding work to quiet hours",
            140.0,
            None,
        );
        assert_eq!(c.coverage.score, 25.0);
        let c = card(
            "an edge cache near viewers in Brazil served the premiere without buffering for anyone",
            140.0,
            None,
        );
        assert_eq!(c.coverage.score, 75.0);
        assert_eq!(
            c.coverage.concepts[0].evidence.as_deref(),
            Some("edge cache")
        );
    }

    #[test]
    fn an_avoid_phrase_costs_points_and_leads_the_feedback() {
        let with = card(
            &format!("{STRONG} and we would use more servers"),
            140.0,
            None,
        );
        assert_eq!(with.avoided.len(), 1);
        assert_eq!(with.avoided[0].evidence, "use more servers");
        assert!(with.overall <= 100.0 - AVOID_PENALTY);
        assert!(
            with.feedback[0].contains("use more servers"),
            "{:?}",
            with.feedback
        );
        let finding = &with.findings[0];
        assert_eq!(finding.kind, findings::FindingKind::Avoided);
        assert_eq!(
            finding.span.map(|[from, _]| from),
            Some(with.avoided[0].at_seconds)
        );
    }

    #[test]
    fn a_keyword_list_with_numbers_stuck_on_reads_as_one_and_scores_low() {
        let list = "In Q3 2019 at Zentro, open connect, 37 percent, edge cache with 14 people, \
            cost in March 2021, open connect at Brightly, 2,000 users, edge cache, cost, 12 percent.";
        let c = card(list, 140.0, None);
        assert!(c.substance.reads_as_list, "{:?}", c.substance);
        assert_eq!(c.findings[0].kind, findings::FindingKind::KeywordList);
        assert!(c.overall <= 25.0, "{}", c.overall);
        let told = card(STRONG, 140.0, None);
        assert!(!told.substance.reads_as_list, "{:?}", told.substance);
    }

    #[test]
    fn a_rejected_avoid_phrase_is_not_held_against_the_speaker() {
        let c = card(
            &format!("{STRONG} rather than just use more servers"),
            140.0,
            None,
        );
        assert!(c.avoided.is_empty(), "{:?}", c.avoided);
        let c = card(
            &format!("{STRONG} we should not use more servers"),
            140.0,
            None,
        );
        assert!(c.avoided.is_empty());
    }

    #[test]
    fn speaking_too_fast_lowers_pace_and_says_slow_down() {
        let c = card(STRONG, 230.0, None);
        assert!(c.pace.score < 60.0, "pace {}", c.pace.score);
        assert!(
            c.feedback.iter().any(|f| f.starts_with("Slow down")),
            "{:?}",
            c.feedback
        );
    }

    #[test]
    fn fillers_past_the_allowance_lower_the_filler_score() {
        let text = format!("um {STRONG} uh you know um");
        let c = card(&text, 140.0, None);
        assert_eq!(c.fillers.count, 4);
        assert!(c.fillers.per_minute > 2.0);
        assert!(c.fillers.score < 100.0);
        assert_eq!(c.fillers.items[0].word, "um");
        assert!((c.fillers.items[0].at_seconds - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_answer_scores_length_in_proportion() {
        let c = card("edge cache and cost", 140.0, None);
        assert!(c.speaking_seconds < 10.0);
        let expected = 100.0 * c.speaking_seconds / 10.0;
        assert!((c.length.score - expected).abs() < 1e-9);
        assert!(c.feedback.iter().any(|f| f.starts_with("Say more")));
    }

    #[test]
    fn no_words_scores_zero_everywhere() {
        let c = card("", 140.0, None);
        assert_eq!(c.word_count, 0);
        assert_eq!(c.overall, 0.0);
        assert_eq!(c.feedback.len(), 1);
    }

    #[test]
    fn structure_is_checked_only_when_the_prompt_asks() {
        assert!(card(STRONG, 140.0, None).structure.is_none());
        let c = card(STRONG, 140.0, Some(Structure::Star));
        assert!(c.structure.is_some());
        assert!(c
            .feedback
            .iter()
            .any(|f| f.contains("Situation, Task, Action, Result")));
    }

    #[test]
    fn overall_follows_the_rubric_weights() {
        let only = |coverage, specificity, pace| Weights {
            coverage,
            specificity,
            pace,
            length: 0.0,
            fillers: 0.0,
            hedges: 0.0,
            delivery: 0.0,
        };
        let delivery = [100.0, 100.0, 100.0, 100.0];
        assert_eq!(
            overall_score(&only(1.0, 0.0, 0.0), [40.0, 0.0], delivery, None, 0),
            40.0
        );
        assert_eq!(
            overall_score(&only(1.0, 0.0, 0.0), [40.0, 0.0], delivery, None, 10),
            20.0
        );
        assert_eq!(
            overall_score(&only(1.0, 1.0, 0.0), [40.0, 80.0], delivery, None, 0),
            60.0
        );
    }

    #[test]
    fn how_it_sounded_counts_only_when_the_audio_was_measured() {
        let w = Weights {
            coverage: 1.0,
            specificity: 0.0,
            pace: 0.0,
            length: 0.0,
            fillers: 0.0,
            hedges: 0.0,
            delivery: 1.0,
        };
        let rest = [100.0; 4];
        // Not measured: the delivery weight drops out and content alone decides.
        assert_eq!(overall_score(&w, [80.0, 0.0], rest, None, 0), 80.0);
        // Measured: it counts, scaled by the content earned like the rest of delivery.
        assert_eq!(overall_score(&w, [80.0, 0.0], rest, Some(100.0), 0), 80.0);
        assert_eq!(overall_score(&w, [80.0, 0.0], rest, Some(50.0), 0), 60.0);
        assert_eq!(overall_score(&w, [0.0, 0.0], rest, Some(100.0), 0), 0.0);
    }

    #[test]
    fn delivery_counts_only_as_far_as_content_earns() {
        let even = Weights {
            coverage: 1.0,
            specificity: 0.0,
            pace: 1.0,
            length: 0.0,
            fillers: 0.0,
            hedges: 0.0,
            delivery: 0.0,
        };
        let perfect_delivery = [100.0, 100.0, 100.0, 100.0];
        // Nothing said: perfect pace earns nothing.
        assert_eq!(
            overall_score(&even, [0.0, 0.0], perfect_delivery, None, 0),
            0.0
        );
        // Half the content: pace earns half its points.
        assert_eq!(
            overall_score(&even, [50.0, 0.0], perfect_delivery, None, 0),
            50.0
        );
        assert_eq!(
            overall_score(&even, [100.0, 0.0], perfect_delivery, None, 0),
            100.0
        );
    }

    #[test]
    fn reciting_the_rubric_scores_low_and_says_why() {
        let recited = card(
            "open connect edge cache and cost, edge cache and cost",
            140.0,
            None,
        );
        assert!(recited
            .coverage
            .concepts
            .iter()
            .all(|c| c.hit && c.credit < 1.0));
        assert!(recited.coverage.score < 50.0, "{}", recited.coverage.score);
        assert_eq!(recited.specificity.count, 0);
        let strong = card(STRONG, 140.0, None);
        assert!(
            strong.overall > recited.overall + 25.0,
            "{} vs {}",
            strong.overall,
            recited.overall
        );
        assert!(
            recited.feedback.iter().any(|f| f.starts_with("Back it up")),
            "{:?}",
            recited.feedback
        );
    }

    #[test]
    fn a_negated_mention_covers_nothing_and_the_feedback_quotes_it() {
        let c = card(
            "we did not use an edge cache at all in 2021, and costs rose 30 percent",
            140.0,
            None,
        );
        let scale = &c.coverage.concepts[0];
        assert!(!scale.hit);
        assert_eq!(scale.rejected[0].stance, Stance::Negated);
        assert!(
            c.feedback
                .iter()
                .any(|f| f.contains("does not count for scale")),
            "{:?}",
            c.feedback
        );
    }

    #[test]
    fn hedges_are_listed_with_their_times() {
        let c = card(&format!("I guess maybe {STRONG} probably"), 140.0, None);
        let texts: Vec<&str> = c.hedges.items.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(texts, ["i guess", "maybe", "probably"]);
        assert!((c.hedges.items[0].at_seconds - 1.0).abs() < 1e-9);
        assert!(c.hedges.per_minute > 1.0);
    }

    #[test]
    fn without_a_meaning_model_the_scorecard_says_phrases_only() {
        let c = card(STRONG, 140.0, None);
        assert!(
            c.coverage.method.starts_with("phrases only"),
            "{}",
            c.coverage.method
        );
        assert!(c
            .coverage
            .concepts
            .iter()
            .all(|k| k.matched_by == Some(MatchedBy::Phrase)));
    }

    #[test]
    fn a_window_close_in_meaning_covers_a_concept_no_phrase_names() {
        let text = "we put boxes inside partner networks near viewers in Brazil";
        let (t, speech) = transcript(text, 140.0);
        let matches = MeaningMatches {
            model: "test-model".into(),
            windows: vec![crate::meaning::WordSpan { first: 0, last: 6 }],
            similarity: vec![vec![0.71], vec![0.1]],
            topic: None,
        };
        let answer = Answer {
            transcript: &t,
            duration_seconds: 10.0,
            speech: &speech,
            meaning: Some(&matches),
            prosody: None,
        };
        let c = score(&prompt(None), answer, &ScoringSettings::default());
        let scale = &c.coverage.concepts[0];
        assert_eq!(scale.matched_by, Some(MatchedBy::Meaning));
        assert_eq!(scale.similarity, Some(0.71));
        assert_eq!(scale.backed_by.as_deref(), Some("Brazil"));
        assert!(!c.coverage.concepts[1].hit);
        assert_eq!(c.coverage.method, "phrases and meaning (test-model)");
    }

    #[test]
    fn the_scorecard_round_trips_through_json() {
        let c = card(STRONG, 140.0, Some(Structure::Star));
        let json = serde_json::to_string(&c).unwrap();
        let back: Scorecard = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}
