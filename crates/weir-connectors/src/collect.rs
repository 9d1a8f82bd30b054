//! A sink that keeps records in memory.

use parking_lot::Mutex;
use std::sync::Arc;
use weir_core::BoxError;
use weir_runtime::sink::{Sink, SinkContext, SinkWriter};

/// Collects every record into a shared vector that a [`CollectHandle`] reads. Meant
/// for tests and examples: memory grows with the output.
#[derive(Debug)]
pub struct CollectSink<T> {
    records: Arc<Mutex<Vec<T>>>,
}

/// Reads what a [`CollectSink`] received.
#[derive(Debug)]
pub struct CollectHandle<T> {
    records: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for CollectHandle<T> {
    fn clone(&self) -> Self {
        CollectHandle {
            records: self.records.clone(),
        }
    }
}

impl<T> CollectSink<T> {
    /// A sink and the handle that reads it.
    pub fn new() -> (Self, CollectHandle<T>) {
        let records = Arc::new(Mutex::new(Vec::new()));
        (
            CollectSink {
                records: records.clone(),
            },
            CollectHandle { records },
        )
    }
}

impl<T> CollectHandle<T> {
    /// Takes the records received so far (in arrival order; subtasks interleave).
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.records.lock())
    }

    /// Number of records received so far.
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }

    /// Whether nothing was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the records received so far.
    pub fn snapshot(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.records.lock().clone()
    }
}

struct CollectWriter<T> {
    records: Arc<Mutex<Vec<T>>>,
    pending: Vec<T>,
}

impl<T: Send> SinkWriter<T> for CollectWriter<T> {
    fn write(&mut self, value: T, _: Option<i64>) -> Result<(), BoxError> {
        self.pending.push(value);
        if self.pending.len() >= 256 {
            self.records.lock().append(&mut self.pending);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        if !self.pending.is_empty() {
            self.records.lock().append(&mut self.pending);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.records.lock().append(&mut self.pending);
        Ok(())
    }
}

impl<T: Send + 'static> Sink<T> for CollectSink<T> {
    fn create_writer(&self, _: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        Ok(Box::new(CollectWriter {
            records: self.records.clone(),
            pending: Vec::new(),
        }))
    }
}
