//! What the sink writes: one Kafka record per stream record.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_core::BoxError;

/// A record to produce: key, value, headers, and optionally a partition and a
/// timestamp (default: the partitioner chooses from the key; the stream record's
/// event time, or the producer's clock when it has none).
///
/// The exactly-once sink keeps the records of each pre-committed transaction in
/// the checkpoint (to send them again should the process die before the commit),
/// so they are plain owned bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingRecord {
    /// The key (`None`: no key).
    pub key: Option<Vec<u8>>,
    /// The value (`None`: a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The partition (`None`: chosen by the partitioner from the key).
    pub partition: Option<i32>,
    /// The timestamp in milliseconds since the epoch (`None`: the stream record's
    /// event time, or the producer's clock).
    pub timestamp: Option<i64>,
}

impl OutgoingRecord {
    /// A record with `value` only.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        OutgoingRecord {
            value: Some(value.into()),
            ..OutgoingRecord::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Sends it to `partition`.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// Turns a stream record (and its event time) into a Kafka record.
pub trait RecordSerializer<T>: Send + Sync + 'static {
    /// The Kafka record for `value`.
    fn serialize(&self, value: &T, timestamp: Option<i64>) -> Result<OutgoingRecord, BoxError>;
}

impl<T, F> RecordSerializer<T> for F
where
    F: Fn(&T, Option<i64>) -> Result<OutgoingRecord, BoxError> + Send + Sync + 'static,
{
    fn serialize(&self, value: &T, timestamp: Option<i64>) -> Result<OutgoingRecord, BoxError> {
        self(value, timestamp)
    }
}

/// A shared serializer.
pub(crate) type SharedSerializer<T> = Arc<dyn RecordSerializer<T>>;
