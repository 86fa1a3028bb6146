//! What can go wrong loading, running or installing the sentence-embedding model.

use std::io;
use std::path::PathBuf;

/// The command that puts a working model in `models/all-minilm-l6-v2/`.
pub const INSTALL_HINT: &str = "run scripts/install-models";

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{}: missing; {INSTALL_HINT} to install the sentence-embedding model (all-MiniLM-L6-v2)", path.display())]
    MissingFile { path: PathBuf },

    #[error("{}: unreadable or damaged ({reason}); {INSTALL_HINT} to reinstall the sentence-embedding model", path.display())]
    BrokenFile { path: PathBuf, reason: String },

    #[error("{}: not all-MiniLM-L6-v2 ({reason}); {INSTALL_HINT} to install the model viva expects", path.display())]
    WrongModel { path: PathBuf, reason: String },

    #[error("sentence encoding failed while {stage}: {reason}")]
    Encode { stage: &'static str, reason: String },

    #[error("{}: cannot import the sentence-embedding model from it: {reason}", path.display())]
    Import { path: PathBuf, reason: String },

    #[error("could not {action} {}: {source}; check permissions and free disk space", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl EmbedError {
    pub(crate) fn broken(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        EmbedError::BrokenFile {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        EmbedError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
