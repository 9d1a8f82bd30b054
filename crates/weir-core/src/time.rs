//! Deadlines and durations that never overflow.
//!
//! Intervals and timeouts come from users (`--checkpoint-interval
//! 18446744073709551615s`, `Duration::MAX` meaning "never"); adding one to an
//! [`Instant`] or turning it into milliseconds must not panic or wrap. Every place
//! in the runtime that does so goes through these functions: a sum that cannot be
//! represented becomes a point so far ahead that it is never reached.

use std::time::{Duration, Instant};

/// How far ahead "never" is: about 100 years (far less than what `Instant` can
/// represent on every platform Weir runs on).
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `start + duration`, saturating: when the sum is not representable, or lies more
/// than about 100 years ahead, a point about 100 years after `start` (in practice:
/// never).
///
/// ```
/// use std::time::{Duration, Instant};
/// let now = Instant::now();
/// assert_eq!(weir_core::time::deadline(now, Duration::from_secs(1)), now + Duration::from_secs(1));
/// assert!(weir_core::time::deadline(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
/// ```
pub fn deadline(start: Instant, duration: Duration) -> Instant {
    let capped = duration.min(FAR);
    start
        .checked_add(capped)
        .or_else(|| start.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(start)
}

/// `duration` in whole milliseconds as an `i64` (event and processing time unit),
/// saturating at `i64::MAX`.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `seconds` as a duration, saturating: negative or NaN is zero, anything too large
/// (or infinite) is [`Duration::MAX`].
pub fn duration_from_secs_f64(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate() {
        let now = Instant::now();
        let never = deadline(now, Duration::MAX);
        assert!(never > now + Duration::from_secs(50 * 365 * 24 * 3600));
        assert_eq!(deadline(now, Duration::from_millis(5)), now + Duration::from_millis(5));
        assert_eq!(millis(Duration::MAX), i64::MAX);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(duration_from_secs_f64(f64::INFINITY), Duration::MAX);
        assert_eq!(duration_from_secs_f64(1e300), Duration::MAX);
        assert_eq!(duration_from_secs_f64(f64::NAN), Duration::ZERO);
        assert_eq!(duration_from_secs_f64(-1.0), Duration::ZERO);
        assert_eq!(duration_from_secs_f64(0.25), Duration::from_millis(250));
    }
}
