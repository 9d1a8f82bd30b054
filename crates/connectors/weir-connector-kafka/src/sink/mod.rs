//! The Kafka sink: at-least-once (flush at the checkpoint barrier) or exactly-once
//! (Kafka transactions committed when the checkpoint completes).

mod at_least_once;
mod commit_check;
mod exactly_once;
mod producer;
mod record;

pub use exactly_once::{KafkaTransaction, PendingTransaction};
pub use record::{OutgoingRecord, RecordSerializer};

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use crate::metadata::{metadata_consumer, topic_partitions};
use at_least_once::AtLeastOnceWriter;
use exactly_once::{KafkaTransactionalSink, TransactionSettings};
use record::SharedSerializer;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::transactional::ExactlyOnce;
use weir_core::BoxError;

/// What the sink guarantees (`sink.delivery-guarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryGuarantee {
    /// Records go out as they come; nothing waits for them (`none`).
    None,
    /// Every record is acknowledged before its checkpoint completes; after a
    /// failure records since the last checkpoint are written again (`at-least-once`).
    #[default]
    AtLeastOnce,
    /// Each checkpoint interval's records are one Kafka transaction per subtask,
    /// committed when the checkpoint completes (`exactly-once`). Consumers must
    /// read with `isolation.level=read_committed`.
    ExactlyOnce,
}

impl std::str::FromStr for DeliveryGuarantee {
    type Err = KafkaConnectorError;
    fn from_str(s: &str) -> Result<Self, KafkaConnectorError> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "none" => Ok(DeliveryGuarantee::None),
            "at-least-once" => Ok(DeliveryGuarantee::AtLeastOnce),
            "exactly-once" => Ok(DeliveryGuarantee::ExactlyOnce),
            other => Err(KafkaConnectorError::Option {
                option: "sink.delivery-guarantee".into(),
                message: format!("'{other}': use none, at-least-once or exactly-once"),
            }),
        }
    }
}

/// Writes records to a Kafka topic.
///
/// ```no_run
/// use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, OutgoingRecord};
///
/// let sink = KafkaSink::builder("127.0.0.1:9092", "words", |word: &String, _ts: Option<i64>| {
///     Ok(OutgoingRecord::value(word.as_bytes()).with_key(word.as_bytes()))
/// })
/// .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
/// .transactional_id_prefix("word-count")
/// .build()
/// .unwrap();
/// # let _ = sink;
/// ```
pub struct KafkaSink<T> {
    client: KafkaClientConfig,
    topic: String,
    serializer: SharedSerializer<T>,
    guarantee: DeliveryGuarantee,
    flush_timeout: Duration,
    transactional: Option<ExactlyOnce<T, KafkaTransactionalSink<T>>>,
}

/// Builds a [`KafkaSink`].
pub struct KafkaSinkBuilder<T> {
    client: KafkaClientConfig,
    topic: String,
    serializer: SharedSerializer<T>,
    guarantee: DeliveryGuarantee,
    prefix: Option<String>,
    pool_size: usize,
    transaction_timeout: Duration,
    flush_timeout: Duration,
}

impl<T: Send + 'static> KafkaSink<T> {
    /// A sink writing to `topic` on the brokers at `bootstrap_servers`, turning each
    /// record into a Kafka record with `serializer`.
    pub fn builder(
        bootstrap_servers: impl Into<String>,
        topic: impl Into<String>,
        serializer: impl RecordSerializer<T>,
    ) -> KafkaSinkBuilder<T> {
        KafkaSinkBuilder {
            client: KafkaClientConfig::new(bootstrap_servers),
            topic: topic.into(),
            serializer: Arc::new(serializer),
            guarantee: DeliveryGuarantee::default(),
            prefix: None,
            pool_size: 4,
            transaction_timeout: Duration::from_secs(15 * 60),
            flush_timeout: Duration::from_secs(60),
        }
    }
}

