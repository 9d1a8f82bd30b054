//! Connecting to the server: the URL, the address errors show (without the
//! password), and retries with exponential backoff.

use crate::error::{describe, is_permanent_connect_error, PostgresError};
use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use std::str::FromStr;
use std::time::Duration;

/// How to reach the server and how hard to try.
///
/// The URL is a libpq connection string, either a URI
/// (`postgres://user:password@host:port/database?options`) or `key=value` pairs
/// (`host=127.0.0.1 port=5432 user=weir dbname=weir`). TLS is not supported.
/// Unless the URL names one, connections carry the application name `weir:
/// <connector>` (seen in `pg_stat_activity`).
#[derive(Clone)]
pub struct ConnectionOptions {
    config: Config,
    connector: String,
    max_retries: u32,
    retry_delay: Duration,
    max_retry_delay: Duration,
    /// Whether the application name is ours (`weir: <connector>`), not the URL's.
    own_application_name: bool,
}

/// `weir: <connector>`, cut to PostgreSQL's 63 bytes: what `pg_stat_activity`
/// shows for the connector's connections.
fn application_name(connector: &str) -> String {
    let mut name = format!("weir: {connector}");
    while name.len() > 63 {
        name.pop();
    }
    name
}

impl std::fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionOptions")
            .field("address", &self.address())
            .field("connector", &self.connector)
            .field("max_retries", &self.max_retries)
            .field("retry_delay", &self.retry_delay)
            .finish()
    }
}

/// Default number of retries of a failed connection attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default delay before the first retry (doubled for each further one).
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Default time to wait for the server to accept a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl ConnectionOptions {
    /// Options for `url`; `connector` names the connector in errors ("postgres
    /// upsert sink 'orders'").
    pub fn new(url: &str, connector: impl Into<String>) -> Result<Self, PostgresError> {
        let connector = connector.into();
        let mut config = Config::from_str(url).map_err(|e| PostgresError::Config {
            connector: connector.clone(),
            // The client's message never repeats the URL, so no password leaks.
            reason: format!("invalid url: {}", describe(&e)),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        let own_application_name = config.get_application_name().is_none();
        if own_application_name {
            config.application_name(&application_name(&connector));
        }
        Ok(ConnectionOptions {
            config,
            connector,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
            max_retry_delay: Duration::from_secs(30),
            own_application_name,
        })
    }

    /// Logs in as `user` (instead of the URL's).
    pub fn user(mut self, user: &str) -> Self {
        self.config.user(user);
        self
    }

    /// Logs in with `password` (instead of the URL's).
    pub fn password(mut self, password: &str) -> Self {
        self.config.password(password);
        self
    }

    /// Retries a failed connection attempt up to `max_retries` times, waiting
    /// `delay` before the first retry and twice as long before each further one
    /// (at most 30 s). Wrong credentials and unknown databases are not retried.
    pub fn retries(mut self, max_retries: u32, delay: Duration) -> Self {
        self.max_retries = max_retries;
        self.retry_delay = delay;
        self
    }

    /// Waits at most `timeout` for the server to accept a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout(timeout);
        self
    }

    /// Renames the connector in errors.
    pub fn with_connector(mut self, connector: impl Into<String>) -> Self {
        self.connector = connector.into();
        if self.own_application_name {
            self.config.application_name(&application_name(&self.connector));
        }
        self
    }

    /// The connector's name, as errors give it.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// How many times a failed connection attempt is retried.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The server's address without the password: `host:port/database as user`.
    pub fn address(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = self
                    .config
                    .get_ports()
                    .get(i)
                    .or_else(|| self.config.get_ports().first())
                    .copied()
                    .unwrap_or(5432);
                match host {
                    Host::Tcp(name) => format!("{name}:{port}"),
                    Host::Unix(path) => format!("{}:{port}", path.display()),
                }
            })
            .collect();
        let hosts = if hosts.is_empty() {
            "localhost:5432".to_string()
        } else {
            hosts.join(",")
        };
        let user = self.config.get_user().unwrap_or("<default user>");
        let database = self.config.get_dbname().unwrap_or(user);
        format!("{hosts}/{database} as {user}")
    }

    /// The delay before retry number `retry` (1-based).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
        self.retry_delay.saturating_mul(factor).min(self.max_retry_delay)
    }

    /// A new connection, retried with backoff while the cause may pass (server
    /// down or starting); wrong credentials fail at once.
    pub fn connect(&self) -> Result<Client, PostgresError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.config.connect(NoTls) {
                Ok(client) => return Ok(client),
                Err(e) => {
                    let cause = describe(&e);
                    if is_permanent_connect_error(&e) || attempts > self.max_retries {
                        return Err(PostgresError::Connect {
                            connector: self.connector.clone(),
                            address: self.address(),
                            attempts,
                            cause,
                        });
                    }
                    let delay = self.backoff(attempts);
                    tracing::warn!(
                        "{}: cannot connect to {} ({cause}); retry {attempts} of {} in {delay:?}",
                        self.connector,
                        self.address(),
                        self.max_retries
                    );
                    std::thread::sleep(delay);
                }
            }
        }
    }

    /// A statement error naming this connector and address.
    pub(crate) fn statement_error(&self, what: impl Into<String>, error: &postgres::Error) -> PostgresError {
        PostgresError::Statement {
            connector: self.connector.clone(),
            address: self.address(),
            what: what.into(),
            cause: describe(error),
        }
    }

    /// A configuration error naming this connector.
    pub(crate) fn config_error(&self, reason: impl Into<String>) -> PostgresError {
        PostgresError::Config {
            connector: self.connector.clone(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_never_shows_the_password() {
        let options = ConnectionOptions::new("postgres://ann:s3cret@db.example:6543/sales", "postgres sink").unwrap();
        assert_eq!(options.address(), "db.example:6543/sales as ann");
        assert!(!format!("{options:?}").contains("s3cret"));
        let options = ConnectionOptions::new("host=h port=7 user=u password=pw dbname=d", "x").unwrap();
        assert_eq!(options.address(), "h:7/d as u");
        let error = ConnectionOptions::new("postgres://ann:s3cret@host:notaport/db", "postgres sink 't'")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("postgres sink 't'") && error.contains("invalid url"),
            "{error}"
        );
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let options = ConnectionOptions::new("postgres://u@h/d", "x")
            .unwrap()
            .retries(10, Duration::from_millis(100));
        let delays: Vec<_> = (1..=5).map(|r| options.backoff(r).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600]);
        assert_eq!(options.backoff(40), Duration::from_secs(30));
    }
}
