//! Identity of a running subtask, handed to user functions, sources and sinks.

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
        }
    }

    /// The key groups this subtask owns.
    pub fn key_group_range(&self) -> crate::keygroup::KeyGroupRange {
        crate::keygroup::range_for_subtask(self.max_parallelism, self.parallelism, self.index)
    }
}
