//! Planning streaming SQL on DataFusion: the catalog's tables, views and window
//! table functions registered as schema-only providers ([`providers`]), table
//! functions and `UNNEST` joined laterally ([`lateral`]), and [`SqlPlanner`]
//! producing optimized logical plans of queries.

pub mod column_names;
pub mod lateral;
pub mod legacy_windows;
pub mod lookup_tables;
pub mod planner;
pub mod providers;
pub mod read_fields;

pub use planner::{PlannedTable, SqlPlanner};
pub use providers::{SchemaTable, WindowScan};
