//! Planning streaming SQL on DataFusion: the catalog's tables, views and window
//! table functions registered as schema-only providers ([`providers`]), and
//! [`SqlPlanner`] producing optimized logical plans of queries.

pub mod column_names;
pub mod legacy_windows;
pub mod lookup_tables;
pub mod planner;
pub mod providers;
pub mod read_fields;

pub use planner::{PlannedTable, SqlPlanner};
pub use providers::{SchemaTable, WindowScan};
