//! The annotated answer: the transcript analysed once into what every rule reads. Words with
//! their times, tokens, sentences and clauses, specifics grouped into entities ("30 percent",
//! "Q3 2021" and "two weeks" are one each), the spans where the rubric's phrases were said, and
//! which words are the speaker's own (not the rubric's, not the question's, not a number, a
//! filler or a function word). Rules never re-read the transcript; they read this.

use std::ops::Range;

use super::clauses;
use super::lexicon;
use super::mention::{self, Stance};
use super::phrase::Phrase;
use super::specifics::{self, Specific, SpecificKind};
use super::text::{Normalizer, Token};
use crate::bank::{Prompt, Structure};
use crate::transcribe::Word;

/// One detail of the answer, however many words it takes: "30 percent", "Q3 2021".
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub kind: SpecificKind,
    pub tokens: Range<usize>,
    /// For an action, what was acted on (its token).
    pub object: Option<usize>,
}

/// Where one of a concept's rubric phrases was said.
#[derive(Debug, Clone, PartialEq)]
pub struct RubricSpan {
    /// The concept's index in the rubric.
    pub concept: usize,
    pub phrase: String,
    pub tokens: Range<usize>,
}

/// The answer, analysed once.
pub struct Document<'a> {
    pub words: &'a [Word],
    pub tokens: Vec<Token>,
    pub sentences: Vec<Range<usize>>,
    pub clauses: Vec<Range<usize>>,
    /// Each clause's stance as a whole: stated, denied, imagined, a value, a habit, someone
    /// else's. A mention is judged over its own span (`mention::stance`); a detail takes its
    /// clause's.
    pub clause_stances: Vec<Stance>,
    pub specifics: Vec<Specific>,
    pub entities: Vec<Entity>,
    pub rubric: Vec<RubricSpan>,
    /// Tokens inside any rubric phrase: saying the rubric is not saying something of one's own.
    pub rubric_tokens: Vec<bool>,
    /// The question's own words and tags: repeating the question adds nothing either.
    pub topic: Vec<String>,
    /// Whether the prompt asks for something that happened (a story).
    pub story: bool,
}

impl<'a> Document<'a> {
    pub fn new(prompt: &Prompt, words: &'a [Word], normalizer: &Normalizer) -> Self {
        let tokens = normalizer.tokenize(words.iter().map(|w| w.text.as_str()));
        let written: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        let topic: Vec<String> = normalizer
            .tokenize_text(&prompt.text)
            .into_iter()
            .map(|t| t.norm)
            .chain(prompt.tags.iter().map(|t| t.to_lowercase()))
            .collect();
        let specifics = specifics::find(&tokens, &written, &topic);
        let mut rubric = Vec::new();
        let mut rubric_tokens = vec![false; tokens.len()];
        for (concept, c) in prompt.rubric.concepts.iter().enumerate() {
            for phrase in &c.any {
                for m in Phrase::new(phrase, normalizer).find_all(&tokens) {
                    rubric_tokens[m.first_token..=m.last_token].fill(true);
                    rubric.push(RubricSpan {
                        concept,
                        phrase: phrase.clone(),
                        tokens: m.first_token..m.last_token + 1,
                    });
                }
            }
        }
        rubric.sort_by_key(|r| r.tokens.start);
        let story = prompt.structure == Some(Structure::Star);
        let clauses = clauses::clauses(&tokens);
        let clause_stances = clauses
            .iter()
            .map(|c| mention::stance(&tokens, c.clone(), c.clone(), story))
            .collect();
        Self {
            entities: entities(&specifics),
            sentences: clauses::sentences(&tokens),
            clauses,
            clause_stances,
            words,
            tokens,
            specifics,
            rubric,
            rubric_tokens,
            topic,
            story,
        }
    }

    /// The index of the clause that holds token `i`.
    pub fn clause_of(&self, i: usize) -> usize {
        index_of(&self.clauses, i)
    }

