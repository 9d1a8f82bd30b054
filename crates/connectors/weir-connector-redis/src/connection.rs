//! Connecting to Redis: shared configuration, retries with backoff, and errors
//! that name the connector and the address.

use crate::error::RedisError;
use redis::{Client, Connection, IntoConnectionInfo};
use std::time::Duration;
use weir_connector_api::retry::RetryPolicy;

/// Where and how to connect; shared by the sink and the lookup sources.
#[derive(Clone)]
pub struct RedisConfig {
    pub(crate) connector: String,
    pub(crate) client: Client,
    pub(crate) address: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_retries: u32,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisConfig")
            .field("connector", &self.connector)
            .field("address", &self.address)
            .field("retry", &self.retry)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl RedisConfig {
    /// A configuration for `url` (`redis://[user:password@]host:port[/db]`);
    /// `connector` names the connector in errors and logs.
    pub fn new(connector: impl Into<String>, url: &str) -> Result<Self, RedisError> {
        let connector = connector.into();
        let info = url.into_connection_info().map_err(|e| RedisError::Config {
            connector: connector.clone(),
            reason: format!("cannot parse the URL: {e}"),
        })?;
        let address = format!("{}/{}", info.addr, info.redis.db);
        let client = Client::open(info).map_err(|e| RedisError::Config {
            connector: connector.clone(),
            reason: e.to_string(),
        })?;
        Ok(RedisConfig {
            connector,
            client,
            address,
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            max_retries: 3,
        })
    }

    /// How long connecting may be retried (exponential backoff from 100 ms, at
    /// most 5 s apart) before giving up (default 60 s; zero: one attempt).
    pub fn with_max_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry = self.retry.giving_up_after(timeout);
        self
    }

    /// How often a command is retried on a new connection after the connection
    /// was lost (default 3).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The connector's name, as errors give it.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// `host:port/db`, as errors give it (never the password).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Connects, retrying with backoff while the server cannot be reached; a
    /// refused handshake (wrong password) is not retried.
    pub(crate) fn connect(&self) -> Result<Connection, RedisError> {
        let mut backoff = self.retry.backoff();
        loop {
            let error = match self.client.get_connection_with_timeout(self.connect_timeout) {
                Ok(conn) => match conn.set_read_timeout(Some(Duration::from_secs(60))) {
                    Ok(()) => return Ok(conn),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if !is_connection_loss(&error) {
                return Err(RedisError::Refused {
                    connector: self.connector.clone(),
                    address: self.address.clone(),
                    cause: error.to_string(),
                });
            }
            let Some(wait) = backoff.next_wait() else {
                return Err(RedisError::Connect {
                    connector: self.connector.clone(),
                    address: self.address.clone(),
                    attempts: backoff.failures(),
                    cause: error.to_string(),
                });
            };
            tracing::warn!(
                connector = %self.connector, address = %self.address, attempt = backoff.failures(),
                "cannot connect, retrying in {wait:?}: {error}"
            );
            std::thread::sleep(wait);
        }
    }

    /// Runs `op` on `conn` (connecting first if there is none), reconnecting and
    /// retrying up to `max_retries` times when the connection is lost.
    pub(crate) fn with_retries<R>(
        &self,
        conn: &mut Option<Connection>,
        what: &str,
        mut op: impl FnMut(&mut Connection) -> redis::RedisResult<R>,
    ) -> Result<R, RedisError> {
        let mut retries = 0;
        let mut backoff = RetryPolicy {
            give_up_after: None,
            ..self.retry
        }
        .backoff();
        loop {
            let connection = match conn {
                Some(c) => c,
                None => conn.insert(self.connect()?),
            };
            match op(connection) {
                Ok(r) => return Ok(r),
                Err(e) if is_connection_loss(&e) && retries < self.max_retries => {
                    retries += 1;
                    tracing::warn!(
                        connector = %self.connector, address = %self.address,
                        "{what}: connection lost, reconnecting (retry {retries} of {}): {e}", self.max_retries
                    );
                    *conn = None;
                    std::thread::sleep(backoff.next_wait().unwrap_or(self.retry.max));
                }
                Err(e) => {
                    if is_connection_loss(&e) {
                        *conn = None;
                    }
                    return Err(RedisError::Command {
                        connector: self.connector.clone(),
                        address: self.address.clone(),
                        what: what.to_string(),
                        cause: e.to_string(),
                    });
                }
            }
        }
    }
}

/// Whether `e` means the connection is gone (retry on a new one).
pub(crate) fn is_connection_loss(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() || e.is_timeout()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_never_show_the_password() {
        let config = RedisConfig::new("redis sink 'p'", "redis://user:secret@cache.example:6380/2").unwrap();
        assert_eq!(config.address(), "cache.example:6380/2");
        assert!(!format!("{config:?}").contains("secret"));
    }
}
