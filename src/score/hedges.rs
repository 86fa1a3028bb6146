//! Hedges: the words that soften a claim until it commits to nothing ("I think maybe we
//! probably…"). Interviewers hear them as doubt.
//!
//! Counted: "I think", "I guess", "maybe", "probably", "sort of", "kind of", "I believe",
//! "hopefully". Left out, because they are not hedges:
//! - "kind of" and "sort of" after a determiner name a type: "a kind of cache", "what sort of
//!   problem".
//! - "I think about / of / through" is thinking, not softening.
//! - "I believe in" states a value.
//! - "I think" before a concrete claim, a number, a date or a name in the same clause ("I think
//!   we should ship on Friday"), presents a plan; the claim commits.

use std::ops::Range;

use super::clauses;
use super::lexicon;
use super::specifics::{Specific, SpecificKind};
use super::text::Token;

/// One hedge found in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgeHit {
    /// The hedge as listed ("sort of"), not as spoken.
    pub hedge: &'static str,
    pub first_token: usize,
}

/// Every hedge in the answer. `specifics` are the answer's specifics (see
/// [`super::specifics::find`]): a concrete claim after "I think" keeps it from being a hedge.
pub fn find(tokens: &[Token], specifics: &[Specific]) -> Vec<HedgeHit> {
    let clause_ranges = clauses::clauses(tokens);
    let mut hits = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some(hedge) = hedge_at(tokens, i) else {
            i += 1;
            continue;
        };
        let len = hedge.split(' ').count();
        let clause = clauses::containing(&clause_ranges, i);
        if is_hedge_use(tokens, i, len, hedge, clause, specifics) {
            hits.push(HedgeHit {
                hedge,
                first_token: i,
            });
        }
        i += len;
    }
    hits
}

fn hedge_at(tokens: &[Token], i: usize) -> Option<&'static str> {
    lexicon::HEDGES.iter().copied().find(|hedge| {
        hedge
            .split(' ')
            .enumerate()
            .all(|(k, word)| tokens.get(i + k).is_some_and(|t| t.norm == word))
    })
}

fn is_hedge_use(
    tokens: &[Token],
    i: usize,
    len: usize,
    hedge: &str,
    clause: Range<usize>,
    specifics: &[Specific],
) -> bool {
    let next = tokens.get(i + len).map(|t| t.norm.as_str());
    let previous = i.checked_sub(1).map(|p| tokens[p].norm.as_str());
    match hedge {
        "kind of" | "sort of" => !previous.is_some_and(|p| lexicon::DETERMINERS.contains(&p)),
        "i believe" => next != Some("in"),
        "i think" => {
            if matches!(next, Some("about" | "of" | "through")) {
                return false;
            }
            let concrete = specifics.iter().any(|s| {
                (i + len..clause.end).contains(&s.token)
                    && matches!(
                        s.kind,
                        SpecificKind::Number | SpecificKind::Time | SpecificKind::Name
                    )
            });
            !concrete
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::specifics;
    use super::super::text::Normalizer;
    use super::*;

    fn hedges(text: &str) -> Vec<&'static str> {
        let n = Normalizer::default();
        let words: Vec<&str> = text.split_whitespace().collect();
        let tokens = n.tokenize(words.iter().copied());
        let found = specifics::find(&tokens, &words, &[]);
        find(&tokens, &found).into_iter().map(|h| h.hedge).collect()
    }

    #[test]
    fn every_listed_hedge_counts() {
        assert_eq!(
            hedges("I think maybe we probably sort of fixed it, I guess, and hopefully it held, I believe"),
            ["i think", "maybe", "probably", "sort of", "i guess", "hopefully", "i believe"]
        );
    }

    #[test]
    fn kind_of_after_a_determiner_names_a_type() {
        assert!(hedges("we used a kind of cache called an edge cache").is_empty());
        assert_eq!(hedges("it was kind of slow"), ["kind of"]);
    }

    #[test]
    fn thinking_about_and_believing_in_are_not_hedges() {
        assert!(hedges("I think about churn every day and I believe in candor").is_empty());
    }

    #[test]
    fn i_think_before_a_concrete_plan_is_not_a_hedge() {
        assert!(hedges("I think we should ship on Friday").is_empty());
        assert_eq!(hedges("I think we should ship soon"), ["i think"]);
    }
}
