//! Sentences and clauses of an answer, as token ranges: the scope in which a "not" or a
//! "would" changes what a mention means, and in which specifics back it up.

use std::ops::Range;

use super::lexicon;
use super::text::Token;

/// Splits tokens into sentences: ends at `.`, `?` or `!`.
pub fn sentences(tokens: &[Token]) -> Vec<Range<usize>> {
    split(
        tokens,
        |t| matches!(t.punct_after, Some('.' | '?' | '!')),
        |_| false,
    )
}

/// Splits tokens into clauses: sentence ends, `,` `;` `:` and dashes, and before a clause
/// opener ("but", "because", "so", "which", "and"...).
pub fn clauses(tokens: &[Token]) -> Vec<Range<usize>> {
    split(
        tokens,
        |t| t.punct_after.is_some(),
        |t| lexicon::CLAUSE_OPENERS.contains(&t.norm.as_str()),
    )
}

/// The range among `ranges` that holds token `index`.
pub fn containing(ranges: &[Range<usize>], index: usize) -> Range<usize> {
    ranges
        .iter()
        .find(|r| r.contains(&index))
        .cloned()
        .unwrap_or(index..index + 1)
}

fn split(
    tokens: &[Token],
    ends_after: impl Fn(&Token) -> bool,
    opens: impl Fn(&Token) -> bool,
) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if i > start && opens(token) {
            ranges.push(start..i);
            start = i;
        }
        if ends_after(token) {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        ranges.push(start..tokens.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::super::text::Normalizer;
    use super::*;

    fn words(tokens: &[Token], range: Range<usize>) -> String {
        tokens[range]
            .iter()
            .map(|t| t.norm.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn sentences_end_at_full_stops_and_questions() {
        let n = Normalizer::default();
        let t = n.tokenize_text("I led it. Did it work? Yes, it did");
        let s = sentences(&t);
        assert_eq!(s.len(), 3);
        assert_eq!(words(&t, s[1].clone()), "did it work");
    }

    #[test]
    fn clauses_split_at_commas_and_before_but() {
        let n = Normalizer::default();
        let t = n.tokenize_text("I didn't wait for approval but I told my manager, the same day");
        let c = clauses(&t);
        let texts: Vec<String> = c.iter().map(|r| words(&t, r.clone())).collect();
        assert_eq!(
            texts,
            [
                "i didnt wait for approval",
                "but i told my manager",
                "the same day"
            ]
        );
    }
}
