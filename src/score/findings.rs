//! Findings: what each rule found wrong (or right) with an answer, with the points it cost,
//! ranked. The scorecard's feedback is the top of this list; nothing else decides the order.

use serde::{Deserialize, Serialize};

use super::{delivery, ConceptResult, Scorecard, AVOID_PENALTY};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    NothingHeard,
    OffTopic,
    KeywordList,
    SaysLittle,
    Avoided,
    MissedConcepts,
    Unbacked,
    Thin,
    NotCounted,
    Vague,
    Hedged,
    TooFast,
    TooSlow,
    Rushed,
    TooShort,
    TooLong,
    Fillers,
    Pause,
    Delivery,
    NoStory,
    StoryOrder,
    AllGood,
}

/// One thing a rule found: its kind, the overall points it cost (its rank), the advice, and
/// where in the answer it is when that is one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Overall points the problem cost, or how much it matters: findings rank by it.
    pub points: f64,
    pub reason: String,
    /// Where in the answer it is, when it is one place: from and to, in seconds.
    #[serde(default)]
    pub span: Option<[f64; 2]>,
}

impl Finding {
    pub fn new(kind: FindingKind, points: f64, reason: impl Into<String>) -> Self {
        Self {
            kind,
            points: (points * 10.0).round() / 10.0,
            reason: reason.into(),
            span: None,
        }
    }

    /// The same finding, placed in the answer.
    pub fn at(mut self, from: f64, to: f64) -> Self {
        self.span = Some([from, to.max(from)]);
        self
    }
}

/// What the answer-level rules found: an answer to another question, a keyword list, too
/// little said. Each costs the content it took away.
fn substance_findings(
    card: &Scorecard,
    question: &str,
    cost: impl Fn(f64, f64) -> f64,
) -> Vec<Finding> {
    let w = card.weights;
    let content = cost(w.coverage, 100.0 - card.coverage.score)
        + cost(w.specificity, 100.0 - card.specificity.score);
    let mut found = Vec::new();
    if let Some(topic) = card.topic.as_ref().filter(|t| t.off_topic) {
        found.push(Finding::new(
            FindingKind::OffTopic,
            60.0 + content * (1.0 - topic.factor),
            format!(
                "This sounds like an answer to another question (\"{}\"), so its concepts do not count. Answer the one asked: \"{question}\"",
                topic.closest_text
            ),
        ));
    }
    let s = &card.substance;
    if s.reads_as_list {
        found.push(Finding::new(
            FindingKind::KeywordList,
            55.0 + content * (1.0 - s.content_factor),
            format!(
                "This reads as a list of keywords: {} of the rubric's phrases with {} words of your own between them. Tell what happened: the situation, what you did, and what changed, with the details that tie it together.",
                s.rubric_phrases, s.own_words
            ),
        ));
    } else if s.says_little {
        found.push(Finding::new(
            FindingKind::SaysLittle,
            40.0 + content * (1.0 - s.content_factor),
            format!(
                "Too little to judge: {} words of your own in {:.0} seconds. Walk through what happened, what you did and what came of it.",
                s.own_words, card.speaking_seconds
            ),
        ));
    }
    found
}

/// How high a delivery flag ranks among the advice. A voice too quiet or clipped threatens the
/// whole answer (Whisper mishears it), so the microphone comes first; the rest rank by the
/// points they cost, lifted a little so they are heard when content is sound.
fn delivery_priority(kind: delivery::FlagKind, cost: impl Fn(f64) -> f64) -> f64 {
    use delivery::FlagKind::*;
    match kind {
        TooQuiet => 45.0,
        Clipping => 30.0,
        Monotone | TrailingOff => 3.0 + cost(70.0),
        Repeated => 2.0 + cost(90.0),
    }
}

