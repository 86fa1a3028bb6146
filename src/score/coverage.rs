//! Concept coverage: whether the answer really does what each rubric concept names.
//!
//! A concept is mentioned by one of its phrases, or by a window of the answer whose meaning
//! comes close enough to it (when the meaning stage ran). A mention counts only when it is
//! stated, not denied, imagined or merely valued; it counts fully only when a detail backs it
//! in its own clause or the next, and the answer says enough about it in its own words.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::document::Document;
use super::mention::{self, Stance};
use crate::bank::Concept;
use crate::meaning::MeaningMatches;

/// How a concept was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    Phrase,
    Meaning,
}

/// One place the answer touched a concept.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub tokens: Range<usize>,
    pub matched_by: MatchedBy,
    /// The rubric phrase, for a phrase match.
    pub phrase: Option<String>,
    /// Cosine similarity, for a meaning match.
    pub similarity: Option<f64>,
    pub stance: Stance,
    /// The clauses whose details may back the mention: its own and the one right after.
    pub reach: Range<usize>,
    /// The entity that backs it (its index in the document), given to one concept only.
    pub backing: Option<usize>,
    /// Distinct words of the speaker's own within reach: what the answer says about the
    /// concept beyond naming it.
    pub own_words: usize,
}

impl Mention {
    /// What the mention earns of its concept's weight, 0 to 1. A stated mention with a detail
    /// behind it earns half, and the other half grows with what is said about it in the
    /// speaker's own words; a phrase with nothing behind it earns `unbacked_credit`; a match by
    /// meaning with nothing behind it earns nothing, since a resemblance alone does not show
    /// the answer said more than something like the concept. Not stated: nothing.
    pub fn credit(&self, rules: &CoverageRules) -> f64 {
        if self.stance != Stance::Stated {
            return 0.0;
        }
        let said = (self.own_words as f64 / rules.own_words_full).min(1.0);
        match (self.backing, self.matched_by) {
            (Some(_), _) => 0.5 + 0.5 * said,
            (None, MatchedBy::Phrase) => rules.unbacked_credit,
            (None, MatchedBy::Meaning) => 0.5 * said,
        }
    }
}

/// The settings coverage is judged by.
#[derive(Debug, Clone, Copy)]
pub struct CoverageRules {
    /// A window at least this similar to a concept mentions it.
    pub meaning_threshold: f64,
    /// Credit for a stated mention with nothing to back it.
    pub unbacked_credit: f64,
    /// Own words about a concept, within a mention's reach, that earn it full credit.
    pub own_words_full: f64,
}

/// One concept as the answer covered it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptCoverage {
    /// Every mention, in the order spoken.
    pub mentions: Vec<Mention>,
    /// The index of the mention that earns the most, if any earns anything.
    pub best: Option<usize>,
    pub credit: f64,
}

/// Judges every concept of the rubric: finds its mentions, their stance and reach, hands each
/// detail of the answer to one concept only, and keeps each concept's best mention.
pub fn judge(
    doc: &Document,
    concepts: &[Concept],
    meaning: Option<&MeaningMatches>,
    rules: &CoverageRules,
) -> Vec<ConceptCoverage> {
    let meaning = meaning.filter(|m| m.similarity.len() == concepts.len());
    let mut all: Vec<Vec<Mention>> = (0..concepts.len())
        .map(|index| mentions(doc, index, meaning, rules))
        .collect();
    assign_backing(doc, &mut all);
    all.into_iter()
        .map(|mentions| {
            let best = mentions
                .iter()
                .enumerate()
                .filter(|(_, m)| m.credit(rules) > 0.0)
                .reduce(|best, m| {
                    if m.1.credit(rules) > best.1.credit(rules) {
                        m
                    } else {
                        best
                    }
                })
                .map(|(i, _)| i);
            let credit = best.map_or(0.0, |i| mentions[i].credit(rules));
            ConceptCoverage {
                mentions,
                best,
                credit,
            }
        })
        .collect()
}

