//! Partitioners: which downstream subtask receives each record.
//!
//! | kind | rule |
//! | --- | --- |
//! | forward | subtask *i* sends to subtask *i* (equal parallelism; chained when possible) |
//! | rebalance | round-robin over all downstream subtasks |
//! | shuffle | uniformly random (seeded, so runs repeat) |
//! | hash | the subtask owning the key's key group |
//! | broadcast | every downstream subtask gets a copy |
//! | global | everything to subtask 0 |
//! | custom | a user function of the key and the number of subtasks |

use crate::channel::{downcast_channel, AnyChannel};
use crate::failure::{fail, OperatorMeta};
use crate::operator::AnyInput;
use crate::writer::RecordWriter;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::keygroup::{key_group_for_key, subtask_for_key_group};
use weir_core::Result;

/// What partitioners implement and record writers are built with (defined with the
/// record writer, which is generic over them).
pub use crate::writer::{Partitioner, Selection, WriterContext};

/// The kinds of partitioning, as the graph builder sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartitionKind {
    /// Subtask i to subtask i.
    Forward,
    /// Round-robin.
    Rebalance,
    /// Random.
    Shuffle,
    /// By key group.
    Hash,
    /// To all.
    Broadcast,
    /// To subtask 0.
    Global,
    /// By a user function.
    Custom,
}

impl PartitionKind {
    /// Whether each upstream subtask talks to exactly one downstream subtask.
    pub fn is_pointwise(self) -> bool {
        matches!(self, PartitionKind::Forward)
    }

    /// Lower-case name for plans and messages.
    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Forward => "forward",
            PartitionKind::Rebalance => "rebalance",
            PartitionKind::Shuffle => "shuffle",
            PartitionKind::Hash => "hash",
            PartitionKind::Broadcast => "broadcast",
            PartitionKind::Global => "global",
            PartitionKind::Custom => "custom",
        }
    }
}

/// Creates the record writer of one upstream subtask for one edge.
pub trait PartitionerFactory: Send + Sync {
    /// The partitioning rule.
    fn kind(&self) -> PartitionKind;

    /// A writer over `channels` (ordered by downstream subtask index).
    fn create_writer(&self, context: &WriterContext, channels: Vec<Arc<dyn AnyChannel>>) -> Result<AnyInput>;
}

struct TypedFactory<T, P, F> {
    kind: PartitionKind,
    make: F,
    _types: PhantomData<fn() -> (T, P)>,
}

impl<T, P, F> PartitionerFactory for TypedFactory<T, P, F>
where
    T: Clone + Send + 'static,
    P: Partitioner<T> + 'static,
    F: Fn(&WriterContext) -> P + Send + Sync,
{
    fn kind(&self) -> PartitionKind {
        self.kind
    }

    fn create_writer(&self, context: &WriterContext, channels: Vec<Arc<dyn AnyChannel>>) -> Result<AnyInput> {
        let channels = channels
            .into_iter()
            .map(downcast_channel::<T>)
            .collect::<Result<Vec<_>>>()?;
        let writer = RecordWriter::new(context, (self.make)(context), channels);
        Ok(AnyInput::new::<T>(Box::new(writer)))
    }
}

fn factory<T, P, F>(kind: PartitionKind, make: F) -> Arc<dyn PartitionerFactory>
where
    T: Clone + Send + 'static,
    P: Partitioner<T> + 'static,
    F: Fn(&WriterContext) -> P + Send + Sync + 'static,
{
    Arc::new(TypedFactory::<T, P, F> {
        kind,
        make,
        _types: PhantomData,
    })
}

struct ToFirst;
impl<T> Partitioner<T> for ToFirst {
    #[inline]
    fn select(&mut self, _: &T, _: usize) -> Selection {
        Selection::One(0)
    }
}

struct RoundRobin(usize);
impl<T> Partitioner<T> for RoundRobin {
    #[inline]
    fn select(&mut self, _: &T, channels: usize) -> Selection {
        self.0 += 1;
        if self.0 >= channels {
            self.0 = 0;
        }
        Selection::One(self.0)
    }
}

struct Random(fastrand::Rng);
impl<T> Partitioner<T> for Random {
    #[inline]
    fn select(&mut self, _: &T, channels: usize) -> Selection {
        Selection::One(self.0.usize(..channels))
    }
}

struct ToAll;
impl<T> Partitioner<T> for ToAll {
    #[inline]
    fn select(&mut self, _: &T, _: usize) -> Selection {
        Selection::All
    }
}

struct ByKeyGroup<KS> {
    key_selector: KS,
    max_parallelism: usize,
}
impl<T, K, KS> Partitioner<T> for ByKeyGroup<KS>
where
    K: Hash,
    KS: Fn(&T) -> K + Send,
{
    #[inline]
    fn select(&mut self, value: &T, channels: usize) -> Selection {
        let key = (self.key_selector)(value);
        let key_group = key_group_for_key(&key, self.max_parallelism);
        Selection::One(subtask_for_key_group(self.max_parallelism, channels, key_group))
    }
}

