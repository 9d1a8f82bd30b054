//! String options, as SQL DDL gives them (`'topic' = 'orders'`).
//!
//! A factory reads what it needs with [`Options::required`], [`Options::get`],
//! [`Options::parse`] and [`Options::duration`]; every read key is remembered, and
//! [`Options::check_all_read`] then reports the keys nothing read (a typo, or an
//! option of another connector) instead of ignoring them.
//!
//! ```
//! use std::time::Duration;
//! use weir_connector_api::options::Options;
//!
//! let options = Options::new("kafka source 'bids'")
//!     .with("topic", "bids")
//!     .with("partition.discovery.interval", "30 s")
//!     .with("scan.starup.mode", "earliest");
//! assert_eq!(options.required("topic").unwrap(), "bids");
//! assert_eq!(options.duration("partition.discovery.interval", Duration::from_secs(60)).unwrap(), Duration::from_secs(30));
//! assert_eq!(options.parse("properties.fetch.max", 500u32).unwrap(), 500);
//! let typo = options.check_all_read().unwrap_err().to_string();
//! assert!(typo.contains("scan.starup.mode"), "{typo}");
//! ```

use crate::error::ConnectorError;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// String options of one connector or format, with the keys read so far.
#[derive(Debug, Clone, Default)]
pub struct Options {
    context: String,
    values: BTreeMap<String, String>,
    read: RefCell<BTreeSet<String>>,
}

impl Options {
    /// No options yet; `context` names their owner in errors ("kafka source 'bids'").
    pub fn new(context: impl Into<String>) -> Self {
        Options {
            context: context.into(),
            ..Options::default()
        }
    }

    /// Options from key/value pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        context: impl Into<String>,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut options = Options::new(context);
        for (key, value) in pairs {
            options.values.insert(key.into(), value.into());
        }
        options
    }

    /// Adds (or replaces) an option.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Who the options are for, as errors name it.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The options whose keys start with `prefix`, with the prefix removed (e.g. all
    /// `properties.*` passed through to a client library). They count as read.
    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        let mut read = self.read.borrow_mut();
        self.values
            .iter()
            .filter_map(|(key, value)| {
                let rest = key.strip_prefix(prefix)?;
                read.insert(key.clone());
                Some((rest.to_string(), value.clone()))
            })
            .collect()
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.read.borrow_mut().insert(key.to_string());
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key`, which must be given.
    pub fn required(&self, key: &str) -> Result<&str, ConnectorError> {
        self.get(key).ok_or_else(|| ConnectorError::MissingOption {
            context: self.context.clone(),
            key: key.to_string(),
        })
    }

    /// The value of `key` parsed as `T`, or `default` when not given.
    pub fn parse<T>(&self, key: &str, default: T) -> Result<T, ConnectorError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|e: T::Err| self.invalid(key, value, e)),
        }
    }

    /// The value of `key` as a duration (`500 ms`, `30s`, `1 h`), or `default`.
    pub fn duration(&self, key: &str, default: Duration) -> Result<Duration, ConnectorError> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => humantime::parse_duration(value.trim()).map_err(|e| self.invalid(key, value, e)),
        }
    }

    /// The value of `key`, which must be one of `allowed` (compared without case),
    /// or `default`.
    pub fn one_of<'a>(&self, key: &str, allowed: &[&'a str], default: &'a str) -> Result<&'a str, ConnectorError> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(value.trim()))
                .copied()
                .ok_or_else(|| self.invalid(key, value, format!("expected one of {allowed:?}"))),
        }
    }

    /// An [`ConnectorError::InvalidOption`] for `key`.
    pub fn invalid(&self, key: &str, value: &str, reason: impl Display) -> ConnectorError {
        ConnectorError::InvalidOption {
            context: self.context.clone(),
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Fails naming the keys that were given but never read.
    pub fn check_all_read(&self) -> Result<(), ConnectorError> {
        let read = self.read.borrow();
        let unread: Vec<String> = self.values.keys().filter(|k| !read.contains(*k)).cloned().collect();
        if unread.is_empty() {
            return Ok(());
        }
        Err(ConnectorError::UnknownOptions {
            context: self.context.clone(),
            keys: unread,
            known: read.iter().cloned().collect(),
        })
    }

    /// Marks `key` read without reading it (options consumed elsewhere, such as
    /// `connector` and `format` by the registry).
    pub fn mark_read(&self, key: &str) {
        self.read.borrow_mut().insert(key.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values_name_key_value_and_reason() {
        let options = Options::new("postgres sink 'totals'")
            .with("sink.max-retries", "many")
            .with("sink.mode", "upsrt");
        let error = options.parse("sink.max-retries", 3u32).unwrap_err().to_string();
        assert!(
            error.contains("postgres sink 'totals'") && error.contains("'many'") && error.contains("sink.max-retries")
        );
        let error = options
            .one_of("sink.mode", &["upsert", "exactly-once"], "upsert")
            .unwrap_err();
        assert!(error.to_string().contains("expected one of"), "{error}");
        assert!(matches!(
            options.required("url"),
            Err(ConnectorError::MissingOption { .. })
        ));
    }

    #[test]
    fn prefixed_options_are_passed_through_and_count_as_read() {
        let options = Options::from_pairs("kafka", [("properties.linger.ms", "5"), ("topic", "t")]);
        let properties = options.with_prefix("properties.");
        assert_eq!(properties.get("linger.ms").map(String::as_str), Some("5"));
        options.required("topic").unwrap();
        options.check_all_read().unwrap();
    }
}
