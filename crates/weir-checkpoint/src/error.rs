//! Errors of checkpoint storage, and how they are told apart: a *damaged*
//! checkpoint (wrong checksum, malformed, a file missing) is skipped for an older
//! one; *unavailable* storage (an I/O error, a timeout) is retried and then fails
//! the restore; an *invalid* request (a bad location, an incompatible job) fails
//! at once.

use std::path::PathBuf;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

    /// A checkpoint file is damaged: wrong size, wrong checksum, unreadable metadata,
    /// not a regular file.
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

    /// A checkpoint could not be read for a restore (the storage stayed
    /// unavailable, or the request was invalid).
    #[error("cannot read checkpoint '{}': {source}", path.display())]
    Unreadable {
        /// The checkpoint's directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<CheckpointError>,
    },

    /// Storage stayed unavailable through every retry.
    #[error("{source} (still failing after {attempts} attempts)")]
    RetriesExhausted {
        /// Tries made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<CheckpointError>,
    },

    /// Keyed state was written with another number of key groups than the job
    /// now has: restoring it would put keys under the wrong key groups.
    #[error(
        "cannot restore '{}': the keyed state of operator '{operator}' was written with max parallelism \
         {checkpoint} (key groups), but the job's operator has max parallelism {job}; a job restores \
         keyed state only with the max parallelism it was written with (set the operator's or the job's \
         max parallelism back to {checkpoint})",
        path.display()
    )]
    MaxParallelismMismatch {
        /// The checkpoint or savepoint.
        path: PathBuf,
        /// The operator's id (its uid).
        operator: String,
        /// Max parallelism recorded in the checkpoint.
        checkpoint: usize,
        /// Max parallelism of the operator in the new job.
        job: usize,
    },
}

/// What kind of failure a [`CheckpointError`] is, which decides what a restore
/// does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The checkpoint is damaged (a checksum or size mismatch, a malformed or
    /// missing file, something that is not a regular file): no retry repairs it;
    /// an older valid checkpoint is used instead.
    Damaged,
    /// The storage cannot be reached or read right now (an I/O error, a timeout, a
    /// refused connection, missing permissions): retried with backoff, then the
    /// restore fails.
    Unavailable,
    /// The request itself is wrong (a bad location, a job that does not fit the
    /// checkpoint): fails at once.
    Invalid,
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

    /// Whether this is damage, unavailability or an invalid request.
    pub fn class(&self) -> ErrorClass {
        match self {
            CheckpointError::Io { source, .. } => io_class(source),
            CheckpointError::Corrupt { .. } | CheckpointError::NotFound { .. } => ErrorClass::Damaged,
            CheckpointError::Remote { source, .. } => remote_class(source),
            CheckpointError::RemoteConfig { .. } | CheckpointError::MaxParallelismMismatch { .. } => {
                ErrorClass::Invalid
            }
            CheckpointError::RetriesExhausted { source, .. } | CheckpointError::Unreadable { source, .. } => {
                source.class()
            }
        }
    }
}

fn io_class(error: &std::io::Error) -> ErrorClass {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::InvalidData | ErrorKind::UnexpectedEof => ErrorClass::Damaged,
        _ => ErrorClass::Unavailable,
    }
}

fn remote_class(error: &object_store::Error) -> ErrorClass {
    use object_store::Error;
    match error {
        Error::NotFound { .. } => ErrorClass::Damaged,
        Error::InvalidPath { .. }
        | Error::NotSupported { .. }
        | Error::NotImplemented { .. }
        | Error::UnknownConfigurationKey { .. } => ErrorClass::Invalid,
        Error::Generic { source, .. } => match source.downcast_ref::<std::io::Error>() {
            Some(io) => io_class(io),
            None => ErrorClass::Unavailable,
        },
        // Permissions, credentials, timeouts, connections, server errors: may pass.
        _ => ErrorClass::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_unavailability_and_invalid_requests_are_told_apart() {
        let io = |kind| CheckpointError::io("x", std::io::Error::new(kind, "test"));
        assert_eq!(io(std::io::ErrorKind::NotFound).class(), ErrorClass::Damaged);
        assert_eq!(io(std::io::ErrorKind::TimedOut).class(), ErrorClass::Unavailable);
        assert_eq!(
            io(std::io::ErrorKind::PermissionDenied).class(),
            ErrorClass::Unavailable
        );
        assert_eq!(CheckpointError::corrupt("x", "bad").class(), ErrorClass::Damaged);
        let remote = |source| CheckpointError::remote("x", source);
        let not_found = object_store::Error::NotFound {
            path: "x".into(),
            source: "gone".into(),
        };
        assert_eq!(remote(not_found).class(), ErrorClass::Damaged);
        let generic = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        assert_eq!(remote(generic).class(), ErrorClass::Unavailable);
        let denied = object_store::Error::PermissionDenied {
            path: "x".into(),
            source: "403".into(),
        };
        assert_eq!(remote(denied).class(), ErrorClass::Unavailable);
        assert_eq!(
            CheckpointError::remote_config("x", "no bucket").class(),
            ErrorClass::Invalid
        );
        let exhausted = CheckpointError::RetriesExhausted {
            attempts: 3,
            source: Box::new(io(std::io::ErrorKind::TimedOut)),
        };
        assert_eq!(exhausted.class(), ErrorClass::Unavailable);
        assert!(exhausted.to_string().contains("after 3 attempts"), "{exhausted}");
    }
}
