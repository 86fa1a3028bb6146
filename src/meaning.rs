//! The meaning stage: how close each stretch of an answer comes, in meaning, to each rubric
//! concept. A sentence-embedding model compares transcript windows with the concept's `means`
//! sentence and its name and phrases; the similarities go to `score` as data, and `score`
//! alone decides what counts.

use serde::{Deserialize, Serialize};

use crate::bank::Prompt;
use crate::transcribe::Transcript;

/// Words in one window of the answer: about a clause, long enough to carry an idea, short
/// enough that one idea is not drowned by its neighbours.
pub const WINDOW_WORDS: usize = 10;
/// How far each window moves on: windows overlap by half, so an idea is never split in two.
pub const WINDOW_STRIDE: usize = 5;

/// Turns texts into unit-length sentence vectors.
pub trait Encode: Send {
    /// The model's name, shown in the scorecard.
    fn model_name(&self) -> &str;
    /// One L2-normalised vector per text.
    fn encode(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>>;
}

impl Encode for crate::embed::SentenceEncoder {
    fn model_name(&self) -> &str {
        crate::embed::MODEL_DIR_NAME
    }

    fn encode(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        Ok(crate::embed::SentenceEncoder::encode(self, texts)?
            .into_iter()
            .map(|e| e.to_vec())
            .collect())
    }
}

/// Where the sentence-embedding model is looked for: `VIVA_EMBEDDER` (a directory), then
/// `./models/all-minilm-l6-v2`, then `$VIVA_HOME/models/all-minilm-l6-v2`.
pub fn encoder_dir(
    explicit: Option<&std::path::Path>,
    model_dirs: &[std::path::PathBuf],
) -> Option<std::path::PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_owned());
    }
    model_dirs
        .iter()
        .map(|d| d.join(crate::embed::MODEL_DIR_NAME))
        .find(|d| d.is_dir())
}

/// Consecutive transcript words, by index, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordSpan {
    pub first: usize,
    pub last: usize,
}

/// What the meaning stage hands to `score`: every window, and how similar each concept is to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeaningMatches {
    /// The sentence-embedding model that judged.
    pub model: String,
    pub windows: Vec<WordSpan>,
    /// `similarity[concept][window]`: cosine similarity, concepts in rubric order.
    pub similarity: Vec<Vec<f32>>,
}

/// Compares every window of the answer with every concept of the prompt's rubric.
pub fn match_concepts(
    encoder: &dyn Encode,
    prompt: &Prompt,
    transcript: &Transcript,
) -> anyhow::Result<MeaningMatches> {
    let windows = windows(transcript.words.len(), WINDOW_WORDS, WINDOW_STRIDE);
    let window_texts: Vec<String> = windows
        .iter()
        .map(|span| {
            transcript.words[span.first..=span.last]
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let anchors = concept_anchors(prompt);
    let mut texts: Vec<&str> = window_texts.iter().map(String::as_str).collect();
    texts.extend(anchors.iter().flatten().map(String::as_str));
    let vectors = if windows.is_empty() {
        Vec::new()
    } else {
        encoder.encode(&texts)?
    };
    let (window_vectors, anchor_vectors) = vectors.split_at(windows.len().min(vectors.len()));
    let mut next_anchor = anchor_vectors.iter();
    let similarity = anchors
        .iter()
        .map(|concept_anchors| {
            let vectors: Vec<&Vec<f32>> =
                next_anchor.by_ref().take(concept_anchors.len()).collect();
            window_vectors
                .iter()
                .map(|w| {
                    vectors
                        .iter()
                        .map(|a| cosine(w, a))
                        .fold(f32::MIN, f32::max)
                })
                .collect()
        })
        .collect();
    Ok(MeaningMatches {
        model: encoder.model_name().to_owned(),
        windows,
        similarity,
    })
}

/// The texts a concept is compared by: its `means` sentence when it has one, and its name with
/// its phrases. A window's similarity to the concept is the best over them.
pub fn concept_anchors(prompt: &Prompt) -> Vec<Vec<String>> {
    prompt
        .rubric
        .concepts
        .iter()
        .map(|concept| {
            let mut anchors = Vec::new();
            if let Some(means) = &concept.means {
                anchors.push(means.clone());
            }
            anchors.push(format!("{}: {}", concept.name, concept.any.join(", ")));
            anchors
        })
        .collect()
}

/// Overlapping windows over `n` words; a short answer is one window.
pub fn windows(n: usize, size: usize, stride: usize) -> Vec<WordSpan> {
    if n == 0 {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let mut first = 0;
    loop {
        let last = (first + size).min(n) - 1;
        spans.push(WordSpan { first, last });
        if last + 1 >= n {
            break;
        }
        first += stride;
    }
    spans
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_and_reach_the_last_word() {
        let w = windows(23, 10, 5);
        assert_eq!(w.first(), Some(&WordSpan { first: 0, last: 9 }));
        assert_eq!(w.last().unwrap().last, 22);
        assert!(w.windows(2).all(|p| p[1].first == p[0].first + 5));
        assert_eq!(windows(4, 10, 5), [WordSpan { first: 0, last: 3 }]);
        assert!(windows(0, 10, 5).is_empty());
    }
}
