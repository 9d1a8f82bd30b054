//! The traits that operator chains are made of.
//!
//! A task runs a *chain*: a tree of elements connected by direct calls. Its head
//! receives records from the task's input channels (or from a source reader); each
//! element processes a record and calls its downstream elements; the leaves are
//! record writers that fill buffers for the next task, or sinks. Control calls
//! (open, watermark, flush, end of input) travel the same tree, so every element sees
//! them in order with the records.
//!
//! Failures do not travel as return values: an element whose code fails unwinds with
//! an [`OperatorFailure`](crate::failure::OperatorFailure) (see [`crate::failure`]).

use crate::message::CheckpointBarrier;
use crate::snapshot::TaskSnapshot;
use weir_core::{StreamRecord, Timestamp, Watermark};

/// Control hooks of a chain element. Every implementation acts, then forwards the
/// call to its downstream elements (except where noted), so calling them on the head
/// reaches the whole chain.
pub trait ChainElement: Send {
    /// Prepares the element before the first record. Downstream elements are opened
    /// first, so they are ready when this element starts emitting.
    fn open(&mut self);

    /// The combined watermark of the element's inputs advanced to `watermark`.
    fn process_watermark(&mut self, watermark: Watermark);

    /// Sends partly filled output buffers downstream (latency bound; idle tasks).
    fn flush(&mut self);

    /// All input has been consumed: emit what is still held (e.g. final window
    /// results), then forward. Record writers flush and send end-of-data.
    fn end_input(&mut self);

    /// Checkpoint `barrier`: add this element's state to `snapshot` (the
    /// synchronous part: no waiting, no copying of large state), then forward.
    /// Record writers send the barrier downstream. Leaves without state need not
    /// implement it.
    fn checkpoint(&mut self, _barrier: &CheckpointBarrier, _snapshot: &mut TaskSnapshot) {}

    /// Checkpoint `checkpoint_id` completed everywhere (two-phase-commit sinks
    /// commit now), then forward.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) {}

    /// Checkpoint `checkpoint_id` was aborted, then forward.
    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) {}

    /// The task is about to exit normally: record writers send end-of-partition.
    fn close(&mut self) {}
}

/// A chain element that accepts records of type `T`.
pub trait Input<T>: ChainElement {
    /// Processes one record.
    fn process(&mut self, record: StreamRecord<T>);
}

/// A chain head with two differently typed inputs (`connect`, joins).
pub trait TwoInput<A, B>: ChainElement {
    /// Processes a record of the first input.
    fn process1(&mut self, record: StreamRecord<A>);
    /// Processes a record of the second input.
    fn process2(&mut self, record: StreamRecord<B>);
}

/// Where user functions emit their results: the downstream chain, plus the
/// timestamp the results inherit from the record being processed.
pub struct Collector<'a, T> {
    out: &'a mut dyn Input<T>,
    timestamp: Timestamp,
}

impl<'a, T> Collector<'a, T> {
    /// A collector emitting to `out` with `timestamp` for every result.
    #[inline]
    pub fn new(out: &'a mut dyn Input<T>, timestamp: Timestamp) -> Self {
        Collector { out, timestamp }
    }

    /// Emits `value` with the timestamp of the record being processed.
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.out.process(StreamRecord {
            value,
            timestamp: self.timestamp,
        });
    }

    /// Emits `value` with event time `timestamp`.
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: Timestamp) {
        self.out.process(StreamRecord { value, timestamp });
    }

    /// The timestamp results inherit.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
}

/// Sends every record to several downstream elements (a stream consumed more than
/// once); all but the last receive a clone.
pub struct FanOut<T> {
    outputs: Vec<Box<dyn Input<T>>>,
}

impl<T> FanOut<T> {
    /// A fan-out to `outputs`.
    pub fn new(outputs: Vec<Box<dyn Input<T>>>) -> Self {
        FanOut { outputs }
    }
}

impl<T: Send> ChainElement for FanOut<T> {
    fn open(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.open());
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.outputs.iter_mut().for_each(|o| o.process_watermark(watermark));
    }
    fn flush(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.flush());
    }
    fn end_input(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.end_input());
    }
    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        self.outputs.iter_mut().for_each(|o| o.checkpoint(barrier, snapshot));
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        self.outputs
            .iter_mut()
            .for_each(|o| o.notify_checkpoint_complete(checkpoint_id));
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        self.outputs
            .iter_mut()
            .for_each(|o| o.notify_checkpoint_aborted(checkpoint_id));
    }
    fn close(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.close());
    }
}

impl<T: Clone + Send> Input<T> for FanOut<T> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) {
        if let Some((last, rest)) = self.outputs.split_last_mut() {
            for o in rest {
                o.process(record.clone());
            }
            last.process(record);
        }
    }
}

/// Drops every record: the output of an operator nobody consumes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOutput;

impl ChainElement for NoOutput {
    fn open(&mut self) {}
    fn process_watermark(&mut self, _: Watermark) {}
    fn flush(&mut self) {}
    fn end_input(&mut self) {}
}

impl<T> Input<T> for NoOutput {
    #[inline]
    fn process(&mut self, _: StreamRecord<T>) {}
}
