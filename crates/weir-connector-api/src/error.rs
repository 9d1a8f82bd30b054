//! Errors of connector configuration and connection.

use thiserror::Error;

/// What went wrong creating or running a connector.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// A required option is missing.
    #[error("{context}: missing required option '{key}'")]
    MissingOption {
        /// The connector or format the option is for.
        context: String,
        /// The option's name.
        key: String,
    },
    /// An option has a value that cannot be used.
    #[error("{context}: invalid value '{value}' for option '{key}': {reason}")]
    InvalidOption {
        /// The connector or format the option is for.
        context: String,
        /// The option's name.
        key: String,
        /// The value given.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Options were given that nothing reads (usually a typo).
    #[error("{context}: unknown option(s) {keys:?} (known: {known:?})")]
    UnknownOptions {
        /// The connector or format the options were for.
        context: String,
        /// The options nothing read.
        keys: Vec<String>,
        /// The options that are read.
        known: Vec<String>,
    },
    /// No connector or format is registered under a name.
    #[error("no {kind} named '{name}' is registered (known: {known:?})")]
    NotRegistered {
        /// "connector" or "format".
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The registered names.
        known: Vec<String>,
    },
    /// A connector cannot reach its system, or the system refused it.
    #[error("{connector} at {address}: {cause}")]
    Connection {
        /// The connector (e.g. "kafka source 'orders'").
        connector: String,
        /// The address it tried (broker list, URL without password).
        address: String,
        /// The cause, as the client reported it.
        cause: String,
    },
    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}
