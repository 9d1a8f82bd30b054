//! A partition's raw log: its record batches with their transaction markers.
//!
//! A [`LogConnection`] sends plain `Fetch` requests (`read_uncommitted`, over
//! `PLAINTEXT` TCP) to one broker, which must lead the partitions it reads, and
//! [`Fetched::batches`] splits the answer into [`LogBatch`]es: offsets, producer,
//! whether the batch is transactional and, for a control batch, its
//! [`Marker`] (COMMIT or ABORT). A transactional batch of producer `P` is
//! committed exactly when the first marker of `P` after it in the partition is a
//! COMMIT (KIP-98).
//!
//! The exactly-once sink reads how a transaction ended this way after a failure
//! (see the README). Tests use it to read what a topic committed without trusting
//! a consumer's `read_committed`. Compressed batches are read as headers only:
//! [`Fetched::batches_with_records`] fails on them (the crate enables no codec).

use crate::config::KafkaClientConfig;
use crate::metadata::metadata_consumer;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use rdkafka::consumer::Consumer;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Fetch v11 (Kafka 2.3 and later; Kafka 4 still serves it).
const FETCH_VERSION: i16 = 11;

/// Why reading the log failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogError(String);

impl From<String> for LogError {
    fn from(message: String) -> Self {
        LogError(message)
    }
}

/// What a control batch says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// The producer's open transaction in the partition committed.
    Commit,
    /// The producer's open transaction in the partition aborted.
    Abort,
    /// Another control record type (e.g. a leader change): closes no transaction.
    Other(i16),
}

/// One record batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    /// The offset of its first record.
    pub base_offset: i64,
    /// The offset of its last record.
    pub last_offset: i64,
    /// The producer id that wrote it (-1: none).
    pub producer_id: i64,
    /// That producer's epoch.
    pub producer_epoch: i16,
    /// Whether it belongs to a transaction.
    pub transactional: bool,
    /// The timestamp (ms) of its first record (of a control batch: its marker's).
    pub timestamp: i64,
    /// For a control batch, its marker.
    pub marker: Option<Marker>,
    /// Its records, from [`Fetched::batches_with_records`] and for data batches
    /// only (empty otherwise).
    pub records: Vec<LogRecord>,
}

/// One data record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its offset.
    pub offset: i64,
    /// Its timestamp (ms).
    pub timestamp: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub value: Option<Vec<u8>>,
}

/// One fetch's answer for a partition.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The error code (0: none), of the partition or of the whole response.
    pub error_code: i16,
    /// The partition's high watermark (0 when the fetch failed).
    pub high_watermark: i64,
    records: Bytes,
}

impl Fetched {
    /// The batches fetched, headers only (a partial batch at the end, which
    /// fetches may return, is left out).
    pub fn batches(&self) -> Result<Vec<LogBatch>, LogError> {
        split_batches(self.records.clone(), false).map_err(LogError)
    }

    /// The batches fetched with the records of the data batches.
    pub fn batches_with_records(&self) -> Result<Vec<LogBatch>, LogError> {
        split_batches(self.records.clone(), true).map_err(LogError)
    }
}

/// A connection to a broker that serves `Fetch` requests.
#[derive(Debug)]
pub struct LogConnection {
    stream: TcpStream,
    client_id: &'static str,
    correlation: i32,
}

impl LogConnection {
    /// Connects to the broker at `address` (`host:port`); `timeout` bounds the
    /// connection and each read and write.
    pub fn connect(address: &str, timeout: Duration) -> Result<LogConnection, LogError> {
        Self::open(address, timeout, "weir-kafka-log").map_err(LogError)
    }

    /// Connects to the leader of `topic`/`partition`, found in the metadata.
    pub(crate) fn to_leader(
        client: &KafkaClientConfig,
        topic: &str,
        partition: i32,
        client_id: &'static str,
    ) -> Result<LogConnection, String> {
        let consumer = metadata_consumer(client, "weir-kafka-sink-commit-check").map_err(|e| e.to_string())?;
        let metadata = consumer
            .fetch_metadata(Some(topic), client.timeout())
            .map_err(|e| format!("reading the metadata of topic '{topic}': {e}"))?;
        let leader = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .and_then(|t| t.partitions().iter().find(|p| p.id() == partition))
            .map(|p| p.leader())
            .ok_or_else(|| format!("partition {partition} of topic '{topic}' is not in the metadata"))?;
        let broker = metadata
            .brokers()
            .iter()
            .find(|b| b.id() == leader)
            .ok_or_else(|| format!("the leader {leader} of {topic}/{partition} is not in the metadata"))?;
        Self::open(
            &format!("{}:{}", broker.host(), broker.port()),
            client.timeout(),
            client_id,
        )
    }

