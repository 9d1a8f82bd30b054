//! The sink interface: how records leave a job.
//!
//! A [`Sink`] creates one [`SinkWriter`] per subtask. Writers that take part in
//! checkpoints return their state from [`SinkWriter::snapshot_state`] and get it
//! back through [`SinkContext::restored`]; [`transactional`] builds exactly-once
//! sinks (two-phase commit, write-ahead log) on top.

pub use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
pub use weir_connector_api::transactional;

use crate::failure::{check, guard, OperatorMeta};
use crate::message::CheckpointBarrier;
use crate::operator::{ChainElement, Input};
use crate::snapshot::{OperatorSnapshot, TaskSnapshot};
use weir_core::{StreamRecord, Watermark};
use weir_state::{OperatorList, OperatorStateSnapshot, Redistribution};

/// Name of the operator-state list holding a sink writer's state.
const SINK_STATE: &str = "sink-state";

/// How a sink writer's state is handed out on restore: the state of old subtask
/// `i` goes whole to new subtask `i % parallelism`, the subtask that also owns that
/// writer's leftovers (see [`transactional::TransactionalSink::clean_up`]).
pub const SINK_STATE_REDISTRIBUTION: Redistribution = Redistribution::BySubtaskIndex;

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
    fn process_watermark(&mut self, watermark: Watermark) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.write_watermark(watermark));
        check(&self.meta, result);
    }
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