    /// Whether token `i` is a word of the speaker's own: a content word that is not the
    /// rubric's, not the question's, not a number or a time word, a filler or a hedge. What a
    /// keyword list lacks and a real account is made of.
    pub fn is_own_word(&self, i: usize) -> bool {
        let t = &self.tokens[i];
        let norm = t.norm.as_str();
        !t.stop
            && norm.len() > 2
            && !self.rubric_tokens[i]
            && !norm.chars().any(|c| c.is_ascii_digit())
            && !lexicon::NUMBER_WORDS.contains(&norm)
            && !lexicon::TIME_WORDS.contains(&norm)
            && !lexicon::PERIOD_WORDS.contains(&norm)
            && !lexicon::NOT_CONTENT.contains(&norm)
            && !lexicon::default_fillers().any(|f| f == norm)
            && !lexicon::ORDINARY_WORDS.contains(&norm)
            && !self.topic.iter().any(|w| w == norm)
    }

    /// The distinct stems of the speaker's own words in `tokens`.
    pub fn own_stems(&self, tokens: Range<usize>) -> Vec<&str> {
        let mut stems: Vec<&str> = tokens
            .filter(|&i| self.is_own_word(i))
            .map(|i| self.tokens[i].stem.as_str())
            .collect();
        stems.sort_unstable();
        stems.dedup();
        stems
    }

    /// The transcript words of tokens `range`, as spoken.
    pub fn said(&self, range: Range<usize>) -> String {
        if range.is_empty() {
            return String::new();
        }
        let (a, b) = (
            self.tokens[range.start].word_index,
            self.tokens[range.end - 1].word_index,
        );
        self.words[a..=b]
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// When token `i` was said.
    pub fn time(&self, i: usize) -> f64 {
        self.words[self.tokens[i].word_index].start
    }

    /// Token range of transcript words `first..=last`.
    pub fn token_span(&self, first: usize, last: usize) -> Option<Range<usize>> {
        let start = self.tokens.iter().position(|t| t.word_index >= first)?;
        let end = self.tokens.iter().rposition(|t| t.word_index <= last)? + 1;
        (start < end).then_some(start..end)
    }
}

fn index_of(ranges: &[Range<usize>], i: usize) -> usize {
    ranges
        .iter()
        .position(|r| r.contains(&i))
        .unwrap_or(ranges.len().saturating_sub(1))
}

/// Specifics side by side that make one detail: a number and its unit or period ("30
/// percent", "two weeks"), a quarter and its year ("Q3 2021"). Actions, results and names stay
/// one each.
fn entities(specifics: &[Specific]) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for s in specifics {
        let joins = |e: &Entity| {
            e.tokens.end == s.token
                && matches!(e.kind, SpecificKind::Number | SpecificKind::Time)
                && matches!(s.kind, SpecificKind::Number | SpecificKind::Time)
        };
        match out.last_mut() {
            Some(last) if joins(last) => last.tokens.end = s.token + 1,
            _ => out.push(Entity {
                kind: s.kind,
                tokens: s.token..s.token + 1,
                object: s.object,
            }),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::transcribe::Word;

    pub(crate) fn words(text: &str) -> Vec<Word> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                text: w.to_owned(),
                start: i as f64 * 0.4,
                end: i as f64 * 0.4 + 0.3,
                by_sound: false,
            })
            .collect()
    }

    fn prompt() -> Prompt {
        crate::score::tests_support::prompt_with(&[("ownership", &["took ownership"])])
    }

    #[test]
    fn a_number_and_its_unit_are_one_entity() {
        let w = words("Churn fell 30 percent in two weeks, back in Q3 2021.");
        let n = Normalizer::default();
        let doc = Document::new(&prompt(), &w, &n);
        let said: Vec<String> = doc
            .entities
            .iter()
            .filter(|e| e.kind != SpecificKind::Result)
            .map(|e| doc.said(e.tokens.clone()))
            .collect();
        assert_eq!(said, ["30 percent", "two weeks,", "Q3 2021."]);
    }

    #[test]
    fn own_words_leave_out_the_rubric_numbers_and_the_question() {
        let w = words("I took ownership of the pricing page, 37 percent, fixing the checkout.");
        let n = Normalizer::default();
        let doc = Document::new(&prompt(), &w, &n);
        let stems = doc.own_stems(0..doc.tokens.len());
        assert_eq!(stems, ["checkout", "fix", "page", "price"]);
    }
}
