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
use std::any::Any;
use weir_core::{StreamRecord, Timestamp, Watermark, WatermarkStatus};

/// Control hooks of a chain element. Every implementation acts, then forwards the
/// call to its downstream elements (except where noted), so calling them on the head
/// reaches the whole chain.
pub trait ChainElement: Send {
    /// Prepares the element before the first record. Downstream elements are opened
    /// first, so they are ready when this element starts emitting.
    fn open(&mut self);

    /// The combined watermark of the element's inputs advanced to `watermark`.
    fn process_watermark(&mut self, watermark: Watermark);

    /// The element's inputs became idle or active again (forward it; record writers
    /// send it downstream).
    fn process_status(&mut self, _status: WatermarkStatus) {}

    /// Processing time reached `now` (ms since the epoch) and some element of the
    /// task registered a processing-time timer at or before it: fire due timers, then
    /// forward.
    fn on_processing_time(&mut self, _now: Timestamp) {}

    /// Sends partly filled output buffers downstream (latency bound; idle tasks).
    fn flush(&mut self);

    /// All input has been consumed: emit what is still held (e.g. final window
    /// results), then forward. Record writers flush and send end-of-data.
    fn end_input(&mut self);

    /// The input ends again in a task restored from a checkpoint taken after its
    /// input had ended: this element already emitted what it held at the end of
    /// input back then, so it must only forward the call, so that record writers
    /// send end-of-data again (downstream tasks learn that these channels ended).
    /// The default runs [`end_input`](Self::end_input), which is right for leaves
    /// and record writers; elements that emit on end of input forward instead.
    fn end_input_after_restore(&mut self) {
        self.end_input();
    }

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

    /// The side outputs of the operator this element is the output of, if it has
    /// any (see [`SideOutputs`]).
    fn side_outputs(&mut self) -> Option<&mut SideOutputs> {
        None
    }
}

/// One side output of an operator: a named stream of another type.
pub trait SideOutput: ChainElement {
    /// The tag's name.
    fn name(&self) -> &str;
    /// The typed element (`Box<dyn Input<T>>`), for emitting.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

/// The typed side output of records of type `T`.
pub struct TypedSideOutput<T> {
    name: String,
    output: Box<dyn Input<T>>,
}

impl<T> TypedSideOutput<T> {
    /// Side output `name` feeding `output`.
    pub fn new(name: String, output: Box<dyn Input<T>>) -> Self {
        TypedSideOutput { name, output }
    }
}

impl<T: Send> ChainElement for TypedSideOutput<T> {
    fn open(&mut self) {
        self.output.open();
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.output.process_watermark(watermark);
    }
    fn process_status(&mut self, status: WatermarkStatus) {
        self.output.process_status(status);
    }
    fn on_processing_time(&mut self, now: Timestamp) {
        self.output.on_processing_time(now);
    }
    fn flush(&mut self) {
        self.output.flush();
    }
    fn end_input(&mut self) {
        self.output.end_input();
    }
    fn end_input_after_restore(&mut self) {
        self.output.end_input_after_restore();
    }
    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        self.output.checkpoint(barrier, snapshot);
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        self.output.notify_checkpoint_complete(checkpoint_id);
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        self.output.notify_checkpoint_aborted(checkpoint_id);
    }
    fn close(&mut self) {
        self.output.close();
    }
}

impl<T: Send + 'static> SideOutput for TypedSideOutput<T> {
    fn name(&self) -> &str {
        &self.name
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        &mut self.output
    }
}

/// The side outputs of an operator, by tag name. Records sent to a tag nobody
/// consumes are dropped.
#[derive(Default)]
pub struct SideOutputs {
    outputs: Vec<Box<dyn SideOutput>>,
}

impl SideOutputs {
    /// Side outputs over `outputs`.
    pub fn new(outputs: Vec<Box<dyn SideOutput>>) -> Self {
        SideOutputs { outputs }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// Sends `record` to side output `name`; false if no such side output of type
    /// `T` is consumed.
    pub fn emit<T: 'static>(&mut self, name: &str, record: StreamRecord<T>) -> bool {
        for output in &mut self.outputs {
            if output.name() == name {
                if let Some(typed) = output.as_any_mut().downcast_mut::<Box<dyn Input<T>>>() {
                    typed.process(record);
                    return true;
                }
            }
        }
        false
    }

    fn each(&mut self, f: impl FnMut(&mut Box<dyn SideOutput>)) {
        self.outputs.iter_mut().for_each(f);
    }
}

/// An operator's main output together with its side outputs: control calls reach
/// both.
pub struct WithSideOutputs<T> {
    main: Box<dyn Input<T>>,
    side: SideOutputs,
}

impl<T> WithSideOutputs<T> {
    /// `main` with `side`.
    pub fn new(main: Box<dyn Input<T>>, side: SideOutputs) -> Self {
        WithSideOutputs { main, side }
    }
}

