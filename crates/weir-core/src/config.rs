//! Runtime configuration of a job.

use crate::error::{Result, WeirError};
use crate::keygroup::{self, DEFAULT_MAX_PARALLELISM};
use std::time::Duration;

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
    /// Whether forward edges between operators of equal parallelism become direct
    /// calls inside one task.
    pub chaining: bool,
    /// Seed of every randomized decision the runtime makes (shuffle partitioning), so
    /// that runs repeat.
    pub seed: u64,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            default_parallelism: 1,
            max_parallelism: DEFAULT_MAX_PARALLELISM,
            buffer_size: 1024,
            buffer_timeout: Duration::from_millis(100),
            channel_capacity: 4,
            chaining: true,
            seed: 0x5745_4952,
        }
    }
}

impl ExecutionConfig {
    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        keygroup::validate(self.default_parallelism, self.max_parallelism).map_err(|e| {
            WeirError::Config(format!("default parallelism / max parallelism: {e}"))
        })?;
        if self.buffer_size == 0 {
            return Err(WeirError::Config(
                "buffer_size must be at least 1 record".into(),
            ));
        }
        if self.channel_capacity == 0 {
            return Err(WeirError::Config(
                "channel_capacity must be at least 1 buffer".into(),
            ));
        }
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
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("buffer_size"));
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
