//! Substance: whether the answer is an account or a list of claims. A real answer spends
//! words of its own on what happened (the page, the button, the two engineers) and carries them
//! from sentence to sentence; a keyword list is the rubric's phrases with little of its own
//! between them, each claim standing alone.

use serde::{Deserialize, Serialize};

use super::document::Document;

/// What the answer says in its own words, and how it hangs together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Substance {
    /// Distinct words of the speaker's own (stems): not the rubric's, the question's, numbers,
    /// fillers or function words.
    pub own_words: usize,
    /// Rubric phrases said.
    pub rubric_phrases: usize,
    /// Own words per rubric phrase said: many in an account, few in a keyword list.
    pub own_words_per_phrase: f64,
    /// Share of the sentences after the first that carry an own word from the two before:
    /// the same people, things and numbers, followed through.
    pub cohesion: f64,
    /// Share of clauses opened by a word that links them to the one before: because, so,
    /// then, after, when, which.
    pub links: f64,
    /// It names the rubric again and again with little of its own between: a keyword list.
    pub reads_as_list: bool,
    /// It says too little of its own to show what happened, however many concepts it names.
    pub says_little: bool,
    /// What the content score keeps, 0 to 1: less for a keyword list and for an answer that
    /// says too little.
    pub content_factor: f64,
}

/// Fewest rubric phrases for an answer to read as a keyword list: one or two is an account
/// that uses the rubric's words.
const LIST_MIN_PHRASES: usize = 4;
/// Own words per rubric phrase at or below which an answer is a list (it keeps
/// `LIST_FACTOR_MIN`), and at or above which it is an account (it keeps everything); linear
/// between.
const LIST_OWN_PER_PHRASE: f64 = 1.5;
const ACCOUNT_OWN_PER_PHRASE: f64 = 5.0;
const LIST_FACTOR_MIN: f64 = 0.15;
/// Own words (distinct) per second of the rubric's shortest good length that show an answer
/// told enough of its own (36 for a 90-second question); fewer keep their share.
const OWN_WORDS_PER_SECOND: f64 = 0.4;
/// Below this (the square root of the share of enough own words) the answer "says little".
const SAYS_LITTLE_SHARE: f64 = 0.6;

/// Measures the answer's substance.
pub fn measure(doc: &Document, min_seconds: f64) -> Substance {
    let own_words = doc.own_stems(0..doc.tokens.len()).len();
    let rubric_phrases = doc.rubric.len();
    let sentence_stems: Vec<Vec<&str>> = doc
        .sentences
        .iter()
        .map(|s| doc.own_stems(s.clone()))
        .collect();
    let carried = (1..sentence_stems.len())
        .filter(|&i| {
            sentence_stems[i].iter().any(|stem| {
                sentence_stems[i.saturating_sub(2)..i]
                    .iter()
                    .any(|before| before.contains(stem))
            })
        })
        .count();
    let linked = doc
        .clauses
        .iter()
        .skip(1)
        .filter(|c| super::lexicon::LINKING_WORDS.contains(&doc.tokens[c.start].norm.as_str()))
        .count();
    let own_words_per_phrase = own_words as f64 / rubric_phrases.max(1) as f64;
    let list_factor = if rubric_phrases < LIST_MIN_PHRASES {
        1.0
    } else {
        let t = (own_words_per_phrase - LIST_OWN_PER_PHRASE)
            / (ACCOUNT_OWN_PER_PHRASE - LIST_OWN_PER_PHRASE);
        LIST_FACTOR_MIN + (1.0 - LIST_FACTOR_MIN) * t.clamp(0.0, 1.0)
    };
    // The square root: a skeleton that says a third of enough keeps more than a third, since
    // what it does say may be right; it is short, not empty.
    let enough = (OWN_WORDS_PER_SECOND * min_seconds).max(1.0);
    let amount_factor = (own_words as f64 / enough).min(1.0).sqrt();
    Substance {
        own_words,
        rubric_phrases,
        own_words_per_phrase,
        cohesion: ratio(carried, sentence_stems.len().saturating_sub(1)),
        links: ratio(linked, doc.clauses.len().saturating_sub(1)),
        reads_as_list: list_factor < 0.5,
        says_little: amount_factor < SAYS_LITTLE_SHARE,
        content_factor: list_factor * amount_factor,
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
