//! The sink interface: how records leave a job.
//!
//! A [`Sink`] creates one [`SinkWriter`] per subtask. Writers that take part in
//! checkpoints return their state from [`SinkWriter::snapshot_state`] and get it
//! back through [`SinkContext::restored`]; [`transactional`] builds exactly-once
//! sinks (two-phase commit, write-ahead log) on top.

pub mod transactional;

use crate::failure::{check, guard, OperatorMeta};
use crate::message::CheckpointBarrier;
use crate::operator::{ChainElement, Input};
use crate::snapshot::{OperatorSnapshot, TaskSnapshot};
use weir_core::{BoxError, StreamRecord, SubtaskInfo, Watermark};
use weir_state::{OperatorList, OperatorStateSnapshot, Redistribution};

/// Name of the operator-state list holding a sink writer's state.
const SINK_STATE: &str = "sink-state";

/// How a sink writer's state is handed out on restore: the state of old subtask
/// `i` goes whole to new subtask `i % parallelism`, the subtask that also owns that
/// writer's leftovers (see [`transactional::TransactionalSink::clean_up`]).
pub const SINK_STATE_REDISTRIBUTION: Redistribution = Redistribution::BySubtaskIndex;

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

/// The chain element that drives a [`SinkWriter`].
pub struct SinkOperator<T> {
    meta: OperatorMeta,
    operator_id: String,
    writer: Box<dyn SinkWriter<T>>,
}

impl<T> SinkOperator<T> {
    /// An operator writing through `writer`; failures are reported as `meta`'s and
    /// state is stored under `operator_id`.
    pub fn new(meta: OperatorMeta, operator_id: String, writer: Box<dyn SinkWriter<T>>) -> Self {
        SinkOperator {
            meta,
            operator_id,
            writer,
        }
    }

    /// The writer's restored state in `restore` (for [`SinkContext::restored`]).
    pub fn restored_state(restore: &crate::snapshot::Restored) -> Option<Vec<Vec<u8>>> {
        restore.as_ref().map(|r| {
            r.operator_state
                .lists
                .iter()
                .filter(|l| l.name == SINK_STATE)
                .flat_map(|l| l.elements.iter().map(|e| e.to_vec()))
                .collect()
        })
    }
}

impl<T: Send> ChainElement for SinkOperator<T> {
    fn open(&mut self) {}
    fn process_watermark(&mut self, _: Watermark) {}
    fn flush(&mut self) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.flush());
        check(&self.meta, result);
    }
    fn end_input(&mut self) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.finish());
        check(&self.meta, result);
    }
    fn end_input_after_restore(&mut self) {
        // The writer finished before the checkpoint it was restored from.
    }

    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.snapshot_state(barrier.checkpoint_id));
        let elements = check(&self.meta, result);
        // A writer with nothing to hand over restores like a fresh one: it is left
        // out (so a stateless sink can be replaced without losing the checkpoint).
        let operator_state = (!elements.is_empty()).then(|| OperatorStateSnapshot {
            lists: vec![OperatorList {
                name: SINK_STATE.to_string(),
                mode: SINK_STATE_REDISTRIBUTION,
                elements: elements.into_iter().map(serde_bytes::ByteBuf::from).collect(),
            }],
        });
        snapshot.add(OperatorSnapshot {
            operator_id: self.operator_id.clone(),
            keyed: None,
            operator_state,
        });
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.notify_checkpoint_complete(checkpoint_id));
        check(&self.meta, result);
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.notify_checkpoint_aborted(checkpoint_id));
        check(&self.meta, result);
    }
}

impl<T: Send> Input<T> for SinkOperator<T> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) {
        let writer = &mut self.writer;
        let timestamp = record.timestamp();
        let result = guard(&self.meta, || writer.write(record.value, timestamp));
        check(&self.meta, result);
    }
}
