//! `WindowedStream`: a keyed stream cut into windows, and what to compute per
//! window.

use super::assigners::{GlobalWindows, WindowAssigner};
use super::contents::{Aggregated, AllRecords, Contents, Reduced};
use super::evictors::{CountEvictor, Evictor};
use super::functions::{AggregateThen, FnProcessWindow, PassThrough, ProcessWindowFunction, ReduceThen, WindowContext};
use super::operator::{WindowOperator, WindowSpec};
use super::sliced::SlicedWindowOperator;
use super::triggers::{CountTrigger, PurgingTrigger, Trigger};
use super::windows::{GlobalWindow, Window};
use crate::keyed::KeyedStream;
use crate::operators::Node;
use crate::stream::DataStream;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{BoxError, Data};
use weir_runtime::operator::{Collector, Input, OutputTag};
use weir_state::AggregateFunction;

/// A keyed stream with a window assigner: say what to compute per window with
/// [`reduce`](Self::reduce), [`aggregate`](Self::aggregate) or
/// [`process`](Self::process), after optionally setting a trigger, an evictor,
/// allowed lateness and a side output for late records.
///
/// ```
/// use std::time::Duration;
/// use weir_datastream::window::TumblingEventTimeWindows;
/// use weir_datastream::{StreamExecutionEnvironment, WatermarkStrategy};
///
/// let env = StreamExecutionEnvironment::new();
/// env.set_parallelism(1);
/// // (user, clicks, event time in ms)
/// let clicks: Vec<(String, u64, i64)> = [("ann", 1_000), ("bob", 1_500), ("ann", 2_500), ("ann", 12_000)]
///     .into_iter()
///     .map(|(user, at)| (user.to_string(), 1, at))
///     .collect();
/// let totals = env
///     .from_collection(clicks)
///     .assign_timestamps_and_watermarks(
///         WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|c: &(String, u64, i64), _| c.2),
///     )
///     .key_by(|c| c.0.clone())
///     .window(TumblingEventTimeWindows::of(Duration::from_secs(10)))
///     .reduce(|a, b| (a.0, a.1 + b.1, a.2.max(b.2)))
///     .collect();
/// env.execute("clicks per user and 10 s").unwrap();
/// let mut got: Vec<(String, u64)> = totals.take().into_iter().map(|(user, n, _)| (user, n)).collect();
/// got.sort();
/// let expected: Vec<(String, u64)> = vec![("ann".into(), 1), ("ann".into(), 2), ("bob".into(), 1)];
/// assert_eq!(got, expected);
/// ```
pub struct WindowedStream<K, T, W> {
    keyed: KeyedStream<K, T>,
    assigner: Arc<dyn WindowAssigner<T, W>>,
    trigger: Option<Arc<dyn Trigger<T, W>>>,
    evictor: Option<Arc<dyn Evictor<T, W>>>,
    allowed_lateness: i64,
    late_tag: Option<OutputTag<T>>,
}

impl<K, T, W> Clone for WindowedStream<K, T, W> {
    fn clone(&self) -> Self {
        WindowedStream {
            keyed: self.keyed.clone(),
            assigner: self.assigner.clone(),
            trigger: self.trigger.clone(),
            evictor: self.evictor.clone(),
            allowed_lateness: self.allowed_lateness,
            late_tag: self.late_tag.clone(),
        }
    }
}

impl<K: Data + Hash + Eq, T: Data> KeyedStream<K, T> {
    /// Groups each key's records into the windows `assigner` gives them.
    pub fn window<W: Window>(&self, assigner: impl WindowAssigner<T, W>) -> WindowedStream<K, T, W> {
        WindowedStream {
            keyed: self.clone(),
            assigner: Arc::new(assigner),
            trigger: None,
            evictor: None,
            allowed_lateness: 0,
            late_tag: None,
        }
    }

    /// Windows of `size` records per key: each fires when full and starts over.
    pub fn count_window(&self, size: u64) -> WindowedStream<K, T, GlobalWindow> {
        self.window(GlobalWindows::create())
            .trigger(PurgingTrigger::of(CountTrigger::of(size)))
    }

    /// Windows of the last `size` records per key, computed every `slide` records.
    pub fn count_window_sliding(&self, size: u64, slide: u64) -> WindowedStream<K, T, GlobalWindow> {
        self.window(GlobalWindows::create())
            .evictor(CountEvictor::of(usize::try_from(size).unwrap_or(usize::MAX)))
            .trigger(CountTrigger::of(slide))
    }
}

impl<K: Data + Hash + Eq, T: Data, W: Window> WindowedStream<K, T, W> {
    /// Replaces the assigner's default trigger (e.g. early results with a
    /// continuous trigger, or a custom one).
    pub fn trigger(mut self, trigger: impl Trigger<T, W>) -> Self {
        self.trigger = Some(Arc::new(trigger));
        self
    }

    /// Removes records from a window when it fires; the window then keeps every
    /// record instead of an incremental aggregate.
    pub fn evictor(mut self, evictor: impl Evictor<T, W>) -> Self {
        self.evictor = Some(Arc::new(evictor));
        self
    }

