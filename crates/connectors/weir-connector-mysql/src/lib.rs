//! # MySQL / MariaDB connector for Weir
//!
//! * [`MySqlUpsertSink`]: at-least-once delivery with an idempotent effect,
//!   batched `INSERT ... ON DUPLICATE KEY UPDATE`, flushed at every checkpoint
//!   barrier.
//! * [`MySqlXaSink`]: exactly-once through XA two-phase commit, on
//!   [`TransactionalSink`](weir_connector_api::transactional::TransactionalSink)
//!   (see [`xa`] for the protocol and its recovery).
//! * [`MySqlLookup`]: rows read by key, for lookup joins.
//! * [`MySqlSinkFactory`]: the `connector = 'mysql'` sink of a
//!   [`Registry`](weir_connector_api::registry::Registry), with options close to
//!   Flink's JDBC connector.
//!
//! The driver is the `mysql` crate (synchronous, pure Rust, no TLS). Errors name
//! the connector, the address (`user@host:port/db`, never the password) and the
//! cause; connecting is retried with backoff, statements are retried on a new
//! connection when the connection is lost.

pub mod connection;
pub mod error;
pub mod factory;
pub mod lookup;
pub mod upsert;
pub mod xa;

pub use connection::MySqlConfig;
pub use error::MySqlError;
pub use factory::MySqlSinkFactory;
pub use lookup::MySqlLookup;
pub use mysql::Value;
pub use upsert::{MySqlUpsertSink, Row};
pub use xa::{MySqlXaSink, XaPending};
