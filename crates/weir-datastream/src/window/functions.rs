//! Window functions: what is computed when a window fires.

use super::windows::Window;
use std::hash::Hash;
use weir_core::{BoxError, Data, SubtaskInfo, Timestamp};
use weir_runtime::operator::Collector;
use weir_state::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, CurrentKey, KeyedStateStore, ListState,
    ListStateDescriptor, MapState, MapStateDescriptor, ReducingState, ReducingStateDescriptor, StateError, ValueState,
    ValueStateDescriptor,
};

/// The key under which window operators keep state: the record key with a window
/// (state of that window) or without one (state of the key across all windows).
pub type WindowStateKey<K, W> = (K, Option<W>);

/// Keyed state in one scope (one window of a key, or the key across windows).
pub struct ScopedState<'a, K, W> {
    store: &'a mut KeyedStateStore<WindowStateKey<K, W>>,
    key: &'a CurrentKey<WindowStateKey<K, W>>,
}

impl<K: Data + Hash + Eq, W: Window> ScopedState<'_, K, W> {
    /// Value state `descriptor` in this scope.
    pub fn value<'s, V: Data>(
        &'s mut self,
        descriptor: &'s ValueStateDescriptor<V>,
    ) -> Result<ValueState<'s, WindowStateKey<K, W>, V>, StateError> {
        self.store.value(descriptor, self.key)
    }

    /// List state `descriptor` in this scope.
    pub fn list<'s, V: Data>(
        &'s mut self,
        descriptor: &'s ListStateDescriptor<V>,
    ) -> Result<ListState<'s, WindowStateKey<K, W>, V>, StateError> {
        self.store.list(descriptor, self.key)
    }

    /// Map state `descriptor` in this scope.
    pub fn map<'s, UK: Data + Hash + Eq, UV: Data>(
        &'s mut self,
        descriptor: &'s MapStateDescriptor<UK, UV>,
    ) -> Result<MapState<'s, WindowStateKey<K, W>, UK, UV>, StateError> {
        self.store.map(descriptor, self.key)
    }

    /// Reducing state `descriptor` in this scope.
    pub fn reducing<'s, V: Data>(
        &'s mut self,
        descriptor: &'s ReducingStateDescriptor<V>,
    ) -> Result<ReducingState<'s, WindowStateKey<K, W>, V>, StateError> {
        self.store.reducing(descriptor, self.key)
    }

    /// Aggregating state `descriptor` in this scope.
    pub fn aggregating<'s, IN, ACC: Data, OUT>(
        &'s mut self,
        descriptor: &'s AggregatingStateDescriptor<IN, ACC, OUT>,
    ) -> Result<AggregatingState<'s, WindowStateKey<K, W>, IN, ACC, OUT>, StateError> {
        self.store.aggregating(descriptor, self.key)
    }
}

/// What a window function learns about the window being computed, and its state.
pub struct WindowContext<'a, K, W> {
    pub(crate) window: &'a W,
    pub(crate) window_key: &'a CurrentKey<WindowStateKey<K, W>>,
    pub(crate) global_key: Option<CurrentKey<WindowStateKey<K, W>>>,
    pub(crate) store: &'a mut KeyedStateStore<WindowStateKey<K, W>>,
    pub(crate) watermark: Timestamp,
    pub(crate) info: &'a SubtaskInfo,
    pub(crate) merging: bool,
}

impl<'a, K: Data + Hash + Eq, W: Window> WindowContext<'a, K, W> {
    /// The key of the window.
    pub fn key(&self) -> &K {
        &self.window_key.key().0
    }

    /// The window being computed.
    pub fn window(&self) -> &W {
        self.window
    }

    /// The operator's current watermark (`i64::MIN` before the first).
    pub fn current_watermark(&self) -> Timestamp {
        self.watermark
    }

    /// The current processing time (ms since the epoch).
    pub fn current_processing_time(&self) -> Timestamp {
        weir_core::processing_time_now()
    }

    /// The subtask running the function.
    pub fn subtask(&self) -> &SubtaskInfo {
        self.info
    }

    /// State of this key and this window: kept across the window's firings (e.g.
    /// early and late results) and dropped with the window. Delete what you store
    /// here in [`ProcessWindowFunction::clear`]. Not available for merging (session)
    /// windows, whose windows change as they merge.
    pub fn window_state(&mut self) -> Result<ScopedState<'_, K, W>, BoxError> {
        if self.merging {
            return Err("per-window state is not available for merging (session) windows; use global_state".into());
        }
        Ok(ScopedState {
            store: self.store,
            key: self.window_key,
        })
    }

    /// State of this key shared by all its windows.
    pub fn global_state(&mut self) -> ScopedState<'_, K, W> {
        let store = &mut *self.store;
        let key = self
            .global_key
            .get_or_insert_with(|| store.key((self.window_key.key().0.clone(), None)));
        ScopedState { store, key }
    }
}

