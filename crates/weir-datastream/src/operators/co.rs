//! Operators on connected streams.

use super::CoOperator;
use crate::functions::{CoProcessFunction, Context};
use std::marker::PhantomData;
use weir_core::{StreamRecord, SubtaskInfo, NO_TIMESTAMP};
use weir_runtime::failure::{check, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};

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
    pub _types: PhantomData<fn(A, B) -> O>,
}

impl<A, B, O, P: CoProcessFunction<A, B, O>> CoOperator<A, B, O> for CoProcess<P, A, B, O> {
    fn open(&mut self) {
        let (function, info) = (&mut self.function, &self.info);
        let result = guard(&self.meta, || function.open(info));
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
