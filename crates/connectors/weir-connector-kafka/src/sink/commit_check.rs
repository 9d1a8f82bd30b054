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
use crate::log::{LogBatch, LogConnection, Marker};
use std::time::{Duration, Instant};

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
    pub(crate) fn batch(&mut self, batch: &LogBatch) -> Result<(), String> {
        if let Some(Marker::Other(_)) = batch.marker {
            // Other control records (e.g. leader changes) close no transaction.
            return Ok(());
        }
        match self.progress {
            Progress::Done(_) => {}
            Progress::Searching => {
                if batch.last_offset < self.offset {
                    return Ok(());
                }
                if batch.base_offset > self.offset || batch.marker.is_some() || !batch.transactional {
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
                self.progress = match batch.marker {
                    Some(Marker::Commit) => Progress::Done(Outcome::Committed),
                    Some(Marker::Abort) => Progress::Aborted { producer },
                    // More records of the open transaction, or a re-send after an abort.
                    None | Some(Marker::Other(_)) => Progress::Open { producer },
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
    let mut connection: Option<LogConnection> = None;
    loop {
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => connection
                .insert(LogConnection::to_leader(client, topic, partition, "weir-kafka-sink").map_err(failed)?),
        };
        let fetched = match conn.fetch(topic, partition, position) {
            Ok(fetched) => fetched,
            Err(e) if started.elapsed() < patience => {
                tracing::debug!("kafka sink: fetch for the commit check failed ({e}), reconnecting");
                connection = None;
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        let high_watermark = fetched.high_watermark;
        match fetched.error_code {
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
        for batch in fetched.batches().map_err(|e| failed(e.to_string()))? {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn data(base: i64, last: i64, producer: i64) -> LogBatch {
        LogBatch {
            base_offset: base,
            last_offset: last,
            producer_id: producer,
            producer_epoch: 0,
            transactional: true,
            timestamp: 0,
            marker: None,
            records: Vec::new(),
        }
    }

    fn marker(at: i64, producer: i64, commit: bool) -> LogBatch {
        LogBatch {
            marker: Some(if commit { Marker::Commit } else { Marker::Abort }),
            ..data(at, at, producer)
        }
    }

    fn run(offset: i64, log: &[LogBatch]) -> Result<Option<Outcome>, String> {
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
        let plain = LogBatch {
            transactional: false,
            ..data(0, 4, -1)
        };
        assert!(run(3, &[plain]).is_err());
    }
}
