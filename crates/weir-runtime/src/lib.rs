//! Weir's runtime: how a job graph runs.
//!
//! The path of a record: a [`source::SourceReader`] polled by a
//! [`task::SourceTask`] emits into the task's operator chain ([`operator`]); chained
//! operators call each other directly; at the end of the chain a
//! [`writer::RecordWriter`] picks a channel with a [`partitioner`], fills a buffer and
//! sends it through a bounded [`channel`] to the next task, whose
//! [`task::InputGate`] hands it to that task's chain, and so on to a
//! [`sink::SinkOperator`].
//!
//! The API crates build a [`graph::StreamGraph`]; [`graph::JobGraph`] chains and
//! validates it; [`graph::ExecutionGraph`] expands it to subtasks and channels;
//! [`executor::execute`] runs it, coordinating checkpoints and restarts.

pub mod channel;
pub mod erased;
pub mod executor;
pub mod factory;
pub mod failure;
pub mod graph;
pub mod message;
pub mod operator;
pub mod partitioner;
pub mod record_size;
pub mod signal;
pub mod sink;
pub mod snapshot;
pub mod task;
pub mod writer;

/// The source interface (from the light connector API crate).
pub use weir_connector_api::source;
/// Watermark strategies (from the light connector API crate).
pub use weir_connector_api::watermark;

pub use executor::{execute, JobClient, JobHandle, JobResult, JobStatus, RestartRecord};
pub use graph::{JobGraph, StreamGraph};
