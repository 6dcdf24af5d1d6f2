//! The library's error type.

use core::fmt;
use std::path::PathBuf;

/// Everything that can go wrong when building a model or moving weights in and out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model name that is neither a timm name nor a short alias.
    #[error(
        "unknown model `{name}`; known models: {known} (short aliases such as `b0`, `lite0`, \
         `v2_s` and the `tf_` prefix are accepted too)"
    )]
    UnknownModel {
        /// The name as given.
        name: String,
        /// Every accepted timm name, comma separated.
        known: String,
    },
    /// A weight-set name that the table does not list for this model and layout.
    #[error("unknown weight set `{name}` for `{model}` in this layout; known: {known}")]
    UnknownWeightSet {
        /// The name as given.
        name: String,
        /// The model name.
        model: String,
        /// The sets of the model in the file's layout, comma separated.
        known: String,
    },
    /// A config knob out of its range.
    #[error("invalid EfficientNet config: {0}")]
    InvalidConfig(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a readable checkpoint (wrong format, truncated, corrupt).
    #[error("{}: not a usable weight file: {reason}", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An image that cannot be decoded (corrupt, truncated, unsupported, too large).
    #[error("{}: cannot read image: {reason}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A key layout name that does not exist, or a file whose layout cannot be recognised.
    #[error("unknown weight layout: {0} (layouts: torchvision, timm, lukemelas; `auto` detects)")]
    UnknownLayout(String),
    /// Weights or their metadata could not be encoded for writing (nothing was written).
    #[error("{}: cannot serialise {what}: {reason}", path.display())]
    Serialization {
        /// The file that was to be written.
        path: PathBuf,
        /// What was being encoded (`safetensors tensors`, `burnpack metadata`, ...).
        what: &'static str,
        /// The encoder's error.
        reason: String,
    },
    /// A model that cannot be exported with the options given (nothing was written).
    #[error("cannot export the model: {0}")]
    Export(String),
    /// The file's tensors do not fit the model.
    #[error("{}weights do not fit the model: {mismatch}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    WeightMismatch {
        /// The file, when known.
        path: Option<PathBuf>,
        /// Every problem found.
        mismatch: Box<WeightMismatch>,
    },
}

impl Error {
    /// Attaches the file to errors that do not name it yet.
    pub fn with_path(self, file: &std::path::Path) -> Self {
        match self {
            Error::WeightMismatch {
                path: None,
                mismatch,
            } => Error::WeightMismatch {
                path: Some(file.to_path_buf()),
                mismatch,
            },
            Error::UnknownLayout(reason) => Error::NotACheckpoint {
                path: file.to_path_buf(),
                reason: format!("unknown weight layout: {reason}"),
            },
            other => other,
        }
    }
}

/// Every missing, unexpected and mis-shaped tensor of a strict load.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WeightMismatch {
    /// The layout the file was read as.
    pub layout: String,
    /// Keys the model needs and the file lacks.
    pub missing: Vec<String>,
    /// Keys the file has and the model does not use.
    pub unexpected: Vec<String>,
    /// `(key, expected shape, shape in the file)`.
    pub mis_shaped: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Our parameters the layout has no name for (e.g. EfficientNetV2 in lukemelas).
    pub unrepresentable: Vec<String>,
}

impl WeightMismatch {
    /// No problem found.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mis_shaped.is_empty()
            && self.unrepresentable.is_empty()
    }
}

impl fmt::Display for WeightMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 12;
        let list = |f: &mut fmt::Formatter<'_>, what: &str, items: Vec<String>| -> fmt::Result {
            if items.is_empty() {
                return Ok(());
            }
            write!(f, "\n  {} {what}:", items.len())?;
            for item in items.iter().take(SHOWN) {
                write!(f, "\n    {item}")?;
            }
            if items.len() > SHOWN {
                write!(f, "\n    ... and {} more", items.len() - SHOWN)?;
            }
            Ok(())
        };
        write!(f, "read as the {} layout", self.layout)?;
        list(f, "missing from the file", self.missing.clone())?;
        list(
            f,
            "with the wrong shape",
            self.mis_shaped
                .iter()
                .map(|(k, want, got)| format!("{k}: model {want:?}, file {got:?}"))
                .collect(),
        )?;
        list(f, "unexpected in the file", self.unexpected.clone())?;
        list(
            f,
            "with no name in this layout",
            self.unrepresentable.clone(),
        )?;
        if !self.mis_shaped.is_empty() || !self.missing.is_empty() {
            write!(
                f,
                "\n  (is the file for another variant? a different classifier size can be \
                 re-initialised with the partial-load option)"
            )?;
        }
        Ok(())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
