//! Session options set with `SET 'key' = 'value'`, with typed getters for the keys
//! the planner and runtime use.
//!
//! Durations are written as Flink writes them: a number and an optional unit
//! (`'3600000'` is milliseconds, `'1 h'`, `'10 min'`, `'30 s'`, `'500 ms'`, `'1 d'`;
//! units `ns`, `us`, `ms`, `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hour(s)`,
//! `d`/`day(s)`). A value that cannot be read gives an error naming the key and value.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::SqlError;

/// `parallelism.default`.
pub const PARALLELISM_DEFAULT: &str = "parallelism.default";
/// `table.exec.state.ttl`.
pub const STATE_TTL: &str = "table.exec.state.ttl";
/// `execution.checkpointing.interval`.
pub const CHECKPOINTING_INTERVAL: &str = "execution.checkpointing.interval";
/// `table.exec.mini-batch.enabled`.
pub const MINI_BATCH_ENABLED: &str = "table.exec.mini-batch.enabled";
/// `table.exec.mini-batch.size`.
pub const MINI_BATCH_SIZE: &str = "table.exec.mini-batch.size";
/// `table.exec.mini-batch.allow-latency`.
pub const MINI_BATCH_ALLOW_LATENCY: &str = "table.exec.mini-batch.allow-latency";
/// `table.optimizer.agg-phase-strategy`.
pub const AGG_PHASE_STRATEGY: &str = "table.optimizer.agg-phase-strategy";
/// `table.optimizer.distinct-agg.split.enabled`.
pub const DISTINCT_AGG_SPLIT_ENABLED: &str = "table.optimizer.distinct-agg.split.enabled";
/// `table.exec.source.idle-timeout`.
pub const SOURCE_IDLE_TIMEOUT: &str = "table.exec.source.idle-timeout";

/// `sql-client.execution.result-mode`: how a query's result is shown.
pub const RESULT_MODE: &str = "sql-client.execution.result-mode";

/// How a query's result is shown (`sql-client.execution.result-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultMode {
    /// The current rows, updated in place (`TABLE`, the default).
    #[default]
    Table,
    /// Every change, with its kind (`CHANGELOG`).
    Changelog,
    /// Changes printed as they come (`TABLEAU`).
    Tableau,
}

/// How aggregations are split (`table.optimizer.agg-phase-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AggPhaseStrategy {
    /// The planner decides (`AUTO`, the default).
    #[default]
    Auto,
    /// One phase (`ONE_PHASE`).
    OnePhase,
    /// Local then global aggregation (`TWO_PHASE`).
    TwoPhase,
}

/// The options of a session, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    values: BTreeMap<String, String>,
}

impl SessionOptions {
    /// No options set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, checking the value of the keys this type knows.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SqlError> {
        validate(key, value)?;
        self.values.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Removes `key`; returns whether it was set.
    pub fn reset(&mut self, key: &str) -> bool {
        self.values.remove(key).is_some()
    }

    /// Removes every option.
    pub fn reset_all(&mut self) {
        self.values.clear();
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// All options, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `parallelism.default` (at least 1), if set.
    pub fn parallelism_default(&self) -> Result<Option<u32>, SqlError> {
        self.typed(PARALLELISM_DEFAULT, parse_parallelism)
    }

    /// `sql-client.execution.result-mode` (default `TABLE`).
    pub fn result_mode(&self) -> Result<ResultMode, SqlError> {
        Ok(self.typed(RESULT_MODE, parse_result_mode)?.unwrap_or_default())
    }

    /// `table.exec.state.ttl`; `None` when unset or 0 (state never expires).
    pub fn state_ttl(&self) -> Result<Option<Duration>, SqlError> {
        Ok(self.typed(STATE_TTL, parse_duration)?.filter(|d| !d.is_zero()))
    }

    /// `execution.checkpointing.interval`; `None` when unset or 0 (no checkpoints).
    pub fn checkpointing_interval(&self) -> Result<Option<Duration>, SqlError> {
        Ok(self
            .typed(CHECKPOINTING_INTERVAL, parse_duration)?
            .filter(|d| !d.is_zero()))
    }

    /// `table.exec.mini-batch.enabled` (default false).
    pub fn mini_batch_enabled(&self) -> Result<bool, SqlError> {
        Ok(self.typed(MINI_BATCH_ENABLED, parse_bool)?.unwrap_or(false))
    }

    /// `table.exec.mini-batch.size`; `None` when unset or not positive.
    pub fn mini_batch_size(&self) -> Result<Option<u64>, SqlError> {
        Ok(self
            .typed(MINI_BATCH_SIZE, parse_i64)?
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0))
    }

    /// `table.exec.mini-batch.allow-latency`; `None` when unset or 0.
    pub fn mini_batch_allow_latency(&self) -> Result<Option<Duration>, SqlError> {
        Ok(self
            .typed(MINI_BATCH_ALLOW_LATENCY, parse_duration)?
            .filter(|d| !d.is_zero()))
    }

    /// `table.optimizer.agg-phase-strategy` (default `AUTO`).
    pub fn agg_phase_strategy(&self) -> Result<AggPhaseStrategy, SqlError> {
        Ok(self
            .typed(AGG_PHASE_STRATEGY, parse_agg_phase_strategy)?
            .unwrap_or_default())
    }

    /// `table.optimizer.distinct-agg.split.enabled` (default false).
    pub fn distinct_agg_split_enabled(&self) -> Result<bool, SqlError> {
        Ok(self.typed(DISTINCT_AGG_SPLIT_ENABLED, parse_bool)?.unwrap_or(false))
    }

