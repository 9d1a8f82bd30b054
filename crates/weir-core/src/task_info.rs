//! Identity of a running subtask, handed to user functions, sources and sinks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Tells whether a task has been cancelled (the job was cancelled, or is failing
/// over after another task failed). Long-running user code (a function that loops,
/// a source or sink waiting on an external system) checks it and returns early;
/// code that never returns is reported after the job's task cancellation timeout
/// (`ExecutionConfig::task_cancellation_timeout`) and its thread is abandoned.
///
/// Cloning shares the flag.
///
/// ```
/// use weir_core::CancellationFlag;
/// let flag = CancellationFlag::new();
/// let seen_by_user_code = flag.clone();
/// assert!(!seen_by_user_code.is_cancelled());
/// flag.cancel();
/// assert!(seen_by_user_code.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancellationFlag(Arc<AtomicBool>);

impl CancellationFlag {
    /// A flag not (yet) raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag (the runtime does, when it cancels the task).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the task has been cancelled.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for CancellationFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancellationFlag {}

/// Which subtask of which operator is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtaskInfo {
    /// Name of the operator (or of the chain's operator the info is given to).
    pub operator_name: String,
    /// Zero-based index of this subtask.
    pub index: usize,
    /// Number of parallel subtasks of the operator.
    pub parallelism: usize,
    /// Number of key groups of the operator.
    pub max_parallelism: usize,
    /// How many times the job has been restarted before this attempt (0 at first).
    pub attempt: u32,
    /// Raised when the task is cancelled: long-running user code should check it
    /// ([`is_cancelled`](Self::is_cancelled)) and return.
    pub cancellation: CancellationFlag,
}

impl SubtaskInfo {
    /// Info for subtask `index` of `parallelism`, attempt 0.
    pub fn new(operator_name: impl Into<String>, index: usize, parallelism: usize, max_parallelism: usize) -> Self {
        SubtaskInfo {
            operator_name: operator_name.into(),
            index,
            parallelism,
            max_parallelism,
            attempt: 0,
            cancellation: CancellationFlag::new(),
        }
    }

    /// Whether the task running this subtask has been cancelled (the job was
    /// cancelled, or is failing over): long-running user code should return.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// The key groups this subtask owns.
    pub fn key_group_range(&self) -> crate::keygroup::KeyGroupRange {
        crate::keygroup::range_for_subtask(self.max_parallelism, self.parallelism, self.index)
    }
}
