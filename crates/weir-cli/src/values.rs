//! Parsers of option values that clap's built-in ones do not check: counts and
//! parallelisms that must be positive, rates, and durations within sane bounds.
//! Each error says what is allowed, so that no value is silently reinterpreted
//! (`0` is never "unlimited" or "default").

use std::time::Duration;

/// A parallelism, a number of words to show, ...: an integer of at least 1.
pub fn positive_usize(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// A count of records to generate: at least 1 (an endless stream is asked for with
/// `--unbounded`, never with 0).
pub fn positive_count(text: &str) -> Result<u64, String> {
    let n: u64 = text
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number"))?;
    if n == 0 {
        return Err("must be at least 1 (for an endless stream use --unbounded)".into());
    }
    Ok(n)
}

/// A rate limit in records per second: positive and finite (leave the option out
/// for no limit).
pub fn rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.trim().parse().map_err(|_| format!("'{text}' is not a number"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err("must be a positive number of records per second (leave the option out for no limit)".into());
    }
    Ok(rate)
}

/// The longest checkpoint interval and restart delay accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("'{text}' is not a duration like 500ms, 10s or 1min ({e})"))
}

/// A checkpoint interval: from 1 ms to a day.
pub fn interval(text: &str) -> Result<Duration, String> {
    let interval = duration(text)?;
    if interval < Duration::from_millis(1) {
        return Err("must be at least 1ms".into());
    }
    if interval > MAX_DURATION {
        return Err(format!(
            "{} is longer than the longest interval accepted ({}); to take no checkpoints, leave the option out",
            humantime::format_duration(interval),
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(interval)
}

/// A delay (such as a restart delay): from zero to a day.
pub fn delay(text: &str) -> Result<Duration, String> {
    let delay = duration(text)?;
    if delay > MAX_DURATION {
        return Err(format!(
            "{} is longer than the longest delay accepted ({})",
            humantime::format_duration(delay),
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(delay)
}

/// A timeout of a command: positive, at most a day.
pub fn timeout(text: &str) -> Result<Duration, String> {
    let timeout = delay(text)?;
    if timeout.is_zero() {
        return Err("must be positive".into());
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_refused_where_it_would_mean_something_else() {
        assert_eq!(positive_usize("4"), Ok(4));
        assert!(positive_usize("0").unwrap_err().contains("at least 1"));
        assert!(positive_usize("-1").is_err());
        assert_eq!(positive_count("1_000"), Ok(1000));
        assert!(positive_count("0").unwrap_err().contains("--unbounded"));
        assert_eq!(rate("2.5"), Ok(2.5));
        for bad in ["0", "-3", "inf", "NaN"] {
            assert!(rate(bad).unwrap_err().contains("positive"), "{bad}");
        }
    }

    #[test]
    fn durations_stay_within_bounds() {
        assert_eq!(interval("100ms"), Ok(Duration::from_millis(100)));
        assert!(interval("0s").unwrap_err().contains("at least 1ms"));
        let e = interval("18446744073709551615s").unwrap_err();
        assert!(e.contains("longer than the longest interval accepted (1day)"), "{e}");
        assert!(interval("soon").unwrap_err().contains("not a duration"));
        assert_eq!(delay("0s"), Ok(Duration::ZERO));
        assert!(delay("2days").is_err());
        assert!(timeout("0s").is_err());
    }
}