/// Every mention of concept `index`, by phrase and by meaning, in the order spoken.
fn mentions(
    doc: &Document,
    index: usize,
    meaning: Option<&MeaningMatches>,
    rules: &CoverageRules,
) -> Vec<Mention> {
    let mut found: Vec<Mention> = doc
        .rubric
        .iter()
        .filter(|r| r.concept == index)
        .map(|r| {
            let clause = doc.clauses[doc.clause_of(r.tokens.start)].clone();
            mention(
                doc,
                r.tokens.clone(),
                clause,
                MatchedBy::Phrase,
                Some(r.phrase.clone()),
                None,
            )
        })
        .collect();
    if let Some(matches) = meaning {
        for (window, &similarity) in matches.windows.iter().zip(&matches.similarity[index]) {
            if f64::from(similarity) < rules.meaning_threshold {
                continue;
            }
            let Some(span) = doc.token_span(window.first, window.last) else {
                continue;
            };
            let similarity = Some((f64::from(similarity) * 1000.0).round() / 1000.0);
            // A window may start after the "not" that governs it, or stop before it ("When
            // there was pushback, I | didn't deal with it"): judge it over every clause it
            // touches, whole.
            let clause = doc.clauses[doc.clause_of(span.start)].start
                ..doc.clauses[doc.clause_of(span.end - 1)].end;
            found.push(mention(
                doc,
                span,
                clause,
                MatchedBy::Meaning,
                None,
                similarity,
            ));
        }
    }
    found.sort_by_key(|m| m.tokens.start);
    found
}

fn mention(
    doc: &Document,
    span: Range<usize>,
    clause: Range<usize>,
    matched_by: MatchedBy,
    phrase: Option<String>,
    similarity: Option<f64>,
) -> Mention {
    // A window's meaning may lie in the rest of its clause, so a "not" there counts too;
    // a phrase is judged only up to its own last word ("I took ownership, not the vendor").
    let judged = match matched_by {
        MatchedBy::Phrase => span.clone(),
        MatchedBy::Meaning => span.start..clause.end.max(span.end),
    };
    let stance = mention::stance(&doc.tokens, clause.clone(), judged, doc.story);
    let last_clause = doc.clause_of(clause.end.saturating_sub(1).max(clause.start));
    let reach_end = doc
        .clauses
        .get(last_clause + 1)
        .map_or(clause.end, |next| next.end);
    let reach = clause.start.min(span.start)..reach_end.max(span.end);
    Mention {
        own_words: doc.own_stems(reach.clone()).len(),
        tokens: span,
        matched_by,
        phrase,
        similarity,
        stance,
        reach,
        backing: None,
    }
}

