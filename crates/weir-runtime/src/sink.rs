//! The sink interface: how records leave a job.

use crate::failure::{check, guard, OperatorMeta};
use crate::operator::{ChainElement, Input};
use weir_core::{BoxError, StreamRecord, SubtaskInfo, Watermark};

/// Writes one subtask's records to the outside world.
pub trait SinkWriter<T>: Send {
    /// Writes one record. `timestamp` is its event time, if it has one.
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError>;

    /// The input has ended: make everything written durable and visible.
    fn finish(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A destination for records of type `T`.
pub trait Sink<T>: Send + Sync + 'static {
    /// Creates the writer of one subtask.
    fn create_writer(&self, info: &SubtaskInfo) -> Result<Box<dyn SinkWriter<T>>, BoxError>;
}

/// The chain element that drives a [`SinkWriter`].
pub struct SinkOperator<T> {
    meta: OperatorMeta,
    writer: Box<dyn SinkWriter<T>>,
}

impl<T> SinkOperator<T> {
    /// An operator writing through `writer`; failures are reported as `meta`'s.
    pub fn new(meta: OperatorMeta, writer: Box<dyn SinkWriter<T>>) -> Self {
        SinkOperator { meta, writer }
    }
}

impl<T: Send> ChainElement for SinkOperator<T> {
    fn open(&mut self) {}
    fn process_watermark(&mut self, _: Watermark) {}
    fn flush(&mut self) {}
    fn end_input(&mut self) {
        let writer = &mut self.writer;
        let result = guard(&self.meta, || writer.finish());
        check(&self.meta, result);
    }
}

impl<T: Send> Input<T> for SinkOperator<T> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) {
        let writer = &mut self.writer;
        let timestamp = record.timestamp();
        let result = guard(&self.meta, || writer.write(record.value, timestamp));
        check(&self.meta, result);
    }
}
