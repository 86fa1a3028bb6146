//! What a mention of a concept is worth: said as done, denied ("I didn't really…"), only
//! imagined ("I would…"), or only held as a value ("I think X is important").

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::lexicon;
use super::text::Token;

/// How a mention of a concept stands in its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Said as something that is or was done.
    Stated,
    /// Denied: "I didn't really take ownership", "we never ran a retrospective".
    Negated,
    /// Only imagined, in a story that should say what happened: "I would take ownership".
    Hypothetical,
    /// Only a value held: "I think ownership is really important".
    ValueOnly,
    /// A habit told in general, in a story that should say what happened once: "I always
    /// think long term", "you have to trust people".
    Habitual,
    /// Done by someone else, in a story about what the speaker did: "she made the decision".
    SomeoneElse,
}

impl Stance {
    /// Why a mention of this stance covers nothing, for the scorecard.
    pub fn reason(self) -> &'static str {
        match self {
            Stance::Stated => "stated",
            Stance::Negated => "negated",
            Stance::Hypothetical => "hypothetical: says what you would do, not what you did",
            Stance::ValueOnly => "a stated value, not something done",
            Stance::Habitual => "a general habit, not what happened that time",
            Stance::SomeoneElse => "done by someone else, not by you",
        }
    }
}

/// How many tokens before a mention a rejector may stand.
const REJECTOR_REACH: usize = 3;

/// The stance of the mention at `span` inside `clause`. `story` says whether the prompt asks
/// for something that happened, where "would" means it did not.
pub fn stance(tokens: &[Token], clause: Range<usize>, span: Range<usize>, story: bool) -> Stance {
    let scope_start = negation_scope_start(tokens, clause.start);
    let before_and_inside = &tokens[scope_start..span.end.min(clause.end).max(clause.start)];
    if before_and_inside
        .iter()
        .any(|t| lexicon::NEGATORS.contains(&t.norm.as_str()))
    {
        return Stance::Negated;
    }
    let reach = &tokens[span.start.saturating_sub(REJECTOR_REACH).max(clause.start)..span.start];
    if reach
        .iter()
        .any(|t| lexicon::REJECTORS.contains(&t.norm.as_str()))
    {
        return Stance::Negated;
    }
    let whole = &tokens[clause.clone()];
    if is_value_statement(whole) {
        return Stance::ValueOnly;
    }
    if story && (0..whole.len()).any(|i| is_modal(whole, i)) {
        return Stance::Hypothetical;
    }
    if story && done_by_someone_else(tokens, clause.start, span.start) {
        return Stance::SomeoneElse;
    }
    // "since then" opens a clause of its own; the habit it dates is in the next one.
    let lead_in = &tokens[clause.start.saturating_sub(2)..clause.start];
    if story && is_habit(whole, lead_in) {
        return Stance::Habitual;
    }
    Stance::Stated
}

/// Where the "not" that may deny a clause can stand: its own start, or the start of the clause
/// before when this one goes on with "or" or "nor".
fn negation_scope_start(tokens: &[Token], clause_start: usize) -> usize {
    let continues = tokens
        .get(clause_start)
        .is_some_and(|t| lexicon::CONTINUERS.contains(&t.norm.as_str()));
    if !continues || clause_start == 0 {
        return clause_start;
    }
    let mut start = clause_start - 1;
    while start > 0 && tokens[start - 1].punct_after.is_none() {
        start -= 1;
    }
    start
}

/// Whether the word before the mention, past an adverb or two, is "she", "he" or "they".
fn done_by_someone_else(tokens: &[Token], clause_start: usize, mention_start: usize) -> bool {
    let mut i = mention_start;
    while i > clause_start && lexicon::ADVERBS_BEFORE_VERB.contains(&tokens[i - 1].norm.as_str()) {
        i -= 1;
    }
    i > clause_start && lexicon::OTHER_DOERS.contains(&tokens[i - 1].norm.as_str())
}

/// Whether the word at `i` makes its clause about what might be: a modal, or "I'd" that
/// stands for "I would" (not "I had", which a past participle follows, maybe after an adverb).
fn is_modal(clause: &[Token], i: usize) -> bool {
    let word = clause[i].norm.as_str();
    if !lexicon::MODALS.contains(&word) {
        return false;
    }
    if !lexicon::WOULD_OR_HAD.contains(&word) {
        return true;
    }
    let next = clause[i + 1..].iter().map(|t| t.norm.as_str()).find(|w| {
        !matches!(
            *w,
            "already" | "just" | "also" | "never" | "really" | "even"
        )
    });
    !next.is_some_and(|w| {
        (w.len() > 4 && w.ends_with("ed")) || lexicon::IRREGULAR_PARTICIPLES.contains(&w)
    })
}

/// A clause that tells a habit or a general rule, not dated from the story (in the clause or
/// in the two words that lead into it).
fn is_habit(clause: &[Token], lead_in: &[Token]) -> bool {
    let words: Vec<&str> = clause.iter().map(|t| t.norm.as_str()).collect();
    let dated = lead_in
        .iter()
        .chain(clause)
        .any(|t| lexicon::SINCE_THE_STORY.contains(&t.norm.as_str()));
    let habitual = words.iter().any(|w| lexicon::HABITUAL.contains(w))
        || words
            .windows(2)
            .any(|pair| lexicon::GENERAL_RULES.contains(&(pair[0], pair[1])));
    habitual && !dated
}

