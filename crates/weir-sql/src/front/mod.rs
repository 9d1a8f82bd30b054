//! The front end of Weir's streaming SQL: Flink-dialect scripts into typed
//! statements, and the session catalog.
//!
//! - [`parse_script`] / [`parse_statement`]: `;`-separated statements into
//!   [`ParsedStatement`]s ([`Statement`]: `CREATE TABLE` with computed columns,
//!   watermarks, keys and `WITH` options; views; functions; `INSERT` and statement
//!   sets; queries; `SET`/`RESET`; `SHOW`; `DESCRIBE`; `EXPLAIN`).
//! - Queries are sqlparser ASTs ready for DataFusion's SQL planner: window TVFs
//!   (`TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))`) are
//!   rewritten into `weir_tumble('bid', 'dateTime', INTERVAL '10' SECOND)`-style
//!   table-function calls ([`tvf`]), which [`WindowTvf::from_table_function`] reads back;
//!   Flink's `MAP[k, v, ...]` becomes the map literal `MAP {k: v, ...}`.
//! - [`FlinkTypePlanner`]: Flink's types in queries (`CAST(x AS TIMESTAMP_LTZ(3))`)
//!   for DataFusion's planner.
//! - [`Catalog`]: tables (Arrow schemas), views, functions and `SET` options with
//!   typed getters ([`SessionOptions`]).
//!
//! Identifiers are case-sensitive, as in Flink: a DataFusion planner of these ASTs
//! should run with `datafusion.sql_parser.enable_ident_normalization = false`.

pub mod catalog;
mod constructors;
mod ddl;
pub mod dialect;
pub mod options;
mod parser;
mod source;
pub mod statement;
pub mod table;
pub mod tvf;
mod tvf_rewrite;
pub mod type_planner;
pub mod types;

pub use catalog::{ApplyOutcome, Catalog, CatalogEntry, DescribeRow};
pub use dialect::FlinkDialect;
pub use options::{AggPhaseStrategy, ResultMode, SessionOptions};
pub use parser::{parse_script, parse_statement, rewrite_window_tvfs};
pub use statement::{
    CreateFunction, CreateTable, CreateView, DropObject, FunctionDef, Insert, ObjectKind, ParsedStatement, Statement,
    ViewDef,
};
pub use table::{ColumnKind, ComputedColumn, MetadataColumn, TableDef, WatermarkSpec};
pub use tvf::{WindowKind, WindowTvf};
pub use type_planner::FlinkTypePlanner;
pub use types::flink_type_name;
