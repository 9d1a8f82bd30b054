//! Weir's light connector API: everything a connector or format author needs, and
//! nothing of the runtime (no RocksDB, no object stores, no threads).
//!
//! * [`source`]: a [`Source`](source::Source) creates one
//!   [`SourceReader`](source::SourceReader) per subtask; the runtime polls it.
//! * [`split`]: split-based sources in the manner of Flink's FLIP-27: an
//!   [`SplitEnumerator`](split::SplitEnumerator) discovers splits (partitions, files,
//!   byte ranges) and assigns them to [`SplitReader`](split::SplitReader)s, whose
//!   positions are stored in checkpoints; [`SplitSource`](split::SplitSource) plus
//!   [`split::SplitSourceAdapter`] make a [`Source`](source::Source) of it.
//! * [`watermark`]: timestamp assigners, watermark generators and idleness, per split.
//! * [`sink`] and [`transactional`]: a [`Sink`](sink::Sink) creates
//!   [`SinkWriter`](sink::SinkWriter)s; exactly-once sinks implement
//!   [`TransactionalSink`](transactional::TransactionalSink) (writer + committer: a
//!   transaction pre-committed at the checkpoint barrier, its recoverable
//!   committable stored in the checkpoint, committed when the checkpoint completes).
//! * [`format`](mod@format): record [`Deserializer`](format::Deserializer)s and
//!   [`Serializer`](format::Serializer)s with typed [`FormatError`](format::FormatError)s.
//! * [`bad_record`]: what a source does with a record it cannot decode: fail (the
//!   default), skip (counted and logged) or send it to a dead-letter queue.
//! * [`dedup`]: exactly-once reading of acknowledging queues (RabbitMQ, NATS):
//!   the ids of emitted, unacknowledged messages in the checkpointed state.
//! * [`lookup`]: tables read by key to enrich a stream (a database, a
//!   Redis-protocol store), with a bounded, expiring cache.
//! * [`options`] and [`registry`]: connectors and formats found by name with string
//!   options (`connector = 'kafka'`, `format = 'json'`), for SQL DDL.
//!
//! Typed builders (`KafkaSource::builder()...`) remain the DataStream way in; the
//! registry is the way in for configuration given as strings.
//!
//! ```
//! use weir_connector_api::split::{testing::drive, VecSplitSource};
//!
//! // A split source over three in-memory splits, read by two readers.
//! let source = VecSplitSource::new(vec![vec![1, 2], vec![3], vec![4, 5, 6]]);
//! let mut all: Vec<i32> = drive(source, 2).unwrap();
//! all.sort();
//! assert_eq!(all, vec![1, 2, 3, 4, 5, 6]);
//! ```

pub mod bad_record;
pub mod codec;
pub mod dedup;
pub mod error;
pub mod format;
pub mod lookup;
pub mod options;
pub mod registry;
pub mod retry;
pub mod sink;
pub mod source;
pub mod split;
pub mod transactional;
pub mod watermark;

pub use error::ConnectorError;
pub use weir_core::{BoxError, StreamRecord, SubtaskInfo, Timestamp, Watermark};
