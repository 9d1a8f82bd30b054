//! The errors of the MySQL/MariaDB connector.

use thiserror::Error;

/// What went wrong talking to MySQL/MariaDB. Every variant names the connector
/// (e.g. `mysql sink 'totals'`) and the address (`user@host:port/db`, never a
/// password).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MySqlError {
    /// The URL or an option cannot be used.
    #[error("{connector}: invalid configuration: {reason}")]
    Config {
        /// The connector.
        connector: String,
        /// What is wrong.
        reason: String,
    },
    /// The server could not be reached (after the configured retries).
    #[error("{connector} at {address}: cannot connect after {attempts} attempt(s): {cause}")]
    Connect {
        /// The connector.
        connector: String,
        /// Where it tried to connect.
        address: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        cause: String,
    },
    /// The server refused the user name or password (never retried).
    #[error("{connector} at {address}: access denied (wrong user name or password?): {cause}")]
    AccessDenied {
        /// The connector.
        connector: String,
        /// The address (with the user name).
        address: String,
        /// The server's message.
        cause: String,
    },
    /// The table does not exist.
    #[error("{connector} at {address}: table '{table}' does not exist: {cause}")]
    MissingTable {
        /// The connector.
        connector: String,
        /// The address.
        address: String,
        /// The table named in the configuration.
        table: String,
        /// The server's message.
        cause: String,
    },
    /// A statement failed (after the configured retries, for connection losses).
    #[error("{connector} at {address}: {what} failed: {cause}")]
    Statement {
        /// The connector.
        connector: String,
        /// The address.
        address: String,
        /// What was being done ("upserting 500 rows into 'totals'").
        what: String,
        /// The server's or the driver's message.
        cause: String,
    },
    /// A pre-committed XA transaction that a completed checkpoint covers is gone
    /// without having been committed (someone rolled it back): its rows are lost.
    #[error(
        "{connector} at {address}: XA transaction '{gid}' of a completed checkpoint was rolled back, \
         not committed (it is neither prepared nor marked committed in '{marker_table}'); its rows are lost"
    )]
    RolledBack {
        /// The connector.
        connector: String,
        /// The address.
        address: String,
        /// The XA transaction id.
        gid: String,
        /// The table of commit markers.
        marker_table: String,
    },
}
