//! The CLI's error type: what a subcommand can fail with, printed by `main` as `error: ...`.

use std::path::PathBuf;

use burn::tensor::ExecutionError;

/// Everything that stops a subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error of the model library (model name, weight file, image).
    #[error(transparent)]
    Model(#[from] efficientnet::Error),
    /// An error of the training library.
    #[error(transparent)]
    Train(#[from] efficientnet_train::TrainError),
    /// Bad flags or a combination of them that cannot work.
    #[error("{0}")]
    Usage(String),
    /// A `--device` whose backend is not compiled in.
    #[error(transparent)]
    NotCompiledIn(#[from] crate::device::NotCompiledIn),
    /// A binary built without any backend feature.
    #[error(
        "no backend compiled in; build with one of the features {}",
        crate::device::features()
    )]
    NoBackend,
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An `.npy` file that is not a float32 array the command can use.
    #[error("{}: {reason}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An output file that is there already, without `--force`.
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// Images that could not be read (each was reported as it failed).
    #[error("{failed} of {total} images could not be read")]
    UnreadableImages {
        /// How many failed.
        failed: usize,
        /// How many were given.
        total: usize,
    },
    /// The device failed while running queued work.
    #[error("device: {0:?}")]
    Device(#[from] ExecutionError),
    /// The server could not start or stopped on an error (address in use, say).
    #[error("serve: {0}")]
    Serve(String),
    /// A remote worker that cannot be reached, served or kept (`worker`, `train --devices ws://`).
    #[error("{0}")]
    Remote(String),
    /// A report that could not be written as JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.into(),
            source,
        }
    }

    /// A problem with the `.npy` file `path`.
    pub fn npy(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CliError::Npy {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = core::result::Result<T, E>;
