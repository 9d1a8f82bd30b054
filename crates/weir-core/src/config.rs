//! Runtime configuration of a job.

use crate::checkpointing::{CheckpointConfig, RestartStrategy};
use crate::error::{Result, WeirError};
use crate::keygroup::{self, DEFAULT_MAX_PARALLELISM};
use crate::state_backend::StateBackendConfig;
use std::path::PathBuf;
use std::time::Duration;

/// Default of [`ExecutionConfig::channel_capacity_bytes`]: 8 MiB.
pub const DEFAULT_CHANNEL_CAPACITY_BYTES: usize = 8 << 20;

/// Default of [`ExecutionConfig::task_cancellation_timeout`].
pub const DEFAULT_TASK_CANCELLATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Knobs of the local runtime. Every field has a sensible default
/// ([`ExecutionConfig::default`]); [`ExecutionConfig::validate`] rejects nonsense
/// with a message that names the field.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionConfig {
    /// Parallelism of operators that do not set their own.
    pub default_parallelism: usize,
    /// Number of key groups of operators that do not set their own.
    pub max_parallelism: usize,
    /// Records per network buffer: a buffer is sent downstream when it holds this many.
    pub buffer_size: usize,
    /// A partly filled buffer is sent at the latest this long after its first record
    /// (`Duration::ZERO` sends every record at once). Idle tasks always flush at once.
    pub buffer_timeout: Duration,
    /// Buffers a channel may hold before its sender blocks (backpressure).
    pub channel_capacity: usize,
    /// Estimated bytes of records a channel may hold before its sender blocks, so
    /// that large records do not exhaust memory (a buffer is sent early once it
    /// holds its share, `channel_capacity_bytes / channel_capacity`). Records of
    /// types owning no heap memory are sized exactly at no cost; others are
    /// estimated per record (inline size plus encoded length). Default 8 MiB.
    pub channel_capacity_bytes: usize,
    /// Whether forward edges between operators of equal parallelism become direct
    /// calls inside one task.
    pub chaining: bool,
    /// Seed of every randomized decision the runtime makes (shuffle partitioning), so
    /// that runs repeat.
    pub seed: u64,
    /// How often watermark generators emit periodic watermarks (and idleness is
    /// checked).
    pub auto_watermark_interval: Duration,
    /// Periodic checkpoints (disabled by default).
    pub checkpointing: CheckpointConfig,
    /// What happens when a task fails; `None` means "no restarts" without
    /// checkpointing and practically unlimited restarts with it.
    pub restart_strategy: Option<RestartStrategy>,
    /// Where keyed state lives: on the heap (default) or in RocksDB.
    pub state_backend: StateBackendConfig,
    /// Whether a job may start from a checkpoint or savepoint holding state of
    /// operators (by uid) the job no longer has; that state is then dropped.
    /// Default false: such a restore is refused, naming the operators.
    pub allow_non_restored_state: bool,
    /// Start from this retained checkpoint directory (`.../chk-<n>`) or from the
    /// latest valid checkpoint under this job checkpoint directory.
    pub restore_from: Option<PathBuf>,
    /// How long cancelled tasks (a cancelled job, or an attempt cancelled during
    /// failover) may take to stop. Tasks still running after it (an operator that
    /// never returns) fail the job with an error naming them, and their threads are
    /// abandoned, so cancelling never hangs. As Flink's
    /// `task.cancellation.timeout`; `Duration::ZERO` waits forever. Default 30 s.
    pub task_cancellation_timeout: Duration,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            default_parallelism: 1,
            max_parallelism: DEFAULT_MAX_PARALLELISM,
            buffer_size: 1024,
            buffer_timeout: Duration::from_millis(100),
            channel_capacity: 4,
            channel_capacity_bytes: DEFAULT_CHANNEL_CAPACITY_BYTES,
            chaining: true,
            seed: 0x5745_4952,
            auto_watermark_interval: Duration::from_millis(200),
            checkpointing: CheckpointConfig::default(),
            restart_strategy: None,
            state_backend: StateBackendConfig::Heap,
            allow_non_restored_state: false,
            restore_from: None,
            task_cancellation_timeout: DEFAULT_TASK_CANCELLATION_TIMEOUT,
        }
    }
}

impl ExecutionConfig {
    /// The restart strategy in effect: the configured one, or the default for
    /// whether checkpointing is enabled.
    pub fn effective_restart_strategy(&self) -> RestartStrategy {
        match &self.restart_strategy {
            Some(strategy) => strategy.clone(),
            None if self.checkpointing.enabled() => RestartStrategy::default_with_checkpointing(),
            None => RestartStrategy::None,
        }
    }

    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        keygroup::validate(self.default_parallelism, self.max_parallelism)
            .map_err(|e| WeirError::Config(format!("default parallelism / max parallelism: {e}")))?;
        if self.buffer_size == 0 {
            return Err(WeirError::Config("buffer_size must be at least 1 record".into()));
        }
        if self.channel_capacity == 0 {
            return Err(WeirError::Config("channel_capacity must be at least 1 buffer".into()));
        }
        if self.channel_capacity_bytes == 0 {
            return Err(WeirError::Config(
                "channel_capacity_bytes must be at least 1 byte".into(),
            ));
        }
        if self.auto_watermark_interval.is_zero() {
            return Err(WeirError::Config("auto_watermark_interval must be positive".into()));
        }
        self.checkpointing.validate()?;
        if let Some(strategy) = &self.restart_strategy {
            strategy.validate()?;
        }
        self.state_backend.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_zeroes_are_not() {
        assert!(ExecutionConfig::default().validate().is_ok());
        let c = ExecutionConfig {
            buffer_size: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("buffer_size"));
        let c = ExecutionConfig {
            channel_capacity: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = ExecutionConfig {
            default_parallelism: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
