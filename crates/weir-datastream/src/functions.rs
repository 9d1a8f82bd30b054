//! User function traits and the contexts they receive.
//!
//! Simple transformations take closures (`map`, `filter`, `flat_map`, `reduce`).
//! Functions that need a context, state, several outputs per record or a final
//! action at the end of input implement one of the traits here; each has a
//! closure adapter (`process_fn`, …) on the stream types for quick use.
//!
//! Every function is cloned once per parallel subtask, so it must be `Clone` (and
//! `Send`, since subtasks run on their own threads). Errors returned from a function
//! fail the job with the operator's name, subtask and the error's text.

pub use crate::operators::timers::TimeDomain;
use crate::operators::timers::Timers;
use weir_core::{BoxError, SubtaskInfo, Timestamp, NO_TIMESTAMP};
use weir_runtime::operator::Collector;
use weir_runtime::task::TaskShared;
use weir_state::{
    AggregatingState, AggregatingStateDescriptor, CurrentKey, KeyedStateStore, ListState, ListStateDescriptor,
    MapState, MapStateDescriptor, OperatorStateStore, ReducingState, ReducingStateDescriptor, StateError, ValueState,
    ValueStateDescriptor,
};

/// Hooks shared by every function trait for taking part in checkpoints with
/// *operator state* (state not partitioned by key, e.g. a buffer or a counter per
/// subtask). All have defaults that do nothing.
macro_rules! checkpoint_hooks {
    () => {
        /// Called once per subtask before the first record, after `open`: register
        /// operator state lists (restored ones come back filled).
        fn initialize_state(&mut self, _state: &mut OperatorStateStore) -> Result<(), BoxError> {
            Ok(())
        }

        /// Called at every checkpoint: bring operator state lists up to date.
        fn snapshot_state(&mut self, _checkpoint_id: u64, _state: &mut OperatorStateStore) -> Result<(), BoxError> {
            Ok(())
        }

        /// Called when a checkpoint has completed everywhere.
        fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
            Ok(())
        }
    };
}

/// What a function learns about the record being processed and where it runs.
pub struct Context<'a> {
    pub(crate) timestamp: Timestamp,
    pub(crate) info: &'a SubtaskInfo,
}

impl Context<'_> {
    /// Event time of the record, if it has one.
    pub fn timestamp(&self) -> Option<Timestamp> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }

    /// Zero-based index of this subtask.
    pub fn subtask_index(&self) -> usize {
        self.info.index
    }

    /// Number of parallel subtasks of this operator.
    pub fn parallelism(&self) -> usize {
        self.info.parallelism
    }

    /// The subtask's identity.
    pub fn subtask(&self) -> &SubtaskInfo {
        self.info
    }
}

/// A function with a context that emits any number of records per input record.
///
/// ```
/// use weir_datastream::functions::{Context, ProcessFunction};
/// use weir_datastream::Collector;
/// use weir_core::BoxError;
///
/// /// Emits every word longer than `min` together with the subtask that saw it.
/// #[derive(Clone)]
/// struct LongWords { min: usize }
///
/// impl ProcessFunction<String, (usize, String)> for LongWords {
///     fn process_element(&mut self, line: String, ctx: &mut Context<'_>, out: &mut Collector<'_, (usize, String)>) -> Result<(), BoxError> {
///         for word in line.split_whitespace().filter(|w| w.len() > self.min) {
///             out.collect((ctx.subtask_index(), word.to_string()));
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait ProcessFunction<I, O>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _subtask: &SubtaskInfo) -> Result<(), BoxError> {
        Ok(())
    }

    /// Processes one record.
    fn process_element(&mut self, value: I, ctx: &mut Context<'_>, out: &mut Collector<'_, O>) -> Result<(), BoxError>;

    /// Called once when the input has ended; may emit final records.
    fn finish(&mut self, _out: &mut Collector<'_, O>) -> Result<(), BoxError> {
        Ok(())
    }

    checkpoint_hooks!();
}

/// Adapts a closure to [`ProcessFunction`] (see `DataStream::process_fn`).
#[derive(Clone)]
pub struct FnProcess<F>(pub F);

