//! The `process` operator.

use super::{Operator, OperatorState};
use crate::functions::{Context, ProcessFunction};
use std::marker::PhantomData;
use weir_core::{StreamRecord, SubtaskInfo, NO_TIMESTAMP};
use weir_runtime::failure::{check, fail, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};
use weir_state::OperatorStateStore;

/// Runs a [`ProcessFunction`].
pub(crate) struct Process<P, I, O> {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub function: P,
    pub state: OperatorStateStore,
    pub _types: PhantomData<fn(I) -> O>,
}

/// Encodes operator state after the function's `snapshot_state` hook, for every
/// operator that runs a user function.
pub(crate) fn snapshot_operator_state(meta: &OperatorMeta, state: &OperatorStateStore) -> OperatorState {
    match state.snapshot() {
        Ok(snapshot) => OperatorState {
            keyed: None,
            operator: Some(snapshot),
        },
        Err(e) => fail(meta, e),
    }
}

impl<I, O, P: ProcessFunction<I, O>> Operator<I, O> for Process<P, I, O> {
    fn open(&mut self) {
        let (function, info, state) = (&mut self.function, &self.info, &mut self.state);
        let result = guard(&self.meta, || {
            function.open(info).and_then(|()| function.initialize_state(state))
        });
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
}
