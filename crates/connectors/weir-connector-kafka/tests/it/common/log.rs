//! What a topic committed, read from the raw log with the transaction markers.
//!
//! The test broker (tansu) commits and fences transactions and writes commit and
//! abort markers into the log, but its `read_committed` fetches still return the
//! records of aborted transactions. So the tests do not trust a consumer: they
//! fetch the raw record batches (the crate's `log` module: Kafka protocol,
//! `read_uncommitted`) and apply the
//! markers themselves, as a `read_committed` consumer of a real Kafka would: a
//! transactional record counts once its producer's next marker is COMMIT, never
//! when it is ABORT, and not while its transaction is open.

use std::collections::HashMap;
use std::time::Duration;
use weir_connector_kafka::log::{LogConnection, Marker};

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub value: Option<Vec<u8>>,
    /// Its timestamp.
    pub timestamp: i64,
    /// The producer id and epoch that wrote it.
    pub producer: (i64, i16),
}

/// A topic's log, sorted out by the transaction markers.
#[derive(Debug, Default)]
pub struct TopicLog {
    /// Records a `read_committed` consumer must see, per partition in offset order.
    pub committed: Vec<LogRecord>,
    /// Records of aborted transactions.
    pub aborted: Vec<LogRecord>,
    /// Records of transactions still open.
    pub open: Vec<LogRecord>,
    /// Commit markers seen.
    pub commits: usize,
    /// Abort markers seen.
    pub aborts: usize,
    /// Every marker: (partition, offset, producer id, commit, timestamp in ms).
    pub markers: Vec<(i32, i64, i64, bool, i64)>,
}

impl TopicLog {
    /// The committed values as strings.
    pub fn committed_values(&self) -> Vec<String> {
        self.committed
            .iter()
            .map(|r| String::from_utf8(r.value.clone().unwrap_or_default()).unwrap())
            .collect()
    }
}

/// How long the broker may take to write the markers of transactions whose
/// commit (or abort) it already acknowledged.
pub const MARKERS_PATIENCE: Duration = Duration::from_secs(30);

/// Reads the topic once every transaction in it is closed: after a job finished.
///
/// A Kafka broker acknowledges `EndTxn` (librdkafka's `commit_transaction`
/// returns) once the transaction coordinator has durably recorded the decision;
/// it writes the COMMIT or ABORT markers into the partitions afterwards. So a
/// reader right after the job may still see a committed transaction open. Waits
/// up to [`MARKERS_PATIENCE`] for the markers, and returns the last reading
/// (with its open records, which the caller then reports) if they do not come.
pub fn read_settled(broker: &str, topic: &str, partitions: i32) -> TopicLog {
    let deadline = std::time::Instant::now() + MARKERS_PATIENCE;
    loop {
        let log = read_topic(broker, topic, partitions);
        if log.open.is_empty() || std::time::Instant::now() >= deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads partitions `0..partitions` of `topic` from the broker at `broker`
/// (`host:port`, one broker) to their high watermark.
pub fn read_topic(broker: &str, topic: &str, partitions: i32) -> TopicLog {
    let mut connection = LogConnection::connect(broker, Duration::from_secs(30)).unwrap();
    let mut log = TopicLog::default();
    for partition in 0..partitions {
        // Records of open transactions, per producer id.
        let mut pending: HashMap<i64, Vec<LogRecord>> = HashMap::new();
        let mut offset = 0i64;
        let mut empty = 0;
        loop {
            let fetched = connection.fetch(topic, partition, offset).unwrap();
            assert_eq!(fetched.error_code, 0, "fetch of {topic}/{partition} failed");
            let high_watermark = fetched.high_watermark;
            if offset >= high_watermark {
                break;
            }
            let before = offset;
            for batch in fetched.batches_with_records().unwrap() {
                if batch.last_offset < offset {
                    continue;
                }
                offset = batch.last_offset + 1;
                let producer = (batch.producer_id, batch.producer_epoch);
                if let Some(marker) = batch.marker {
                    let records = pending.remove(&batch.producer_id).unwrap_or_default();
                    let at = batch.base_offset;
                    let commit = marker == Marker::Commit;
                    log.markers
                        .push((partition, at, batch.producer_id, commit, batch.timestamp));
                    if std::env::var("WEIR_TEST_LOG_DEBUG").is_ok() {
                        eprintln!(
                            "marker {marker:?} at {partition}@{at} by {}/{} closes {} records (epochs {:?})",
                            producer.0,
                            producer.1,
                            records.len(),
                            records
                                .iter()
                                .map(|r| r.producer.1)
                                .collect::<std::collections::BTreeSet<_>>()
                        );
                    }
                    match marker {
                        Marker::Commit => {
                            log.commits += 1;
                            log.committed.extend(records);
                        }
                        Marker::Abort => {
                            log.aborts += 1;
                            log.aborted.extend(records);
                        }
                        Marker::Other(other) => {
                            panic!("unknown control record type {other} at {topic}/{partition}@{at}")
                        }
                    }
                    continue;
                }
                for record in batch.records {
                    let entry = LogRecord {
                        partition,
                        offset: record.offset,
                        key: record.key,
                        value: record.value,
                        timestamp: record.timestamp,
                        producer,
                    };
                    if batch.transactional {
                        pending.entry(batch.producer_id).or_default().push(entry);
                    } else {
                        log.committed.push(entry);
                    }
                }
            }
            if offset == before {
                empty += 1;
                assert!(
                    empty < 20,
                    "{topic}/{partition}: the broker returns nothing at offset {offset} below the high watermark {high_watermark}"
                );
            } else {
                empty = 0;
            }
        }
        for (_, records) in pending {
            log.open.extend(records);
        }
    }
    log.committed.sort_by_key(|r| (r.partition, r.offset));
    log
}