impl<T: Send + 'static> KafkaSinkBuilder<T> {
    /// The client settings (extra properties, start-up retries, request timeout).
    pub fn client(mut self, configure: impl FnOnce(KafkaClientConfig) -> KafkaClientConfig) -> Self {
        self.client = configure(self.client);
        self
    }

    /// `sink.delivery-guarantee` (default at-least-once).
    pub fn delivery_guarantee(mut self, guarantee: DeliveryGuarantee) -> Self {
        self.guarantee = guarantee;
        self
    }

    /// `sink.transactional-id-prefix`: required for exactly-once, unique per job
    /// (two jobs with one prefix fence each other).
    pub fn transactional_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// `sink.transactional-id-pool-size`: transactional ids per subtask (default 4;
    /// one is open, the others hold pre-committed transactions whose checkpoint has
    /// not completed yet).
    pub fn transactional_id_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// `sink.transaction-timeout` (`transaction.timeout.ms`, default 15 min): the
    /// broker aborts a transaction open longer. Must exceed the checkpoint interval
    /// plus the time to recover from a failure, and not exceed the broker's
    /// `transaction.max.timeout.ms`.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = timeout;
        self
    }

    /// `sink.flush-timeout`: how long a checkpoint waits for deliveries (default 60 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Checks the settings and builds the sink.
    pub fn build(self) -> Result<KafkaSink<T>, KafkaConnectorError> {
        self.client.check()?;
        if self.topic.trim().is_empty() {
            return Err(KafkaConnectorError::Option {
                option: "topic".into(),
                message: "no topic given".into(),
            });
        }
        let transactional = match self.guarantee {
            DeliveryGuarantee::ExactlyOnce => {
                let prefix =
                    self.prefix
                        .filter(|p| !p.trim().is_empty())
                        .ok_or_else(|| KafkaConnectorError::Option {
                            option: "sink.transactional-id-prefix".into(),
                            message: "exactly-once needs a transactional id prefix, unique to the job".into(),
                        })?;
                if let Some(protocol) = self
                    .client
                    .get_property("security.protocol")
                    .filter(|p| !p.eq_ignore_ascii_case("plaintext"))
                {
                    // The commit check fetches from the partition leaders itself.
                    return Err(KafkaConnectorError::Option {
                        option: "properties.security.protocol".into(),
                        message: format!(
                            "'{protocol}': the exactly-once sink reads transaction markers over PLAINTEXT \
                             connections only (see the README)"
                        ),
                    });
                }
                if self.pool_size < 2 {
                    return Err(KafkaConnectorError::Option {
                        option: "sink.transactional-id-pool-size".into(),
                        message: format!("{} is too small: at least 2", self.pool_size),
                    });
                }
                Some(ExactlyOnce::new(KafkaTransactionalSink::new(
                    TransactionSettings {
                        client: self.client.clone(),
                        topic: self.topic.clone(),
                        prefix,
                        pool_size: self.pool_size,
                        transaction_timeout: self.transaction_timeout,
                        flush_timeout: self.flush_timeout,
                    },
                    self.serializer.clone(),
                )))
            }
            _ => None,
        };
        Ok(KafkaSink {
            client: self.client,
            topic: self.topic,
            serializer: self.serializer,
            guarantee: self.guarantee,
            flush_timeout: self.flush_timeout,
            transactional,
        })
    }
}

impl<T: Send + 'static> Sink<T> for KafkaSink<T> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        // Fails clearly when the brokers cannot be reached or the topic is missing.
        let consumer = metadata_consumer(&self.client, "weir-kafka-sink-metadata")?;
        topic_partitions(&consumer, &self.client, &self.topic)?;
        drop(consumer);
        match (&self.transactional, self.guarantee) {
            (Some(transactional), _) => transactional.create_writer(context),
            (None, guarantee) => Ok(Box::new(AtLeastOnceWriter::create(
                &self.client,
                &self.topic,
                self.serializer.clone(),
                self.flush_timeout,
                guarantee == DeliveryGuarantee::AtLeastOnce,
            )?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> KafkaSinkBuilder<String> {
        KafkaSink::builder("127.0.0.1:1", "t", |v: &String, _ts: Option<i64>| {
            Ok(OutgoingRecord::value(v.as_bytes()))
        })
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("p")
    }

    #[test]
    fn exactly_once_needs_plaintext_for_the_commit_check() {
        let error = builder()
            .client(|c| c.property("security.protocol", "SASL_SSL"))
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("PLAINTEXT"), "{error}");
        assert!(builder()
            .client(|c| c.property("security.protocol", "plaintext"))
            .build()
            .is_ok());
        assert!(builder().build().is_ok());
    }
}
