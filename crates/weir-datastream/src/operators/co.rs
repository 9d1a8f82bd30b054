//! Operators on connected streams.

use super::process::snapshot_operator_state;
use super::{CoOperator, OperatorState};
use crate::functions::{CoProcessFunction, Context, KeyedCoProcessFunction, KeyedContext};
use crate::keyed::KeySelector;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{Data, StreamRecord, SubtaskInfo, NO_TIMESTAMP};
use weir_runtime::failure::{check, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};
use weir_state::{KeyedStateStore, OperatorStateStore};

/// A map with one function per input.
pub(crate) struct CoMap<F1, F2> {
    pub meta: OperatorMeta,
    pub f1: F1,
    pub f2: F2,
}

impl<A, B, O, F1, F2> CoOperator<A, B, O> for CoMap<F1, F2>
where
    F1: FnMut(A) -> O + Send,
    F2: FnMut(B) -> O + Send,
{
    #[inline]
    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let f = &mut self.f1;
        let value = guard(&self.meta, || f(record.value));
        out.process(StreamRecord {
            value,
            timestamp: record.timestamp,
        });
    }

    #[inline]
    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let f = &mut self.f2;
        let value = guard(&self.meta, || f(record.value));
        out.process(StreamRecord {
            value,
            timestamp: record.timestamp,
        });
    }
}

/// A flat map with one function per input.
pub(crate) struct CoFlatMap<F1, F2> {
    pub meta: OperatorMeta,
    pub f1: F1,
    pub f2: F2,
}

impl<A, B, O, R1, R2, F1, F2> CoOperator<A, B, O> for CoFlatMap<F1, F2>
where
    F1: FnMut(A) -> R1 + Send,
    F2: FnMut(B) -> R2 + Send,
    R1: IntoIterator<Item = O>,
    R2: IntoIterator<Item = O>,
{
    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let f = &mut self.f1;
        let timestamp = record.timestamp;
        guard(&self.meta, || {
            for value in f(record.value) {
                out.process(StreamRecord { value, timestamp });
            }
        });
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let f = &mut self.f2;
        let timestamp = record.timestamp;
        guard(&self.meta, || {
            for value in f(record.value) {
                out.process(StreamRecord { value, timestamp });
            }
        });
    }
}

/// Runs a [`CoProcessFunction`].
pub(crate) struct CoProcess<P, A, B, O> {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub function: P,
    pub state: OperatorStateStore,
    pub _types: PhantomData<fn(A, B) -> O>,
}

impl<A, B, O, P: CoProcessFunction<A, B, O>> CoOperator<A, B, O> for CoProcess<P, A, B, O> {
    fn open(&mut self) {
        let (function, info, state) = (&mut self.function, &self.info, &mut self.state);
        let result = guard(&self.meta, || {
            function.open(info).and_then(|()| function.initialize_state(state))
        });
        check(&self.meta, result);
    }

    fn snapshot(&mut self, checkpoint_id: u64) -> OperatorState {
        let (function, state) = (&mut self.function, &mut self.state);
        let result = guard(&self.meta, || function.snapshot_state(checkpoint_id, state));
        check(&self.meta, result);
        snapshot_operator_state(&self.meta, &self.state)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let function = &mut self.function;
        let result = guard(&self.meta, || function.notify_checkpoint_complete(checkpoint_id));
        check(&self.meta, result);
    }

    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let mut ctx = Context {
            timestamp: record.timestamp,
            info: &self.info,
        };
        let mut collector = Collector::new(out, record.timestamp);
        let function = &mut self.function;
        let result = guard(&self.meta, || {
            function.process_element1(record.value, &mut ctx, &mut collector)
        });
        check(&self.meta, result);
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let mut ctx = Context {
            timestamp: record.timestamp,
            info: &self.info,
        };
        let mut collector = Collector::new(out, record.timestamp);
        let function = &mut self.function;
        let result = guard(&self.meta, || {
            function.process_element2(record.value, &mut ctx, &mut collector)
        });
        check(&self.meta, result);
    }

    fn end_input(&mut self, out: &mut dyn Input<O>) {
        let mut collector = Collector::new(out, NO_TIMESTAMP);
        let function = &mut self.function;
        let result = guard(&self.meta, || function.finish(&mut collector));
        check(&self.meta, result);
    }
}

/// Runs a [`KeyedCoProcessFunction`] with the keyed state of its subtask.
pub(crate) struct KeyedCoProcess<K, A, B, O, P> {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub key1: KeySelector<A, K>,
    pub key2: KeySelector<B, K>,
    pub function: P,
    pub store: KeyedStateStore<K>,
    pub operator_state: OperatorStateStore,
    pub _types: PhantomData<fn(A, B) -> O>,
}

impl<K, A, B, O, P> CoOperator<A, B, O> for KeyedCoProcess<K, A, B, O, P>
where
    K: Data + Hash + Eq,
    A: Send,
    B: Send,
    P: KeyedCoProcessFunction<K, A, B, O>,
{
    fn open(&mut self) {
        let (function, info, state) = (&mut self.function, &self.info, &mut self.operator_state);
        let result = guard(&self.meta, || {
            function.open(info).and_then(|()| function.initialize_state(state))
        });
        check(&self.meta, result);
    }

    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let selector = &self.key1;
        let key = guard(&self.meta, || selector(&record.value));
        let key = self.store.key(key);
        let mut ctx = KeyedContext {
            base: Context {
                timestamp: record.timestamp,
                info: &self.info,
            },
            key: &key,
            store: &mut self.store,
        };
        let mut collector = Collector::new(out, record.timestamp);
        let function = &mut self.function;
        let result = guard(&self.meta, || {
            function.process_element1(record.value, &mut ctx, &mut collector)
        });
        check(&self.meta, result);
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let selector = &self.key2;
        let key = guard(&self.meta, || selector(&record.value));
        let key = self.store.key(key);
        let mut ctx = KeyedContext {
            base: Context {
                timestamp: record.timestamp,
                info: &self.info,
            },
            key: &key,
            store: &mut self.store,
        };
        let mut collector = Collector::new(out, record.timestamp);
        let function = &mut self.function;
        let result = guard(&self.meta, || {
            function.process_element2(record.value, &mut ctx, &mut collector)
        });
        check(&self.meta, result);
    }

    fn end_input(&mut self, out: &mut dyn Input<O>) {
        let mut collector = Collector::new(out, NO_TIMESTAMP);
        let function = &mut self.function;
        let result = guard(&self.meta, || function.finish(&mut collector));
        check(&self.meta, result);
    }

    fn snapshot(&mut self, checkpoint_id: u64) -> OperatorState {
        let (function, state) = (&mut self.function, &mut self.operator_state);
        let result = guard(&self.meta, || function.snapshot_state(checkpoint_id, state));
        check(&self.meta, result);
        let mut snapshot = snapshot_operator_state(&self.meta, &self.operator_state);
        snapshot.keyed = Some(self.store.snapshot());
        snapshot
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let function = &mut self.function;
        let result = guard(&self.meta, || function.notify_checkpoint_complete(checkpoint_id));
        check(&self.meta, result);
    }
}
