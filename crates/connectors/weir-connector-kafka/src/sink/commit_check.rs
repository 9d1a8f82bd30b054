//! Whether a transaction committed, read from the log itself.
//!
//! A transactional record batch of producer `P` in a partition is committed
//! exactly when the first control batch of `P` after it in that partition is a
//! COMMIT marker (an ABORT marker: aborted). This is the Kafka log format's own
//! rule (KIP-98): `read_committed` consumers and the last stable offset are
//! built on it. The exactly-once sink remembers the partition and offset of one
//! record of each pre-committed transaction; after a failure it fences the
//! transaction's transactional id (after `init_transactions` returns, no earlier
//! transaction of that id is pending: an open one was aborted, one being
//! committed completed, and their markers are in the log) and then reads that
//! partition from the record on, with plain `Fetch` requests, up to the control
//! batch that closes the transaction.
//!
//! After an abort the check keeps reading: the sink sends the records of an
//! aborted transaction again on the same transactional id (hence the same
//! producer id) and pinned to the partitions of the first attempt, so a later
//! transaction of `P` in that partition is such a re-send (nothing else is
//! written on that id before the restored transactions are settled). The
//! outcome is that of the last one.
//!
//! The fetches go to the partition's leader over plain TCP (`PLAINTEXT`); the
//! bundled librdkafka has no TLS or SASL either (see the README).

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use crate::metadata::metadata_consumer;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use rdkafka::consumer::Consumer;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Fetch v11 (Kafka 2.3 and later; Kafka 4 still serves it).
const FETCH_VERSION: i16 = 11;
/// Error codes of a fetched partition.
const OFFSET_OUT_OF_RANGE: i16 = 1;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;
const LEADER_NOT_AVAILABLE: i16 = 5;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A COMMIT marker closed it (or a re-send of it).
    Committed,
    /// An ABORT marker closed it, and no re-send committed after it.
    Aborted,
}

/// Where the check is in the partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// The batch holding the record was not read yet.
    Searching,
    /// A transaction of the producer is open (the first attempt or a re-send).
    Open { producer: i64 },
    /// The producer's last transaction seen was aborted.
    Aborted { producer: i64 },
    /// Decided.
    Done(Outcome),
}

/// One record batch's header, as far as the check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) producer_id: i64,
    pub(crate) transactional: bool,
    /// For control batches: true for COMMIT, false for ABORT.
    pub(crate) control: Option<bool>,
}

/// Follows the batches of a partition from `offset` (the remembered record).
#[derive(Debug)]
pub(crate) struct Follower {
    offset: i64,
    progress: Progress,
}

impl Follower {
    pub(crate) fn new(offset: i64) -> Self {
        Follower {
            offset,
            progress: Progress::Searching,
        }
    }

    /// The outcome, once decided.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        match self.progress {
            Progress::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The outcome when the partition's end (high watermark) was reached.
    pub(crate) fn at_end(&self) -> Option<Outcome> {
        match self.progress {
            Progress::Done(outcome) => Some(outcome),
            Progress::Aborted { .. } => Some(Outcome::Aborted),
            Progress::Searching | Progress::Open { .. } => None,
        }
    }

    /// Takes the next batch (in offset order).
    pub(crate) fn batch(&mut self, batch: &BatchHeader) -> Result<(), String> {
        match self.progress {
            Progress::Done(_) => {}
            Progress::Searching => {
                if batch.last_offset < self.offset {
                    return Ok(());
                }
                if batch.base_offset > self.offset || batch.control.is_some() || !batch.transactional {
                    return Err(format!(
                        "the transaction's record at offset {} is not in the log (the log has {} batch at {}..={}): \
                         deleted by retention or compaction?",
                        self.offset,
                        if batch.transactional {
                            "a transactional"
                        } else {
                            "a non-transactional"
                        },
                        batch.base_offset,
                        batch.last_offset
                    ));
                }
                self.progress = Progress::Open {
                    producer: batch.producer_id,
                };
            }
            Progress::Open { producer } | Progress::Aborted { producer } if batch.producer_id == producer => {
                self.progress = match batch.control {
                    Some(true) => Progress::Done(Outcome::Committed),
                    Some(false) => Progress::Aborted { producer },
                    // More records of the open transaction, or a re-send after an abort.
                    None => Progress::Open { producer },
                };
            }
            Progress::Open { .. } | Progress::Aborted { .. } => {}
        }
        Ok(())
    }
}

