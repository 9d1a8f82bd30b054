//! Interval join: pairs of records of two keyed streams whose event times are
//! within bounds of each other.
//!
//! Each side's records wait in keyed state (a map from timestamp to records per
//! key) until no record of the other side can match them any more: a left record
//! at `t` matches right records in `[t + lower, t + upper]`, so it is dropped when
//! the watermark passes `t + max(upper, 0)`; a right record at `t` when it passes
//! `t + max(-lower, 0)`. Records at or before the watermark on arrival are late
//! and are dropped (counted in a log line at the end of input).

use crate::connected::KeyedConnectedStreams;
use crate::functions::TimeDomain;
use crate::keyed::{KeySelector, KeyedStream};
use crate::operators::timers::Timers;
use crate::operators::{CoNode, CoOperator, FunctionHost, OperatorState};
use crate::state::keyed_store;
use crate::stream::DataStream;
use crate::window::operator::{report_late_dropped, restored_watermark, snapshot_with_watermark};
use std::collections::BTreeMap;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{BoxError, Data, StreamRecord, Timestamp, Watermark, NO_TIMESTAMP};
use weir_runtime::failure::{fail, guard};
use weir_runtime::operator::{Collector, Input};
use weir_state::{KeyedStateStore, StateError, ValueStateDescriptor};

/// Two keyed streams to join on event-time intervals:
/// `left.interval_join(&right).between(lower, upper).process(..)`.
pub struct IntervalJoin<K, A, B> {
    left: KeyedStream<K, A>,
    right: KeyedStream<K, B>,
}

/// An interval join with its bounds.
pub struct IntervalJoined<K, A, B> {
    left: KeyedStream<K, A>,
    right: KeyedStream<K, B>,
    lower: i64,
    upper: i64,
}

