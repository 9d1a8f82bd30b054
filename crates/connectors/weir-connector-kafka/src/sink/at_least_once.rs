//! The at-least-once writer: records go out as they come; at each checkpoint
//! barrier the writer waits until every record sent so far is acknowledged, so a
//! completed checkpoint never covers a record the broker does not have.

use crate::error::KafkaConnectorError;
use crate::sink::producer::{flush, send, DeliveryTracker, TrackedProducer};
use crate::sink::record::SharedSerializer;
use rdkafka::producer::Producer;
use std::time::Duration;
use weir_connector_api::sink::SinkWriter;
use weir_core::BoxError;

pub(crate) struct AtLeastOnceWriter<T> {
    pub(crate) producer: TrackedProducer,
    pub(crate) address: String,
    pub(crate) topic: String,
    pub(crate) serializer: SharedSerializer<T>,
    pub(crate) flush_timeout: Duration,
    /// Whether to wait for deliveries at checkpoints (`false`: no guarantee).
    pub(crate) flush_at_checkpoints: bool,
}

impl<T> AtLeastOnceWriter<T> {
    pub(crate) fn create(
        config: &crate::config::KafkaClientConfig,
        topic: &str,
        serializer: SharedSerializer<T>,
        flush_timeout: Duration,
        flush_at_checkpoints: bool,
    ) -> Result<Self, KafkaConnectorError> {
        let producer: TrackedProducer = config
            .client_config()
            .create_with_context(DeliveryTracker::default())
            .map_err(|e| KafkaConnectorError::client(config.bootstrap_servers(), "creating a producer", e))?;
        Ok(AtLeastOnceWriter {
            producer,
            address: config.bootstrap_servers().to_string(),
            topic: topic.to_string(),
            serializer,
            flush_timeout,
            flush_at_checkpoints,
        })
    }
}

impl<T: Send + 'static> SinkWriter<T> for AtLeastOnceWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        let record = self.serializer.serialize(&value, timestamp)?;
        send(&self.producer, &self.address, &self.topic, &record, timestamp, 0)?;
        if let Some(failure) = self.producer.context().take_failure() {
            return Err(KafkaConnectorError::client(&self.address, "delivering records", failure).into());
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        Ok(flush(&self.producer, &self.address, self.flush_timeout)?)
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        if self.flush_at_checkpoints {
            flush(&self.producer, &self.address, self.flush_timeout)?;
        }
        Ok(Vec::new())
    }
}