    /// Keeps event-time windows for `lateness` after the watermark passed their
    /// end: a late record still within it is added and the window fires again with
    /// an updated result (with the default trigger). Default: zero.
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.allowed_lateness = lateness.as_millis().min(i64::MAX as u128) as i64;
        self
    }

    /// Sends records that arrive after all their windows are gone (later than the
    /// allowed lateness) to side output `tag` instead of dropping them; read them
    /// with `get_side_output` on the result.
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.late_tag = Some(tag.clone());
        self
    }

    /// Combines each window's records with `reduce` as they arrive; emits one
    /// result per key and window firing.
    pub fn reduce(&self, reduce: impl FnMut(T, T) -> T + Clone + Send + Sync + 'static) -> DataStream<T> {
        self.reduce_with(reduce, PassThrough)
    }

    /// Like [`reduce`](Self::reduce), then runs `function` on the reduced value
    /// with the window's metadata.
    pub fn reduce_with<O: Data, F>(
        &self,
        reduce: impl FnMut(T, T) -> T + Clone + Send + Sync + 'static,
        function: F,
    ) -> DataStream<O>
    where
        F: ProcessWindowFunction<K, T, O, W> + Sync,
    {
        match self.evictor {
            Some(_) => self.build(
                "window_reduce",
                AllRecords,
                ReduceThen {
                    reduce,
                    inner: function,
                },
            ),
            None => self.build("window_reduce", Reduced(reduce), function),
        }
    }

    /// Aggregates each window's records incrementally with `aggregate`; emits its
    /// result per key and window firing.
    pub fn aggregate<ACC: Data, R: Data>(
        &self,
        aggregate: impl AggregateFunction<T, ACC, R> + 'static,
    ) -> DataStream<R> {
        self.aggregate_with(aggregate, PassThrough)
    }

    /// Like [`aggregate`](Self::aggregate), then runs `function` on the result with
    /// the window's metadata.
    pub fn aggregate_with<ACC: Data, R: Data, O: Data, F>(
        &self,
        aggregate: impl AggregateFunction<T, ACC, R> + 'static,
        function: F,
    ) -> DataStream<O>
    where
        F: ProcessWindowFunction<K, R, O, W> + Sync,
    {
        let aggregate = Arc::new(aggregate);
        match self.evictor {
            Some(_) => self.build(
                "window_aggregate",
                AllRecords,
                AggregateThen {
                    aggregate,
                    inner: function,
                    _types: PhantomData,
                },
            ),
            None => self.build("window_aggregate", Aggregated::new(aggregate), function),
        }
    }

    /// Runs `function` on all records of each window when it fires.
    pub fn process<O: Data, F>(&self, function: F) -> DataStream<O>
    where
        F: ProcessWindowFunction<K, T, O, W> + Sync,
    {
        self.build("window_process", AllRecords, function)
    }

    /// Runs a closure on all records of each window when it fires.
    pub fn process_fn<O: Data>(
        &self,
        f: impl FnMut(&mut WindowContext<'_, K, W>, Vec<T>, &mut Collector<'_, O>) -> Result<(), BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
    ) -> DataStream<O> {
        self.process(FnProcessWindow(f))
    }

    fn build<C, F, O>(&self, name: &str, contents: C, function: F) -> DataStream<O>
    where
        C: Contents<T>,
        F: ProcessWindowFunction<K, C::Out, O, W> + Sync,
        O: Data,
    {
        let trigger = self.trigger.clone().unwrap_or_else(|| self.assigner.default_trigger());
        if self.assigner.is_merging() && !trigger.can_merge() {
            self.keyed.environment().misuse(format!(
                "{name}: the trigger does not support merging (session) windows; implement Trigger::can_merge \
                 and on_merge"
            ));
        }
        let slicing = match (&self.trigger, &self.evictor, self.allowed_lateness) {
            (None, None, 0) if self.assigner.is_event_time() => self.assigner.slicing(),
            _ => None,
        };
        let spec = WindowSpec {
            assigner: self.assigner.clone(),
            trigger,
            evictor: self.evictor.clone(),
            allowed_lateness: self.allowed_lateness,
            late_tag: self.late_tag.clone(),
        };
        let key_selector = self.keyed.key_selector().clone();
        self.keyed.one_input(name, move |ctx, out| {
            let operator: Box<dyn Input<T>> = match slicing {
                Some(slicing) => Node::boxed(
                    ctx,
                    SlicedWindowOperator::new(
                        ctx,
                        slicing,
                        key_selector.clone(),
                        spec.late_tag.clone(),
                        contents.clone(),
                        function.clone(),
                    )?,
                    out,
                ),
                None => Node::boxed(
                    ctx,
                    WindowOperator::new(
                        ctx,
                        spec.clone(),
                        key_selector.clone(),
                        contents.clone(),
                        function.clone(),
                    )?,
                    out,
                ),
            };
            Ok(operator)
        })
    }
}
