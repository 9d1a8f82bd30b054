//! Calendar helpers for Flink's `DATE_FORMAT` and `HOUR` on `TIMESTAMP(3)` values
//! (ms since the epoch, read as UTC like the generator's timestamps).

/// Milliseconds per day.
const DAY_MS: i64 = 86_400_000;

/// The day number (days since 1970-01-01) of `ms`.
pub(crate) fn day_number(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The minute of the day (0..1440) of `ms`.
pub(crate) fn minute_of_day(ms: i64) -> i64 {
    ms.rem_euclid(DAY_MS) / 60_000
}

/// `HOUR(ts)`: the hour of the day (0..24) of `ms`.
pub(crate) fn hour(ms: i64) -> i64 {
    ms.rem_euclid(DAY_MS) / 3_600_000
}

/// `DATE_FORMAT(ts, 'yyyy-MM-dd')` of day number `day`.
pub(crate) fn format_day(day: i64) -> String {
    let (y, m, d) = weir_nexmark::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `DATE_FORMAT(ts, 'HH:mm')` of minute of the day `minute`.
pub(crate) fn format_minute(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_days_and_minutes() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(day_number(951_782_400_000)), "2000-02-29");
        assert_eq!(format_day(day_number(1_700_000_000_000)), "2023-11-14");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(hour(1_700_000_000_000), 22);
        assert_eq!(format_minute(minute_of_day(1_700_000_000_000)), "22:13");
    }
}
