//! The connector's errors: each names the connector, the broker address and the cause.

use std::time::Duration;

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaConnectorError {
    /// An option is missing or has a bad value.
    #[error("kafka connector: bad option '{option}': {message}")]
    Option {
        /// The option's name (`topic`, `scan.startup.mode`, ...).
        option: String,
        /// What is wrong with it.
        message: String,
    },
    /// The brokers did not answer (after the configured retries).
    #[error(
        "kafka connector: cannot reach the brokers at {address} after {attempts} attempt(s) over {waited:?}: {cause}"
    )]
    Unreachable {
        /// `properties.bootstrap.servers`.
        address: String,
        /// How many times it tried.
        attempts: u32,
        /// How long it tried.
        waited: Duration,
        /// The client's last error.
        cause: String,
    },
    /// The topic does not exist.
    #[error("kafka connector: topic '{topic}' does not exist on the brokers at {address} ({cause})")]
    MissingTopic {
        /// The topic.
        topic: String,
        /// `properties.bootstrap.servers`.
        address: String,
        /// What the broker said.
        cause: String,
    },
    /// A client call failed.
    #[error("kafka connector ({address}): {what}: {cause}")]
    Client {
        /// `properties.bootstrap.servers`.
        address: String,
        /// What the connector was doing.
        what: String,
        /// The client's error.
        cause: String,
    },
}

impl KafkaConnectorError {
    /// A failed client call.
    pub(crate) fn client(address: &str, what: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        KafkaConnectorError::Client {
            address: address.to_string(),
            what: what.into(),
            cause: cause.to_string(),
        }
    }
}