    fn open(host: &str, timeout: Duration, client_id: &'static str) -> Result<LogConnection, String> {
        let address = host
            .to_socket_addrs()
            .map_err(|e| format!("resolving {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connecting to {host}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| format!("setting up the connection to {host}: {e}"))?;
        Ok(LogConnection {
            stream,
            client_id,
            correlation: 0,
        })
    }

    /// One `read_uncommitted` fetch of `topic`/`partition` from `offset`.
    pub fn fetch(&mut self, topic: &str, partition: i32, offset: i64) -> Result<Fetched, LogError> {
        self.correlation = self.correlation.wrapping_add(1);
        self.fetch_inner(topic, partition, offset, self.correlation)
            .map_err(LogError)
    }

    fn fetch_inner(&mut self, topic: &str, partition: i32, offset: i64, correlation: i32) -> Result<Fetched, String> {
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Fetch as i16)
            .with_request_api_version(FETCH_VERSION)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str(self.client_id)));
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(100)
            .with_min_bytes(1)
            .with_max_bytes(16 << 20)
            .with_isolation_level(0)
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(8 << 20)
                    .with_log_start_offset(-1)])]);
        let mut body = BytesMut::new();
        header
            .encode(&mut body, FetchRequest::header_version(FETCH_VERSION))
            .map_err(|e| format!("encoding a fetch request: {e}"))?;
        request
            .encode(&mut body, FETCH_VERSION)
            .map_err(|e| format!("encoding a fetch request: {e}"))?;
        let size = i32::try_from(body.len()).map_err(|_| "the fetch request is too large".to_string())?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(size);
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .map_err(|e| format!("sending a fetch request: {e}"))?;
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .map_err(|e| format!("reading a fetch response: {e}"))?;
        let size = usize::try_from(i32::from_be_bytes(size)).map_err(|_| "a negative response size".to_string())?;
        let mut response = vec![0u8; size];
        self.stream
            .read_exact(&mut response)
            .map_err(|e| format!("reading a fetch response: {e}"))?;
        let mut response = Bytes::from(response);
        let header = ResponseHeader::decode(&mut response, FetchResponse::header_version(FETCH_VERSION))
            .map_err(|e| format!("decoding a fetch response: {e}"))?;
        if header.correlation_id != correlation {
            return Err(format!(
                "a fetch response for request {} where {correlation} was expected",
                header.correlation_id
            ));
        }
        let response = FetchResponse::decode(&mut response, FETCH_VERSION)
            .map_err(|e| format!("decoding a fetch response: {e}"))?;
        if response.error_code != 0 {
            return Ok(Fetched {
                error_code: response.error_code,
                high_watermark: 0,
                records: Bytes::new(),
            });
        }
        let data = response
            .responses
            .first()
            .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
            .ok_or_else(|| "the fetch response does not hold the partition".to_string())?;
        Ok(Fetched {
            error_code: data.error_code,
            high_watermark: data.high_watermark,
            records: data.records.clone().unwrap_or_default(),
        })
    }
}

/// Splits fetched record bytes into batches (a partial batch at the end, which
/// fetches may return, is left out); with `with_records`, decodes the records
/// of the data batches too.
fn split_batches(mut records: Bytes, with_records: bool) -> Result<Vec<LogBatch>, String> {
    let mut batches = Vec::new();
    // Base offset (8), batch length (4), leader epoch (4), magic (1), CRC (4),
    // attributes (2), last offset delta (4).
    const PREFIX: usize = 12;
    while records.remaining() >= PREFIX {
        let length = i32::from_be_bytes([records[8], records[9], records[10], records[11]]);
        let Ok(length) = usize::try_from(length) else {
            return Err(format!("a record batch has a negative length ({length})"));
        };
        if records.remaining() < PREFIX + length {
            break;
        }
        let mut batch = records.split_to(PREFIX + length);
        if batch.len() < 27 {
            return Err("a record batch is too short".into());
        }
        let last_offset_delta = i32::from_be_bytes([batch[23], batch[24], batch[25], batch[26]]);
        let mut peek = batch.clone();
        let info = RecordBatchDecoder::decode_batch_info(&mut peek)
            .map_err(|e| format!("cannot decode a record batch header: {e}"))?;
        let Some(info) = info.into_iter().next() else {
            return Err("a record batch of an unsupported version (before v2)".into());
        };
        let base_offset = info.min_offset;
        let mut decoded = Vec::new();
        let mut timestamp = info.min_timestamp;
        let marker = if info.control {
            let set =
                RecordBatchDecoder::decode(&mut batch).map_err(|e| format!("cannot decode a control batch: {e}"))?;
            let first = set.records.first();
            if let Some(record) = first {
                timestamp = record.timestamp;
            }
            let key = first.and_then(|r| r.key.clone()).unwrap_or_default();
            if key.len() < 4 {
                return Err(format!("a control record without a type at offset {base_offset}"));
            }
            Some(match i16::from_be_bytes([key[2], key[3]]) {
                0 => Marker::Abort,
                1 => Marker::Commit,
                other => Marker::Other(other),
            })
        } else {
            if with_records {
                let set = RecordBatchDecoder::decode(&mut batch)
                    .map_err(|e| format!("cannot decode the record batch at offset {base_offset}: {e}"))?;
                decoded = set
                    .records
                    .into_iter()
                    .map(|r| LogRecord {
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key.map(|k| k.to_vec()),
                        value: r.value.map(|v| v.to_vec()),
                    })
                    .collect();
            }
            None
        };
        batches.push(LogBatch {
            base_offset,
            last_offset: base_offset + i64::from(last_offset_delta),
            producer_id: info.producer_id,
            producer_epoch: info.producer_epoch,
            transactional: info.transactional,
            timestamp,
            marker,
            records: decoded,
        });
    }
    Ok(batches)
}
