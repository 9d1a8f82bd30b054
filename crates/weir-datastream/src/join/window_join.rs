//! Window join and co-group: two streams keyed alike, windowed together.
//!
//! Both streams are tagged, united and keyed, and one window operator collects the
//! records of both per key and window; when the window fires the co-group
//! function receives both sides (the join: every pair of them).

use crate::keyed::KeySelector;
use crate::stream::DataStream;
use crate::window::{ProcessWindowFunction, Trigger, Window, WindowAssigner, WindowContext, WindowedStream};
use serde::{Deserialize, Serialize};
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{BoxError, Data};
use weir_runtime::operator::Collector;

/// A record of either of two joined streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaggedUnion<A, B> {
    /// From the first stream.
    First(A),
    /// From the second stream.
    Second(B),
}

/// Two streams to co-group by key and window: `a.co_group(&b).where_key(..)
/// .equal_to(..).window(..).apply(..)`.
pub struct CoGroupedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

/// Two streams to join by key and window: `a.join(&b).where_key(..)
/// .equal_to(..).window(..).apply(..)`.
pub struct JoinedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

/// A co-group or join with the first stream's key chosen.
pub struct WhereKey<K, A, B, J> {
    first: DataStream<A>,
    second: DataStream<B>,
    key1: KeySelector<A, K>,
    _join: PhantomData<J>,
}

/// A co-group or join with both keys chosen; choose the windows next.
pub struct EqualTo<K, A, B, J> {
    first: DataStream<A>,
    second: DataStream<B>,
    key1: KeySelector<A, K>,
    key2: KeySelector<B, K>,
    _join: PhantomData<J>,
}

/// A co-group or join over windows; `apply` says what to compute.
pub struct TwoStreamWindows<K, A, B, W, J> {
    windowed: WindowedStream<K, TaggedUnion<A, B>, W>,
    _join: PhantomData<J>,
}

/// Marks a co-group.
pub struct CoGroup;
/// Marks an inner join.
pub struct Join;

impl<A: Data> DataStream<A> {
    /// Co-groups this stream with `other`: per key and window, a function receives
    /// the records of both (either side may be empty).
    pub fn co_group<B: Data>(&self, other: &DataStream<B>) -> CoGroupedStreams<A, B> {
        CoGroupedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }

    /// Joins this stream with `other`: per key and window, every pair of a record of
    /// each (an inner join in event or processing time).
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_datastream::window::TumblingEventTimeWindows;
    /// use weir_datastream::{StreamExecutionEnvironment, WatermarkStrategy};
    ///
    /// let env = StreamExecutionEnvironment::new();
    /// let strategy = || WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|r: &(u32, i64), _| r.1);
    /// let orders = env.from_collection(vec![(1u32, 100i64), (2, 200)]).assign_timestamps_and_watermarks(strategy());
    /// let payments = env.from_collection(vec![(1u32, 900i64), (3, 300)]).assign_timestamps_and_watermarks(strategy());
    /// let paid = orders
    ///     .join(&payments)
    ///     .where_key(|o| o.0)
    ///     .equal_to(|p| p.0)
    ///     .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
    ///     .apply(|order, payment| (order.0, payment.1 - order.1))
    ///     .collect();
    /// env.execute("paid orders").unwrap();
    /// assert_eq!(paid.take(), vec![(1, 800)]);
    /// ```
    pub fn join<B: Data>(&self, other: &DataStream<B>) -> JoinedStreams<A, B> {
        JoinedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }
}

macro_rules! where_key {
    ($name:ident, $marker:ident) => {
        impl<A: Data, B: Data> $name<A, B> {
            /// The key of the first stream's records.
            pub fn where_key<K: Data + Hash + Eq>(
                self,
                key: impl Fn(&A) -> K + Send + Sync + 'static,
            ) -> WhereKey<K, A, B, $marker> {
                WhereKey {
                    first: self.first,
                    second: self.second,
                    key1: Arc::new(key),
                    _join: PhantomData,
                }
            }
        }
    };
}

