//! Text to word pieces: the model's own tokenizer, truncated the way sentence-transformers does.

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use super::error::EmbedError;

/// sentence-transformers' `max_seq_length` for this model, [CLS] and [SEP] included; longer
/// texts are cut, as the reference implementation cuts them.
pub const MAX_WORD_PIECES: usize = 256;

/// Loads `tokenizer.json` (lowercasing, accent stripping and word pieces come from the file),
/// replacing its stored truncation and padding: the file pads every text to 128 pieces, but
/// batches are padded to their own longest text in `batch`, and truncation is at 256.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| EmbedError::broken(path, e))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_WORD_PIECES,
            ..TruncationParams::default()
        }))
        .map_err(|e| EmbedError::broken(path, e))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// The word-piece ids of each text, with [CLS] and [SEP] around them, unpadded.
pub fn word_piece_ids(tokenizer: &Tokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
    let encodings =
        tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Encode {
                stage: "tokenising",
                reason: e.to_string(),
            })?;
    Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
}
