//! # Weir's SQL tables on Weir's real connectors
//!
//! `weir-sql` knows only its built-in connectors (`nexmark`, `print`,
//! `blackhole`) and depends on no connector crate; this crate bridges SQL tables
//! to the connectors in `crates/connectors`. [`register`] adds them to a
//! [`SqlConnectors`] registry:
//!
//! * `'connector' = 'postgres'` (and `'jdbc'` with a `jdbc:postgresql://` url): a
//!   sink writing a PostgreSQL table ([`postgres`](mod@postgres)): upserts and
//!   deletes by the table's primary key for updating queries, plain inserts for a
//!   table without one.
//! * `'connector' = 'filesystem'`: a sink writing JSON lines into part files of a
//!   directory, exactly once ([`filesystem`](mod@filesystem)): `'format' = 'json'`
//!   (one object per row; insert-only queries) or `'changelog-json'` (one
//!   `{"data":{...},"op":"+I"}` object per change; any query), with the file
//!   sink's rolling options (`sink.rolling-policy.*`).
//! * `'connector' = 'filesystem'` as a source and a lookup source
//!   ([`filesystem_source`]): a table read from CSV or JSON lines files
//!   (`'format' = 'csv'` or `'json'`), bounded, through the filesystem
//!   connector's split source (positions in checkpoints); a lookup join loads
//!   the whole table.
//! * `'connector' = 'kafka'` as a sink ([`kafka`](mod@kafka)): rows as JSON
//!   messages (`'format' = 'json'`, insert-only queries) or changes as Debezium
//!   messages (`'debezium-json'`, any query), optionally keyed (`key.format`,
//!   `key.fields`), at-least-once or exactly-once (Kafka transactions).
//! * `'connector' = 'upsert-kafka'` as a sink ([`kafka`](mod@kafka)): a
//!   changelog by the table's primary key, the key columns as the message key,
//!   a delete as a tombstone.
//! * `'connector' = 'kafka'` as a source ([`kafka_source`]): a topic's JSON
//!   messages, offsets in checkpoints; changelog sources (`debezium-json`,
//!   `upsert-kafka`) are refused for now.
//!
//! ```no_run
//! use weir_sql::connectors::builtin;
//! use weir_sql::script::SqlSession;
//!
//! let mut connectors = builtin();
//! weir_sql_connectors::register(&mut connectors);
//! let session = SqlSession::new(connectors);
//! # let _ = session;
//! ```

pub mod filesystem;
pub mod filesystem_source;
pub mod flink_json;
pub mod json_rows;
pub mod kafka;
mod kafka_options;
pub mod kafka_source;
mod options;
pub mod postgres;
pub mod sql_rows;
pub mod text_rows;
pub mod values;

pub use filesystem::FilesystemSqlSink;
pub use filesystem_source::FilesystemSqlSource;
pub use kafka::KafkaSqlSink;
pub use kafka_options::KafkaFlavor;
pub use kafka_source::KafkaSqlSource;
pub use postgres::PostgresSqlSink;

use std::sync::Arc;
use weir_sql::connector::SqlConnectors;

/// Adds the SQL connectors backed by Weir's real connectors to `connectors`: the
/// `postgres`, `jdbc`, `filesystem`, `kafka` and `upsert-kafka` sinks, the
/// `filesystem` and `kafka` sources (and `upsert-kafka`, which refuses to read
/// for now), the `filesystem` lookup source.
pub fn register(connectors: &mut SqlConnectors) {
    connectors.register_source(Arc::new(FilesystemSqlSource));
    connectors.register_source(Arc::new(KafkaSqlSource::kafka()));
    connectors.register_source(Arc::new(KafkaSqlSource::upsert_kafka()));
    connectors.register_sink(Arc::new(KafkaSqlSink::kafka()));
    connectors.register_sink(Arc::new(KafkaSqlSink::upsert_kafka()));
    connectors.register_lookup(Arc::new(FilesystemSqlSource));
    connectors.register_sink(Arc::new(PostgresSqlSink::postgres()));
    connectors.register_sink(Arc::new(PostgresSqlSink::jdbc()));
    connectors.register_sink(Arc::new(FilesystemSqlSink));
}
