//! Client settings shared by the source and the sink.

use crate::error::KafkaConnectorError;
use rdkafka::config::ClientConfig;
use std::time::Duration;

/// How the connector reaches the brokers: `properties.bootstrap.servers`, extra
/// librdkafka properties (`properties.*` in DDL, e.g. `security.protocol`), and how
/// long it keeps trying when the brokers do not answer at start-up.
#[derive(Debug, Clone)]
pub struct KafkaClientConfig {
    bootstrap_servers: String,
    properties: Vec<(String, String)>,
    connect_retries: u32,
    connect_backoff: Duration,
    request_timeout: Duration,
}

impl KafkaClientConfig {
    /// Brokers at `bootstrap_servers` (`host:port[,host:port...]`): by default
    /// 3 retries at start-up, 200 ms apart and doubling, 10 s per request.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaClientConfig {
            bootstrap_servers: bootstrap_servers.into(),
            properties: Vec::new(),
            connect_retries: 3,
            connect_backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(10),
        }
    }

    /// Sets a librdkafka property on every client the connector creates (those the
    /// connector sets itself, such as `transactional.id`, win).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }

    /// Retries after a failed first contact with the brokers (`0`: fail at once),
    /// `backoff` apart at first and doubling after each attempt.
    pub fn connect_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.connect_retries = retries;
        self.connect_backoff = backoff;
        self
    }

    /// How long one metadata or transaction request may take.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// `properties.bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// How long one request may take.
    pub fn timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The value of an extra property, the last one set.
    pub(crate) fn get_property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn retries(&self) -> (u32, Duration) {
        (self.connect_retries, self.connect_backoff)
    }

    /// A librdkafka configuration with the servers and the extra properties.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    pub(crate) fn check(&self) -> Result<(), KafkaConnectorError> {
        if self.bootstrap_servers.trim().is_empty() {
            return Err(KafkaConnectorError::Option {
                option: "properties.bootstrap.servers".into(),
                message: "no broker address given".into(),
            });
        }
        Ok(())
    }
}
