//! The three files that make up the model on disk, and the shape its config must have.

use std::path::{Path, PathBuf};

use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};

use super::error::EmbedError;
use super::DIMENSIONS;

/// The weights, in safetensors format.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The word-piece vocabulary and normalisation rules, in the `tokenizers` JSON format.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The BERT hyper-parameters.
pub const CONFIG_FILE: &str = "config.json";
/// Every file a model directory must hold, in the order they are checked.
pub const MODEL_FILES: [&str; 3] = [WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE];

/// Paths to a model directory's files, each known to exist.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
    pub config: PathBuf,
}

impl ModelFiles {
    /// Finds the model's files in `dir`, naming the first one that is missing.
    pub fn in_dir(dir: &Path) -> Result<Self, EmbedError> {
        for name in MODEL_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(EmbedError::MissingFile { path });
            }
        }
        Ok(ModelFiles {
            weights: dir.join(WEIGHTS_FILE),
            tokenizer: dir.join(TOKENIZER_FILE),
            config: dir.join(CONFIG_FILE),
        })
    }

    /// Reads `config.json` and checks it describes all-MiniLM-L6-v2: the scorer's thresholds
    /// are tuned to this model's geometry, so another BERT, however valid, is refused.
    pub fn read_config(&self) -> Result<Config, EmbedError> {
        let text = std::fs::read_to_string(&self.config)
            .map_err(|e| EmbedError::broken(&self.config, e))?;
        let config: Config =
            serde_json::from_str(&text).map_err(|e| EmbedError::broken(&self.config, e))?;
        check_config(&config).map_err(|reason| EmbedError::WrongModel {
            path: self.config.clone(),
            reason,
        })?;
        Ok(config)
    }
}

/// all-MiniLM-L6-v2's published shape: 6 layers, 12 heads, 384 wide, exact GELU.
fn check_config(config: &Config) -> Result<(), String> {
    let expect = |what: &str, found: usize, wanted: usize| {
        if found == wanted {
            Ok(())
        } else {
            Err(format!("{what} is {found}, expected {wanted}"))
        }
    };
    expect("hidden_size", config.hidden_size, DIMENSIONS)?;
    expect("num_hidden_layers", config.num_hidden_layers, 6)?;
    expect("num_attention_heads", config.num_attention_heads, 12)?;
    expect(
        "max_position_embeddings",
        config.max_position_embeddings,
        512,
    )?;
    if config.type_vocab_size == 0 {
        return Err("type_vocab_size is 0, but token type 0 is used".into());
    }
    if config.hidden_act != HiddenAct::Gelu {
        return Err(format!(
            "hidden_act is {:?}, expected gelu",
            config.hidden_act
        ));
    }
    if config.position_embedding_type != PositionEmbeddingType::Absolute {
        return Err("position_embedding_type is not absolute".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minilm() -> Config {
        serde_json::from_str(
            r#"{"hidden_act": "gelu", "hidden_size": 384, "intermediate_size": 1536,
                "hidden_dropout_prob": 0.1, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
                "max_position_embeddings": 512, "num_attention_heads": 12,
                "num_hidden_layers": 6, "pad_token_id": 0, "type_vocab_size": 2,
                "vocab_size": 30522, "position_embedding_type": "absolute"}"#,
        )
        .unwrap()
    }

    #[test]
    fn minilm_config_is_accepted() {
        assert_eq!(check_config(&minilm()), Ok(()));
    }

    #[test]
    fn a_wider_bert_is_refused_naming_the_field() {
        let mut config = minilm();
        config.hidden_size = 768;
        let reason = check_config(&config).unwrap_err();
        assert!(reason.contains("hidden_size is 768"), "{reason}");
    }

    #[test]
    fn missing_file_is_named_with_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(WEIGHTS_FILE), b"").unwrap();
        let message = ModelFiles::in_dir(dir.path()).unwrap_err().to_string();
        assert!(message.contains(TOKENIZER_FILE), "{message}");
        assert!(message.contains("scripts/install-models"), "{message}");
    }
}
