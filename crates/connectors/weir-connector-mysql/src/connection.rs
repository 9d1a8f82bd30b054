//! Connecting to MySQL/MariaDB: the configuration every part of the connector
//! shares, retries with backoff, and errors that name the connector and address.

use crate::error::MySqlError;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use std::time::Duration;
use weir_connector_api::retry::{redact_url, RetryPolicy};

/// MySQL error codes the connector tells apart.
pub(crate) mod codes {
    /// `ER_ACCESS_DENIED_ERROR`.
    pub const ACCESS_DENIED: u16 = 1045;
    /// `ER_DBACCESS_DENIED_ERROR`.
    pub const DB_ACCESS_DENIED: u16 = 1044;
    /// `ER_NO_SUCH_TABLE`.
    pub const NO_SUCH_TABLE: u16 = 1146;
    /// `ER_XAER_NOTA`: unknown XA transaction id.
    pub const XAER_NOTA: u16 = 1397;
    /// `ER_XAER_DUPID`: the XA transaction id exists already.
    pub const XAER_DUPID: u16 = 1440;
}

/// Where and how to connect; shared by the sinks and the lookup source.
#[derive(Debug, Clone)]
pub struct MySqlConfig {
    pub(crate) connector: String,
    pub(crate) opts: Opts,
    pub(crate) address: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_retries: u32,
}

impl MySqlConfig {
    /// A configuration for `url` (`mysql://user:password@host:port/database`);
    /// `connector` names the connector in errors and logs (`mysql sink 'totals'`).
    pub fn new(connector: impl Into<String>, url: &str) -> Result<Self, MySqlError> {
        let connector = connector.into();
        let opts = Opts::from_url(url).map_err(|e| MySqlError::Config {
            connector: connector.clone(),
            reason: format!("cannot parse the URL '{}': {e}", redact_url(url)),
        })?;
        let mut config = MySqlConfig {
            connector,
            address: String::new(),
            opts,
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            max_retries: 3,
        };
        config.address = config.describe_address();
        Ok(config)
    }

    /// Replaces the user name and password of the URL.
    pub fn with_credentials(mut self, user: Option<&str>, password: Option<&str>) -> Self {
        let mut builder = OptsBuilder::from_opts(self.opts.clone());
        if user.is_some() {
            builder = builder.user(user);
        }
        if password.is_some() {
            builder = builder.pass(password);
        }
        self.opts = builder.into();
        self.address = self.describe_address();
        self
    }

    /// How long connecting may be retried (with exponential backoff from 100 ms,
    /// at most 5 s apart) before the connector gives up (default 60 s; zero: one
    /// attempt). Flink JDBC's `connection.max-retry-timeout`.
    pub fn with_max_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry = self.retry.giving_up_after(timeout);
        self
    }

    /// How often a statement is retried on a new connection after the
    /// connection was lost (default 3). Flink JDBC's `sink.max-retries`.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The timeout of one connection attempt (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The connector's name, as errors give it.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// `user@host:port/database`, as errors give it (never the password).
    pub fn address(&self) -> &str {
        &self.address
    }

    fn describe_address(&self) -> String {
        let user = self.opts.get_user().map(|u| format!("{u}@")).unwrap_or_default();
        format!(
            "{user}{}:{}/{}",
            self.opts.get_ip_or_hostname(),
            self.opts.get_tcp_port(),
            self.opts.get_db_name().unwrap_or("")
        )
    }

    /// Connects, retrying with backoff until the retry timeout passes; access
    /// denied is not retried.
    pub(crate) fn connect(&self) -> Result<Conn, MySqlError> {
        let mut backoff = self.retry.backoff();
        loop {
            let opts = OptsBuilder::from_opts(self.opts.clone())
                .tcp_connect_timeout(Some(self.connect_timeout))
                .read_timeout(Some(Duration::from_secs(120)))
                .write_timeout(Some(Duration::from_secs(120)));
            match Conn::new(opts) {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    if let Some(code) = server_code(&e) {
                        if code == codes::ACCESS_DENIED || code == codes::DB_ACCESS_DENIED {
                            return Err(MySqlError::AccessDenied {
                                connector: self.connector.clone(),
                                address: self.address.clone(),
                                cause: e.to_string(),
                            });
                        }
                    }
                    let Some(wait) = backoff.next_wait() else {
                        return Err(MySqlError::Connect {
                            connector: self.connector.clone(),
                            address: self.address.clone(),
                            attempts: backoff.failures(),
                            cause: e.to_string(),
                        });
                    };
                    tracing::warn!(
                        connector = %self.connector, address = %self.address, attempt = backoff.failures(),
                        "cannot connect, retrying in {wait:?}: {e}"
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// Checks that `table` exists (a clear error at start instead of at the first
    /// write).
    pub(crate) fn check_table(&self, conn: &mut Conn, table: &str) -> Result<(), MySqlError> {
        match conn.query_drop(format!("SELECT 1 FROM {} LIMIT 0", quote_ident(table))) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.statement_error(&format!("checking table '{table}'"), Some(table), e)),
        }
    }

    /// A statement error: a missing table becomes [`MySqlError::MissingTable`].
    pub(crate) fn statement_error(&self, what: &str, table: Option<&str>, e: mysql::Error) -> MySqlError {
        if let (Some(table), Some(codes::NO_SUCH_TABLE)) = (table, server_code(&e)) {
            return MySqlError::MissingTable {
                connector: self.connector.clone(),
                address: self.address.clone(),
                table: table.to_string(),
                cause: e.to_string(),
            };
        }
        MySqlError::Statement {
            connector: self.connector.clone(),
            address: self.address.clone(),
            what: what.to_string(),
            cause: e.to_string(),
        }
    }

    /// Runs `op` on `conn` (connecting first if there is none), reconnecting and
    /// retrying up to `max_retries` times when the connection is lost. Server
    /// errors (a bad statement, a missing table) are not retried.
    pub(crate) fn with_retries<R>(
        &self,
        conn: &mut Option<Conn>,
        what: &str,
        table: Option<&str>,
        mut op: impl FnMut(&mut Conn) -> Result<R, mysql::Error>,
    ) -> Result<R, MySqlError> {
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
                    return Err(self.statement_error(what, table, e));
                }
            }
        }
    }
}

/// The MySQL error code of a server error.
pub(crate) fn server_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(e) => Some(e.code),
        _ => None,
    }
}

/// Whether `e` means the connection is gone (retry on a new one), as opposed to a
/// server error about the statement.
pub(crate) fn is_connection_loss(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) | mysql::Error::DriverError(_) => true,
        // Server shutdown in progress, connection killed, lost connection.
        mysql::Error::MySqlError(e) => matches!(e.code, 1053 | 1927 | 2006 | 2013 | 1317),
        _ => false,
    }
}

/// `name` as a quoted identifier (`db.table` quoted part by part).
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("`{}`", part.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_never_show_the_password() {
        let config = MySqlConfig::new("mysql sink 't'", "mysql://u:secret@db.example:3307/shop").unwrap();
        assert_eq!(config.address(), "u@db.example:3307/shop");
        assert_eq!(redact_url("mysql://u:secret@h/db"), "mysql://u:***@h/db");
        let error = MySqlConfig::new("mysql sink 't'", "mysql://u:secret@h:notaport/db").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        assert_eq!(quote_ident("shop.or`ders"), "`shop`.`or``ders`");
    }
}