struct ByFunction<KS, F> {
    key_selector: KS,
    function: F,
    meta: OperatorMeta,
}
impl<T, K, KS, F> Partitioner<T> for ByFunction<KS, F>
where
    KS: Fn(&T) -> K + Send,
    F: Fn(&K, usize) -> usize + Send,
{
    #[inline]
    fn select(&mut self, value: &T, channels: usize) -> Selection {
        let key = (self.key_selector)(value);
        let target = (self.function)(&key, channels);
        if target >= channels {
            fail(
                &self.meta,
                format!("custom partitioner chose channel {target}, but there are only {channels} (0..{channels})"),
            );
        }
        Selection::One(target)
    }
}

/// Subtask i to subtask i.
pub fn forward<T: Clone + Send + 'static>() -> Arc<dyn PartitionerFactory> {
    factory::<T, _, _>(PartitionKind::Forward, |_| ToFirst)
}

/// Round-robin, each upstream subtask starting at its own index.
pub fn rebalance<T: Clone + Send + 'static>() -> Arc<dyn PartitionerFactory> {
    factory::<T, _, _>(PartitionKind::Rebalance, |c| RoundRobin(c.subtask))
}

/// Uniformly random, seeded from the job seed and the subtask index.
pub fn shuffle<T: Clone + Send + 'static>() -> Arc<dyn PartitionerFactory> {
    factory::<T, _, _>(PartitionKind::Shuffle, |c| {
        Random(fastrand::Rng::with_seed(
            c.seed ^ (c.subtask as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ))
    })
}

/// A copy to every downstream subtask.
pub fn broadcast<T: Clone + Send + 'static>() -> Arc<dyn PartitionerFactory> {
    factory::<T, _, _>(PartitionKind::Broadcast, |_| ToAll)
}

/// Everything to downstream subtask 0.
pub fn global<T: Clone + Send + 'static>() -> Arc<dyn PartitionerFactory> {
    factory::<T, _, _>(PartitionKind::Global, |_| ToFirst)
}

/// To the subtask owning the key group of `key_selector(record)`.
pub fn hash<T, K, KS>(key_selector: KS) -> Arc<dyn PartitionerFactory>
where
    T: Clone + Send + 'static,
    K: Hash + 'static,
    KS: Fn(&T) -> K + Clone + Send + Sync + 'static,
{
    factory::<T, _, _>(PartitionKind::Hash, move |c| ByKeyGroup {
        key_selector: key_selector.clone(),
        max_parallelism: c.target_max_parallelism,
    })
}

/// To `function(key_selector(record), number_of_subtasks)`. A result out of range
/// fails the job with the sending operator's name.
pub fn custom<T, K, KS, F>(key_selector: KS, function: F) -> Arc<dyn PartitionerFactory>
where
    T: Clone + Send + 'static,
    K: 'static,
    KS: Fn(&T) -> K + Clone + Send + Sync + 'static,
    F: Fn(&K, usize) -> usize + Clone + Send + Sync + 'static,
{
    factory::<T, _, _>(PartitionKind::Custom, move |c| ByFunction {
        key_selector: key_selector.clone(),
        function: function.clone(),
        meta: c.meta.clone(),
    })
}

/// By key group with a partitioner that splits each record (a batch of rows) into
/// per-subtask parts (see [`Partitioner::split`]): the edge counts as a hash edge, so
/// the receiving operator may keep keyed state, as long as `make`'s partitioner sends
/// each row to the subtask owning the key group of the row's key
/// ([`weir_core::keygroup`], with the writer's `target_max_parallelism`).
pub fn splitting<T, P, F>(make: F) -> Arc<dyn PartitionerFactory>
where
    T: Clone + Send + 'static,
    P: Partitioner<T> + 'static,
    F: Fn(&WriterContext) -> P + Send + Sync + 'static,
{
    factory::<T, P, F>(PartitionKind::Hash, make)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles() {
        let mut p = RoundRobin(0);
        let picks: Vec<_> = (0..6).map(|_| Partitioner::<u8>::select(&mut p, &0, 3)).collect();
        assert_eq!(picks, [1, 2, 0, 1, 2, 0].map(Selection::One).to_vec());
    }

    #[test]
    fn key_group_partitioner_agrees_with_ranges() {
        let mut p = ByKeyGroup {
            key_selector: |v: &u64| *v,
            max_parallelism: 128,
        };
        for key in 0..1000u64 {
            let Selection::One(target) = p.select(&key, 3) else {
                panic!()
            };
            let kg = key_group_for_key(&key, 128);
            assert!(weir_core::keygroup::range_for_subtask(128, 3, target).contains(kg));
        }
    }
}