impl<K: Data + Hash + Eq, A: Data> KeyedStream<K, A> {
    /// Joins this stream with `other` (keyed by the same key type) on event-time
    /// intervals.
    ///
    /// ```
    /// use weir_datastream::{Collector, StreamExecutionEnvironment, WatermarkStrategy};
    ///
    /// let env = StreamExecutionEnvironment::new();
    /// let strategy = || WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|r: &(u32, i64), _| r.1);
    /// let clicks = env.from_collection(vec![(1u32, 1_000i64), (1, 5_000)]).assign_timestamps_and_watermarks(strategy());
    /// let views = env.from_collection(vec![(1u32, 900i64), (1, 1_500)]).assign_timestamps_and_watermarks(strategy());
    /// // Views up to 200 ms before and 600 ms after each click.
    /// let pairs = clicks
    ///     .key_by(|c| c.0)
    ///     .interval_join(&views.key_by(|v| v.0))
    ///     .between(-200, 600)
    ///     .process(|click, view, out: &mut Collector<'_, (i64, i64)>| {
    ///         out.collect((click.1, view.1));
    ///         Ok(())
    ///     })
    ///     .collect();
    /// env.execute("clicks with views").unwrap();
    /// let mut got = pairs.take();
    /// got.sort();
    /// assert_eq!(got, vec![(1_000, 900), (1_000, 1_500)]);
    /// ```
    pub fn interval_join<B: Data>(&self, other: &KeyedStream<K, B>) -> IntervalJoin<K, A, B> {
        IntervalJoin {
            left: self.clone(),
            right: other.clone(),
        }
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data> IntervalJoin<K, A, B> {
    /// Pairs a left record at `t` with right records of the same key whose event
    /// time is in `[t + lower, t + upper]` (milliseconds, either may be negative;
    /// `lower <= upper`).
    pub fn between(&self, lower: i64, upper: i64) -> IntervalJoined<K, A, B> {
        IntervalJoined {
            left: self.left.clone(),
            right: self.right.clone(),
            lower,
            upper,
        }
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data> IntervalJoined<K, A, B> {
    /// Excludes the lower bound itself.
    pub fn lower_bound_exclusive(mut self) -> Self {
        self.lower = self.lower.saturating_add(1);
        self
    }

    /// Excludes the upper bound itself.
    pub fn upper_bound_exclusive(mut self) -> Self {
        self.upper = self.upper.saturating_sub(1);
        self
    }

    /// Calls `f(left, right, out)` for every matching pair; results carry the
    /// later of the two timestamps.
    pub fn process<O: Data>(
        &self,
        f: impl FnMut(&A, &B, &mut Collector<'_, O>) -> Result<(), BoxError> + Clone + Send + Sync + 'static,
    ) -> DataStream<O> {
        let connected: KeyedConnectedStreams<K, A, B> = self.left.connect(&self.right).key_by(
            {
                let key = self.left.key_selector().clone();
                move |a: &A| key(a)
            },
            {
                let key = self.right.key_selector().clone();
                move |b: &B| key(b)
            },
        );
        let (key1, key2) = connected.key_selectors();
        let (lower, upper) = (self.lower, self.upper);
        if lower > upper {
            self.left.environment().misuse(format!(
                "interval_join: the bounds leave no interval (lower {lower} ms > upper {upper} ms, exclusive bounds \
                 applied)"
            ));
        }
        connected.two_input("interval_join", move |ctx, out| {
            Ok(CoNode::boxed(
                ctx,
                IntervalJoinOperator {
                    host: FunctionHost::new(ctx),
                    store: keyed_store(ctx)?,
                    timers: Timers::new("interval-join"),
                    left: ValueStateDescriptor::new("interval-join-left"),
                    right: ValueStateDescriptor::new("interval-join-right"),
                    key1: key1.clone(),
                    key2: key2.clone(),
                    lower,
                    upper,
                    function: f.clone(),
                    watermark: i64::MIN,
                    restored: ctx.restored.is_some(),
                    late_dropped: 0,
                    _types: PhantomData,
                },
                out,
            ))
        })
    }
}

/// Which side a buffered record is on (timer namespace).
const LEFT: u8 = 0;
const RIGHT: u8 = 1;

type Buffer<T> = BTreeMap<Timestamp, Vec<T>>;

struct IntervalJoinOperator<K, A, B, O, F> {
    host: FunctionHost,
    store: KeyedStateStore<K>,
    timers: Timers<K, (u8, Timestamp)>,
    left: ValueStateDescriptor<Buffer<A>>,
    right: ValueStateDescriptor<Buffer<B>>,
    key1: KeySelector<A, K>,
    key2: KeySelector<B, K>,
    lower: i64,
    upper: i64,
    function: F,
    watermark: Timestamp,
    restored: bool,
    late_dropped: u64,
    _types: PhantomData<fn() -> O>,
}

impl<K, A, B, O, F> IntervalJoinOperator<K, A, B, O, F>
where
    K: Data + Hash + Eq,
    A: Data,
    B: Data,
    F: FnMut(&A, &B, &mut Collector<'_, O>) -> Result<(), BoxError> + Send,
{
    fn ok<R>(&self, result: Result<R, StateError>) -> R {
        self.host.call(|| result.map_err(BoxError::from))
    }

    fn timestamp(&self, timestamp: Timestamp) -> Timestamp {
        if timestamp == NO_TIMESTAMP {
            return self
                .host
                .call(|| Err("interval_join needs event time: assign timestamps with a WatermarkStrategy".into()));
        }
        timestamp
    }

    /// Adds `value` at `timestamp` to one side's buffer and registers its cleanup.
    fn buffer<T: Data>(
        &mut self,
        side: u8,
        descriptor: &ValueStateDescriptor<Buffer<T>>,
        key: &weir_state::CurrentKey<K>,
        value: T,
        timestamp: Timestamp,
        keep_for: i64,
    ) {
        let added = self.store.value(descriptor, key).and_then(|mut state| {
            state.modify(|buffer| match buffer {
                Some(buffer) => {
                    buffer.entry(timestamp).or_default().push(value);
                    None
                }
                None => Some(BTreeMap::from([(timestamp, vec![value])])),
            })
        });
        self.ok(added);
        let cleanup = timestamp.saturating_add(keep_for.max(0));
        let registered = self
            .timers
            .register(&mut self.store, key, TimeDomain::EventTime, (side, timestamp), cleanup);
        self.ok(registered);
    }
}

impl<K, A, B, O, F> CoOperator<A, B, O> for IntervalJoinOperator<K, A, B, O, F>
where
    K: Data + Hash + Eq,
    A: Data,
    B: Data,
    F: FnMut(&A, &B, &mut Collector<'_, O>) -> Result<(), BoxError> + Send,
{
    fn open(&mut self) {
        if self.restored {
            self.watermark = restored_watermark(&mut self.host);
            let restored = self.timers.restore(&mut self.store);
            self.ok(restored);
        }
    }

    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let timestamp = self.timestamp(record.timestamp);
        if timestamp <= self.watermark {
            self.late_dropped += 1;
            return;
        }
        let selector = &self.key1;
        let key = guard(&self.host.meta, || selector(&record.value));
        let key = self.store.key(key);
        let range = timestamp.saturating_add(self.lower)..=timestamp.saturating_add(self.upper);
        let function = &mut self.function;
        let left = &record.value;
        probe(
            &self.host,
            &mut self.store,
            &self.right,
            &key,
            range,
            timestamp,
            out,
            |right, out| function(left, right, out),
        );
        let descriptor = self.left.clone();
        self.buffer(LEFT, &descriptor, &key, record.value, timestamp, self.upper);
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let timestamp = self.timestamp(record.timestamp);
        if timestamp <= self.watermark {
            self.late_dropped += 1;
            return;
        }
        let selector = &self.key2;
        let key = guard(&self.host.meta, || selector(&record.value));
        let key = self.store.key(key);
        let range = timestamp.saturating_sub(self.upper)..=timestamp.saturating_sub(self.lower);
        let function = &mut self.function;
        let right = &record.value;
        probe(
            &self.host,
            &mut self.store,
            &self.left,
            &key,
            range,
            timestamp,
            out,
            |left, out| function(left, right, out),
        );
        let descriptor = self.right.clone();
        self.buffer(
            RIGHT,
            &descriptor,
            &key,
            record.value,
            timestamp,
            self.lower.saturating_neg(),
        );
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        loop {
            let due = self
                .timers
                .pop_due(&mut self.store, TimeDomain::EventTime, watermark.timestamp);
            let Some((key, (side, time), _)) = self.ok(due) else {
                break;
            };
            let removed = if side == LEFT {
                remove_entry(&mut self.store, &self.left, &key, time)
            } else {
                remove_entry(&mut self.store, &self.right, &key, time)
            };
            self.ok(removed);
        }
        out.process_watermark(watermark);
    }

    fn end_input(&mut self, _: &mut dyn Input<O>) {
        report_late_dropped(&self.host, self.late_dropped, "an interval join");
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        snapshot_with_watermark(&mut self.host, &mut self.store, self.watermark)
    }
}

/// Calls `emit` with every record of the other side buffered for `key` in `range`
/// of event time; results carry the later timestamp of the pair.
#[allow(clippy::too_many_arguments)]
fn probe<K: Data + Hash + Eq, T: Data, O>(
    host: &FunctionHost,
    store: &mut KeyedStateStore<K>,
    descriptor: &ValueStateDescriptor<Buffer<T>>,
    key: &weir_state::CurrentKey<K>,
    range: std::ops::RangeInclusive<Timestamp>,
    timestamp: Timestamp,
    out: &mut dyn Input<O>,
    mut emit: impl FnMut(&T, &mut Collector<'_, O>) -> Result<(), BoxError>,
) {
    let mut state = match store.value(descriptor, key) {
        Ok(state) => state,
        Err(e) => fail(&host.meta, e),
    };
    let buffer = match state.get_ref() {
        Ok(Some(buffer)) => buffer,
        Ok(None) => return,
        Err(e) => fail(&host.meta, e),
    };
    for (other, values) in buffer.range(range) {
        let mut collector = Collector::new(out, timestamp.max(*other));
        for value in values {
            host.call(|| emit(value, &mut collector));
        }
    }
}

/// Drops the records buffered at `time` for `key`.
fn remove_entry<K: Data + Hash + Eq, T: Data>(
    store: &mut KeyedStateStore<K>,
    descriptor: &ValueStateDescriptor<Buffer<T>>,
    key: &weir_state::CurrentKey<K>,
    time: Timestamp,
) -> Result<(), StateError> {
    store.value(descriptor, key)?.modify_or_remove(|buffer| {
        buffer.remove(&time);
        !buffer.is_empty()
    })
}
