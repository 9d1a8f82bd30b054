//! Writing a source and a sink: the connector interfaces.
//!
//! `cargo run -p weir --example custom_source_and_sink`
//!
//! The source reads a countdown split across subtasks; the sink sums what it
//! receives and reports the total when its input ends.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkWriter};
use weir::runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Counts down from `start` to 1; subtask i takes every p-th number.
struct Countdown {
    start: i64,
}

struct CountdownReader {
    next: i64,
    step: i64,
}

impl SourceReader<i64> for CountdownReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, i64>) -> Result<PollStatus, BoxError> {
        // Emit a bounded batch per poll so the task can handle control messages.
        for _ in 0..256 {
            if self.next <= 0 {
                return Ok(PollStatus::Finished);
            }
            output.collect(self.next);
            self.next -= self.step;
        }
        Ok(PollStatus::MoreAvailable)
    }
}

impl Source<i64> for Countdown {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<i64>>, BoxError> {
        Ok(Box::new(CountdownReader {
            next: self.start - context.info.index as i64,
            step: context.info.parallelism as i64,
        }))
    }
}

/// Adds everything it receives to a shared total.
struct Summing {
    total: Arc<AtomicI64>,
}

struct SummingWriter {
    local: i64,
    total: Arc<AtomicI64>,
}

impl SinkWriter<i64> for SummingWriter {
    fn write(&mut self, value: i64, _timestamp: Option<i64>) -> Result<(), BoxError> {
        self.local += value;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.total.fetch_add(self.local, Ordering::SeqCst);
        Ok(())
    }
}

impl Sink<i64> for Summing {
    fn create_writer(&self, _: &weir::runtime::sink::SinkContext) -> Result<Box<dyn SinkWriter<i64>>, BoxError> {
        Ok(Box::new(SummingWriter {
            local: 0,
            total: self.total.clone(),
        }))
    }
}

fn main() -> Result<(), WeirError> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3);
    let total = Arc::new(AtomicI64::new(0));
    env.add_source(Countdown { start: 1_000 })
        .name("countdown")
        .add_sink(Summing { total: total.clone() })
        .name("sum");
    env.execute("custom connectors")?;
    println!("sum of 1..=1000 = {}", total.load(Ordering::SeqCst));
    Ok(())
}
