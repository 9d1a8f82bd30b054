//! Operators on keyed streams.

use super::host::KeyedHost;
use super::timers::TimeDomain;
use super::{Operator, OperatorState};
use crate::functions::KeyedProcessFunction;
use crate::keyed::KeySelector;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{Data, StreamRecord, Timestamp, Watermark};
use weir_runtime::failure::{fail, guard, OperatorMeta};
use weir_runtime::operator::Input;
use weir_state::{KeyedStateStore, ValueStateDescriptor};

/// Runs a [`KeyedProcessFunction`] with the keyed state of its subtask.
pub(crate) struct KeyedProcess<K, I, O, P> {
    pub host: KeyedHost<K>,
    pub key_selector: KeySelector<I, K>,
    pub function: P,
    pub _types: PhantomData<fn(I) -> O>,
}

impl<K, I, O, P> Operator<I, O> for KeyedProcess<K, I, O, P>
where
    K: Data + Hash + Eq,
    I: Send,
    P: KeyedProcessFunction<K, I, O>,
{
    fn open(&mut self) {
        let function = &mut self.function;
        self.host
            .host
            .open(|info, state| function.open(info).and_then(|()| function.initialize_state(state)));
        self.host.restore_timers();
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.process(&self.key_selector, record, out, |value, ctx, out| {
            function.process_element(value, ctx, out)
        });
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host
            .fire_timers(TimeDomain::EventTime, watermark.timestamp, out, &mut |t, ctx, out| {
                function.on_timer(t, ctx, out)
            });
        out.process_watermark(watermark);
    }

    fn on_processing_time(&mut self, now: Timestamp, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host
            .fire_timers(TimeDomain::ProcessingTime, now, out, &mut |t, ctx, out| {
                function.on_timer(t, ctx, out)
            });
    }

    fn end_input(&mut self, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.host.finish(out, |out| function.finish(out));
    }

    fn snapshot(&mut self, checkpoint_id: u64) -> OperatorState {
        let function = &mut self.function;
        self.host
            .snapshot(|state| function.snapshot_state(checkpoint_id, state))
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let function = &mut self.function;
        self.host
            .host
            .call(|| function.notify_checkpoint_complete(checkpoint_id));
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
        let (reduce, meta) = (&mut self.reduce, &self.meta);
        let updated = state.update(|previous| match previous {
            Some(accumulator) => guard(meta, || reduce(accumulator.clone(), record.value)),
            None => record.value,
        });
        let value = match updated {
            Ok(value) => value,
            Err(e) => fail(&self.meta, e),
        };
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
