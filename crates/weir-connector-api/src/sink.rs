//! The sink interface: how records leave a job.
//!
//! A [`Sink`] creates one [`SinkWriter`] per subtask. Writers that take part in
//! checkpoints return their state from [`SinkWriter::snapshot_state`] and get it
//! back through [`SinkContext::restored`]; [`crate::transactional`] builds
//! exactly-once sinks (two-phase commit) on top.

use weir_core::{BoxError, SubtaskInfo, Watermark};

/// What a sink writer is created with.
#[derive(Debug, Clone)]
pub struct SinkContext {
    /// Which subtask the writer serves.
    pub info: SubtaskInfo,
    /// Whether the job takes checkpoints (a transactional writer commits at
    /// checkpoints; without them it commits when the input ends).
    pub checkpointing: bool,
    /// After a restore: the state elements this writer must resume from (what
    /// [`SinkWriter::snapshot_state`] returned, possibly redistributed).
    pub restored: Option<Vec<Vec<u8>>>,
}

/// Writes one subtask's records to the outside world.
pub trait SinkWriter<T>: Send {
    /// Writes one record. `timestamp` is its event time, if it has one.
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError>;

    /// The sink's input watermark advanced: no record with an event time at or
    /// before `watermark.timestamp` is expected any more (later ones are late).
    /// Sinks that act on event time (for example committing a time partition once
    /// it is complete) use it; the default ignores it. Watermarks arrive in order
    /// and never go back within one run; after a restore they start again from
    /// the beginning of time.
    fn write_watermark(&mut self, _watermark: Watermark) -> Result<(), BoxError> {
        Ok(())
    }

    /// The task has nothing else to do for now (or the buffer timeout passed): push
    /// out what is buffered, if the sink buffers (not a commit).
    fn flush(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    /// The input has ended: make everything written durable (and, without
    /// checkpoints, visible).
    fn finish(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    /// The writer's state at a checkpoint (e.g. pre-committed transactions), as
    /// encoded elements.
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Ok(Vec::new())
    }

    /// A checkpoint completed: commit what it covers.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
        Ok(())
    }

    /// A checkpoint was aborted.
    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A destination for records of type `T`.
pub trait Sink<T>: Send + Sync + 'static {
    /// Creates the writer of one subtask.
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError>;
}

/// A shared sink (e.g. one the registry built) is a sink.
impl<T: 'static> Sink<T> for std::sync::Arc<dyn Sink<T>> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        (**self).create_writer(context)
    }
}
