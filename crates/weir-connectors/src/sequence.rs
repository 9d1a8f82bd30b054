//! A source of consecutive integers.

use crate::MAX_RECORDS_PER_POLL;
use weir_core::BoxError;
use weir_runtime::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader,
};

/// Emits every integer from `start` to `end` inclusive. Subtask `i` of `p` emits the
/// `i`-th of `p` contiguous, nearly equal ranges.
#[derive(Debug, Clone, Copy)]
pub struct SequenceSource {
    start: i64,
    end: i64,
}

impl SequenceSource {
    /// The numbers `start..=end` (nothing when `end < start`).
    pub fn new(start: i64, end: i64) -> Self {
        SequenceSource { start, end }
    }
}

struct SequenceReader {
    next: i128,
    end: i128,
}

impl SourceReader<i64> for SequenceReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, i64>) -> Result<PollStatus, BoxError> {
        let stop = (self.next + MAX_RECORDS_PER_POLL as i128).min(self.end + 1);
        while self.next < stop {
            output.collect(self.next as i64);
            self.next += 1;
        }
        Ok(if self.next > self.end {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }
}

impl Source<i64> for SequenceSource {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(
        &self,
        context: &ReaderContext,
    ) -> Result<Box<dyn SourceReader<i64>>, BoxError> {
        let total = (self.end as i128 - self.start as i128 + 1).max(0);
        let (p, i) = (
            context.info.parallelism.max(1) as i128,
            context.info.index as i128,
        );
        let first = self.start as i128 + total * i / p;
        let last = self.start as i128 + total * (i + 1) / p - 1;
        Ok(Box::new(SequenceReader {
            next: first,
            end: last,
        }))
    }
}
