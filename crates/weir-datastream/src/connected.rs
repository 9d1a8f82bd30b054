//! `ConnectedStreams`: two streams of different types feeding one operator.

use crate::functions::{CoProcessFunction, KeyedCoProcessFunction};
use crate::keyed::KeySelector;
use crate::operators::{CoFlatMap, CoMap, CoNode, CoProcess, FunctionHost, KeyedCoProcess, KeyedHost};
use crate::stream::DataStream;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use weir_core::{BoxError, Data};
use weir_runtime::erased::stream_type;
use weir_runtime::factory::{two_input_factory, BuildContext};
use weir_runtime::graph::OperatorFactory;
use weir_runtime::operator::{Input, TwoInput};

/// Two streams, possibly of different types, processed by one operator that sees
/// both (and can share state between them).
pub struct ConnectedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

impl<A: Data, B: Data> ConnectedStreams<A, B> {
    pub(crate) fn new(first: DataStream<A>, second: DataStream<B>) -> Self {
        ConnectedStreams { first, second }
    }

    /// Partitions both streams by key so that records with equal keys from either
    /// stream meet in the same subtask, where they share keyed state.
    pub fn key_by<K: Data + Hash + Eq>(
        &self,
        key1: impl Fn(&A) -> K + Send + Sync + 'static,
        key2: impl Fn(&B) -> K + Send + Sync + 'static,
    ) -> KeyedConnectedStreams<K, A, B> {
        let first = self.first.key_by(key1);
        let second = self.second.key_by(key2);
        KeyedConnectedStreams {
            key1: first.key_selector().clone(),
            key2: second.key_selector().clone(),
            streams: ConnectedStreams {
                first: (*first).clone(),
                second: (*second).clone(),
            },
        }
    }

    pub(crate) fn two_input<O: Data>(
        &self,
        name: &str,
        make: impl Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn TwoInput<A, B>>, BoxError> + Send + Sync + 'static,
    ) -> DataStream<O> {
        let factory = OperatorFactory::TwoInput(two_input_factory::<A, B, O, _>(make));
        let inputs = self
            .first
            .inputs
            .iter()
            .map(|u| (u.clone(), 0))
            .chain(self.second.inputs.iter().map(|u| (u.clone(), 1)))
            .collect();
        let env = self.first.env.clone();
        let id = env.add_node(name, factory, stream_type::<O>(), inputs);
        DataStream::from_node(env, id)
    }

    /// Adds a custom two-input operator (see [`crate::custom`]): `make` builds one
    /// instance per subtask from the subtask's build context.
    pub fn transform<O: Data, Op: crate::custom::CoOperator<A, B, O> + 'static>(
        &self,
        name: &str,
        make: impl Fn(&BuildContext) -> Result<Op, BoxError> + Send + Sync + 'static,
    ) -> DataStream<O> {
        self.two_input(name, move |ctx, out| Ok(CoNode::boxed(ctx, make(ctx)?, out)))
    }

    /// Maps records of the first stream with `f1` and of the second with `f2`.
    pub fn map<O: Data>(
        &self,
        f1: impl FnMut(A) -> O + Clone + Send + Sync + 'static,
        f2: impl FnMut(B) -> O + Clone + Send + Sync + 'static,
    ) -> DataStream<O> {
        self.two_input("co_map", move |ctx, out| {
            Ok(CoNode::boxed(
                ctx,
                CoMap {
                    meta: ctx.meta.clone(),
                    f1: f1.clone(),
                    f2: f2.clone(),
                },
                out,
            ))
        })
    }

    /// Flat-maps records of the first stream with `f1` and of the second with `f2`.
    pub fn flat_map<O: Data, R1, R2>(
        &self,
        f1: impl FnMut(A) -> R1 + Clone + Send + Sync + 'static,
        f2: impl FnMut(B) -> R2 + Clone + Send + Sync + 'static,
    ) -> DataStream<O>
    where
        R1: IntoIterator<Item = O> + 'static,
        R2: IntoIterator<Item = O> + 'static,
    {
        self.two_input("co_flat_map", move |ctx, out| {
            Ok(CoNode::boxed(
                ctx,
                CoFlatMap {
                    meta: ctx.meta.clone(),
                    f1: f1.clone(),
                    f2: f2.clone(),
                },
                out,
            ))
        })
    }

    /// Runs a [`CoProcessFunction`] over both streams.
    pub fn process<O: Data, P: CoProcessFunction<A, B, O> + Sync>(&self, function: P) -> DataStream<O> {
        self.two_input("co_process", move |ctx, out| {
            Ok(CoNode::boxed(
                ctx,
                CoProcess {
                    host: FunctionHost::new(ctx),
                    function: function.clone(),
                    _types: PhantomData,
                },
                out,
            ))
        })
    }
}

/// Two streams partitioned by the same key. Dereferences to [`ConnectedStreams`]
/// for stateless co-transformations; [`process`](Self::process) runs a function
/// with the keyed state shared by both streams.
pub struct KeyedConnectedStreams<K, A, B> {
    streams: ConnectedStreams<A, B>,
    key1: KeySelector<A, K>,
    key2: KeySelector<B, K>,
}

impl<K, A, B> Deref for KeyedConnectedStreams<K, A, B> {
    type Target = ConnectedStreams<A, B>;
    fn deref(&self) -> &ConnectedStreams<A, B> {
        &self.streams
    }
}

impl<K: Data + Hash + Eq, A: Data, B: Data> KeyedConnectedStreams<K, A, B> {
    /// The key selectors of the two streams.
    pub(crate) fn key_selectors(&self) -> (KeySelector<A, K>, KeySelector<B, K>) {
        (self.key1.clone(), self.key2.clone())
    }

    /// Runs a [`KeyedCoProcessFunction`] over both streams with per-key state.
    pub fn process<O: Data, P: KeyedCoProcessFunction<K, A, B, O> + Sync>(&self, function: P) -> DataStream<O> {
        let (key1, key2) = (self.key1.clone(), self.key2.clone());
        self.streams.two_input("keyed_co_process", move |ctx, out| {
            Ok(CoNode::boxed(
                ctx,
                KeyedCoProcess {
                    host: KeyedHost::new(ctx)?,
                    key1: Arc::clone(&key1),
                    key2: Arc::clone(&key2),
                    function: function.clone(),
                    _types: PhantomData,
                },
                out,
            ))
        })
    }
}
