//! First contact with the brokers: retries with backoff, then a clear error naming
//! the address and the cause; the partitions of a topic.

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaRespErr;
use std::time::{Duration, Instant};

/// The partition ids of `topic`, asking `consumer`'s brokers; retries as `config`
/// says when the brokers do not answer. A missing topic is an error at once.
pub(crate) fn topic_partitions(
    consumer: &BaseConsumer,
    config: &KafkaClientConfig,
    topic: &str,
) -> Result<Vec<i32>, KafkaConnectorError> {
    let (retries, mut backoff) = config.retries();
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match partitions_once(consumer, config, topic) {
            Ok(partitions) => return Ok(partitions),
            Err(error @ KafkaConnectorError::MissingTopic { .. }) => return Err(error),
            Err(error) if attempt > retries => {
                return Err(KafkaConnectorError::Unreachable {
                    address: config.bootstrap_servers().to_string(),
                    attempts: attempt,
                    waited: started.elapsed(),
                    cause: match error {
                        KafkaConnectorError::Client { cause, .. } => cause,
                        other => other.to_string(),
                    },
                })
            }
            Err(error) => {
                tracing::warn!(
                    "kafka connector: brokers at {} did not answer (attempt {attempt}, retrying in {backoff:?}): {error}",
                    config.bootstrap_servers()
                );
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
            }
        }
    }
}

fn partitions_once(
    consumer: &BaseConsumer,
    config: &KafkaClientConfig,
    topic: &str,
) -> Result<Vec<i32>, KafkaConnectorError> {
    let address = config.bootstrap_servers();
    let metadata = consumer
        .fetch_metadata(Some(topic), config.timeout())
        .map_err(|e| KafkaConnectorError::client(address, format!("reading the metadata of topic '{topic}'"), e))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(KafkaConnectorError::MissingTopic {
            topic: topic.to_string(),
            address: address.to_string(),
            cause: "not in the metadata".into(),
        });
    };
    match found.error() {
        None => {}
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => {
            return Err(KafkaConnectorError::MissingTopic {
                topic: topic.to_string(),
                address: address.to_string(),
                cause: "unknown topic or partition".into(),
            })
        }
        Some(error) => {
            return Err(KafkaConnectorError::client(
                address,
                format!("reading the metadata of topic '{topic}'"),
                rdkafka::error::RDKafkaErrorCode::from(error),
            ))
        }
    }
    let mut partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    partitions.sort_unstable();
    if partitions.is_empty() {
        return Err(KafkaConnectorError::MissingTopic {
            topic: topic.to_string(),
            address: address.to_string(),
            cause: "the topic has no partitions".into(),
        });
    }
    Ok(partitions)
}

/// A consumer used for metadata, group offsets and group metadata (never
/// subscribes, never commits on its own).
pub(crate) fn metadata_consumer(config: &KafkaClientConfig, group: &str) -> Result<BaseConsumer, KafkaConnectorError> {
    config
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .map_err(|e| KafkaConnectorError::client(config.bootstrap_servers(), "creating a consumer", e))
}
