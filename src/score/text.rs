//! Text normalisation for scoring: turns transcript words and rubric phrases into comparable
//! tokens (lower case, punctuation and hyphens split, Porter2 stems, stop words flagged).

use super::lexicon;
use rust_stemmers::{Algorithm, Stemmer};

/// One comparable unit of an answer, tied back to the transcript word it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Lower case, apostrophes removed: what the speaker said, for exact comparisons.
    pub norm: String,
    /// Porter2 stem of `norm`, so that inflections compare equal.
    pub stem: String,
    /// Index of the transcript word this token came from (a hyphenated word gives several).
    pub word_index: usize,
    /// Function words that carry no concept on their own.
    pub stop: bool,
    /// Punctuation the speaker (or Whisper) put right after this token: `,` `.` `?` `!` `;` `:`.
    pub punct_after: Option<char>,
}

/// Whether a normalised word is a stop word.
pub fn is_stop_word(norm: &str) -> bool {
    lexicon::STOP_WORDS.binary_search(&norm).is_ok()
}

/// Shared stemmer and splitting rules, so answers and phrases are normalised identically.
pub struct Normalizer {
    stemmer: Stemmer,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

impl Normalizer {
    /// Porter2 stem of an already-normalised word.
    pub fn stem(&self, norm: &str) -> String {
        self.stemmer.stem(norm).into_owned()
    }

    /// Tokens of a sequence of words (transcript words or the words of a phrase).
    pub fn tokenize<'a>(&self, words: impl IntoIterator<Item = &'a str>) -> Vec<Token> {
        let mut tokens = Vec::new();
        for (word_index, word) in words.into_iter().enumerate() {
            let parts = split_word(word);
            let trailing = trailing_punct(word);
            let last = parts.len().saturating_sub(1);
            for (i, part) in parts.into_iter().enumerate() {
                tokens.push(Token {
                    stem: self.stem(&part),
                    stop: is_stop_word(&part),
                    punct_after: if i == last { trailing } else { None },
                    norm: part,
                    word_index,
                });
            }
        }
        tokens
    }

    /// Tokens of free text (a phrase from a rubric), split on white space first.
    pub fn tokenize_text(&self, text: &str) -> Vec<Token> {
        self.tokenize(text.split_whitespace())
    }
}

/// Splits one written word into its comparable parts: "Data-driven," gives ["data", "driven"],
/// "team's" gives ["teams"], "A/B" gives ["a", "b"].
pub fn split_word(word: &str) -> Vec<String> {
    word.to_lowercase()
        .replace(['\u{2019}', '\u{2018}', '\''], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The clause punctuation at the end of a written word, if any.
fn trailing_punct(word: &str) -> Option<char> {
    word.trim_end_matches(['"', '\u{201d}', ')', '\''])
        .chars()
        .last()
        .filter(|c| matches!(c, ',' | '.' | '?' | '!' | ';' | ':' | '\u{2014}'))
}

/// Folds runs of a repeated letter ("ummm" to "um", "hmm" to "hm"), so drawn-out hesitations
/// compare equal to the filler list.
pub fn fold_repeats(norm: &str) -> String {
    let mut out = String::with_capacity(norm.len());
    for c in norm.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_word_list_is_sorted_for_binary_search() {
        let mut sorted = lexicon::STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, lexicon::STOP_WORDS);
    }

    #[test]
    fn hyphens_and_slashes_split_and_punctuation_is_kept_aside() {
        let n = Normalizer::default();
        let tokens = n.tokenize(["Data-driven,", "A/B", "team's"]);
        let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, ["data", "driven", "a", "b", "teams"]);
        assert_eq!(tokens[1].punct_after, Some(','));
        assert_eq!(tokens[0].punct_after, None);
        assert_eq!(tokens[1].word_index, 0);
        assert_eq!(tokens[4].word_index, 2);
    }

    #[test]
    fn regular_inflections_share_a_stem() {
        let n = Normalizer::default();
        assert_eq!(n.stem("empowered"), n.stem("empower"));
        assert_eq!(n.stem("decisions"), n.stem("decision"));
        assert_eq!(n.stem("scaling"), n.stem("scale"));
    }

    #[test]
    fn drawn_out_hesitations_fold_to_their_short_form() {
        assert_eq!(fold_repeats("ummm"), "um");
        assert_eq!(fold_repeats("hmm"), "hm");
        assert_eq!(fold_repeats("uh"), "uh");
    }

    #[test]
    fn negations_are_not_stop_words() {
        assert!(!is_stop_word("not"));
        assert!(!is_stop_word("no"));
        assert!(is_stop_word("the"));
    }
}