/// Computes a window's result from all its records (or from its incremental
/// aggregate, with `reduce_with` / `aggregate_with`), with the window's metadata and
/// state. Results carry the window's `max_timestamp()` as their event time.
///
/// ```
/// use weir_datastream::window::{ProcessWindowFunction, TimeWindow, WindowContext};
/// use weir_datastream::Collector;
/// use weir_core::BoxError;
///
/// /// Emits (key, window start, number of records).
/// #[derive(Clone)]
/// struct CountPerWindow;
///
/// impl ProcessWindowFunction<String, u64, (String, i64, usize), TimeWindow> for CountPerWindow {
///     fn process(
///         &mut self,
///         ctx: &mut WindowContext<'_, String, TimeWindow>,
///         elements: Vec<u64>,
///         out: &mut Collector<'_, (String, i64, usize)>,
///     ) -> Result<(), BoxError> {
///         out.collect((ctx.key().clone(), ctx.window().start, elements.len()));
///         Ok(())
///     }
/// }
/// ```
pub trait ProcessWindowFunction<K, IN, OUT, W: Window>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _subtask: &SubtaskInfo) -> Result<(), BoxError> {
        Ok(())
    }

    /// Computes the result of `ctx.window()` for `ctx.key()` from its contents.
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Vec<IN>,
        out: &mut Collector<'_, OUT>,
    ) -> Result<(), BoxError>;

    /// The window is being dropped: delete what was stored in `ctx.window_state()`.
    fn clear(&mut self, _ctx: &mut WindowContext<'_, K, W>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Adapts a closure to [`ProcessWindowFunction`] (see `WindowedStream::process_fn`).
#[derive(Clone)]
pub struct FnProcessWindow<F>(pub F);

impl<K, IN, OUT, W, F> ProcessWindowFunction<K, IN, OUT, W> for FnProcessWindow<F>
where
    W: Window,
    F: FnMut(&mut WindowContext<'_, K, W>, Vec<IN>, &mut Collector<'_, OUT>) -> Result<(), BoxError>
        + Clone
        + Send
        + 'static,
{
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Vec<IN>,
        out: &mut Collector<'_, OUT>,
    ) -> Result<(), BoxError> {
        (self.0)(ctx, elements, out)
    }
}

/// Emits the window's contents as they are (the result of `reduce` or `aggregate`).
#[derive(Clone, Copy)]
pub(crate) struct PassThrough;

impl<K, T, W: Window> ProcessWindowFunction<K, T, T, W> for PassThrough {
    fn process(
        &mut self,
        _: &mut WindowContext<'_, K, W>,
        elements: Vec<T>,
        out: &mut Collector<'_, T>,
    ) -> Result<(), BoxError> {
        for element in elements {
            out.collect(element);
        }
        Ok(())
    }
}

/// With an evictor the window keeps every record; this reduces them when it fires,
/// then runs the inner function on the result.
#[derive(Clone)]
pub(crate) struct ReduceThen<R, F> {
    pub reduce: R,
    pub inner: F,
}

impl<K, T, OUT, W, R, F> ProcessWindowFunction<K, T, OUT, W> for ReduceThen<R, F>
where
    W: Window,
    R: FnMut(T, T) -> T + Clone + Send + 'static,
    F: ProcessWindowFunction<K, T, OUT, W>,
{
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.inner.open(subtask)
    }
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Vec<T>,
        out: &mut Collector<'_, OUT>,
    ) -> Result<(), BoxError> {
        let reduced = elements.into_iter().reduce(&mut self.reduce);
        self.inner.process(ctx, reduced.into_iter().collect(), out)
    }
    fn clear(&mut self, ctx: &mut WindowContext<'_, K, W>) -> Result<(), BoxError> {
        self.inner.clear(ctx)
    }
}

/// The aggregate-function counterpart of [`ReduceThen`].
pub(crate) struct AggregateThen<A, ACC, R, F> {
    pub aggregate: std::sync::Arc<A>,
    pub inner: F,
    pub _types: std::marker::PhantomData<fn() -> (ACC, R)>,
}

impl<A, ACC, R, F: Clone> Clone for AggregateThen<A, ACC, R, F> {
    fn clone(&self) -> Self {
        AggregateThen {
            aggregate: self.aggregate.clone(),
            inner: self.inner.clone(),
            _types: std::marker::PhantomData,
        }
    }
}

impl<K, T, ACC, R, OUT, W, A, F> ProcessWindowFunction<K, T, OUT, W> for AggregateThen<A, ACC, R, F>
where
    W: Window,
    ACC: 'static,
    R: 'static,
    A: AggregateFunction<T, ACC, R> + 'static,
    F: ProcessWindowFunction<K, R, OUT, W>,
{
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.inner.open(subtask)
    }
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Vec<T>,
        out: &mut Collector<'_, OUT>,
    ) -> Result<(), BoxError> {
        if elements.is_empty() {
            return Ok(());
        }
        let mut accumulator = self.aggregate.create_accumulator();
        for element in elements {
            self.aggregate.add(&mut accumulator, element);
        }
        let result = self.aggregate.get_result(&accumulator);
        self.inner.process(ctx, vec![result], out)
    }
    fn clear(&mut self, ctx: &mut WindowContext<'_, K, W>) -> Result<(), BoxError> {
        self.inner.clear(ctx)
    }
}
