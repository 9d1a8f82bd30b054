//! The errors of the filesystem connector.

use std::path::PathBuf;
use thiserror::Error;

/// What went wrong finding, reading or writing files.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FileSystemError {
    /// A path given to the source does not exist.
    #[error("path '{path}' does not exist")]
    PathNotFound {
        /// The path as given (made absolute).
        path: PathBuf,
    },
    /// A glob pattern matches no file.
    #[error("the pattern '{pattern}' matches no file")]
    NoMatch {
        /// The pattern.
        pattern: String,
    },
    /// A glob pattern is not valid.
    #[error("invalid glob pattern '{pattern}': {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// Why it is not valid.
        reason: String,
    },
    /// An I/O operation on a path failed.
    #[error("{action} '{path}': {source}")]
    Io {
        /// What was being done ("cannot read", "cannot rename").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
}

impl FileSystemError {
    /// An I/O error of `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FileSystemError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
