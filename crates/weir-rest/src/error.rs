//! Errors of the REST server and client.

use std::time::Duration;

/// A request the server refuses; becomes an HTTP status and an `{"errors": [..]}`
/// body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 404: no such job, request or endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 400: the request is malformed or cannot be served as asked.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the server needs a bearer token and the request had none or a wrong one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the request is understood but not allowed (e.g. a savepoint target
    /// outside the allowed directories).
    #[error("{0}")]
    Forbidden(String),
    /// 409: the job is in a state that does not allow the operation.
    #[error("{0}")]
    Conflict(String),
    /// 500: the server could not do what it should have been able to.
    #[error("{0}")]
    Internal(String),
}

/// Errors of [`RestServer`](crate::RestServer) and [`RestClient`](crate::RestClient).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The bind address is malformed.
    #[error("bad REST address '{address}': {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No port of the range could be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address (with its port range) as given.
        address: String,
        /// The error of the last port tried.
        #[source]
        source: std::io::Error,
    },
    /// The server would listen on an address other machines can reach, without a
    /// token: anyone reaching it could stop and cancel jobs and write savepoints.
    #[error(
        "refusing to listen on {address} without a bearer token: it is not a loopback \
         address, so anyone who can reach it could stop or cancel jobs and write savepoints"
    )]
    Insecure {
        /// The address the server would listen on.
        address: String,
    },
    /// A bearer token that cannot be used (empty, too short, not printable).
    #[error("bad REST token: {0}")]
    Token(String),
    /// The server could not start (runtime or thread).
    #[error("cannot start the REST server: {0}")]
    Start(#[source] std::io::Error),
    /// The server did not answer (not running, wrong address, network).
    #[error("no answer from the Weir REST API at {address} (is a job running there? set --address): {source}")]
    Unreachable {
        /// The server's address.
        address: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server refused the request.
    #[error("{address} answered {status}: {message}")]
    Refused {
        /// The server's address.
        address: String,
        /// The HTTP status.
        status: u16,
        /// The server's explanation.
        message: String,
    },
    /// The server's answer could not be read.
    #[error("unexpected answer from {address}: {reason}")]
    BadAnswer {
        /// The server's address.
        address: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The savepoint failed; the job keeps running unless it was being stopped.
    #[error("savepoint failed: {0}")]
    SavepointFailed(String),
    /// The savepoint did not complete in time.
    #[error("the savepoint did not complete within {0:?} (it may still complete; check the job)")]
    Timeout(Duration),
}
