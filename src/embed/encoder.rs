//! The sentence encoder: BERT over word pieces, mean-pooled and L2-normalised, on the CPU.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::batch::{batches, Batch, MAX_BATCH_PIECES};
use super::error::EmbedError;
use super::model_files::ModelFiles;
use super::tokens::{load_tokenizer, word_piece_ids};
use super::{Embedding, DIMENSIONS};

/// all-MiniLM-L6-v2, loaded once and reused for every answer.
///
/// Matrix products run on candle's CPU backend, which spreads them over the cores this
/// process may use (its CPU affinity; `RAYON_NUM_THREADS` overrides).
pub struct SentenceEncoder {
    /// The 6-layer BERT whose last hidden states are pooled into sentence embeddings.
    bert: BertModel,
    /// The model's own word-piece tokenizer, set to truncate at 256 pieces and not to pad.
    tokenizer: Tokenizer,
    /// Always the CPU; kept so tensors are built where the weights live.
    device: Device,
}

impl SentenceEncoder {
    /// Loads the model from a directory holding `model.safetensors`, `tokenizer.json` and
    /// `config.json`. Every failure names the file at fault and how to reinstall it.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let files = ModelFiles::in_dir(dir)?;
        let config = files.read_config()?;
        let tokenizer = load_tokenizer(&files.tokenizer)?;
        let device = Device::Cpu;
        let bert = load_bert(&files.weights, &config, &device)?;
        Ok(SentenceEncoder {
            bert,
            tokenizer,
            device,
        })
    }

    /// One unit-length embedding per text, in input order, as sentence-transformers computes
    /// them: word pieces (lowercased, at most 256), BERT, the mean of the last hidden states
    /// over the real word pieces, L2-normalised. Texts are batched by length.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        let sequences = word_piece_ids(&self.tokenizer, texts)?;
        let mut embeddings = vec![[0.0; DIMENSIONS]; texts.len()];
        for batch in batches(&sequences, MAX_BATCH_PIECES) {
            let pooled = self.embed_batch(&batch).map_err(|e| EmbedError::Encode {
                stage: "running the model",
                reason: e.to_string(),
            })?;
            for (row, &text) in pooled.iter().zip(&batch.members) {
                embeddings[text].copy_from_slice(row);
            }
        }
        Ok(embeddings)
    }

    /// One forward pass over a padded batch, pooled to one unit vector per row.
    fn embed_batch(&self, batch: &Batch) -> candle_core::Result<Vec<Vec<f32>>> {
        let shape = (batch.members.len(), batch.width);
        let ids = Tensor::from_slice(&batch.ids, shape, &self.device)?;
        let mask = Tensor::from_slice(&batch.mask, shape, &self.device)?;
        // A single sentence is segment A throughout, as the reference tokenizer marks it.
        let token_types = ids.zeros_like()?;
        let hidden = self.bert.forward(&ids, &token_types, Some(&mask))?;
        let mean = masked_mean(&hidden, &mask)?;
        l2_normalise(&mean)?.to_vec2()
    }
}

fn load_bert(weights: &Path, config: &Config, device: &Device) -> Result<BertModel, EmbedError> {
    // Read, not memory-mapped: the file is 90 MB, and mapping it would make a file replaced
    // underneath a running viva undefined behaviour.
    let tensors = candle_core::safetensors::load(weights, device)
        .map_err(|e| EmbedError::broken(weights, e))?;
    let vars = VarBuilder::from_tensors(tensors, DType::F32, device);
    BertModel::load(vars, config).map_err(|e| EmbedError::WrongModel {
        path: weights.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The mean of `hidden` (texts × pieces × dims) over the pieces whose `mask` is 1.
fn masked_mean(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let weights = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&weights)?.sum(1)?;
    let counts = weights.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)
}

/// Each row divided by its length, with the reference's floor so a zero row stays finite.
fn l2_normalise(rows: &Tensor) -> candle_core::Result<Tensor> {
    let norms = rows
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    rows.broadcast_div(&norms)
}
