//! Where viva keeps its state and how it is configured: `VIVA_HOME`, the optional
//! `$VIVA_HOME/config.toml`, and the places banks and models are looked for.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bank::{line_col, BankSource};
use crate::models::ModelSearch;
use crate::score::ScoringSettings;
use crate::transcribe::TranscribeSettings;

/// The user's settings file, every section optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub score: ScoringSettings,
    pub transcribe: TranscribeSettings,
    pub model: ModelConfig,
    pub speak: crate::speak::SpeakSettings,
    pub listen: ListenSettings,
}

/// How answers are recorded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenSettings {
    /// Silence this long after speech ends an answer.
    pub silence_seconds: f64,
    /// Input device to use instead of the default (matched like `--device`).
    pub device: Option<String>,
}

impl Default for ListenSettings {
    fn default() -> Self {
        Self {
            silence_seconds: 3.0,
            device: None,
        }
    }
}

/// Which model to use when none is named on the command line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub name: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: crate::models::DEFAULT_MODEL.into(),
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find a home for viva's data; set VIVA_HOME to a writable directory")]
    NoHome,
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Everything resolved from the environment and flags, trusted by the rest of viva.
#[derive(Debug, Clone)]
pub struct Env {
    /// All state lives under here.
    pub home: PathBuf,
    /// `--prompts DIR` / `VIVA_PROMPTS`: replaces the built-in and user banks.
    pub prompts_override: Option<PathBuf>,
    /// `--model PATH` / `VIVA_MODEL`.
    pub model_override: Option<PathBuf>,
    pub config: Config,
}

impl Env {
    /// Resolves `VIVA_HOME` (or the platform data directory) and reads its config file.
    pub fn resolve(
        prompts_override: Option<PathBuf>,
        model_override: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        let home = match std::env::var_os("VIVA_HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => directories::ProjectDirs::from("", "", "viva")
                .ok_or(ConfigError::NoHome)?
                .data_dir()
                .to_owned(),
        };
        let config = load_config(&home.join("config.toml"))?;
        Ok(Self {
            home,
            prompts_override,
            model_override,
            config,
        })
    }

    /// The banks to load, in override order.
    pub fn bank_sources(&self) -> Vec<BankSource> {
        match &self.prompts_override {
            Some(dir) => vec![BankSource::Dir {
                path: dir.clone(),
                required: true,
            }],
            None => vec![
                BankSource::Builtin,
                BankSource::Dir {
                    path: self.home.join("prompts"),
                    required: false,
                },
            ],
        }
    }

    /// Where models are looked for: the explicit path, `./models/`, then `$VIVA_HOME/models/`.
    pub fn model_search(&self) -> ModelSearch {
        ModelSearch {
            explicit: self.model_override.clone(),
            dirs: vec![PathBuf::from("models"), self.models_dir()],
        }
    }

    /// The Whisper model to transcribe with: the configured one, or the best installed one in
    /// its place, which is said once, on stderr, the first time a command asks.
    pub fn whisper_model(&self) -> Result<crate::models::ChosenModel, crate::models::ModelError> {
        static SAID: std::sync::Once = std::sync::Once::new();
        let chosen = self.model_search().choose(&self.config.model.name)?;
        if let Some(note) = chosen.stand_in_note() {
            SAID.call_once(|| eprintln!("viva: {note}"));
        }
        Ok(chosen)
    }

    /// Where `viva models fetch` puts downloads.
    pub fn models_dir(&self) -> PathBuf {
        self.home.join("models")
    }
}

/// Reads a config file; a missing file is the defaults.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // No file, or no directory to hold one: the defaults. An unusable VIVA_HOME is
        // reported where viva first needs to write to it.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Config::default())
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    toml::from_str(&text).map_err(|e| {
        let (line, column) = line_col(&text, e.span().map_or(0, |s| s.start));
        ConfigError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message: e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_config_keeps_the_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[score]\npause_seconds = 3.0\nfillers = [\"basically\"]\n",
        )
        .unwrap();
        let config = load_config(&path).unwrap();
        assert_eq!(config.score.pause_seconds, 3.0);
        assert_eq!(config.score.fillers, ["basically"]);
        assert_eq!(config.score.wpm, ScoringSettings::default().wpm);
        assert_eq!(config.model.name, "base.en");
    }

    #[test]
    fn a_bad_config_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[score]\npause_secs = 3.0\n").unwrap();
        let err = load_config(&path).unwrap_err().to_string();
        assert!(
            err.contains(
                "config.toml:2:1: unknown field `pause_secs`, expected one of `pause_seconds`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_config_is_the_defaults() {
        assert_eq!(
            load_config(Path::new("/nonexistent/config.toml")).unwrap(),
            Config::default()
        );
    }
}
