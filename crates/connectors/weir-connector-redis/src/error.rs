//! The errors of the Redis connector.

use thiserror::Error;

/// What went wrong talking to Redis. Every variant names the connector (e.g.
/// `redis sink 'prices'`) and the address (`host:port/db`, never a password).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RedisError {
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
    /// The server refused the credentials or the handshake (never retried).
    #[error("{connector} at {address}: the server refused the connection (wrong user name or password?): {cause}")]
    Refused {
        /// The connector.
        connector: String,
        /// The address.
        address: String,
        /// The server's message.
        cause: String,
    },
    /// A command failed (after the configured retries, for connection losses).
    #[error("{connector} at {address}: {what} failed: {cause}")]
    Command {
        /// The connector.
        connector: String,
        /// The address.
        address: String,
        /// What was being done.
        what: String,
        /// The server's or the client's message.
        cause: String,
    },
}
