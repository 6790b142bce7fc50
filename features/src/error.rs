//! Errors of the features stage.

/// Why the features stage failed.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Core(#[from] recpipe_core::CoreError),
    /// The stage needs an upstream stage of this kind.
    #[error("the features stage needs an `{0}` stage in `needs`")]
    MissingUpstream(&'static str),
    /// The parameters are inconsistent.
    #[error("invalid features parameters: {0}")]
    Params(String),
}

/// Result alias for the features stage.
pub type Result<T, E = FeaturesError> = std::result::Result<T, E>;
