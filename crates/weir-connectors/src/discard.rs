//! A sink that drops everything.

use weir_core::BoxError;
use weir_runtime::sink::{Sink, SinkContext, SinkWriter};

/// Drops every record (benchmarks, jobs run for their side effects).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardingSink;

impl<T> SinkWriter<T> for DiscardingSink {
    #[inline]
    fn write(&mut self, _: T, _: Option<i64>) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<T: 'static> Sink<T> for DiscardingSink {
    fn create_writer(&self, _: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        Ok(Box::new(DiscardingSink))
    }
}
