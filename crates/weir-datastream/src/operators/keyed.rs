//! Operators on keyed streams.

use super::process::snapshot_operator_state;
use super::{Operator, OperatorState};
use crate::functions::{Context, KeyedContext, KeyedProcessFunction};
use crate::keyed::KeySelector;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{Data, StreamRecord, SubtaskInfo, NO_TIMESTAMP};
use weir_runtime::failure::{check, fail, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};
use weir_state::{KeyedStateStore, OperatorStateStore, ValueStateDescriptor};

/// Runs a [`KeyedProcessFunction`] with the keyed state of its subtask.
pub(crate) struct KeyedProcess<K, I, O, P> {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub key_selector: KeySelector<I, K>,
    pub function: P,
    pub store: KeyedStateStore<K>,
    pub operator_state: OperatorStateStore,
    pub _types: PhantomData<fn(I) -> O>,
}

impl<K, I, O, P> Operator<I, O> for KeyedProcess<K, I, O, P>
where
    K: Data + Hash + Eq,
    I: Send,
    P: KeyedProcessFunction<K, I, O>,
{
    fn open(&mut self) {
        let (function, info, state) = (&mut self.function, &self.info, &mut self.operator_state);
        let result = guard(&self.meta, || {
            function.open(info).and_then(|()| function.initialize_state(state))
        });
        check(&self.meta, result);
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let selector = &self.key_selector;
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
            function.process_element(record.value, &mut ctx, &mut collector)
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

/// Rolling reduce: per key, combines each record with the previous result and emits
/// the new result.
pub(crate) struct KeyedReduce<K, T, F> {
    pub meta: OperatorMeta,
    pub key_selector: KeySelector<T, K>,
    pub reduce: F,
    pub store: KeyedStateStore<K>,
    pub state: ValueStateDescriptor<T>,
}

impl<K, T, F> Operator<T, T> for KeyedReduce<K, T, F>
where
    K: Data + Hash + Eq,
    T: Data,
    F: FnMut(T, T) -> T + Send,
{
    #[inline]
    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<T>) {
        let selector = &self.key_selector;
        let key = guard(&self.meta, || selector(&record.value));
        let key = self.store.key(key);
        let mut state = match self.store.value(&self.state, &key) {
            Ok(state) => state,
            Err(e) => fail(&self.meta, e),
        };
        let previous = match state.get() {
            Ok(previous) => previous,
            Err(e) => fail(&self.meta, e),
        };
        let reduce = &mut self.reduce;
        let value = match previous {
            Some(accumulator) => guard(&self.meta, || reduce(accumulator, record.value)),
            None => record.value,
        };
        if let Err(e) = state.set(value.clone()) {
            fail(&self.meta, e);
        }
        out.process(StreamRecord {
            value,
            timestamp: record.timestamp,
        });
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        OperatorState {
            keyed: Some(self.store.snapshot()),
            operator: None,
        }
    }
}
