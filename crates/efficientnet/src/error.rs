//! The library's error type.

/// Everything that can go wrong when building a model from user input.
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
    /// A config knob out of its range.
    #[error("invalid EfficientNet config: {0}")]
    InvalidConfig(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
