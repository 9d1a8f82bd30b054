//! Weir's streaming SQL: Flink-dialect scripts planned by DataFusion and run as
//! Weir operators on Arrow batches ([`batch::RowBatch`]), with Weir's checkpoints
//! and state backends.
//!
//! | module | holds |
//! | --- | --- |
//! | [`front`] | the Flink dialect: statements, DDL, the catalog, session options, window TVF rewriting |
//! | [`plan`] | DataFusion planning over the catalog (schema-only tables, views, window TVFs) |
//! | [`functions`] | Flink's built-in scalar functions DataFusion lacks (`DATE_FORMAT`, `SPLIT_INDEX`, `HOUR`, `PROCTIME`, ...); Rust table functions' row types |
//! | [`exec`] | the translation of optimized logical plans into operators over [`batch::RowBatch`]es |
//! | [`bridge`] | tables from DataStreams and DataStreams from query results |
//! | [`job`] | planning a query or an `INSERT INTO` onto an environment |
//! | [`script`] | running whole scripts ([`script::SqlSession`]) |
//! | [`connector`], [`connectors`] | the SQL connector traits and the built-in connectors |

pub mod batch;
pub mod bridge;
pub mod connector;
pub mod connectors;
pub mod error;
pub mod exec;
pub mod front;
pub mod functions;
pub mod job;
pub mod plan;
pub mod rows;
pub mod script;
pub mod source_batches;

pub use error::SqlError;

/// DataFusion, as Weir's SQL uses it: Rust functions for SQL are DataFusion
/// `ScalarUDF`s (`datafusion::logical_expr::create_udf`), registered with
/// [`script::SqlSession::register_function`]; `AggregateUDF`s
/// (`datafusion::logical_expr::create_udaf`), registered with
/// [`script::SqlSession::register_aggregate_function`]; and table functions,
/// `ScalarUDF`s returning a list of rows per input row, registered with
/// [`script::SqlSession::register_table_function`] (see `docs/sql.md`, *Rust
/// functions*, and `examples/udfs.rs`).
pub use datafusion;
