//! Phrase matching on stems: the one rule behind concept coverage and avoid phrases.
//!
//! A phrase matches when its words occur in the answer in order, compared on stems, with stop
//! words in between passed over and at most one other word inside the match. Stop words in the
//! phrase itself are optional, except when the phrase has only one content word: then they carry
//! its meaning ("my call" is not "a phone call").

use super::text::{Normalizer, Token};

/// How many stop words may sit in one gap before the phrase is considered broken.
const MAX_FREE_STOP_WORDS: usize = 3;
/// How many non-stop words may sit inside a match ("took full ownership").
const MAX_EXTRA_WORDS: usize = 1;

/// A phrase prepared for matching.
#[derive(Debug, Clone)]
pub struct Phrase {
    pub text: String,
    units: Vec<Unit>,
}

/// One written word of a phrase: its parts ("data-driven" is two), and the closed compound
/// ("datadriven") that also counts, so "e-mail" meets "email".
#[derive(Debug, Clone)]
struct Unit {
    parts: Vec<String>,
    joined: Option<String>,
    stop: bool,
}

/// Where a phrase was found: token span and the transcript words it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhraseMatch {
    pub first_token: usize,
    pub last_token: usize,
}

impl Phrase {
    /// Prepares `text` for matching.
    pub fn new(text: &str, normalizer: &Normalizer) -> Self {
        let mut units: Vec<Unit> = text
            .split_whitespace()
            .filter_map(|word| {
                let tokens = normalizer.tokenize([word]);
                if tokens.is_empty() {
                    return None;
                }
                let joined = (tokens.len() > 1).then(|| {
                    let closed: String = tokens.iter().map(|t| t.norm.as_str()).collect();
                    normalizer.stem(&closed)
                });
                Some(Unit {
                    stop: tokens.len() == 1 && tokens[0].stop,
                    parts: tokens.into_iter().map(|t| t.stem).collect(),
                    joined,
                })
            })
            .collect();
        let content = units.iter().filter(|u| !u.stop).count();
        if content >= 2 || content == units.len() {
            units.retain(|u| !u.stop);
        } else {
            // One content word (or none): keep the stop words as required words.
            for unit in &mut units {
                unit.stop = false;
            }
        }
        Self {
            text: text.to_owned(),
            units,
        }
    }

    /// Whether the phrase has anything to match (a phrase of punctuation has not).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Every non-overlapping match in `tokens`, earliest first.
    pub fn find_all(&self, tokens: &[Token]) -> Vec<PhraseMatch> {
        let mut found = Vec::new();
        let mut start = 0;
        while start < tokens.len() {
            match self.match_at(tokens, start) {
                Some(m) => {
                    start = m.last_token + 1;
                    found.push(m);
                }
                None => start += 1,
            }
        }
        found
    }

    /// The first match in `tokens`.
    pub fn find(&self, tokens: &[Token]) -> Option<PhraseMatch> {
        (0..tokens.len()).find_map(|start| self.match_at(tokens, start))
    }

    fn match_at(&self, tokens: &[Token], start: usize) -> Option<PhraseMatch> {
        let (first, rest) = self.units.split_first()?;
        let mut pos = first.match_len(tokens, start).map(|len| start + len)?;
        let mut extra_words = 0;
        for unit in rest {
            let mut free_stops = 0;
            loop {
                if let Some(len) = unit.match_len(tokens, pos) {
                    pos += len;
                    break;
                }
                let token = tokens.get(pos)?;
                if token.stop {
                    free_stops += 1;
                    if free_stops > MAX_FREE_STOP_WORDS {
                        return None;
                    }
                } else {
                    extra_words += 1;
                    if extra_words > MAX_EXTRA_WORDS {
                        return None;
                    }
                }
                pos += 1;
            }
        }
        Some(PhraseMatch {
            first_token: start,
            last_token: pos - 1,
        })
    }
}

impl Unit {
    /// How many tokens this unit covers when it matches at `pos`.
    fn match_len(&self, tokens: &[Token], pos: usize) -> Option<usize> {
        let window = tokens.get(pos..pos + self.parts.len());
        if window.is_some_and(|w| w.iter().zip(&self.parts).all(|(t, p)| &t.stem == p)) {
            return Some(self.parts.len());
        }
        let joined = self.joined.as_ref()?;
        (tokens.get(pos)?.stem == *joined).then_some(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(phrase: &str, answer: &str) -> bool {
        let n = Normalizer::default();
        Phrase::new(phrase, &n)
            .find(&n.tokenize_text(answer))
            .is_some()
    }

    #[test]
    fn inflections_match_on_stems() {
        assert!(finds("empower the team", "I empowered my team to decide"));
        assert!(finds("make decisions", "she was making the decisions"));
    }

    #[test]
    fn case_and_punctuation_do_not_matter() {
        assert!(finds(
            "Owned the outcome",
            "and, honestly, I OWNED the outcome."
        ));
    }

    #[test]
    fn one_extra_word_inside_a_phrase_is_allowed_but_not_two() {
        assert!(finds("took ownership", "I took full ownership of it"));
        assert!(!finds(
            "took ownership",
            "I took full personal ownership of it"
        ));
    }

    #[test]
    fn stop_words_between_phrase_words_are_free() {
        assert!(finds("owned outcome", "I owned all of the outcome"));
    }

    #[test]
    fn words_out_of_order_are_no_hit() {
        assert!(!finds("cache at the edge", "the edge of the cache"));
        assert!(!finds("took ownership", "ownership was taken"));
    }

    #[test]
    fn every_content_word_must_be_present() {
        assert!(!finds("adaptive bitrate streaming", "adaptive streaming"));
    }

    #[test]
    fn a_hyphenated_synonym_matches_spaced_and_closed_forms() {
        assert!(finds("data-driven", "we were very data driven about it"));
        assert!(finds("data driven", "a data-driven culture"));
        assert!(finds("e-mail campaign", "an email campaign"));
        assert!(finds("A/B test", "we ran an a/b test"));
    }

    #[test]
    fn a_single_content_word_keeps_its_stop_words() {
        assert!(finds("my call", "in the end it was my call"));
        assert!(!finds("my call", "I got a call from legal"));
    }

    #[test]
    fn matches_do_not_overlap_and_come_in_order() {
        let n = Normalizer::default();
        let tokens = n.tokenize_text("um so um yes um");
        let found = Phrase::new("um", &n).find_all(&tokens);
        let starts: Vec<usize> = found.iter().map(|m| m.first_token).collect();
        assert_eq!(starts, [0, 2, 4]);
    }
}
