//! Concept coverage: whether the answer really does what each rubric concept names.
//!
//! A concept is mentioned by one of its phrases, or by a window of the answer whose meaning
//! comes close enough to it (when the meaning stage ran). A mention counts only when it is
//! stated, not denied, imagined or merely valued; it counts fully only when specifics back it
//! in the same or the next sentence.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::clauses;
use super::mention::{self, Stance};
use super::phrase::{Phrase, PhraseMatch};
use super::specifics::Specific;
use super::text::{Normalizer, Token};
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
    /// A specific near the mention that backs it (its token).
    pub backing: Option<usize>,
}

impl Mention {
    /// 1 when backed, `unbacked_credit` when a phrase is only stated, 0 when it does not count
    /// (an unbacked match by meaning included).
    pub fn credit(&self, unbacked_credit: f64) -> f64 {
        match (self.stance, self.backing) {
            (Stance::Stated, Some(_)) => 1.0,
            // A match by meaning alone is a resemblance; with no detail near it, nothing
            // shows the answer said more than something like the concept.
            (Stance::Stated, None) if self.matched_by == MatchedBy::Phrase => unbacked_credit,
            _ => 0.0,
        }
    }
}

/// What coverage needs to know about the whole answer, computed once.
pub struct AnswerText<'a> {
    pub tokens: &'a [Token],
    pub clauses: Vec<Range<usize>>,
    pub sentences: Vec<Range<usize>>,
    pub specifics: &'a [Specific],
    /// Tokens inside any rubric phrase match: reciting the rubric is not a specific.
    pub rubric_tokens: Vec<bool>,
    /// Whether the prompt asks for something that happened (a story).
    pub story: bool,
}

/// The settings coverage is judged by.
#[derive(Debug, Clone, Copy)]
pub struct CoverageRules {
    /// A window at least this similar to a concept mentions it.
    pub meaning_threshold: f64,
    /// Credit for a stated mention with nothing to back it.
    pub unbacked_credit: f64,
}

impl<'a> AnswerText<'a> {
    pub fn new(
        tokens: &'a [Token],
        specifics: &'a [Specific],
        concepts: &[Concept],
        normalizer: &Normalizer,
        story: bool,
    ) -> Self {
        let mut rubric_tokens = vec![false; tokens.len()];
        for phrase in concepts.iter().flat_map(|c| &c.any) {
            for m in Phrase::new(phrase, normalizer).find_all(tokens) {
                rubric_tokens[m.first_token..=m.last_token].fill(true);
            }
        }
        Self {
            tokens,
            clauses: clauses::clauses(tokens),
            sentences: clauses::sentences(tokens),
            specifics,
            rubric_tokens,
            story,
        }
    }

    /// Every mention of a concept, in the order spoken.
    pub fn mentions(
        &self,
        concept: &Concept,
        meaning: Option<(&MeaningMatches, usize)>,
        rules: &CoverageRules,
        normalizer: &Normalizer,
    ) -> Vec<Mention> {
        let mut found: Vec<Mention> = concept
            .any
            .iter()
            .flat_map(|p| {
                Phrase::new(p, normalizer)
                    .find_all(self.tokens)
                    .into_iter()
                    .map(move |m| (m, p))
            })
            .map(|(m, phrase): (PhraseMatch, &String)| {
                let span = m.first_token..m.last_token + 1;
                let clause = clauses::containing(&self.clauses, m.first_token);
                self.mention(span, clause, MatchedBy::Phrase, Some(phrase.clone()), None)
            })
            .collect();
        if let Some((matches, index)) = meaning {
            for (window, &similarity) in matches.windows.iter().zip(&matches.similarity[index]) {
                if f64::from(similarity) < rules.meaning_threshold {
                    continue;
                }
                let Some(span) = self.token_span(window.first, window.last) else {
                    continue;
                };
                let similarity = Some((f64::from(similarity) * 1000.0).round() / 1000.0);
                // A window may start after the "not" that governs it, or stop before it ("When
                // there was pushback, I | didn't deal with it"): judge it over every clause it
                // touches, whole.
                let clause = clauses::containing(&self.clauses, span.start).start
                    ..clauses::containing(&self.clauses, span.end - 1).end;
                found.push(self.mention(span, clause, MatchedBy::Meaning, None, similarity));
            }
        }
        found.sort_by_key(|m| m.tokens.start);
        found
    }

