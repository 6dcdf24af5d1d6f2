//! The training library's error type.

use std::path::{Path, PathBuf};

/// Everything that stops a training run before it starts or while it writes its results.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A dataset that cannot be used (missing folders, empty classes, bad CSV).
    #[error("dataset: {0}")]
    Data(String),
    /// A file or folder that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A run file (`config.json`, `summary.json`) that could not be serialised.
    #[error("{}: cannot serialise: {message}", path.display())]
    Serialize {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A bad option value.
    #[error("invalid training option: {0}")]
    Config(String),
    /// An error of the model library (model name, weights).
    #[error(transparent)]
    Model(#[from] efficientnet::Error),
    /// The Learner stopped with an error.
    #[error("training failed: {0}")]
    Training(String),
    /// The run was stopped (non-finite loss); its checkpoints up to the last complete epoch
    /// are intact.
    #[error("training stopped: {0}")]
    Stopped(String),
}

impl TrainError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = core::result::Result<T, E>;
