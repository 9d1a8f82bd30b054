//! Checkpointing and restart configuration.

use crate::error::{Result, WeirError};
use crate::storage_retry::StorageRetry;
use std::path::PathBuf;
use std::time::Duration;

/// How barriers are handled at operators with several input channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CheckpointMode {
    /// Exactly-once: a task blocks each input channel that delivered barrier *n*
    /// until all have, so no record after a barrier is processed before the snapshot.
    #[default]
    Aligned,
    /// Exactly-once: barriers overtake queued buffers; the buffers they overtook are
    /// stored with the snapshot as channel state and replayed on restore. Checkpoints
    /// stay fast under backpressure.
    Unaligned,
    /// At-least-once: no channel is ever blocked; after a failure some records may be
    /// processed twice.
    AtLeastOnce,
}

impl CheckpointMode {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointMode::Aligned => "aligned",
            CheckpointMode::Unaligned => "unaligned",
            CheckpointMode::AtLeastOnce => "at-least-once",
        }
    }
}

impl std::str::FromStr for CheckpointMode {
    type Err = WeirError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "aligned" | "exactly-once" => Ok(CheckpointMode::Aligned),
            "unaligned" => Ok(CheckpointMode::Unaligned),
            "at-least-once" => Ok(CheckpointMode::AtLeastOnce),
            other => Err(WeirError::Config(format!(
                "unknown checkpoint mode '{other}': use aligned, unaligned or at-least-once"
            ))),
        }
    }
}

/// Periodic checkpoints of a job. Disabled unless `interval` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    /// Time between checkpoint triggers; `None` disables checkpointing.
    pub interval: Option<Duration>,
    /// Barrier handling.
    pub mode: CheckpointMode,
    /// In aligned mode, switch a checkpoint to unaligned when a task has been
    /// aligning for longer than this. `None` never switches.
    pub alignment_timeout: Option<Duration>,
    /// A checkpoint not completed within this time is aborted.
    pub timeout: Duration,
    /// Least time between the end of one checkpoint and the trigger of the next.
    pub min_pause: Duration,
    /// Most checkpoints in flight at once.
    pub max_concurrent: usize,
    /// Consecutive failed checkpoints tolerated before the job fails over.
    pub tolerable_failures: u32,
    /// Completed checkpoints kept on storage (older ones are deleted).
    pub retained: usize,
    /// Where checkpoints are stored (a local directory).
    pub directory: PathBuf,
    /// How reads of checkpoint storage are retried while it is unavailable
    /// (restores after a failure, and restores this job starts from).
    pub storage_retry: StorageRetry,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval: None,
            mode: CheckpointMode::Aligned,
            alignment_timeout: None,
            timeout: Duration::from_secs(600),
            min_pause: Duration::ZERO,
            max_concurrent: 1,
            tolerable_failures: 0,
            retained: 3,
            directory: std::env::temp_dir().join("weir-checkpoints"),
            storage_retry: StorageRetry::default(),
        }
    }
}

impl CheckpointConfig {
    /// Whether checkpoints are taken.
    pub fn enabled(&self) -> bool {
        self.interval.is_some()
    }

    /// Checks every field; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(interval) = self.interval {
            if interval.is_zero() {
                return Err(WeirError::Config("checkpoint interval must be positive".into()));
            }
        }
        if self.timeout.is_zero() {
            return Err(WeirError::Config("checkpoint timeout must be positive".into()));
        }
        if self.max_concurrent == 0 {
            return Err(WeirError::Config(
                "max concurrent checkpoints must be at least 1".into(),
            ));
        }
        if self.retained == 0 {
            return Err(WeirError::Config("retained checkpoints must be at least 1".into()));
        }
        self.storage_retry.validate()
    }
}

/// What happens when a task fails.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RestartStrategy {
    /// The job fails at the first task failure.
    None,
    /// Restart after `delay`, at most `attempts` times in total.
    FixedDelay {
        /// Restarts allowed.
        attempts: u32,
        /// Wait before each restart.
        delay: Duration,
    },
    /// Restart after a delay that starts at `initial` and is multiplied by
    /// `multiplier` after each restart, up to `max`; at most `attempts` restarts.
    ExponentialBackoff {
        /// First delay.
        initial: Duration,
        /// Largest delay.
        max: Duration,
        /// Growth factor (at least 1).
        multiplier: f64,
        /// Restarts allowed.
        attempts: u32,
    },
}

impl Default for RestartStrategy {
    /// No restarts without checkpointing; with checkpointing the runtime uses
    /// [`RestartStrategy::default_with_checkpointing`].
    fn default() -> Self {
        RestartStrategy::None
    }
}

