//! The error type shared by the core helpers.

use std::path::PathBuf;

/// Errors raised by the shared helpers; every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow operation failed while building or reading a table.
    #[error("{path}: arrow: {source}")]
    Arrow {
        /// The file the table belongs to.
        path: PathBuf,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },
    /// A table does not have the expected shape.
    #[error("{path}: {message}")]
    Schema {
        /// The file whose schema is wrong.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A JSON document could not be read or written.
    #[error("{path}: json: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// Result alias for the core helpers.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// A schema error about `path`.
    pub fn schema(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        CoreError::Schema {
            path: path.into(),
            message: message.into(),
        }
    }
}
