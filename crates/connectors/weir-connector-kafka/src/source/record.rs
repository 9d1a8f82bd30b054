//! What the source decodes: a view of one Kafka record, and deserializers.

use weir_connector_api::format::{Deserializer, FormatError};

/// One Kafka record as the source's deserializer sees it.
#[derive(Debug, Clone, Copy)]
pub struct KafkaRecord<'a> {
    /// The key, if any.
    pub key: Option<&'a [u8]>,
    /// The value (`None`: a tombstone).
    pub value: Option<&'a [u8]>,
    /// The headers, in order.
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record's timestamp in milliseconds since the epoch, if it has one.
    pub timestamp: Option<i64>,
}

/// Decodes Kafka records (key, value, headers and position) into stream records.
pub trait KafkaRecordDeserializer<T>: Send {
    /// Decodes `record`, pushing zero or more records onto `out`. On error nothing
    /// is pushed; the source hands the record to its bad-record policy.
    fn deserialize(&mut self, record: &KafkaRecord<'_>, out: &mut Vec<T>) -> Result<(), FormatError>;
}

/// Decodes the value only, with a format's [`Deserializer`] (a tombstone decodes
/// as no record).
pub struct ValueDeserializer<D> {
    inner: D,
}

impl<D> ValueDeserializer<D> {
    /// Values decoded by `inner`.
    pub fn new(inner: D) -> Self {
        ValueDeserializer { inner }
    }
}

impl<T, D: Deserializer<T>> KafkaRecordDeserializer<T> for ValueDeserializer<D> {
    fn deserialize(&mut self, record: &KafkaRecord<'_>, out: &mut Vec<T>) -> Result<(), FormatError> {
        match record.value {
            Some(value) => self.inner.deserialize(value, out),
            None => Ok(()),
        }
    }
}

/// Decodes each record with a function of the [`KafkaRecord`] view.
pub struct FnDeserializer<F> {
    f: F,
}

impl<F> FnDeserializer<F> {
    /// Records decoded by `f`.
    pub fn new(f: F) -> Self {
        FnDeserializer { f }
    }
}

impl<T, F> KafkaRecordDeserializer<T> for FnDeserializer<F>
where
    F: FnMut(&KafkaRecord<'_>) -> Result<T, FormatError> + Send,
{
    fn deserialize(&mut self, record: &KafkaRecord<'_>, out: &mut Vec<T>) -> Result<(), FormatError> {
        out.push((self.f)(record)?);
        Ok(())
    }
}
