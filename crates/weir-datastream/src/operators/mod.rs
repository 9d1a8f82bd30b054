//! The physical operators behind the DataStream API.
//!
//! Each operator implements [`Operator`] (or [`CoOperator`] for two inputs): what to
//! do with a record given the downstream element, and what state to hand over at a
//! checkpoint. [`Node`] and [`CoNode`] wrap an operator with its downstream element
//! and implement the runtime's chain traits, forwarding control calls in the right
//! order.

mod basic;
mod co;
mod host;
mod keyed;
mod process;
pub(crate) mod timers;
mod watermarks;

pub(crate) use basic::{Filter, FlatMap, Map};
pub(crate) use co::{CoFlatMap, CoMap, CoProcess, KeyedCoProcess};
pub(crate) use host::{FunctionHost, KeyedHost};
pub(crate) use keyed::{KeyedProcess, KeyedReduce};
pub(crate) use process::Process;
pub(crate) use watermarks::TimestampsAndWatermarks;

use std::marker::PhantomData;
use weir_core::{StreamRecord, Timestamp, Watermark, WatermarkStatus};
use weir_runtime::factory::BuildContext;
use weir_runtime::message::CheckpointBarrier;
use weir_runtime::operator::{ChainElement, Input, TwoInput};
use weir_runtime::snapshot::{OperatorSnapshot, TaskSnapshot};
use weir_state::{KeyedSnapshot, OperatorStateSnapshot};

/// The state an operator hands over at a checkpoint; stored under the operator's id
/// and given back through its [`BuildContext`] after a restore.
#[derive(Default)]
pub struct OperatorState {
    /// Keyed state (from a keyed state store's `snapshot`).
    pub keyed: Option<Box<dyn KeyedSnapshot>>,
    /// Operator (list) state.
    pub operator: Option<OperatorStateSnapshot>,
}

/// A one-input operator, independent of what follows it in the chain.
pub trait Operator<I, O>: Send {
    /// Prepares the operator (user `open`).
    fn open(&mut self) {}
    /// Processes one record.
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>);
    /// Reacts to a watermark; by default forwards it.
    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        out.process_watermark(watermark);
    }
    /// Reacts to the input becoming idle or active; by default forwards it.
    fn status(&mut self, status: WatermarkStatus, out: &mut dyn Input<O>) {
        out.process_status(status);
    }
    /// Fires processing-time timers due at `now`.
    fn on_processing_time(&mut self, _now: Timestamp, _out: &mut dyn Input<O>) {}
    /// Emits what is still held when the input ends.
    fn end_input(&mut self, _out: &mut dyn Input<O>) {}
    /// Output buffers are about to be sent downstream (the buffer timeout expired,
    /// or the task is idle): an operator that collects records into batches emits
    /// its partial batch here, so that latency stays bounded.
    fn flush(&mut self, _out: &mut dyn Input<O>) {}
    /// Checkpoint `checkpoint_id`'s barrier is about to pass: emit what must precede
    /// it (a partial batch), before [`snapshot`](Self::snapshot) is taken.
    fn before_barrier(&mut self, _checkpoint_id: u64, _out: &mut dyn Input<O>) {}
    /// The synchronous part of a snapshot.
    fn snapshot(&mut self, _checkpoint_id: u64) -> OperatorState {
        OperatorState::default()
    }
    /// A checkpoint completed.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) {}
}

/// An [`Operator`] with its downstream chain.
pub(crate) struct Node<Op, I, O> {
    op: Op,
    operator_id: String,
    out: Box<dyn Input<O>>,
    _input: PhantomData<fn(I)>,
}

impl<Op, I, O> Node<Op, I, O> {
    pub(crate) fn boxed(context: &BuildContext, op: Op, out: Box<dyn Input<O>>) -> Box<Self> {
        Box::new(Node {
            op,
            operator_id: context.operator_id.clone(),
            out,
            _input: PhantomData,
        })
    }
}

fn add_snapshot(snapshot: &mut TaskSnapshot, operator_id: &str, state: OperatorState) {
    snapshot.add(OperatorSnapshot {
        operator_id: operator_id.to_string(),
        keyed: state.keyed,
        operator_state: state.operator,
    });
}

