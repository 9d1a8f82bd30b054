//! Errors of checkpoint storage.

use std::path::PathBuf;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file operation failed.
    #[error("I/O error on '{}': {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint file is damaged: wrong size, wrong checksum, unreadable metadata.
    #[error("corrupt checkpoint file '{}': {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// An object store request failed (local directories are an object store too:
    /// `object_store`'s `LocalFileSystem`).
    #[error("object store error on '{}': {source}", path.display())]
    Remote {
        /// The object or prefix.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },

    /// A location cannot be used as written (a URL without a bucket, a path that is
    /// no valid object path).
    #[error("bad checkpoint storage location '{}': {reason}", path.display())]
    RemoteConfig {
        /// The location.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// No usable checkpoint was found.
    #[error("no valid checkpoint in '{}'{}", path.display(), if details.is_empty() { String::new() } else { format!(": {details}") })]
    NotFound {
        /// Where it was looked for.
        path: PathBuf,
        /// Why candidates were rejected.
        details: String,
    },
}

impl CheckpointError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CheckpointError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn remote(path: impl Into<PathBuf>, source: object_store::Error) -> Self {
        CheckpointError::Remote {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn remote_config(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CheckpointError::RemoteConfig {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CheckpointError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
