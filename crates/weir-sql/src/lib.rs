//! Weir's streaming SQL: Flink-dialect scripts planned by DataFusion and run as
//! Weir operators on Arrow batches ([`batch::RowBatch`]), with Weir's checkpoints
//! and state backends.

pub mod batch;
pub mod connector;
pub mod error;
pub mod exec;
pub mod front;
pub mod job;
pub mod plan;
pub use error::SqlError;
