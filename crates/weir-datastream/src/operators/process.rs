//! The `process` operator.

use super::Operator;
use crate::functions::{Context, ProcessFunction};
use std::marker::PhantomData;
use weir_core::{StreamRecord, SubtaskInfo, NO_TIMESTAMP};
use weir_runtime::failure::{check, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};

/// Runs a [`ProcessFunction`].
pub(crate) struct Process<P, I, O> {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub function: P,
    pub _types: PhantomData<fn(I) -> O>,
}

impl<I, O, P: ProcessFunction<I, O>> Operator<I, O> for Process<P, I, O> {
    fn open(&mut self) {
        let (function, info) = (&mut self.function, &self.info);
        let result = guard(&self.meta, || function.open(info));
        check(&self.meta, result);
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let mut ctx = Context {
            timestamp: record.timestamp,
            info: &self.info,
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
}