where_key!(CoGroupedStreams, CoGroup);
where_key!(JoinedStreams, Join);

impl<K: Data + Hash + Eq, A: Data, B: Data, J> WhereKey<K, A, B, J> {
    /// The key of the second stream's records.
    pub fn equal_to(self, key: impl Fn(&B) -> K + Send + Sync + 'static) -> EqualTo<K, A, B, J> {
        EqualTo {
            first: self.first,
            second: self.second,
            key1: self.key1,
            key2: Arc::new(key),
            _join: PhantomData,
        }
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data, J> EqualTo<K, A, B, J> {
    /// The windows both streams' records are grouped into.
    pub fn window<W: Window>(
        self,
        assigner: impl WindowAssigner<TaggedUnion<A, B>, W>,
    ) -> TwoStreamWindows<K, A, B, W, J> {
        let first = self.first.map(TaggedUnion::First).name("tag first");
        let second = self.second.map(TaggedUnion::Second).name("tag second");
        let (key1, key2) = (self.key1, self.key2);
        let windowed = first
            .union(&second)
            .key_by(move |record: &TaggedUnion<A, B>| match record {
                TaggedUnion::First(a) => key1(a),
                TaggedUnion::Second(b) => key2(b),
            })
            .window(assigner);
        TwoStreamWindows {
            windowed,
            _join: PhantomData,
        }
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data, W: Window, J> TwoStreamWindows<K, A, B, W, J> {
    /// Replaces the assigner's default trigger.
    pub fn trigger(mut self, trigger: impl Trigger<TaggedUnion<A, B>, W>) -> Self {
        self.windowed = self.windowed.trigger(trigger);
        self
    }

    /// Keeps windows for `lateness` after the watermark passed their end (late
    /// records update the result).
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.windowed = self.windowed.allowed_lateness(lateness);
        self
    }
}

/// Splits a window's records into both sides and runs the co-group function.
#[derive(Clone)]
struct SplitSides<F>(F);

impl<K, A, B, O, W, F> ProcessWindowFunction<K, TaggedUnion<A, B>, O, W> for SplitSides<F>
where
    W: Window,
    F: FnMut(&K, Vec<A>, Vec<B>, &mut Collector<'_, O>) -> Result<(), BoxError> + Clone + Send + 'static,
    K: Data + Hash + Eq,
{
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, K, W>,
        elements: Vec<TaggedUnion<A, B>>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), BoxError> {
        let mut first = Vec::new();
        let mut second = Vec::new();
        for element in elements {
            match element {
                TaggedUnion::First(a) => first.push(a),
                TaggedUnion::Second(b) => second.push(b),
            }
        }
        (self.0)(ctx.key(), first, second, out)
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data, W: Window> TwoStreamWindows<K, A, B, W, CoGroup> {
    /// Calls `f(key, first side, second side, out)` for every key and window
    /// firing; results carry the window's `max_timestamp()`.
    pub fn apply<O: Data>(
        &self,
        f: impl FnMut(&K, Vec<A>, Vec<B>, &mut Collector<'_, O>) -> Result<(), BoxError> + Clone + Send + Sync + 'static,
    ) -> DataStream<O> {
        self.windowed.process(SplitSides(f)).name("co_group")
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data, W: Window> TwoStreamWindows<K, A, B, W, Join> {
    /// Emits `f(a, b)` for every pair of records of the two streams with the same
    /// key in the same window; results carry the window's `max_timestamp()`.
    pub fn apply<O: Data>(&self, f: impl FnMut(A, B) -> O + Clone + Send + Sync + 'static) -> DataStream<O> {
        let mut f = f;
        let pairs = move |_: &K, first: Vec<A>, second: Vec<B>, out: &mut Collector<'_, O>| {
            for a in &first {
                for b in &second {
                    out.collect(f(a.clone(), b.clone()));
                }
            }
            Ok(())
        };
        self.windowed.process(SplitSides(pairs)).name("join")
    }
}