/// Reads how the transaction holding the record at `partition`/`offset` of
/// `topic` ended. Waits (up to `patience`) while it is still open, which after
/// fencing only happens while the broker is still writing its markers.
pub(crate) fn transaction_outcome(
    client: &KafkaClientConfig,
    topic: &str,
    partition: i32,
    offset: i64,
    patience: Duration,
) -> Result<Outcome, KafkaConnectorError> {
    let address = client.bootstrap_servers();
    let failed = |what: String| {
        KafkaConnectorError::client(
            address,
            format!("reading how the transaction of record {topic}/{partition}@{offset} ended"),
            what,
        )
    };
    let started = Instant::now();
    let mut follower = Follower::new(offset);
    let mut position = offset;
    let mut connection: Option<Connection> = None;
    let mut correlation = 0;
    loop {
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => connection.insert(Connection::to_leader(client, topic, partition).map_err(failed)?),
        };
        correlation += 1;
        let fetched = conn.fetch(topic, partition, position, correlation);
        let (error, high_watermark, records) = match fetched {
            Ok(fetched) => fetched,
            Err(e) if started.elapsed() < patience => {
                tracing::debug!("kafka sink: fetch for the commit check failed ({e}), reconnecting");
                connection = None;
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(failed(e)),
        };
        match error {
            0 => {}
            OFFSET_OUT_OF_RANGE => {
                return Err(failed(format!(
                    "offset {position} is out of range: the log no longer holds the record (retention?)"
                )))
            }
            NOT_LEADER_OR_FOLLOWER | LEADER_NOT_AVAILABLE | FENCED_LEADER_EPOCH | UNKNOWN_LEADER_EPOCH
                if started.elapsed() < patience =>
            {
                connection = None;
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            code => return Err(failed(format!("the fetch failed with error code {code}"))),
        }
        for batch in batches(records).map_err(failed)? {
            if batch.last_offset < position {
                continue;
            }
            follower.batch(&batch).map_err(failed)?;
            position = batch.last_offset + 1;
            if let Some(outcome) = follower.outcome() {
                return Ok(outcome);
            }
        }
        if position >= high_watermark {
            if let Some(outcome) = follower.at_end() {
                return Ok(outcome);
            }
            if started.elapsed() >= patience {
                return Err(failed(format!(
                    "the transaction is still open at the end of the partition (offset {high_watermark}) \
                     after {patience:?}, although its transactional id was fenced"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Splits fetched record bytes into batch headers (a partial batch at the end,
/// which fetches may return, is left out).
fn batches(mut records: Bytes) -> Result<Vec<BatchHeader>, String> {
    let mut headers = Vec::new();
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
        let control = if info.control {
            let set =
                RecordBatchDecoder::decode(&mut batch).map_err(|e| format!("cannot decode a control batch: {e}"))?;
            let key = set.records.first().and_then(|r| r.key.clone()).unwrap_or_default();
            if key.len() < 4 {
                return Err("a control record without a type".into());
            }
            match i16::from_be_bytes([key[2], key[3]]) {
                0 => Some(false),
                1 => Some(true),
                // Other control records (e.g. leader changes) close no transaction.
                _ => None,
            }
        } else {
            None
        };
        if info.control && control.is_none() {
            continue;
        }
        headers.push(BatchHeader {
            base_offset: info.min_offset,
            last_offset: info.min_offset + i64::from(last_offset_delta),
            producer_id: info.producer_id,
            transactional: info.transactional,
            control,
        });
    }
    Ok(headers)
}

/// A connection to a partition's leader.
struct Connection {
    stream: TcpStream,
}

impl Connection {
    fn to_leader(client: &KafkaClientConfig, topic: &str, partition: i32) -> Result<Connection, String> {
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
        let host = format!("{}:{}", broker.host(), broker.port());
        let address = host
            .to_socket_addrs()
            .map_err(|e| format!("resolving {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} resolves to no address"))?;
        let stream =
            TcpStream::connect_timeout(&address, client.timeout()).map_err(|e| format!("connecting to {host}: {e}"))?;
        stream
            .set_read_timeout(Some(client.timeout()))
            .and_then(|()| stream.set_write_timeout(Some(client.timeout())))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| format!("setting up the connection to {host}: {e}"))?;
        Ok(Connection { stream })
    }

    /// One `read_uncommitted` fetch from `offset`: the partition's error code,
    /// high watermark and record bytes.
    fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        correlation: i32,
    ) -> Result<(i16, i64, Bytes), String> {
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Fetch as i16)
            .with_request_api_version(FETCH_VERSION)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("weir-kafka-sink")));
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
            return Ok((response.error_code, 0, Bytes::new()));
        }
        let data = response
            .responses
            .first()
            .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
            .ok_or_else(|| "the fetch response does not hold the partition".to_string())?;
        Ok((
            data.error_code,
            data.high_watermark,
            data.records.clone().unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(base: i64, last: i64, producer: i64) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            last_offset: last,
            producer_id: producer,
            transactional: true,
            control: None,
        }
    }

    fn marker(at: i64, producer: i64, commit: bool) -> BatchHeader {
        BatchHeader {
            control: Some(commit),
            ..data(at, at, producer)
        }
    }

    fn run(offset: i64, log: &[BatchHeader]) -> Result<Option<Outcome>, String> {
        let mut follower = Follower::new(offset);
        for batch in log {
            follower.batch(batch)?;
            if let Some(outcome) = follower.outcome() {
                return Ok(Some(outcome));
            }
        }
        Ok(follower.at_end())
    }

    #[test]
    fn committed_when_the_producers_next_marker_commits() {
        let log = [
            data(0, 4, 7),
            data(5, 9, 8),
            marker(10, 8, false),
            data(11, 12, 7),
            marker(13, 7, true),
        ];
        assert_eq!(run(2, &log), Ok(Some(Outcome::Committed)));
    }

    #[test]
    fn aborted_when_the_producers_next_marker_aborts() {
        let log = [data(0, 4, 7), marker(5, 8, true), marker(6, 7, false), data(7, 8, 9)];
        assert_eq!(run(0, &log), Ok(Some(Outcome::Aborted)));
    }

    #[test]
    fn a_committed_resend_after_an_abort_counts() {
        let log = [
            data(0, 4, 7),
            marker(5, 7, false),
            data(6, 6, 8),
            data(7, 9, 7),
            marker(10, 7, true),
        ];
        assert_eq!(run(3, &log), Ok(Some(Outcome::Committed)));
        // The re-send aborted too.
        let log = [data(0, 4, 7), marker(5, 7, false), data(7, 9, 7), marker(10, 7, false)];
        assert_eq!(run(3, &log), Ok(Some(Outcome::Aborted)));
    }

    #[test]
    fn undecided_while_open() {
        assert_eq!(run(0, &[data(0, 4, 7), marker(5, 8, true)]), Ok(None));
        // A re-send still open.
        assert_eq!(run(0, &[data(0, 4, 7), marker(5, 7, false), data(6, 6, 7)]), Ok(None));
    }

    #[test]
    fn a_missing_record_is_an_error() {
        assert!(run(3, &[data(5, 6, 7)]).is_err());
        let plain = BatchHeader {
            transactional: false,
            ..data(0, 4, -1)
        };
        assert!(run(3, &[plain]).is_err());
    }
}
