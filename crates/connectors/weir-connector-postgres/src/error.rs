//! The connector's errors: each names the connector, the server's address (never
//! the password) and the cause as the server or the client reported it.

use postgres::error::SqlState;
use thiserror::Error;

/// What went wrong talking to PostgreSQL.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The configuration cannot be used (a bad URL, a missing column list).
    #[error("{connector}: {reason}")]
    Config {
        /// The connector ("postgres upsert sink 'orders'").
        connector: String,
        /// What is wrong.
        reason: String,
    },
    /// No connection could be made (server down, wrong credentials, unknown database).
    #[error("{connector}: cannot connect to {address} (after {attempts} attempt(s)): {cause}")]
    Connect {
        /// The connector.
        connector: String,
        /// Host, port, database and user, without the password.
        address: String,
        /// How many connection attempts were made.
        attempts: u32,
        /// The last attempt's cause.
        cause: String,
    },
    /// The table (or one of its columns) cannot be used.
    #[error("{connector} at {address}: table {table}: {cause}")]
    Table {
        /// The connector.
        connector: String,
        /// Host, port, database and user.
        address: String,
        /// The table as configured.
        table: String,
        /// Why it cannot be used.
        cause: String,
    },
    /// A statement failed.
    #[error("{connector} at {address}: {what} failed: {cause}")]
    Statement {
        /// The connector.
        connector: String,
        /// Host, port, database and user.
        address: String,
        /// What was being done ("upserting 500 rows").
        what: String,
        /// The server's or the client's message.
        cause: String,
    },
    /// The server does not allow prepared transactions, which the exactly-once
    /// sink needs.
    #[error(
        "{connector} at {address}: the server has max_prepared_transactions = 0, so PREPARE TRANSACTION is \
         disabled; the exactly-once sink needs it: set max_prepared_transactions to at least the sink's \
         parallelism times the number of concurrent checkpoints (e.g. 10) in postgresql.conf and restart the \
         server, or use sink.semantic = 'upsert'"
    )]
    PreparedTransactionsDisabled {
        /// The connector.
        connector: String,
        /// Host, port, database and user.
        address: String,
    },
    /// A transaction pre-committed in a completed checkpoint is neither prepared
    /// nor committed any more: its rows are lost.
    #[error(
        "{connector} at {address}: the prepared transaction '{gid}' of checkpoint {checkpoint} is gone and its \
         commit marker is absent: it was rolled back by someone else (e.g. ROLLBACK PREPARED by hand), so its \
         rows are lost"
    )]
    TransactionLost {
        /// The connector.
        connector: String,
        /// Host, port, database and user.
        address: String,
        /// The global transaction id.
        gid: String,
        /// The checkpoint that pre-committed it.
        checkpoint: u64,
    },
}

/// A client error as one line: the server's severity, SQLSTATE, message, detail
/// and hint, or the client's message with its causes.
pub fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" (detail: {detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Whether `error` means the connection is gone or the server is (re)starting, so
/// a new connection may succeed: closed connections, I/O errors, SQLSTATE class 08
/// (connection exception) and 57P01..57P03 (shutdown, crash, cannot connect now).
pub fn is_connection_error(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW;
    }
    // No server error: the cause is the socket (refused, reset, timed out).
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether retrying a connection cannot help: wrong credentials, an unknown
/// database or role, a refused authorization.
pub(crate) fn is_permanent_connect_error(error: &postgres::Error) -> bool {
    match error.code() {
        Some(code) => {
            code.code().starts_with("28") // invalid authorization (wrong password, no such role)
                || *code == SqlState::INVALID_CATALOG_NAME // database does not exist
                || code.code().starts_with("42")
        }
        // The client refused the server's authentication method (e.g. a password
        // asked for but none given).
        None => error.to_string().contains("authentication") || error.to_string().contains("invalid configuration"),
    }
}
