//! How reads of checkpoint storage are retried while the storage is unavailable.

use crate::error::{Result, WeirError};
use std::time::Duration;

/// How a read of checkpoint storage (choosing a checkpoint to restore, reading a
/// task's state) is retried while the storage is *unavailable*: an I/O error, a
/// timeout, a refused connection, a permission problem. A *damaged* checkpoint
/// (a checksum mismatch, a malformed or missing file) is never retried: it is
/// skipped in favour of an older valid one.
///
/// After `attempts` tries the restore fails with an error naming the checkpoint
/// and the cause; a job whose completed checkpoint cannot be read fails instead of
/// starting from empty state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRetry {
    /// Tries in total, the first included (1: no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled before each further one.
    pub initial_backoff: Duration,
    /// Longest wait between two tries.
    pub max_backoff: Duration,
}

impl Default for StorageRetry {
    /// 8 tries, waiting 100 ms, 200 ms, … up to 5 s in between (about 11 s in all).
    fn default() -> Self {
        StorageRetry {
            attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl StorageRetry {
    /// One try, no retry.
    pub fn none() -> Self {
        StorageRetry {
            attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// The wait before retry number `retry` (1-based): `initial_backoff` doubled
    /// `retry - 1` times, at most `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(Duration::MAX)
            .min(self.max_backoff)
    }

    /// Checks the fields; the error names the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.attempts == 0 {
            return Err(WeirError::Config(
                "checkpoint storage retry attempts must be at least 1 (1: no retry)".into(),
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(WeirError::Config(format!(
                "checkpoint storage retry: the initial backoff ({:?}) exceeds the maximum ({:?})",
                self.initial_backoff, self.max_backoff
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_validation_names_the_field() {
        let retry = StorageRetry::default();
        let waits: Vec<u128> = (1..=8).map(|r| retry.backoff(r).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(retry.backoff(u32::MAX), Duration::from_secs(5));
        assert!(StorageRetry {
            attempts: 0,
            ..retry.clone()
        }
        .validate()
        .unwrap_err()
        .to_string()
        .contains("attempts"));
        assert!(StorageRetry::none().validate().is_ok());
    }
}
