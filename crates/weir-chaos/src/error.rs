//! Errors of the job and of the harness's plumbing (a discrepancy in the output is
//! not an error but a [`crate::Comparison`]).

use std::path::PathBuf;

/// What went wrong running the job or the harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChaosError {
    /// An option of the job is invalid.
    #[error("invalid option: {0}")]
    Option(String),
    /// The job could not print a marker or read the harness's reply.
    #[error("cannot report to the harness: {0}")]
    Report(String),
    /// The job failed.
    #[error("the job failed: {0}")]
    Job(#[from] weir::core::WeirError),
    /// A file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The child process could not be started or watched.
    #[error("cannot run the job process '{program}': {source}")]
    Spawn {
        /// The job binary.
        program: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A committed output line is not of the job's form.
    #[error("{path}: line {line}: not an output record: '{text}'")]
    Output {
        /// The committed file.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// The line.
        text: String,
    },
}

impl ChaosError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ChaosError::Io {
            path: path.into(),
            source,
        }
    }
}