impl RestartStrategy {
    /// The strategy used when checkpointing is enabled and none was chosen:
    /// unlimited restarts, the first after 100 ms, backing off to at most 10 s while
    /// the job keeps failing without completing a checkpoint.
    pub fn default_with_checkpointing() -> Self {
        RestartStrategy::ExponentialBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            attempts: u32::MAX,
        }
    }

    /// The most restarts the strategy allows; `None` when unlimited (`u32::MAX`).
    pub fn attempts(&self) -> Option<u32> {
        let attempts = match self {
            RestartStrategy::None => 0,
            RestartStrategy::FixedDelay { attempts, .. } | RestartStrategy::ExponentialBackoff { attempts, .. } => {
                *attempts
            }
        };
        (attempts != u32::MAX).then_some(attempts)
    }

    /// Checks the strategy; the error names the field. Durations may be as large as
    /// wanted (`Duration::MAX` waits practically forever), but an exponential
    /// backoff needs a finite multiplier of at least 1 and an initial delay no
    /// larger than its maximum.
    pub fn validate(&self) -> Result<()> {
        if let RestartStrategy::ExponentialBackoff {
            initial,
            max,
            multiplier,
            ..
        } = self
        {
            if !multiplier.is_finite() || *multiplier < 1.0 {
                return Err(WeirError::Config(format!(
                    "restart backoff multiplier must be a finite number of at least 1, not {multiplier}"
                )));
            }
            if initial > max {
                return Err(WeirError::Config(format!(
                    "restart backoff: the initial delay ({initial:?}) is larger than the maximum ({max:?})"
                )));
            }
        }
        Ok(())
    }

    /// The delay before restart number `restart` (1-based, counting every restart
    /// of the job), when the job has failed `unstable` times in a row without
    /// completing a checkpoint in between (exponential backoff starts over after
    /// progress); `None` when no more restarts are allowed.
    pub fn delay(&self, restart: u32, unstable: u32) -> Option<Duration> {
        match self {
            RestartStrategy::ExponentialBackoff { attempts, .. } if restart > *attempts => None,
            RestartStrategy::ExponentialBackoff { .. } => self.delay_before(unstable.max(1)),
            _ => self.delay_before(restart),
        }
    }

    /// The delay before restart number `restart` (1-based), or `None` when no more
    /// restarts are allowed.
    pub fn delay_before(&self, restart: u32) -> Option<Duration> {
        match self {
            RestartStrategy::None => None,
            RestartStrategy::FixedDelay { attempts, delay } => (restart <= *attempts).then_some(*delay),
            RestartStrategy::ExponentialBackoff {
                initial,
                max,
                multiplier,
                attempts,
            } => {
                if restart > *attempts {
                    return None;
                }
                let factor = multiplier.max(1.0).powi(restart.saturating_sub(1).min(1_000) as i32);
                let delay = crate::time::duration_from_secs_f64(initial.as_secs_f64() * factor);
                Some(delay.min(*max))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_delay_stops_after_attempts() {
        let s = RestartStrategy::FixedDelay {
            attempts: 2,
            delay: Duration::from_millis(5),
        };
        assert_eq!(s.delay_before(1), Some(Duration::from_millis(5)));
        assert_eq!(s.delay_before(2), Some(Duration::from_millis(5)));
        assert_eq!(s.delay_before(3), None);
        assert_eq!(RestartStrategy::None.delay_before(1), None);
    }

    #[test]
    fn exponential_backoff_grows_to_max() {
        let s = RestartStrategy::ExponentialBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(350),
            multiplier: 2.0,
            attempts: 10,
        };
        let delays: Vec<_> = (1..=4).map(|r| s.delay_before(r).unwrap().as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 350, 350]);
        assert_eq!(s.delay_before(11), None);
        // Backoff starts over after progress, but the attempt limit counts all.
        assert_eq!(s.delay(5, 1), Some(Duration::from_millis(100)));
        assert_eq!(s.delay(11, 1), None);
    }

    #[test]
    fn validation_names_the_field() {
        let c = CheckpointConfig {
            max_concurrent: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("concurrent"));
        let c = CheckpointConfig {
            interval: Some(Duration::ZERO),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("interval"));
        assert_eq!(
            "unaligned".parse::<CheckpointMode>().unwrap(),
            CheckpointMode::Unaligned
        );
        assert!("sometimes".parse::<CheckpointMode>().is_err());
        let backoff = |multiplier: f64| RestartStrategy::ExponentialBackoff {
            initial: Duration::from_millis(1),
            max: Duration::MAX,
            multiplier,
            attempts: 3,
        };
        assert!(backoff(2.0).validate().is_ok());
        for bad in [f64::NAN, f64::INFINITY, 0.5] {
            assert!(backoff(bad).validate().unwrap_err().to_string().contains("multiplier"));
        }
    }
}