impl<T: Send> ChainElement for WithSideOutputs<T> {
    fn open(&mut self) {
        self.main.open();
        self.side.each(|o| o.open());
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.main.process_watermark(watermark);
        self.side.each(|o| o.process_watermark(watermark));
    }
    fn process_status(&mut self, status: WatermarkStatus) {
        self.main.process_status(status);
        self.side.each(|o| o.process_status(status));
    }
    fn on_processing_time(&mut self, now: Timestamp) {
        self.main.on_processing_time(now);
        self.side.each(|o| o.on_processing_time(now));
    }
    fn flush(&mut self) {
        self.main.flush();
        self.side.each(|o| o.flush());
    }
    fn end_input(&mut self) {
        self.main.end_input();
        self.side.each(|o| o.end_input());
    }
    fn end_input_after_restore(&mut self) {
        self.main.end_input_after_restore();
        self.side.each(|o| o.end_input_after_restore());
    }
    fn checkpoint(&mut self, barrier: &CheckpointBarrier, snapshot: &mut TaskSnapshot) {
        self.main.checkpoint(barrier, snapshot);
        self.side.each(|o| o.checkpoint(barrier, snapshot));
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        self.main.notify_checkpoint_complete(checkpoint_id);
        self.side.each(|o| o.notify_checkpoint_complete(checkpoint_id));
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) {
        self.main.notify_checkpoint_aborted(checkpoint_id);
        self.side.each(|o| o.notify_checkpoint_aborted(checkpoint_id));
    }
    fn close(&mut self) {
        self.main.close();
        self.side.each(|o| o.close());
    }
}

impl<T: Send> Input<T> for WithSideOutputs<T> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) {
        self.main.process(record);
    }
    fn side_outputs(&mut self) -> Option<&mut SideOutputs> {
        Some(&mut self.side)
    }
}

/// A chain head with two differently typed inputs (`connect`, joins).
pub trait TwoInput<A, B>: ChainElement {
    /// Processes a record of the first input.
    fn process1(&mut self, record: StreamRecord<A>);
    /// Processes a record of the second input.
    fn process2(&mut self, record: StreamRecord<B>);
}

/// Names a side output and the type of its records.
///
/// ```
/// use weir_runtime::operator::OutputTag;
/// let rejected = OutputTag::<String>::new("rejected");
/// assert_eq!(rejected.name(), "rejected");
/// ```
pub struct OutputTag<T> {
    name: std::sync::Arc<str>,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T> OutputTag<T> {
    /// The tag `name`.
    pub fn new(name: impl Into<std::sync::Arc<str>>) -> Self {
        OutputTag {
            name: name.into(),
            _type: std::marker::PhantomData,
        }
    }

    /// The tag's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        OutputTag {
            name: self.name.clone(),
            _type: std::marker::PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for OutputTag<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputTag<{}>({})", std::any::type_name::<T>(), self.name)
    }
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

    /// Emits `value` to side output `tag` (with the timestamp of the record being
    /// processed); dropped if nobody consumes that side output.
    pub fn output<U: 'static>(&mut self, tag: &OutputTag<U>, value: U) {
        let record = StreamRecord {
            value,
            timestamp: self.timestamp,
        };
        if let Some(side) = self.out.side_outputs() {
            side.emit(tag.name(), record);
        }
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
    fn process_status(&mut self, status: WatermarkStatus) {
        self.outputs.iter_mut().for_each(|o| o.process_status(status));
    }
    fn on_processing_time(&mut self, now: Timestamp) {
        self.outputs.iter_mut().for_each(|o| o.on_processing_time(now));
    }
    fn flush(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.flush());
    }
    fn end_input(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.end_input());
    }
    fn end_input_after_restore(&mut self) {
        self.outputs.iter_mut().for_each(|o| o.end_input_after_restore());
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

/// A chain element `Box<dyn Input<T>>` of a type known only at run time.
pub struct AnyInput {
    inner: Box<dyn Any + Send>,
    type_name: &'static str,
}

impl std::fmt::Debug for AnyInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyInput<{}>", self.type_name)
    }
}

impl AnyInput {
    /// Erases `input`.
    pub fn new<T: 'static>(input: Box<dyn Input<T>>) -> Self {
        AnyInput {
            inner: Box::new(input),
            type_name: std::any::type_name::<T>(),
        }
    }

    /// Recovers the typed element; an internal error names both types on mismatch.
    pub fn downcast<T: 'static>(self) -> weir_core::Result<Box<dyn Input<T>>> {
        let type_name = self.type_name;
        self.inner.downcast::<Box<dyn Input<T>>>().map(|b| *b).map_err(|_| {
            weir_core::WeirError::Internal(format!(
                "chain element type mismatch: have {type_name}, need {}",
                std::any::type_name::<T>()
            ))
        })
    }
}
