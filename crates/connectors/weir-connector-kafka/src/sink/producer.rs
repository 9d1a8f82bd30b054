//! A producer that remembers failed deliveries, and sending with backpressure.

use crate::error::KafkaConnectorError;
use crate::sink::record::OutgoingRecord;
use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::Message;
use std::sync::Arc;
use std::time::Duration;

/// Remembers the first failed delivery (reported at the next flush) and, when
/// tracking, where each delivered record landed.
#[derive(Clone, Default)]
pub(crate) struct DeliveryTracker {
    failure: Arc<Mutex<Option<String>>>,
    /// `Some`: (record index, partition, offset) of each delivered record.
    delivered: Option<Arc<Mutex<Vec<Delivered>>>>,
}

/// Where a record sent with index `index` landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) index: usize,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

impl DeliveryTracker {
    /// A tracker that also remembers where records landed (see [`take_delivered`](Self::take_delivered)).
    pub(crate) fn tracking() -> Self {
        DeliveryTracker {
            failure: Arc::default(),
            delivered: Some(Arc::default()),
        }
    }

    /// The first failed delivery since the last call, if any.
    pub(crate) fn take_failure(&self) -> Option<String> {
        self.failure.lock().take()
    }

    /// The deliveries since the last call (empty when not tracking).
    pub(crate) fn take_delivered(&self) -> Vec<Delivered> {
        self.delivered
            .as_ref()
            .map(|d| std::mem::take(&mut *d.lock()))
            .unwrap_or_default()
    }
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        if let (Ok(message), Some(delivered)) = (result, &self.delivered) {
            delivered.lock().push(Delivered {
                index,
                partition: message.partition(),
                offset: message.offset(),
            });
        }
        if let Err((error, message)) = result {
            let mut failure = self.failure.lock();
            if failure.is_none() {
                *failure = Some(format!(
                    "delivery to {}/{} failed: {error}",
                    message.topic(),
                    message.partition()
                ));
            }
        }
    }
}

/// A producer with its delivery tracker.
pub(crate) type TrackedProducer = BaseProducer<DeliveryTracker>;

/// Sends `record` to `topic`, serving delivery reports and waiting while the
/// client's queue is full; `index` names the record in delivery reports.
pub(crate) fn send(
    producer: &TrackedProducer,
    address: &str,
    topic: &str,
    record: &OutgoingRecord,
    event_time: Option<i64>,
    index: usize,
) -> Result<(), KafkaConnectorError> {
    loop {
        let mut base: BaseRecord<'_, [u8], [u8], usize> = BaseRecord::with_opaque_to(topic, index);
        if let Some(key) = &record.key {
            base = base.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            base = base.payload(value.as_slice());
        }
        if let Some(partition) = record.partition {
            base = base.partition(partition);
        }
        if let Some(timestamp) = record.timestamp.or(event_time) {
            base = base.timestamp(timestamp);
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: Some(value.as_slice()),
                });
            }
            base = base.headers(headers);
        }
        match producer.send(base) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                // Backpressure: wait for deliveries to make room.
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => {
                return Err(KafkaConnectorError::client(
                    address,
                    format!("producing to topic '{topic}'"),
                    error,
                ))
            }
        }
    }
}

/// Waits until every record sent through `producer` is delivered (or `timeout`
/// passed); fails on any failed delivery.
pub(crate) fn flush(producer: &TrackedProducer, address: &str, timeout: Duration) -> Result<(), KafkaConnectorError> {
    producer
        .flush(timeout)
        .map_err(|e| KafkaConnectorError::client(address, "waiting for deliveries", e))?;
    match producer.context().take_failure() {
        Some(failure) => Err(KafkaConnectorError::client(address, "delivering records", failure)),
        None => Ok(()),
    }
}
