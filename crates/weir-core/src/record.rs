//! Records and watermarks as they travel between operators.

/// Event time in milliseconds since the Unix epoch.
pub type Timestamp = i64;

/// The timestamp of a record that has none (no timestamp assigner ran).
pub const NO_TIMESTAMP: Timestamp = i64::MIN;

/// The current processing time: wall-clock milliseconds since the Unix epoch.
pub fn processing_time_now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or(0)
}

/// A record with its event timestamp ([`NO_TIMESTAMP`] when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StreamRecord<T> {
    /// The user's value.
    pub value: T,
    /// Event time of the record, or [`NO_TIMESTAMP`].
    pub timestamp: Timestamp,
}

impl<T> StreamRecord<T> {
    /// A record without a timestamp.
    #[inline]
    pub fn new(value: T) -> Self {
        StreamRecord {
            value,
            timestamp: NO_TIMESTAMP,
        }
    }

    /// A record with event time `timestamp`.
    #[inline]
    pub fn with_timestamp(value: T, timestamp: Timestamp) -> Self {
        StreamRecord { value, timestamp }
    }

    /// The timestamp, if the record has one.
    #[inline]
    pub fn timestamp(&self) -> Option<Timestamp> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// Replaces the value, keeping the timestamp.
    #[inline]
    pub fn replace<U>(self, value: U) -> StreamRecord<U> {
        StreamRecord {
            value,
            timestamp: self.timestamp,
        }
    }
}

/// A watermark: the assertion that no more records with a timestamp at or below
/// `timestamp` will arrive on this stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    /// Event time covered by the watermark.
    pub timestamp: Timestamp,
}

impl Watermark {
    /// The watermark that ends event time: every window fires.
    pub const MAX: Watermark = Watermark { timestamp: i64::MAX };

    /// A watermark at `timestamp`.
    pub fn new(timestamp: Timestamp) -> Self {
        Watermark { timestamp }
    }
}

/// Whether a stream currently produces data, as far as event time is concerned. An
/// *idle* stream (a source split that has had no data for a while) does not hold back
/// the watermark of the operators it feeds, until it becomes *active* again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WatermarkStatus {
    /// The stream produces records and watermarks.
    Active,
    /// The stream is idle: ignore it when combining watermarks.
    Idle,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_option_hides_sentinel() {
        assert_eq!(StreamRecord::new(1).timestamp(), None);
        assert_eq!(StreamRecord::with_timestamp(1, 5).timestamp(), Some(5));
        assert_eq!(StreamRecord::with_timestamp(1, 5).replace("x").timestamp, 5);
    }
}