    /// The mention that earns the most credit, the earliest among equals.
    pub fn best(mentions: &[Mention], unbacked_credit: f64) -> Option<&Mention> {
        mentions.iter().reduce(|best, m| {
            if m.credit(unbacked_credit) > best.credit(unbacked_credit) {
                m
            } else {
                best
            }
        })
    }

    fn mention(
        &self,
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
        let stance = mention::stance(self.tokens, clause, judged, self.story);
        let backing = self.backing(&span);
        Mention {
            tokens: span,
            matched_by,
            phrase,
            similarity,
            stance,
            backing,
        }
    }

    /// A specific in the mention's sentence or the next one, outside the mention itself and
    /// outside any rubric phrase; an action counts only when what it acted on is not the
    /// rubric's wording either ("we found common ground" is the phrase, not a detail).
    fn backing(&self, span: &Range<usize>) -> Option<usize> {
        let first = clauses::containing(&self.sentences, span.start);
        let last = clauses::containing(&self.sentences, span.end.saturating_sub(1).max(span.start));
        let next_end = self
            .sentences
            .iter()
            .find(|s| s.start >= last.end)
            .map_or(last.end, |s| s.end);
        let neighbourhood = first.start..next_end;
        self.specifics
            .iter()
            .filter(|s| s.object.is_none_or(|o| !self.rubric_tokens[o]))
            .map(|s| s.token)
            .find(|&t| neighbourhood.contains(&t) && !span.contains(&t) && !self.rubric_tokens[t])
    }

    /// Token range of transcript words `first..=last`.
    fn token_span(&self, first: usize, last: usize) -> Option<Range<usize>> {
        let start = self.tokens.iter().position(|t| t.word_index >= first)?;
        let end = self.tokens.iter().rposition(|t| t.word_index <= last)? + 1;
        (start < end).then_some(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::specifics;
    use super::*;
    use crate::meaning::WordSpan;

    fn concept(any: &[&str]) -> Concept {
        Concept {
            name: "ownership".into(),
            any: any.iter().map(|s| s.to_string()).collect(),
            weight: 1.0,
            follow_up: None,
            means: None,
        }
    }

    const RULES: CoverageRules = CoverageRules {
        meaning_threshold: 0.5,
        unbacked_credit: 0.5,
    };

    /// Meaning matches of one window, words `first..=last`, to the one concept.
    fn one_window(first: usize, last: usize, similarity: f32) -> MeaningMatches {
        MeaningMatches {
            model: "test".into(),
            windows: vec![WordSpan { first, last }],
            similarity: vec![vec![similarity]],
        }
    }

    fn best_credit(answer: &str, any: &[&str], meaning: Option<&MeaningMatches>) -> f64 {
        let n = Normalizer::default();
        let words: Vec<&str> = answer.split_whitespace().collect();
        let tokens = n.tokenize(words.iter().copied());
        let found = specifics::find(&tokens, &words, &[]);
        let c = concept(any);
        let text = AnswerText::new(&tokens, &found, std::slice::from_ref(&c), &n, true);
        let mentions = text.mentions(&c, meaning.map(|m| (m, 0)), &RULES, &n);
        AnswerText::best(&mentions, 0.5).map_or(0.0, |m| m.credit(0.5))
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
    fn a_phrase_backed_by_specifics_earns_full_credit() {
        let answer =
            "I took ownership of it. I called our director on Monday and refunded 300 members.";
        assert_eq!(best_credit(answer, &["took ownership"], None), 1.0);
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
        assert_eq!(
            best_credit(answer, &["took ownership"], Some(&matches)),
            1.0
        );
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
        let told = "We had a different view. We rebuilt the onboarding test in two days.";
        assert_eq!(best_credit(told, &["different view"], None), 1.0);
    }

    #[test]
    fn a_meaning_window_is_denied_by_a_not_later_in_its_clause() {
        let answer = "When there was pushback, I didn't really deal with it myself in 2021.";
        let matches = one_window(0, 4, 0.62);
        assert_eq!(best_credit(answer, &["resolved it"], Some(&matches)), 0.0);
        let stated = "When there was pushback, I met them on Monday in 2021.";
        assert_eq!(best_credit(stated, &["resolved it"], Some(&matches)), 1.0);
    }

    #[test]
    fn a_meaning_match_with_nothing_behind_it_earns_nothing() {
        let answer = "I owned it with my director and we talked it through.";
        let matches = one_window(0, 5, 0.62);
        assert_eq!(
            best_credit(answer, &["took ownership"], Some(&matches)),
            0.0
        );
        assert_eq!(
            best_credit("I took ownership.", &["took ownership"], None),
            0.5
        );
    }
}
