//! Stateless one-to-one and one-to-many operators.

use super::Operator;
use weir_core::StreamRecord;
use weir_runtime::failure::{guard, OperatorMeta};
use weir_runtime::operator::Input;

/// Applies a function to every record.
pub(crate) struct Map<F> {
    pub meta: OperatorMeta,
    pub f: F,
}

impl<I, O, F: FnMut(I) -> O + Send> Operator<I, O> for Map<F> {
    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let f = &mut self.f;
        let timestamp = record.timestamp;
        let value = guard(&self.meta, || f(record.value));
        out.process(StreamRecord { value, timestamp });
    }
}

/// Keeps the records a predicate accepts.
pub(crate) struct Filter<F> {
    pub meta: OperatorMeta,
    pub f: F,
}

impl<T, F: FnMut(&T) -> bool + Send> Operator<T, T> for Filter<F> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<T>) {
        let f = &mut self.f;
        if guard(&self.meta, || f(&record.value)) {
            out.process(record);
        }
    }
}

/// Emits every item of what a function returns for each record.
pub(crate) struct FlatMap<F> {
    pub meta: OperatorMeta,
    pub f: F,
}

impl<I, O, R, F> Operator<I, O> for FlatMap<F>
where
    F: FnMut(I) -> R + Send,
    R: IntoIterator<Item = O>,
{
    #[inline]
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>) {
        let f = &mut self.f;
        let timestamp = record.timestamp;
        let meta = &self.meta;
        guard(meta, || {
            for value in f(record.value) {
                out.process(StreamRecord { value, timestamp });
            }
        });
    }
}
