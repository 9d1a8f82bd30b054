//! Retrying a service that cannot be reached: exponential backoff with a
//! give-up limit, and URLs made safe for errors and logs.
//!
//! Connectors retry connecting (a broker or database down at start, or
//! restarted mid-job) the same way: wait [`RetryPolicy::initial`], double the
//! wait up to [`RetryPolicy::max`], and fail with a clear error once the service
//! has been unreachable for [`RetryPolicy::give_up_after`].
//!
//! ```
//! use std::time::Duration;
//! use weir_connector_api::retry::{redact_url, RetryPolicy};
//!
//! let mut backoff = RetryPolicy::default().backoff();
//! assert_eq!(backoff.next_wait(), Some(Duration::from_millis(100)));
//! assert_eq!(backoff.next_wait(), Some(Duration::from_millis(200)));
//! assert_eq!(backoff.failures(), 2);
//! assert_eq!(redact_url("amqp://weir:secret@127.0.0.1:5672/%2f"), "amqp://weir:***@127.0.0.1:5672/%2f");
//! ```

use crate::error::ConnectorError;
use crate::options::Options;
use std::time::{Duration, Instant};

/// The option giving how long a connector retries an unreachable service: a
/// duration (`30 s`), or `never` to retry for ever.
pub const GIVE_UP_AFTER: &str = "connect.give-up-after";

/// How a connector retries a service it cannot reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt.
    pub initial: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// How long the service may stay unreachable before the connector fails
    /// (`None`: retry for ever; zero: a single attempt).
    pub give_up_after: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 5 s; give up after 60 s without a connection.
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            give_up_after: Some(Duration::from_secs(60)),
        }
    }
}

impl RetryPolicy {
    /// The same policy giving up after `limit`.
    pub fn giving_up_after(self, limit: Duration) -> Self {
        RetryPolicy {
            give_up_after: Some(limit),
            ..self
        }
    }

    /// The default policy, giving up after option [`GIVE_UP_AFTER`]
    /// (`connect.give-up-after`: a duration, or `never`; 60 s when not given).
    pub fn from_options(options: &Options) -> Result<RetryPolicy, ConnectorError> {
        let defaults = RetryPolicy::default();
        let give_up_after = match options.get(GIVE_UP_AFTER) {
            Some(value) if value.trim().eq_ignore_ascii_case("never") => None,
            Some(_) => Some(options.duration(GIVE_UP_AFTER, Duration::ZERO)?),
            None => defaults.give_up_after,
        };
        Ok(RetryPolicy {
            give_up_after,
            ..defaults
        })
    }

    /// The waits of one outage.
    pub fn backoff(self) -> Backoff {
        Backoff::new(self)
    }
}

/// The waits of one outage, following a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    next: Duration,
    down_since: Option<Instant>,
    failures: u32,
}

impl Backoff {
    /// No attempt has failed yet.
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            next: policy.initial,
            down_since: None,
            failures: 0,
        }
    }

    /// Connected again: the next outage starts afresh.
    pub fn reset(&mut self) {
        self.next = self.policy.initial;
        self.down_since = None;
        self.failures = 0;
    }

    /// An attempt failed: how long to wait before the next one, or `None` when
    /// the wait would end more than [`RetryPolicy::give_up_after`] after the
    /// first failure of this outage.
    pub fn next_wait(&mut self) -> Option<Duration> {
        let since = *self.down_since.get_or_insert_with(Instant::now);
        self.failures = self.failures.saturating_add(1);
        let wait = self.next;
        if let Some(limit) = self.policy.give_up_after {
            if since.elapsed().saturating_add(wait) > limit {
                return None;
            }
        }
        self.next = self.next.saturating_mul(2).min(self.policy.max);
        Some(wait)
    }

    /// How many attempts of this outage failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// `url` with its password replaced by `***` (`scheme://user:***@host/...`),
/// for errors and logs; anything that does not look like a URL with a password
/// is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial: u64, max: u64, give_up_after: Option<u64>) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(initial),
            max: Duration::from_millis(max),
            give_up_after: give_up_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn waits_double_up_to_the_max_and_start_afresh_after_a_reset() {
        let mut backoff = policy(100, 300, None).backoff();
        let waits: Vec<_> = (0..4).filter_map(|_| backoff.next_wait()).collect();
        assert_eq!(waits, [100, 200, 300, 300].map(Duration::from_millis));
        assert_eq!(backoff.failures(), 4);
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.next_wait(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn a_zero_limit_means_a_single_attempt_and_a_long_one_retries() {
        assert_eq!(policy(100, 300, Some(0)).backoff().next_wait(), None);
        let mut backoff = policy(100, 300, Some(3600)).backoff();
        assert!((0..100).all(|_| backoff.next_wait().is_some()));
        let mut huge = policy(u64::MAX, u64::MAX, None).backoff();
        assert!(huge.next_wait().is_some() && huge.next_wait().is_some(), "no overflow");
    }

    #[test]
    fn give_up_after_comes_from_the_options() {
        let with = |value: &str| RetryPolicy::from_options(&Options::new("test").with(GIVE_UP_AFTER, value));
        let defaults = RetryPolicy::default();
        assert_eq!(RetryPolicy::from_options(&Options::new("test")).unwrap(), defaults);
        assert_eq!(with(" Never ").unwrap().give_up_after, None);
        assert_eq!(with("5 s").unwrap(), defaults.giving_up_after(Duration::from_secs(5)));
        assert!(with("soon").is_err());
        let options = Options::new("test").with(GIVE_UP_AFTER, "1m");
        RetryPolicy::from_options(&options).unwrap();
        options.check_all_read().unwrap();
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact_url("mysql://u:secret@h:3306/db"), "mysql://u:***@h:3306/db");
        assert_eq!(redact_url("nats://u:p@ss@h:4222"), "nats://u:***@h:4222");
        assert_eq!(redact_url("redis://h:6379/0?x=a@b"), "redis://h:6379/0?x=a@b");
        assert_eq!(redact_url("amqp://u@h/%2f"), "amqp://u@h/%2f");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("mqtt://:secret@h"), "mqtt://:***@h");
    }
}