/// Plain-language advice, ranked by how many overall points each problem costs.
pub fn rank(card: &Scorecard, question: &str, said_anything: bool) -> Vec<Finding> {
    if card.word_count == 0 {
        return vec![Finding::new(
            FindingKind::NothingHeard,
            100.0,
            "No words were heard. Check the microphone or the recording, then answer aloud.",
        )];
    }
    let w = card.weights;
    let total: f64 = w.as_array().iter().sum();
    let cost = |weight: f64, score: f64| weight / total * (100.0 - score);
    let mut lines: Vec<Finding> = substance_findings(card, question, cost);

    for avoid in &card.avoided {
        lines.push(
            Finding::new(
                FindingKind::Avoided,
                AVOID_PENALTY + 50.0,
                format!("You said \"{}\": {}", avoid.evidence, avoid.why),
            )
            .at(avoid.at_seconds, avoid.at_seconds),
        );
    }
    let missed: Vec<&ConceptResult> = card.coverage.concepts.iter().filter(|c| !c.hit).collect();
    if !missed.is_empty() {
        let concept_total: f64 = card.coverage.concepts.iter().map(|c| c.weight).sum();
        let names: Vec<&str> = missed.iter().map(|c| c.name.as_str()).collect();
        let weight: f64 = missed.iter().map(|c| c.weight).sum();
        lines.push(Finding::new(
            FindingKind::MissedConcepts,
            cost(w.coverage, 100.0 - 100.0 * weight / concept_total),
            format!(
                "Name the ideas a strong answer covers: {}.",
                names.join(", ")
            ),
        ));
    }
    let concept_total: f64 = card.coverage.concepts.iter().map(|c| c.weight).sum();
    let short_of = |backed: bool| -> Vec<&ConceptResult> {
        card.coverage
            .concepts
            .iter()
            .filter(|c| c.hit && c.credit < 1.0 && c.backed_by.is_some() == backed)
            .collect()
    };
    let lost = |concepts: &[&ConceptResult]| -> f64 {
        let lost: f64 = concepts.iter().map(|c| c.weight * (1.0 - c.credit)).sum();
        cost(w.coverage, 100.0 - 100.0 * lost / concept_total)
    };
    let names = |concepts: &[&ConceptResult]| -> String {
        concepts
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (backed, kind, advice) in [
        (
            false,
            FindingKind::Unbacked,
            "Back it up: you named {} but gave nothing concrete; say what you did, with a number, a name or a result.",
        ),
        (
            true,
            FindingKind::Thin,
            "Say more about {}: a detail is there, but little of what you did, how, or why.",
        ),
    ] {
        let short = short_of(backed);
        if !short.is_empty() {
            lines.push(Finding::new(
                kind,
                lost(&short),
                advice.replace("{}", &names(&short)),
            ));
        }
    }
    if let Some((concept, rejected)) = card
        .coverage
        .concepts
        .iter()
        .filter(|c| !c.hit)
        .find_map(|c| c.rejected.first().map(|r| (c, r)))
    {
        lines.push(
            Finding::new(
                FindingKind::NotCounted,
                cost(w.coverage, 100.0 - 100.0 * concept.weight / concept_total) + 1.0,
                format!(
                    "\"{}\" does not count for {}: it is {}.",
                    rejected.evidence, concept.name, rejected.why
                ),
            )
            .at(rejected.at_seconds, rejected.at_seconds),
        );
    }
    if card.specificity.score < 100.0 {
        lines.push(Finding::new(
            FindingKind::Vague,
            cost(w.specificity, card.specificity.score),
            format!(
                "Be specific: {} concrete details in {:.0} seconds. Give numbers, names, dates and what changed as a result.",
                card.specificity.count, card.speaking_seconds
            ),
        ));
    }
    if card.hedges.score < 100.0 {
        let mut seen: Vec<&str> = Vec::new();
        for item in &card.hedges.items {
            if !seen.contains(&item.text.as_str()) {
                seen.push(&item.text);
            }
        }
        lines.push(Finding::new(
            FindingKind::Hedged,
            cost(w.hedges, card.hedges.score),
            format!(
                "Commit to it: you hedged {} times (\"{}\"). Say what you did and what you recommend, plainly.",
                card.hedges.count,
                seen.into_iter().take(3).collect::<Vec<_>>().join("\", \"")
            ),
        ));
    }
    let [low, high] = card.pace.target;
    if card.wpm > high {
        lines.push(Finding::new(
            FindingKind::TooFast,
            cost(w.pace, card.pace.score),
            format!(
                "Slow down: {:.0} words a minute is faster than the {low:.0} to {high:.0} listeners follow best.",
                card.wpm
            ),
        ));
    } else if card.wpm < low {
        lines.push(Finding::new(
            FindingKind::TooSlow,
            cost(w.pace, card.pace.score),
            format!(
                "Pick up the pace: {:.0} words a minute is slower than the {low:.0} to {high:.0} target.",
                card.wpm
            ),
        ));
    }
    if let Some(fast) = card.pace.curve.iter().find(|p| p.wpm > high * 1.15) {
        lines.push(
            Finding::new(
                FindingKind::Rushed,
                cost(w.pace, 80.0),
                format!(
                    "You rushed from {:.0}s to {:.0}s ({:.0} words a minute); breathe there.",
                    fast.start_seconds, fast.end_seconds, fast.wpm
                ),
            )
            .at(fast.start_seconds, fast.end_seconds),
        );
    }
    let [min, max] = card.length.target_seconds;
    if card.speaking_seconds < min {
        lines.push(Finding::new(
            FindingKind::TooShort,
            cost(w.length, card.length.score),
            format!(
                "Say more: you spoke for {:.0} seconds; aim for {min:.0} to {max:.0}.",
                card.speaking_seconds
            ),
        ));
    } else if card.speaking_seconds > max {
        lines.push(Finding::new(
            FindingKind::TooLong,
            cost(w.length, card.length.score),
            format!(
                "Tighten it: you spoke for {:.0} seconds; aim for {min:.0} to {max:.0}.",
                card.speaking_seconds
            ),
        ));
    }
    if card.fillers.score < 100.0 {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for item in &card.fillers.items {
            match counts.iter_mut().find(|(w, _)| *w == item.word) {
                Some((_, n)) => *n += 1,
                None => counts.push((&item.word, 1)),
            }
        }
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        lines.push(Finding::new(
            FindingKind::Fillers,
            cost(w.fillers, card.fillers.score),
            format!(
                "Cut the fillers: {:.1} a minute, most often \"{}\". A silent pause sounds surer.",
                card.fillers.per_minute, counts[0].0
            ),
        ));
    }
    if let Some(longest) = card
        .pauses
        .iter()
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
    {
        lines.push(Finding::new(
            FindingKind::Pause,
            1.0 + longest.seconds.min(10.0),
            format!(
                "A {:.1}-second silence at {:.0}s: signpost while you think (\"Let me take the second part first\").",
                longest.seconds, longest.at_seconds
            ),
        ).at(longest.at_seconds, longest.at_seconds + longest.seconds));
    }
    for flag in &card.delivery.flags {
        lines.push(Finding::new(
            FindingKind::Delivery,
            delivery_priority(flag.kind, |score| cost(w.delivery, score)),
            flag.advice.clone(),
        ));
    }
    if let Some(structure) = &card.structure {
        let missing: Vec<&str> = structure
            .parts
            .iter()
            .filter(|p| !p.found)
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            lines.push(Finding::new(
                FindingKind::NoStory,
                8.0,
                format!(
                    "Tell it as a story (Situation, Task, Action, Result); no clear {} was heard.",
                    missing.join(" or ")
                ),
            ));
        } else if !structure.in_order {
            lines.push(Finding::new(
                FindingKind::StoryOrder,
                5.0,
                "Keep the story in order: situation and task first, the result last.",
            ));
        }
    }
    if lines.is_empty() && said_anything {
        lines.push(Finding::new(
            FindingKind::AllGood,
            0.0,
            "A strong answer: on time, on pace, and it named every key idea.",
        ));
    }
    lines.sort_by(|a, b| b.points.total_cmp(&a.points));
    lines
}
