//! `KeyedStream`: a stream partitioned by key, with per-key state.

use crate::functions::{FnKeyedProcess, KeyedContext, KeyedProcessFunction};
use crate::operators::{KeyedHost, KeyedProcess, KeyedReduce, Node};
use crate::state::keyed_store;
use crate::stream::DataStream;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::{Add, Deref};
use std::sync::Arc;
use weir_core::{BoxError, Data};
use weir_runtime::graph::Partitioning;
use weir_runtime::operator::Collector;
use weir_runtime::partitioner;
use weir_state::ValueStateDescriptor;

/// Extracts the key of a record.
pub type KeySelector<T, K> = Arc<dyn Fn(&T) -> K + Send + Sync>;

/// A stream partitioned by a key: every record of a key reaches the same subtask of
/// the next operator, which can keep state per key. Dereferences to the partitioned
/// [`DataStream`], so stateless transformations and sinks apply directly.
pub struct KeyedStream<K, T> {
    stream: DataStream<T>,
    key_selector: KeySelector<T, K>,
}

impl<K, T> Clone for KeyedStream<K, T> {
    fn clone(&self) -> Self {
        KeyedStream {
            stream: self.stream.clone(),
            key_selector: self.key_selector.clone(),
        }
    }
}

impl<K, T> Deref for KeyedStream<K, T> {
    type Target = DataStream<T>;
    fn deref(&self) -> &DataStream<T> {
        &self.stream
    }
}

impl<K: Data + Hash + Eq, T: Data> KeyedStream<K, T> {
    pub(crate) fn new(input: &DataStream<T>, key_selector: KeySelector<T, K>) -> Self {
        let selector = key_selector.clone();
        let partitioning = Partitioning::Given(partitioner::hash::<T, K, _>(move |v: &T| selector(v)));
        let mut stream = input.clone();
        stream.inputs = input
            .inputs
            .iter()
            .map(|u| u.with_partitioning(partitioning.clone()))
            .collect();
        stream.node = None;
        KeyedStream { stream, key_selector }
    }

    /// The key selector.
    pub fn key_selector(&self) -> &KeySelector<T, K> {
        &self.key_selector
    }

    /// Runs a [`KeyedProcessFunction`] with per-key state.
    pub fn process<O: Data, P: KeyedProcessFunction<K, T, O> + Sync>(&self, function: P) -> DataStream<O> {
        let key_selector = self.key_selector.clone();
        self.stream.one_input("keyed_process", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                KeyedProcess {
                    host: KeyedHost::new(ctx)?,
                    key_selector: key_selector.clone(),
                    function: function.clone(),
                    _types: PhantomData,
                },
                out,
            ))
        })
    }

    /// Runs a closure with the keyed context (current key, state) on every record.
    pub fn process_fn<O: Data>(
        &self,
        f: impl FnMut(T, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> Result<(), BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
    ) -> DataStream<O> {
        self.process(FnKeyedProcess(f))
    }

    /// Rolling reduce: emits, for every record, `f(previous result of its key, record)`
    /// (the record itself for the first of a key).
    pub fn reduce(&self, f: impl FnMut(T, T) -> T + Clone + Send + Sync + 'static) -> DataStream<T> {
        self.reduce_named("reduce", f)
    }

    fn reduce_named(&self, name: &str, f: impl FnMut(T, T) -> T + Clone + Send + Sync + 'static) -> DataStream<T> {
        let key_selector = self.key_selector.clone();
        let state = ValueStateDescriptor::<T>::new(format!("{name}-accumulator"));
        self.stream.one_input(name, move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                KeyedReduce {
                    meta: ctx.meta.clone(),
                    key_selector: key_selector.clone(),
                    reduce: f.clone(),
                    store: keyed_store(ctx)?,
                    state: state.clone(),
                },
                out,
            ))
        })
    }

    /// Rolling sum of the field `field` selects: emits the key's first record with
    /// that field replaced by the running total.
    ///
    /// ```
    /// # use weir_datastream::StreamExecutionEnvironment;
    /// let env = StreamExecutionEnvironment::new();
    /// env.set_parallelism(1);
    /// let sums = env
    ///     .from_collection(vec![("a".to_string(), 1), ("b".to_string(), 5), ("a".to_string(), 2)])
    ///     .key_by(|t| t.0.clone())
    ///     .sum(|t| &mut t.1)
    ///     .collect();
    /// env.execute("sum").unwrap();
    /// assert_eq!(sums.take(), vec![("a".to_string(), 1), ("b".to_string(), 5), ("a".to_string(), 3)]);
    /// ```
    pub fn sum<N>(&self, field: impl Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static) -> DataStream<T>
    where
        N: Add<Output = N> + Copy + 'static,
    {
        self.reduce_named("sum", move |mut acc, mut value| {
            let add = *field(&mut value);
            let total = field(&mut acc);
            *total = *total + add;
            acc
        })
    }

    /// Rolling minimum of a field: emits the key's first record with that field
    /// replaced by the smallest value seen.
    pub fn min<N>(&self, field: impl Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
    {
        self.reduce_named("min", move |mut acc, mut value| {
            let candidate = *field(&mut value);
            let current = field(&mut acc);
            if candidate < *current {
                *current = candidate;
            }
            acc
        })
    }

    /// Rolling maximum of a field: emits the key's first record with that field
    /// replaced by the largest value seen.
    pub fn max<N>(&self, field: impl Fn(&mut T) -> &mut N + Clone + Send + Sync + 'static) -> DataStream<T>
    where
        N: PartialOrd + Copy + 'static,
    {
        self.reduce_named("max", move |mut acc, mut value| {
            let candidate = *field(&mut value);
            let current = field(&mut acc);
            if candidate > *current {
                *current = candidate;
            }
            acc
        })
    }

    /// Rolling minimum by a field: emits the whole record with the smallest value of
    /// the field seen so far (the earliest on ties).
    pub fn min_by<N: PartialOrd>(&self, field: impl Fn(&T) -> N + Clone + Send + Sync + 'static) -> DataStream<T> {
        self.reduce_named(
            "min_by",
            move |acc, value| {
                if field(&value) < field(&acc) {
                    value
                } else {
                    acc
                }
            },
        )
    }

    /// Rolling maximum by a field: emits the whole record with the largest value of
    /// the field seen so far (the earliest on ties).
    pub fn max_by<N: PartialOrd>(&self, field: impl Fn(&T) -> N + Clone + Send + Sync + 'static) -> DataStream<T> {
        self.reduce_named(
            "max_by",
            move |acc, value| {
                if field(&value) > field(&acc) {
                    value
                } else {
                    acc
                }
            },
        )
    }
}
