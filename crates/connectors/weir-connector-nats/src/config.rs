//! Connection settings shared by the source and the sink.

use std::time::Duration;

/// How a connector retries a broker it cannot reach: exponential backoff from
/// `initial` to `max`, giving up when the broker has been unreachable for
/// `give_up_after` (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait after a failed attempt.
    pub initial: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// How long the broker may stay unreachable before the connector fails.
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

/// The waits of one outage, following a [`RetryPolicy`].
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    next: Duration,
    down_since: Option<std::time::Instant>,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            next: policy.initial,
            down_since: None,
        }
    }

    /// Connected: the next outage starts afresh.
    pub(crate) fn reset(&mut self) {
        self.next = self.policy.initial;
        self.down_since = None;
    }

    /// An attempt failed: how long to wait before the next one, or `None` when the
    /// policy gives up.
    pub(crate) fn next_wait(&mut self) -> Option<Duration> {
        let since = *self.down_since.get_or_insert_with(std::time::Instant::now);
        if let Some(limit) = self.policy.give_up_after {
            if since.elapsed() >= limit {
                return None;
            }
        }
        let wait = self.next;
        self.next = (self.next * 2).min(self.policy.max);
        Some(wait)
    }
}

/// `uri` without its password (`nats://user:secret@host:port` becomes
/// `nats://user@host:port`), for error messages and logs.
pub fn redact(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let rest = &uri[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let user_info = &authority[..at];
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &uri[..scheme_end + 3], user, &rest[at + 1..])
        }
        None => uri.to_string(),
    }
}

/// Client options for `url`. async-nats does not use the credentials of a URL
/// (`nats://user:password@host`), so they are given as options here.
pub(crate) fn client_options(url: &str) -> async_nats::ConnectOptions {
    let options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    match url.parse::<async_nats::ServerAddr>() {
        Ok(address) if address.has_user_pass() => options.user_and_password(
            address.username().unwrap_or_default().to_string(),
            address.password().unwrap_or_default().to_string(),
        ),
        _ => options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed() {
        assert_eq!(
            redact("amqp://weir:secret@127.0.0.1:15682/%2f"),
            "amqp://weir@127.0.0.1:15682/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1:15682"), "amqp://127.0.0.1:15682");
        assert_eq!(redact("not a uri"), "not a uri");
    }

    #[test]
    fn backoff_doubles_up_to_the_max_and_gives_up() {
        let mut backoff = Backoff::new(RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(300),
            give_up_after: Some(Duration::ZERO),
        });
        assert_eq!(backoff.next_wait(), None);
        let mut backoff = Backoff::new(RetryPolicy {
            give_up_after: None,
            ..RetryPolicy {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(300),
                give_up_after: None,
            }
        });
        let waits: Vec<_> = (0..4).filter_map(|_| backoff.next_wait()).collect();
        assert_eq!(waits, [100, 200, 300, 300].map(Duration::from_millis));
        backoff.reset();
        assert_eq!(backoff.next_wait(), Some(Duration::from_millis(100)));
    }
}
