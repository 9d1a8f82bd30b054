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

pub mod postgres;
pub mod values;

pub use postgres::PostgresSqlSink;

use std::sync::Arc;
use weir_sql::connector::SqlConnectors;

/// Adds the SQL connectors backed by Weir's real connectors to `connectors`: the
/// `postgres` and `jdbc` sinks.
pub fn register(connectors: &mut SqlConnectors) {
    connectors.register_sink(Arc::new(PostgresSqlSink::postgres()));
    connectors.register_sink(Arc::new(PostgresSqlSink::jdbc()));
}