impl<Op: Operator<I, O>, I, O> ChainElement for Node<Op, I, O> {
    fn open(&mut self) {
        self.out.open();
        self.op.open();
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.op.watermark(watermark, &mut *self.out);
    }
    fn process_status(&mut self, status: WatermarkStatus) {
        self.op.status(status, &mut *self.out);
    }
    fn on_processing_time(&mut self, now: Timestamp) {
        self.op.on_processing_time(now, &mut *self.out);
        self.out.on_processing_time(now);
    }
    fn flush(&mut self) {
        self.op.flush(&mut *self.out);
        self.out.flush();
    }
    fn end_input(&mut self) {
        self.op.end_input(&mut *self.out);
        self.out.end_input();
    }
    fn end_input_after_restore(&mut self) {
        // The operator emitted what it held when the input ended before the
        // checkpoint this task was restored from.
        self.out.end_input_after_restore();
    }
    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        self.op.before_barrier(barrier.checkpoint_id, &mut *self.out);
        let state = self.op.snapshot(barrier.checkpoint_id);
        add_snapshot(snapshot, &self.operator_id, state);
        self.out.checkpoint(barrier, snapshot);
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        self.op.notify_checkpoint_complete(checkpoint_id);
        self.out.notify_checkpoint_complete(checkpoint_id);
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        self.out.notify_checkpoint_aborted(checkpoint_id);
    }
    fn close(&mut self) {
        self.out.close();
    }
}

impl<Op: Operator<I, O>, I, O> Input<I> for Node<Op, I, O> {
    #[inline]
    fn process(&mut self, record: StreamRecord<I>) {
        self.op.process(record, &mut *self.out);
    }
}

/// A two-input operator, independent of what follows it in the chain.
pub trait CoOperator<A, B, O>: Send {
    /// Prepares the operator (user `open`).
    fn open(&mut self) {}
    /// Processes a record of the first input.
    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>);
    /// Processes a record of the second input.
    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>);
    /// Reacts to the combined watermark of both inputs; by default forwards it.
    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        out.process_watermark(watermark);
    }
    /// Fires processing-time timers due at `now`.
    fn on_processing_time(&mut self, _now: Timestamp, _out: &mut dyn Input<O>) {}
    /// Emits what is still held when both inputs end.
    fn end_input(&mut self, _out: &mut dyn Input<O>) {}
    /// The synchronous part of a snapshot.
    fn snapshot(&mut self, _checkpoint_id: u64) -> OperatorState {
        OperatorState::default()
    }
    /// A checkpoint completed.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) {}
}

/// A [`CoOperator`] with its downstream chain.
pub(crate) struct CoNode<Op, A, B, O> {
    op: Op,
    operator_id: String,
    out: Box<dyn Input<O>>,
    _inputs: PhantomData<fn(A, B)>,
}

impl<Op, A, B, O> CoNode<Op, A, B, O> {
    pub(crate) fn boxed(context: &BuildContext, op: Op, out: Box<dyn Input<O>>) -> Box<Self> {
        Box::new(CoNode {
            op,
            operator_id: context.operator_id.clone(),
            out,
            _inputs: PhantomData,
        })
    }
}

impl<Op: CoOperator<A, B, O>, A, B, O> ChainElement for CoNode<Op, A, B, O> {
    fn open(&mut self) {
        self.out.open();
        self.op.open();
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.op.watermark(watermark, &mut *self.out);
    }
    fn process_status(&mut self, status: WatermarkStatus) {
        self.out.process_status(status);
    }
    fn on_processing_time(&mut self, now: Timestamp) {
        self.op.on_processing_time(now, &mut *self.out);
        self.out.on_processing_time(now);
    }
    fn flush(&mut self) {
        self.out.flush();
    }
    fn end_input(&mut self) {
        self.op.end_input(&mut *self.out);
        self.out.end_input();
    }
    fn end_input_after_restore(&mut self) {
        // The operator emitted what it held when the input ended before the
        // checkpoint this task was restored from.
        self.out.end_input_after_restore();
    }
    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        let state = self.op.snapshot(barrier.checkpoint_id);
        add_snapshot(snapshot, &self.operator_id, state);
        self.out.checkpoint(barrier, snapshot);
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        self.op.notify_checkpoint_complete(checkpoint_id);
        self.out.notify_checkpoint_complete(checkpoint_id);
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        self.out.notify_checkpoint_aborted(checkpoint_id);
    }
    fn close(&mut self) {
        self.out.close();
    }
}

impl<Op: CoOperator<A, B, O>, A, B, O> TwoInput<A, B> for CoNode<Op, A, B, O> {
    #[inline]
    fn process1(&mut self, record: StreamRecord<A>) {
        self.op.process1(record, &mut *self.out);
    }
    #[inline]
    fn process2(&mut self, record: StreamRecord<B>) {
        self.op.process2(record, &mut *self.out);
    }
}