/// Gives each detail to one concept at most: concepts in the order they were first stated,
/// each taking the first free entity within reach of one of its stated mentions. An entity
/// backs only a mention of its own stance: "though nothing improved" backs nothing.
fn assign_backing(doc: &Document, all: &mut [Vec<Mention>]) {
    let usable: Vec<bool> = doc
        .entities
        .iter()
        .map(|e| {
            let own_object = e.object.is_none_or(|o| !doc.rubric_tokens[o]);
            let outside_rubric = !e.tokens.clone().any(|t| doc.rubric_tokens[t]);
            own_object
                && outside_rubric
                && doc.clause_stances[doc.clause_of(e.tokens.start)] == Stance::Stated
        })
        .collect();
    let mut taken = vec![false; doc.entities.len()];
    let mut order: Vec<usize> = (0..all.len()).collect();
    let first_stated = |mentions: &[Mention]| {
        mentions
            .iter()
            .filter(|m| m.stance == Stance::Stated)
            .map(|m| m.tokens.start)
            .min()
            .unwrap_or(usize::MAX)
    };
    order.sort_by_key(|&c| first_stated(&all[c]));
    for c in order {
        for m in all[c].iter_mut().filter(|m| m.stance == Stance::Stated) {
            let free = (0..doc.entities.len()).find(|&e| {
                let tokens = &doc.entities[e].tokens;
                usable[e]
                    && !taken[e]
                    && m.reach.contains(&tokens.start)
                    && !m.tokens.contains(&tokens.start)
            });
            if let Some(e) = free {
                taken[e] = true;
                m.backing = Some(e);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meaning::WordSpan;
    use crate::score::document::tests::words;
    use crate::score::tests_support::prompt_with;
    use crate::score::text::Normalizer;

    const RULES: CoverageRules = CoverageRules {
        meaning_threshold: 0.5,
        unbacked_credit: 0.5,
        own_words_full: 3.0,
    };

    /// Meaning matches of one window, words `first..=last`, to the one concept.
    fn one_window(first: usize, last: usize, similarity: f32) -> MeaningMatches {
        MeaningMatches {
            model: "test".into(),
            topic: None,
            windows: vec![WordSpan { first, last }],
            similarity: vec![vec![similarity]],
        }
    }

    fn credits(
        answer: &str,
        concepts: &[(&str, &[&str])],
        meaning: Option<&MeaningMatches>,
    ) -> Vec<f64> {
        let prompt = prompt_with(concepts);
        let w = words(answer);
        let doc = Document::new(&prompt, &w, &Normalizer::default());
        judge(&doc, &prompt.rubric.concepts, meaning, &RULES)
            .into_iter()
            .map(|c| c.credit)
            .collect()
    }

    fn best_credit(answer: &str, any: &[&str], meaning: Option<&MeaningMatches>) -> f64 {
        credits(answer, &[("ownership", any)], meaning)[0]
    }

    #[test]
    fn a_recited_phrase_earns_partial_credit() {
        assert_eq!(
            best_credit(
                "I took ownership. It was my call.",
                &["took ownership"],
                None
            ),
            0.5
        );
    }

    #[test]
    fn a_phrase_backed_by_a_detail_and_told_earns_full_credit() {
        let answer = "I took ownership of it, I called our regional director on Monday and refunded 300 members.";
        assert_eq!(best_credit(answer, &["took ownership"], None), 1.0);
    }

    #[test]
    fn a_detail_with_little_said_around_it_earns_half_and_a_little() {
        let credit = best_credit("I took ownership, 37 percent.", &["took ownership"], None);
        assert_eq!(credit, 0.5);
    }

    #[test]
    fn a_detail_backs_one_concept_only() {
        let prompt = prompt_with(&[
            ("ownership", &["took ownership"]),
            ("review", &["post mortem"]),
        ]);
        let w = words("I took ownership and ran the post mortem in 2019.");
        let doc = Document::new(&prompt, &w, &Normalizer::default());
        let judged = judge(&doc, &prompt.rubric.concepts, None, &RULES);
        let backed: Vec<usize> = judged
            .iter()
            .filter_map(|c| c.best.and_then(|b| c.mentions[b].backing))
            .collect();
        assert_eq!(backed.len(), 1, "{judged:?}");
    }

    #[test]
    fn a_detail_two_clauses_away_backs_nothing() {
        let answer = "I took ownership. Later on, it went fine, and churn fell 12 percent.";
        assert_eq!(best_credit(answer, &["took ownership"], None), 0.5);
    }

    #[test]
    fn a_denied_detail_backs_nothing() {
        let answer = "I took ownership, though nothing improved by 2019.";
        assert_eq!(best_credit(answer, &["took ownership"], None), 0.5);
    }

    #[test]
    fn a_negated_phrase_earns_nothing() {
        let answer = "I didn't really take ownership of the 2019 launch.";
        assert_eq!(best_credit(answer, &["take ownership"], None), 0.0);
    }

    #[test]
    fn a_meaning_window_above_the_threshold_is_a_mention() {
        let answer = "I owned it with my director and we refunded 300 members that week.";
        let matches = one_window(0, 5, 0.62);
        assert!(best_credit(answer, &["took ownership"], Some(&matches)) >= 0.5);
        let weak = MeaningMatches {
            similarity: vec![vec![0.3]],
            ..matches
        };
        assert_eq!(best_credit(answer, &["took ownership"], Some(&weak)), 0.0);
    }

    #[test]
    fn an_action_on_the_rubrics_own_words_backs_nothing() {
        let recited = "We had a different view. We found common ground.";
        assert_eq!(
            best_credit(recited, &["different view", "common ground"], None),
            0.5
        );
        let told = "We had a different view, so we rebuilt the onboarding test in two days.";
        assert!(best_credit(told, &["different view"], None) > 0.5);
    }

    #[test]
    fn a_meaning_window_is_denied_by_a_not_later_in_its_clause() {
        let answer = "When there was pushback, I didn't really deal with it myself in 2021.";
        let matches = one_window(0, 4, 0.62);
        assert_eq!(best_credit(answer, &["resolved it"], Some(&matches)), 0.0);
        let stated = "When there was pushback, I met them on Monday in 2021.";
        assert!(best_credit(stated, &["resolved it"], Some(&matches)) >= 0.5);
    }

    #[test]
    fn a_meaning_match_with_no_detail_earns_only_for_what_it_says() {
        let told = "I owned it with my director and we talked it through.";
        let matches = one_window(0, 5, 0.62);
        let credit = best_credit(told, &["took ownership"], Some(&matches));
        assert!(credit > 0.0 && credit <= 0.5, "{credit}");
        let bare = "I did it all, it was on me.";
        assert_eq!(
            best_credit(bare, &["took ownership"], Some(&one_window(0, 3, 0.62))),
            0.0
        );
    }
}
