//! A sink that prints records to standard output.

use std::fmt::Debug;
use std::io::Write;
use weir_core::BoxError;
use weir_runtime::sink::{Sink, SinkContext, SinkWriter};

/// Prints each record's `Debug` form on its own line of standard output. When the
/// sink runs with parallelism above 1, lines are prefixed with the 1-based subtask
/// number (`2> record`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintSink;

struct PrintWriter {
    prefix: String,
}

impl<T: Debug> SinkWriter<T> for PrintWriter {
    fn write(&mut self, value: T, _: Option<i64>) -> Result<(), BoxError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}{value:?}", self.prefix).map_err(|e| format!("cannot write to standard output: {e}"))?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        std::io::stdout()
            .flush()
            .map_err(|e| format!("cannot flush standard output: {e}"))?;
        Ok(())
    }
}

impl<T: Debug + 'static> Sink<T> for PrintSink {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let info = &context.info;
        let prefix = if info.parallelism > 1 {
            format!("{}> ", info.index + 1)
        } else {
            String::new()
        };
        Ok(Box::new(PrintWriter { prefix }))
    }
}