fn is_value_statement(clause: &[Token]) -> bool {
    let words: Vec<&str> = clause.iter().map(|t| t.norm.as_str()).collect();
    let copula_value = words.windows(2).chain(words.windows(3)).any(|w| {
        lexicon::COPULAS.contains(&w[0])
            && w[1..].iter().enumerate().all(|(i, word)| {
                let last = i == w.len() - 2;
                if last {
                    lexicon::VALUE_ADJECTIVES.contains(word)
                } else {
                    matches!(
                        *word,
                        "really" | "very" | "so" | "super" | "most" | "extremely"
                    )
                }
            })
    });
    let value_verb = words.iter().enumerate().any(|(i, word)| {
        lexicon::VALUE_VERBS.iter().any(|(verb, then)| {
            *word == *verb && (then.is_empty() || words.get(i + 1) == Some(then))
        })
    });
    copula_value || value_verb
}

#[cfg(test)]
mod tests {
    use super::super::clauses;
    use super::super::phrase::Phrase;
    use super::super::text::Normalizer;
    use super::*;

    /// The stance of `phrase`'s first match in `answer`.
    fn stance_of(answer: &str, phrase: &str, story: bool) -> Stance {
        let n = Normalizer::default();
        let tokens = n.tokenize_text(answer);
        let m = Phrase::new(phrase, &n)
            .find(&tokens)
            .expect("phrase present");
        let clause = clauses::containing(&clauses::clauses(&tokens), m.first_token);
        stance(&tokens, clause, m.first_token..m.last_token + 1, story)
    }

    #[test]
    fn a_plain_past_action_is_stated() {
        assert_eq!(
            stance_of(
                "I took ownership of the miss with my director",
                "took ownership",
                true
            ),
            Stance::Stated
        );
    }

    #[test]
    fn a_denied_mention_is_negated() {
        assert_eq!(
            stance_of(
                "I didn't really take ownership of it",
                "take ownership",
                true
            ),
            Stance::Negated
        );
        assert_eq!(
            stance_of("we never ran a post mortem", "post mortem", true),
            Stance::Negated
        );
        assert_eq!(
            stance_of(
                "I do not really reverse decisions",
                "reverse decisions",
                false
            ),
            Stance::Negated
        );
    }

    #[test]
    fn a_negation_does_not_reach_past_but() {
        assert_eq!(
            stance_of(
                "I didn't wait, but I took ownership",
                "took ownership",
                true
            ),
            Stance::Stated
        );
    }

    #[test]
    fn without_is_not_a_negation() {
        assert_eq!(
            stance_of(
                "I made the call without waiting for sign off",
                "made the call",
                true
            ),
            Stance::Stated
        );
    }

    #[test]
    fn rather_than_rejects_what_follows() {
        assert_eq!(
            stance_of(
                "rather than blame the vendor I fixed it",
                "blame the vendor",
                true
            ),
            Stance::Negated
        );
    }

    #[test]
    fn would_is_hypothetical_only_in_a_story() {
        assert_eq!(
            stance_of("I would take ownership of it", "take ownership", true),
            Stance::Hypothetical
        );
        assert_eq!(
            stance_of("we would cache the catalog at the edge", "cache", false),
            Stance::Stated
        );
    }

    #[test]
    fn a_stated_value_is_value_only() {
        assert_eq!(
            stance_of("I think ownership is really important", "ownership", true),
            Stance::ValueOnly
        );
        assert_eq!(
            stance_of("I believe in candor with my team", "candor", true),
            Stance::ValueOnly
        );
        assert_eq!(
            stance_of(
                "the key metric was rebuffering per region",
                "rebuffering",
                false
            ),
            Stance::Stated,
            "key before a noun is not a value statement"
        );
    }

    #[test]
    fn a_habit_told_in_a_story_is_not_what_happened() {
        assert_eq!(
            stance_of("I always think long term about trust", "long term", true),
            Stance::Habitual
        );
        assert_eq!(
            stance_of("you have to trust people to decide", "trust people", true),
            Stance::Habitual
        );
        assert_eq!(
            stance_of("I try to give my team ownership", "ownership", true),
            Stance::Habitual
        );
    }

    #[test]
    fn a_habit_dated_from_the_story_is_its_lesson() {
        assert_eq!(
            stance_of(
                "since then I always run a pricing test",
                "pricing test",
                true
            ),
            Stance::Stated
        );
        assert_eq!(
            stance_of(
                "I tried to reach the vendor that night",
                "reach the vendor",
                true
            ),
            Stance::Stated,
            "tried is one attempt, not a habit"
        );
    }

    #[test]
    fn a_habit_answers_a_question_that_asks_for_no_story() {
        assert_eq!(
            stance_of(
                "the edge cache usually serves the file",
                "edge cache",
                false
            ),
            Stance::Stated
        );
    }

    #[test]
    fn or_goes_on_with_the_not_before_it() {
        assert_eq!(
            stance_of(
                "I didn't write a brief, or run any weekly sync",
                "weekly sync",
                true
            ),
            Stance::Negated
        );
        assert_eq!(
            stance_of(
                "We met on Monday, or ran a weekly sync",
                "weekly sync",
                true
            ),
            Stance::Stated
        );
    }

    #[test]
    fn what_someone_else_did_is_not_the_speakers() {
        assert_eq!(
            stance_of(
                "I waited until my manager got back and she made the decision",
                "made the decision",
                true
            ),
            Stance::SomeoneElse
        );
        assert_eq!(
            stance_of(
                "so I made the decision that night",
                "made the decision",
                true
            ),
            Stance::Stated
        );
    }

    #[test]
    fn id_before_a_past_participle_is_had_not_would() {
        assert_eq!(
            stance_of(
                "I'd already briefed sales and the agency",
                "briefed sales",
                true
            ),
            Stance::Stated
        );
        assert_eq!(
            stance_of("and posted what I'd heard from customers", "posted", true),
            Stance::Stated
        );
        assert_eq!(
            stance_of("I'd brief sales first", "brief sales", true),
            Stance::Hypothetical
        );
    }
}
