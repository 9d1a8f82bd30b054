//! State descriptors: the name, kind and type of a piece of keyed state.
//!
//! Create a descriptor once (e.g. in the function's constructor) and keep it in the
//! function: every access through the same descriptor finds its table without a
//! string comparison.

use crate::ttl::StateTtlConfig;
use std::marker::PhantomData;
use std::sync::Arc;

/// The five kinds of keyed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum StateKind {
    /// One value per key.
    Value,
    /// A list per key.
    List,
    /// A map per key.
    Map,
    /// One value per key, combined with a reduce function on every add.
    Reducing,
    /// One accumulator per key, updated by an aggregate function on every add.
    Aggregating,
}

impl StateKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Value => "value",
            StateKind::List => "list",
            StateKind::Map => "map",
            StateKind::Reducing => "reducing",
            StateKind::Aggregating => "aggregating",
        }
    }
}

macro_rules! descriptor_common {
    ($name:ident < $($p:ident),* >) => {
        impl<$($p),*> $name<$($p),*> {
            /// The state's name.
            pub fn name(&self) -> &str {
                &self.name
            }

            /// Gives the state a time-to-live: its values expire `config.ttl()`
            /// after their last write (see [`StateTtlConfig`]). State written with
            /// TTL must be read with TTL, and state written without it without.
            pub fn with_ttl(mut self, config: StateTtlConfig) -> Self {
                self.ttl = Some(config);
                self
            }

            /// The state's time-to-live, if it has one.
            pub fn ttl(&self) -> Option<&StateTtlConfig> {
                self.ttl.as_ref()
            }
        }

        impl<$($p),*> std::fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("name", &self.name)
                    .field("ttl", &self.ttl)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Declares value state: one `V` per key.
pub struct ValueStateDescriptor<V> {
    pub(crate) name: Arc<str>,
    pub(crate) ttl: Option<StateTtlConfig>,
    _value: PhantomData<fn() -> V>,
}

impl<V> ValueStateDescriptor<V> {
    /// A descriptor of value state `name`.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ValueStateDescriptor {
            name: name.into(),
            ttl: None,
            _value: PhantomData,
        }
    }
}

impl<V> Clone for ValueStateDescriptor<V> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            ttl: self.ttl.clone(),
            _value: PhantomData,
        }
    }
}

descriptor_common!(ValueStateDescriptor<V>);

/// Declares list state: a list of `V` per key.
pub struct ListStateDescriptor<V> {
    pub(crate) name: Arc<str>,
    pub(crate) ttl: Option<StateTtlConfig>,
    _value: PhantomData<fn() -> V>,
}

impl<V> ListStateDescriptor<V> {
    /// A descriptor of list state `name`.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ListStateDescriptor {
            name: name.into(),
            ttl: None,
            _value: PhantomData,
        }
    }
}

impl<V> Clone for ListStateDescriptor<V> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            ttl: self.ttl.clone(),
            _value: PhantomData,
        }
    }
}

descriptor_common!(ListStateDescriptor<V>);

/// Declares map state: a map from `UK` to `UV` per key.
pub struct MapStateDescriptor<UK, UV> {
    pub(crate) name: Arc<str>,
    pub(crate) ttl: Option<StateTtlConfig>,
    _types: PhantomData<fn() -> (UK, UV)>,
}

impl<UK, UV> MapStateDescriptor<UK, UV> {
    /// A descriptor of map state `name`.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        MapStateDescriptor {
            name: name.into(),
            ttl: None,
            _types: PhantomData,
        }
    }
}

impl<UK, UV> Clone for MapStateDescriptor<UK, UV> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            ttl: self.ttl.clone(),
            _types: PhantomData,
        }
    }
}

descriptor_common!(MapStateDescriptor<UK, UV>);

/// Declares reducing state: every added `V` is combined with the current one by
/// `reduce`.
pub struct ReducingStateDescriptor<V> {
    pub(crate) name: Arc<str>,
    pub(crate) ttl: Option<StateTtlConfig>,
    pub(crate) reduce: Arc<dyn Fn(V, V) -> V + Send + Sync>,
}

impl<V> ReducingStateDescriptor<V> {
    /// A descriptor of reducing state `name` combining values with `reduce`.
    pub fn new(name: impl Into<Arc<str>>, reduce: impl Fn(V, V) -> V + Send + Sync + 'static) -> Self {
        ReducingStateDescriptor {
            name: name.into(),
            ttl: None,
            reduce: Arc::new(reduce),
        }
    }
}

impl<V> Clone for ReducingStateDescriptor<V> {
    fn clone(&self) -> Self {
        ReducingStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl.clone(),
            reduce: self.reduce.clone(),
        }
    }
}

descriptor_common!(ReducingStateDescriptor<V>);

/// An incremental aggregation: values of type `IN` are added to an accumulator
/// `ACC`, from which a result `OUT` is read.
pub trait AggregateFunction<IN, ACC, OUT>: Send + Sync {
    /// A fresh accumulator.
    fn create_accumulator(&self) -> ACC;
    /// Adds `value` to `accumulator`.
    fn add(&self, accumulator: &mut ACC, value: IN);
    /// The result of `accumulator`.
    fn get_result(&self, accumulator: &ACC) -> OUT;
    /// Combines two accumulators (merging windows).
    fn merge(&self, a: ACC, b: ACC) -> ACC;
}

/// Declares aggregating state: one accumulator per key, fed by an
/// [`AggregateFunction`].
pub struct AggregatingStateDescriptor<IN, ACC, OUT> {
    pub(crate) name: Arc<str>,
    pub(crate) ttl: Option<StateTtlConfig>,
    pub(crate) function: Arc<dyn AggregateFunction<IN, ACC, OUT>>,
}

impl<IN, ACC, OUT> AggregatingStateDescriptor<IN, ACC, OUT> {
    /// A descriptor of aggregating state `name` using `function`.
    pub fn new(name: impl Into<Arc<str>>, function: impl AggregateFunction<IN, ACC, OUT> + 'static) -> Self {
        AggregatingStateDescriptor {
            name: name.into(),
            ttl: None,
            function: Arc::new(function),
        }
    }
}

impl<IN, ACC, OUT> Clone for AggregatingStateDescriptor<IN, ACC, OUT> {
    fn clone(&self) -> Self {
        AggregatingStateDescriptor {
            name: self.name.clone(),
            ttl: self.ttl.clone(),
            function: self.function.clone(),
        }
    }
}

descriptor_common!(AggregatingStateDescriptor<IN, ACC, OUT>);