impl<I, O, F> ProcessFunction<I, O> for FnProcess<F>
where
    F: FnMut(I, &mut Context<'_>, &mut Collector<'_, O>) -> Result<(), BoxError> + Clone + Send + 'static,
{
    fn process_element(&mut self, value: I, ctx: &mut Context<'_>, out: &mut Collector<'_, O>) -> Result<(), BoxError> {
        (self.0)(value, ctx, out)
    }
}

/// The context of a keyed function: the current key, its keyed state, and timers.
pub struct KeyedContext<'a, K> {
    pub(crate) base: Context<'a>,
    pub(crate) key: &'a CurrentKey<K>,
    pub(crate) store: &'a mut KeyedStateStore<K>,
    pub(crate) timers: &'a mut Timers<K, ()>,
    pub(crate) watermark: Timestamp,
    pub(crate) task: &'a TaskShared,
    pub(crate) time_domain: Option<TimeDomain>,
}

impl<'a, K: weir_core::Data + std::hash::Hash + Eq> KeyedContext<'a, K> {
    /// The key of the record being processed.
    pub fn current_key(&self) -> &K {
        self.key.key()
    }

    /// The key group of the current key.
    pub fn current_key_group(&self) -> usize {
        self.key.key_group()
    }

    /// Value state `descriptor` of the current key.
    pub fn value<'s, V: weir_core::Data>(
        &'s mut self,
        descriptor: &'s ValueStateDescriptor<V>,
    ) -> Result<ValueState<'s, K, V>, StateError> {
        self.store.value(descriptor, self.key)
    }

    /// List state `descriptor` of the current key.
    pub fn list<'s, V: weir_core::Data>(
        &'s mut self,
        descriptor: &'s ListStateDescriptor<V>,
    ) -> Result<ListState<'s, K, V>, StateError> {
        self.store.list(descriptor, self.key)
    }

    /// Map state `descriptor` of the current key.
    pub fn map<'s, UK: weir_core::Data + std::hash::Hash + Eq, UV: weir_core::Data>(
        &'s mut self,
        descriptor: &'s MapStateDescriptor<UK, UV>,
    ) -> Result<MapState<'s, K, UK, UV>, StateError> {
        self.store.map(descriptor, self.key)
    }

    /// Reducing state `descriptor` of the current key.
    pub fn reducing<'s, V: weir_core::Data>(
        &'s mut self,
        descriptor: &'s ReducingStateDescriptor<V>,
    ) -> Result<ReducingState<'s, K, V>, StateError> {
        self.store.reducing(descriptor, self.key)
    }

    /// Aggregating state `descriptor` of the current key.
    pub fn aggregating<'s, IN, ACC: weir_core::Data, OUT>(
        &'s mut self,
        descriptor: &'s AggregatingStateDescriptor<IN, ACC, OUT>,
    ) -> Result<AggregatingState<'s, K, IN, ACC, OUT>, StateError> {
        self.store.aggregating(descriptor, self.key)
    }

    /// Event time of the record, if it has one.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.base.timestamp()
    }

    /// Zero-based index of this subtask.
    pub fn subtask_index(&self) -> usize {
        self.base.subtask_index()
    }

    /// Number of parallel subtasks of this operator.
    pub fn parallelism(&self) -> usize {
        self.base.parallelism()
    }

    /// The subtask's identity (including the job attempt).
    pub fn subtask(&self) -> &SubtaskInfo {
        self.base.subtask()
    }

    /// The current event time (the operator's watermark), if it has advanced.
    pub fn current_watermark(&self) -> Option<Timestamp> {
        (self.watermark != i64::MIN).then_some(self.watermark)
    }

    /// The current processing time (ms since the epoch).
    pub fn current_processing_time(&self) -> Timestamp {
        weir_core::processing_time_now()
    }

    /// In `on_timer`: which clock fired the timer.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.time_domain
    }

    /// Calls `on_timer` for the current key when the watermark passes `time`.
    /// Registering the same time twice for a key registers one timer.
    pub fn register_event_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.timers
            .register(self.store, self.key, TimeDomain::EventTime, (), time)
            .map(|_| ())
    }

    /// Calls `on_timer` for the current key when the wall clock passes `time` (ms
    /// since the epoch).
    pub fn register_processing_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.timers
            .register(self.store, self.key, TimeDomain::ProcessingTime, (), time)?;
        self.task.register_processing_timer(time);
        Ok(())
    }

    /// Deletes the current key's event-time timer at `time`, if any.
    pub fn delete_event_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.timers
            .delete(self.store, self.key, TimeDomain::EventTime, &(), time)
    }

    /// Deletes the current key's processing-time timer at `time`, if any.
    pub fn delete_processing_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.timers
            .delete(self.store, self.key, TimeDomain::ProcessingTime, &(), time)
    }
}

