//! # Weir's PostgreSQL connector
//!
//! * [`PostgresSink::builder`]`(...).upsert()`: an idempotent upsert sink. Records
//!   become rows ([`RowMapper`]: a function or serde), buffered and written in
//!   batches of `INSERT ... ON CONFLICT (key) DO UPDATE` when a batch is full, when
//!   the task is idle and at every checkpoint barrier. At-least-once delivery;
//!   exactly-once effect when rows are deterministic (a replay rewrites the same
//!   values).
//! * [`PostgresSink::builder`]`(...).exactly_once()`: an exactly-once sink by
//!   two-phase commit ([`PREPARE TRANSACTION`, `COMMIT PREPARED`](exactly_once)),
//!   with deterministic global transaction ids stored in checkpoints, idempotent
//!   commits (a commit-marker table tells committed from rolled back) and clean-up
//!   of earlier runs' prepared transactions. Needs `max_prepared_transactions > 0`.
//! * [`PostgresLookup`]: a [`LookupSource`](weir_connector_api::lookup::LookupSource)
//!   (`WHERE key = $1`, `= ANY($1)` for many), to use behind a
//!   [`CachedLookup`](weir_connector_api::lookup::CachedLookup) in lookup joins.
//! * [`PostgresSinkFactory`] and [`factory`]'s functions: the same from string
//!   options (`connector = 'postgres'`, `url`, `table-name`, `sink.semantic`, ...).
//!
//! Connections ([`ConnectionOptions`]) are retried with exponential backoff while
//! the server is down or restarting; wrong credentials and missing tables fail at
//! once. Every error names the connector, the address (never the password) and the
//! server's message. The client is the synchronous `postgres` crate (tokio-postgres
//! on its own current-thread runtime), without TLS.
//!
//! ```no_run
//! use weir_connector_postgres::{PostgresSink, RowMapper};
//!
//! #[derive(serde::Serialize)]
//! struct Total { customer: i64, amount: f64 }
//!
//! // Columns filled by field name; the key is the table's primary key.
//! let sink = PostgresSink::builder::<Total>("postgres://weir@127.0.0.1:5432/weir", "totals")?
//!     .row(RowMapper::serde())
//!     .exactly_once()?;
//! # let _ = sink;
//! # Ok::<(), weir_connector_postgres::PostgresError>(())
//! ```

pub mod builder;
pub mod connection;
pub mod error;
pub mod exactly_once;
pub mod factory;
pub mod lookup;
pub mod table;
pub mod upsert;
pub mod value;

pub use builder::{PostgresSink, PostgresSinkBuilder};
pub use connection::ConnectionOptions;
pub use error::PostgresError;
pub use exactly_once::{PostgresTransactionalSink, PreparedTransaction};
pub use factory::PostgresSinkFactory;
pub use lookup::PostgresLookup;
pub use postgres::Row;
pub use table::{RowChange, RowMapper};
pub use upsert::PostgresUpsertSink;
pub use value::SqlValue;
