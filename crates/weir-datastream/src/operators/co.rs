//! Operators on connected streams.

use super::host::{FunctionHost, KeyedHost};
use super::timers::TimeDomain;
use super::{CoOperator, OperatorState};
use crate::functions::{CoProcessFunction, KeyedCoProcessFunction};
use crate::keyed::KeySelector;
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{Data, StreamRecord, Timestamp, Watermark};
use weir_runtime::failure::{guard, OperatorMeta};
use weir_runtime::operator::Input;

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
    pub host: FunctionHost,
    pub function: P,
    pub _types: PhantomData<fn(A, B) -> O>,
}

impl<A, B, O, P: CoProcessFunction<A, B, O>> CoOperator<A, B, O> for CoProcess<P, A, B, O> {
    fn open(&mut self) {
        let function = &mut self.function;
        self.host
            .open(|info, state| function.open(info).and_then(|()| function.initialize_state(state)));
    }

    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.process(record, out, |value, ctx, out| {
            function.process_element1(value, ctx, out)
        });
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.process(record, out, |value, ctx, out| {
            function.process_element2(value, ctx, out)
        });
    }

    fn end_input(&mut self, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.finish(out, |out| function.finish(out));
    }

    fn snapshot(&mut self, checkpoint_id: u64) -> OperatorState {
        let function = &mut self.function;
        self.host
            .snapshot(|state| function.snapshot_state(checkpoint_id, state))
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let function = &mut self.function;
        self.host.call(|| function.notify_checkpoint_complete(checkpoint_id));
    }
}

/// Runs a [`KeyedCoProcessFunction`] with the keyed state of its subtask.
pub(crate) struct KeyedCoProcess<K, A, B, O, P> {
    pub host: KeyedHost<K>,
    pub key1: KeySelector<A, K>,
    pub key2: KeySelector<B, K>,
    pub function: P,
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
        let function = &mut self.function;
        self.host
            .host
            .open(|info, state| function.open(info).and_then(|()| function.initialize_state(state)));
        self.host.restore_timers();
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

    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.process(&self.key1, record, out, |value, ctx, out| {
            function.process_element1(value, ctx, out)
        });
    }

    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host.process(&self.key2, record, out, |value, ctx, out| {
            function.process_element2(value, ctx, out)
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