    /// `table.exec.source.idle-timeout`; `None` when unset or 0.
    pub fn source_idle_timeout(&self) -> Result<Option<Duration>, SqlError> {
        Ok(self
            .typed(SOURCE_IDLE_TIMEOUT, parse_duration)?
            .filter(|d| !d.is_zero()))
    }

    /// Any option read as a duration.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, SqlError> {
        self.typed(key, parse_duration)
    }

    /// Any option read as a boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, SqlError> {
        self.typed(key, parse_bool)
    }

    fn typed<T>(&self, key: &str, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, SqlError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).map_err(|reason| SqlError::InvalidOption {
                key: key.to_string(),
                value: value.clone(),
                reason,
            }),
        }
    }
}

/// Checks the value of a known key.
fn validate(key: &str, value: &str) -> Result<(), SqlError> {
    let result = match key {
        PARALLELISM_DEFAULT => parse_parallelism(value).map(drop),
        STATE_TTL | CHECKPOINTING_INTERVAL | MINI_BATCH_ALLOW_LATENCY | SOURCE_IDLE_TIMEOUT => {
            parse_duration(value).map(drop)
        }
        MINI_BATCH_ENABLED | DISTINCT_AGG_SPLIT_ENABLED => parse_bool(value).map(drop),
        MINI_BATCH_SIZE => parse_i64(value).map(drop),
        AGG_PHASE_STRATEGY => parse_agg_phase_strategy(value).map(drop),
        RESULT_MODE => parse_result_mode(value).map(drop),
        _ => Ok(()),
    };
    result.map_err(|reason| SqlError::InvalidOption {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    })
}

fn parse_result_mode(value: &str) -> Result<ResultMode, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "table" => Ok(ResultMode::Table),
        "changelog" => Ok(ResultMode::Changelog),
        "tableau" => Ok(ResultMode::Tableau),
        _ => Err("expected TABLE, CHANGELOG or TABLEAU".to_string()),
    }
}

fn parse_parallelism(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_string()),
    }
}

fn parse_i64(value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| "expected a whole number".to_string())
}

/// `true` / `false`, any case.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".to_string())
    }
}

fn parse_agg_phase_strategy(value: &str) -> Result<AggPhaseStrategy, String> {
    match value.trim().to_ascii_uppercase().as_str() {
        "AUTO" => Ok(AggPhaseStrategy::Auto),
        "ONE_PHASE" => Ok(AggPhaseStrategy::OnePhase),
        "TWO_PHASE" => Ok(AggPhaseStrategy::TwoPhase),
        _ => Err("expected AUTO, ONE_PHASE or TWO_PHASE".to_string()),
    }
}

/// A Flink duration: a whole number and an optional unit (milliseconds without one).
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err("expected a duration like '10 s', '5 min', '1 h' or '3600000 ms'".to_string());
    }
    let n: u64 = number.parse().map_err(|_| "the duration is too large".to_string())?;
    let unit = unit.trim().to_ascii_lowercase();
    let nanos_per_unit: u64 = match unit.as_str() {
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "d" | "day" | "days" => 86_400_000_000_000,
        other => return Err(format!("unknown time unit '{other}' (use ms, s, min, h or d)")),
    };
    let nanos = n
        .checked_mul(nanos_per_unit)
        .ok_or_else(|| "the duration is too large".to_string())?;
    Ok(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1 h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("3600000 ms"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("3600000"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10 min"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10min"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration(" 2 d "), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("5 s"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("-5 s").is_err());
        assert!(parse_duration("99999999999999999999 d").is_err());
    }

    #[test]
    fn typed_getters() {
        let mut options = SessionOptions::new();
        options.set(STATE_TTL, "1 h").unwrap();
        options.set(PARALLELISM_DEFAULT, "4").unwrap();
        options.set(MINI_BATCH_ENABLED, "TRUE").unwrap();
        options.set(MINI_BATCH_SIZE, "5000").unwrap();
        options.set(MINI_BATCH_ALLOW_LATENCY, "2 s").unwrap();
        options.set(CHECKPOINTING_INTERVAL, "10 s").unwrap();
        options.set("pipeline.name", "q5").unwrap();
        assert_eq!(options.state_ttl().unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(options.parallelism_default().unwrap(), Some(4));
        assert!(options.mini_batch_enabled().unwrap());
        assert_eq!(options.mini_batch_size().unwrap(), Some(5000));
        assert_eq!(
            options.mini_batch_allow_latency().unwrap(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(options.checkpointing_interval().unwrap(), Some(Duration::from_secs(10)));
        assert_eq!(options.get("pipeline.name"), Some("q5"));
        assert!(options.reset(STATE_TTL));
        assert_eq!(options.state_ttl().unwrap(), None);
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let mut options = SessionOptions::new();
        let error = options.set(STATE_TTL, "one hour").unwrap_err();
        assert!(error.to_string().contains("'table.exec.state.ttl'"), "{error}");
        assert!(error.to_string().contains("'one hour'"), "{error}");
        let error = options.set(PARALLELISM_DEFAULT, "0").unwrap_err();
        assert!(error.to_string().contains("parallelism.default"), "{error}");
        let error = options.set(MINI_BATCH_ENABLED, "yes").unwrap_err();
        assert!(error.to_string().contains("expected true or false"), "{error}");
    }
}
