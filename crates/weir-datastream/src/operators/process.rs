//! The `process` operator.

use super::host::FunctionHost;
use super::{Operator, OperatorState};
use crate::functions::ProcessFunction;
use std::marker::PhantomData;
use weir_core::StreamRecord;
use weir_runtime::operator::Input;

/// Runs a [`ProcessFunction`].
pub(crate) struct Process<P, I, O> {
    pub host: FunctionHost,
    pub function: P,
    pub _types: PhantomData<fn(I) -> O>,
}

impl<I, O, P: ProcessFunction<I, O>> Operator<I, O> for Process<P, I, O> {
    fn open(&mut self) {
        let function = &mut self.function;
        self.host
            .open(|info, state| function.open(info).and_then(|()| function.initialize_state(state)));
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let function = &mut self.function;
        self.host
            .process(record, out, |value, ctx, out| function.process_element(value, ctx, out));
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
