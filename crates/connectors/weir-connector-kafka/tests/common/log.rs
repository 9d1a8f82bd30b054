//! What a topic committed, read from the raw log with the transaction markers.
//!
//! The test broker (tansu) commits and fences transactions and writes commit and
//! abort markers into the log, but its `read_committed` fetches still return the
//! records of aborted transactions. So the tests do not trust a consumer: they
//! fetch the raw record batches (Kafka protocol, `read_uncommitted`) and apply the
//! markers themselves, as a `read_committed` consumer of a real Kafka would: a
//! transactional record counts once its producer's next marker is COMMIT, never
//! when it is ABORT, and not while its transaction is open.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

const FETCH_VERSION: i16 = 11;

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

fn fetch(stream: &mut TcpStream, topic: &str, partition: i32, offset: i64, correlation: i32) -> FetchResponse {
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Fetch as i16)
        .with_request_api_version(FETCH_VERSION)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("weir-test-log")));
    let request = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(8 << 20)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(4 << 20)
                .with_log_start_offset(-1)])]);
    let mut body = BytesMut::new();
    header
        .encode(&mut body, FetchRequest::header_version(FETCH_VERSION))
        .unwrap();
    request.encode(&mut body, FETCH_VERSION).unwrap();
    let mut frame = BytesMut::with_capacity(body.len() + 4);
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    stream.write_all(&frame).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut response = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).unwrap();
    let mut response = Bytes::from(response);
    let header = ResponseHeader::decode(&mut response, FetchResponse::header_version(FETCH_VERSION)).unwrap();
    assert_eq!(header.correlation_id, correlation);
    FetchResponse::decode(&mut response, FETCH_VERSION).unwrap()
}

/// Reads partitions `0..partitions` of `topic` from the broker at `broker`
/// (`host:port`, one broker) to their high watermark.
pub fn read_topic(broker: &str, topic: &str, partitions: i32) -> TopicLog {
    let mut stream = TcpStream::connect(broker).unwrap();
    let mut log = TopicLog::default();
    let mut correlation = 0;
    for partition in 0..partitions {
        // Records of open transactions, per producer id.
        let mut pending: HashMap<i64, Vec<LogRecord>> = HashMap::new();
        let mut offset = 0i64;
        let mut empty = 0;
        loop {
            correlation += 1;
            let response = fetch(&mut stream, topic, partition, offset, correlation);
            assert_eq!(response.error_code, 0, "fetch of {topic}/{partition} failed");
            let data = &response.responses[0].partitions[0];
            assert_eq!(data.error_code, 0, "fetch of {topic}/{partition} failed");
            let high_watermark = data.high_watermark;
            if offset >= high_watermark {
                break;
            }
            let mut bytes = data.records.clone().unwrap_or_default();
            let before = offset;
            while bytes.has_remaining() {
                let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
                for record in set.records {
                    if record.offset < offset {
                        continue;
                    }
                    offset = record.offset + 1;
                    if record.control {
                        let key = record.key.clone().unwrap_or_default();
                        let kind = if key.len() >= 4 {
                            i16::from_be_bytes([key[2], key[3]])
                        } else {
                            -1
                        };
                        let records = pending.remove(&record.producer_id).unwrap_or_default();
                        log.markers.push((
                            partition,
                            record.offset,
                            record.producer_id,
                            kind == 1,
                            record.timestamp,
                        ));
                        if std::env::var("WEIR_TEST_LOG_DEBUG").is_ok() {
                            eprintln!(
                                "marker {kind} at {partition}@{} by {}/{} closes {} records (epochs {:?})",
                                record.offset,
                                record.producer_id,
                                record.producer_epoch,
                                records.len(),
                                records
                                    .iter()
                                    .map(|r| r.producer.1)
                                    .collect::<std::collections::BTreeSet<_>>()
                            );
                        }
                        match kind {
                            1 => {
                                log.commits += 1;
                                log.committed.extend(records);
                            }
                            0 => {
                                log.aborts += 1;
                                log.aborted.extend(records);
                            }
                            other => panic!(
                                "unknown control record type {other} at {topic}/{partition}@{}",
                                record.offset
                            ),
                        }
                        continue;
                    }
                    let entry = LogRecord {
                        partition,
                        offset: record.offset,
                        key: record.key.map(|k| k.to_vec()),
                        value: record.value.map(|v| v.to_vec()),
                        timestamp: record.timestamp,
                        producer: (record.producer_id, record.producer_epoch),
                    };
                    if record.transactional {
                        pending.entry(record.producer_id).or_default().push(entry);
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
