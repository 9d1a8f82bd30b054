//! How broker errors are classified: worth retrying, or fatal.

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::ErrorKind;

/// What a failed broker operation means for the connector.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The broker is unreachable or went away: reconnect with backoff.
    Transient(String),
    /// The broker refused us (credentials, permissions, a missing queue): retrying
    /// cannot help.
    Fatal(String),
}

impl Failure {
    /// Classifies a client error; `doing` says what failed ("connecting").
    pub(crate) fn of(doing: &str, error: &lapin::Error) -> Failure {
        let text = format!("{doing}: {error}");
        match error.kind() {
            ErrorKind::ProtocolError(amqp) => match amqp.kind() {
                AMQPErrorKind::Soft(
                    AMQPSoftError::ACCESSREFUSED
                    | AMQPSoftError::NOTFOUND
                    | AMQPSoftError::PRECONDITIONFAILED
                    | AMQPSoftError::RESOURCELOCKED,
                )
                | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED | AMQPHardError::NOTIMPLEMENTED) => {
                    Failure::Fatal(text)
                }
                _ => Failure::Transient(text),
            },
            ErrorKind::AuthProviderError(_) | ErrorKind::InvalidProtocolVersion(_) | ErrorKind::NoDefaultRuntime => {
                Failure::Fatal(text)
            }
            _ => Failure::Transient(text),
        }
    }
}