/// A function on a keyed stream, with access to the current key's state.
///
/// ```
/// use weir_datastream::functions::{KeyedContext, KeyedProcessFunction};
/// use weir_datastream::{Collector, ValueStateDescriptor};
/// use weir_core::BoxError;
///
/// /// Emits (key, n) for the n-th record of each key.
/// #[derive(Clone)]
/// struct CountPerKey { count: ValueStateDescriptor<u64> }
///
/// impl KeyedProcessFunction<String, String, (String, u64)> for CountPerKey {
///     fn process_element(&mut self, _: String, ctx: &mut KeyedContext<'_, String>, out: &mut Collector<'_, (String, u64)>) -> Result<(), BoxError> {
///         let mut count = ctx.value(&self.count)?;
///         let n = count.get()?.unwrap_or(0) + 1;
///         count.set(n)?;
///         out.collect((ctx.current_key().clone(), n));
///         Ok(())
///     }
/// }
/// ```
pub trait KeyedProcessFunction<K, I, O>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _subtask: &SubtaskInfo) -> Result<(), BoxError> {
        Ok(())
    }

    /// Processes one record of the current key.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError>;

    /// A timer of the current key fired at `timestamp` (`ctx.time_domain()` tells
    /// which clock); results get `timestamp` as their event time.
    fn on_timer(
        &mut self,
        _timestamp: Timestamp,
        _ctx: &mut KeyedContext<'_, K>,
        _out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// Called once when the input has ended; may emit final records.
    fn finish(&mut self, _out: &mut Collector<'_, O>) -> Result<(), BoxError> {
        Ok(())
    }

    checkpoint_hooks!();
}

/// Adapts a closure to [`KeyedProcessFunction`] (see `KeyedStream::process_fn`).
#[derive(Clone)]
pub struct FnKeyedProcess<F>(pub F);

impl<K, I, O, F> KeyedProcessFunction<K, I, O> for FnKeyedProcess<F>
where
    F: FnMut(I, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> Result<(), BoxError> + Clone + Send + 'static,
{
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError> {
        (self.0)(value, ctx, out)
    }
}

/// A function over two connected streams of different types.
pub trait CoProcessFunction<A, B, O>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _subtask: &SubtaskInfo) -> Result<(), BoxError> {
        Ok(())
    }

    /// Processes a record of the first stream.
    fn process_element1(&mut self, value: A, ctx: &mut Context<'_>, out: &mut Collector<'_, O>)
        -> Result<(), BoxError>;

    /// Processes a record of the second stream.
    fn process_element2(&mut self, value: B, ctx: &mut Context<'_>, out: &mut Collector<'_, O>)
        -> Result<(), BoxError>;

    /// Called once when both inputs have ended; may emit final records.
    fn finish(&mut self, _out: &mut Collector<'_, O>) -> Result<(), BoxError> {
        Ok(())
    }

    checkpoint_hooks!();
}

/// A function over two connected streams keyed by the same key: records with equal
/// keys from either stream meet in the same subtask and share that key's state (the
/// building block of stream joins).
pub trait KeyedCoProcessFunction<K, A, B, O>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _subtask: &SubtaskInfo) -> Result<(), BoxError> {
        Ok(())
    }

    /// Processes a record of the first stream.
    fn process_element1(
        &mut self,
        value: A,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError>;

    /// Processes a record of the second stream.
    fn process_element2(
        &mut self,
        value: B,
        ctx: &mut KeyedContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError>;

    /// A timer of the current key fired at `timestamp` (`ctx.time_domain()` tells
    /// which clock); results get `timestamp` as their event time.
    fn on_timer(
        &mut self,
        _timestamp: Timestamp,
        _ctx: &mut KeyedContext<'_, K>,
        _out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// Called once when both inputs have ended; may emit final records.
    fn finish(&mut self, _out: &mut Collector<'_, O>) -> Result<(), BoxError> {
        Ok(())
    }

    checkpoint_hooks!();
}
