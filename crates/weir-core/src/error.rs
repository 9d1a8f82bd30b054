//! The typed error returned by Weir's library crates.

use std::path::PathBuf;

/// An error raised by user code (a function, source or sink). Weir wraps it with the
/// operator and subtask that raised it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with [`WeirError`].
pub type Result<T, E = WeirError> = std::result::Result<T, E>;

/// What went wrong while building or running a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeirError {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The job graph cannot be built (e.g. a forward edge between operators of
    /// different parallelism).
    #[error("invalid job graph: {0}")]
    Graph(String),

    /// A task of the job failed. `operator` is the name of the operator whose code
    /// failed, `subtask` its zero-based subtask index.
    #[error("operator '{operator}' (subtask {subtask} of {parallelism}) failed: {cause}")]
    TaskFailed {
        /// Name of the failing operator.
        operator: String,
        /// Zero-based index of the failing subtask.
        subtask: usize,
        /// Parallelism of the failing operator.
        parallelism: usize,
        /// What the operator reported (error message or panic payload).
        cause: String,
    },

    /// An I/O operation on a file failed.
    #[error("I/O error on '{}': {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint could not be written, or a job could not be restored from one.
    #[error("checkpoint error: {0}")]
    Checkpoint(String),

    /// The job kept failing until its restart strategy allowed no more restarts;
    /// `last` is the failure that ended it.
    #[error("restart strategy exhausted after {restarts} restarts; last failure: {last}")]
    RestartsExhausted {
        /// Restarts that were made before the last failure.
        restarts: u32,
        /// The last failure.
        last: Box<WeirError>,
    },

    /// Cancelled tasks did not stop within the task cancellation timeout (an
    /// operator's code never returned); their threads are abandoned. `operator`
    /// names the first stuck task: its chain of operators (`a -> b`), one of which
    /// never returned.
    #[error(
        "operator '{operator}' (subtask {subtask} of {parallelism}) did not stop within the task cancellation \
         timeout of {timeout:?} after it was cancelled ({reason}); its thread is abandoned{}",
        if *others > 0 { format!(" (and {others} more tasks)") } else { String::new() }
    )]
    TaskStuck {
        /// The stuck task's operators.
        operator: String,
        /// Its subtask index.
        subtask: usize,
        /// Its parallelism.
        parallelism: usize,
        /// The task cancellation timeout.
        timeout: std::time::Duration,
        /// Why the tasks were cancelled.
        reason: String,
        /// How many other tasks were stuck too.
        others: usize,
    },

    /// The job was cancelled before it finished.
    #[error("job was cancelled")]
    Cancelled,

    /// A failure inside Weir itself; please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WeirError {
    /// Builds an [`WeirError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WeirError::Io {
            path: path.into(),
            source,
        }
    }
}
