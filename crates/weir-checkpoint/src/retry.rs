//! Retrying reads while checkpoint storage is unavailable.

use crate::error::{CheckpointError, ErrorClass};
use weir_core::StorageRetry;

/// Runs `read` until it succeeds, fails with anything but unavailability, or has
/// been tried `retry.attempts` times (then the last error, wrapped in
/// [`CheckpointError::RetriesExhausted`]). Waits with exponential backoff between
/// tries; `what` names the read in the warnings.
pub(crate) fn with_retry<T>(
    retry: &StorageRetry,
    what: &dyn std::fmt::Display,
    mut read: impl FnMut() -> Result<T, CheckpointError>,
) -> Result<T, CheckpointError> {
    let attempts = retry.attempts.max(1);
    let mut tried = 0;
    loop {
        tried += 1;
        match read() {
            Err(e) if e.class() == ErrorClass::Unavailable && tried < attempts => {
                let wait = retry.backoff(tried);
                tracing::warn!(
                    "reading {what}: {e}; storage unavailable, try {tried} of {attempts}, retrying in {wait:?}"
                );
                std::thread::sleep(wait);
            }
            Err(e) if e.class() == ErrorClass::Unavailable && attempts > 1 => {
                return Err(CheckpointError::RetriesExhausted {
                    attempts: tried,
                    source: Box::new(e),
                })
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn quick(attempts: u32) -> StorageRetry {
        StorageRetry {
            attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    fn unavailable() -> CheckpointError {
        CheckpointError::io("x", std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout"))
    }

    #[test]
    fn unavailability_is_retried_damage_is_not() {
        let mut calls = 0;
        let value = with_retry(&quick(5), &"x", || {
            calls += 1;
            if calls < 3 {
                Err(unavailable())
            } else {
                Ok(calls)
            }
        })
        .unwrap();
        assert_eq!(value, 3);

        let mut calls = 0;
        let e = with_retry(&quick(4), &"x", || -> Result<(), _> {
            calls += 1;
            Err(unavailable())
        })
        .unwrap_err();
        assert_eq!(calls, 4);
        assert!(
            matches!(e, CheckpointError::RetriesExhausted { attempts: 4, .. }),
            "{e}"
        );

        let mut calls = 0;
        let e = with_retry(&quick(4), &"x", || -> Result<(), _> {
            calls += 1;
            Err(CheckpointError::corrupt("x", "checksum mismatch"))
        })
        .unwrap_err();
        assert_eq!(calls, 1, "damage is not retried");
        assert_eq!(e.class(), ErrorClass::Damaged);
    }
}
