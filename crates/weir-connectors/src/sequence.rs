//! A source of consecutive integers.

use crate::split_state::{decode_all, encode};
use crate::MAX_RECORDS_PER_POLL;
use serde::{Deserialize, Serialize};
use weir_core::BoxError;
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Emits every integer from `start` to `end` inclusive. Subtask `i` of `p` emits the
/// `i`-th of `p` contiguous, nearly equal ranges. Its position is checkpointed.
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

/// The numbers `next..=last` still to emit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RangeSplit {
    next: i128,
    last: i128,
}

struct SequenceReader {
    splits: Vec<RangeSplit>,
}

impl SourceReader<i64> for SequenceReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, i64>) -> Result<PollStatus, BoxError> {
        let Some(split) = self.splits.first_mut() else {
            return Ok(PollStatus::Finished);
        };
        let stop = (split.next + MAX_RECORDS_PER_POLL as i128).min(split.last + 1);
        while split.next < stop {
            output.collect(split.next as i64);
            split.next += 1;
        }
        if split.next > split.last {
            self.splits.remove(0);
        }
        Ok(if self.splits.is_empty() {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.splits.iter().map(encode).collect()
    }
}

impl Source<i64> for SequenceSource {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<i64>>, BoxError> {
        let splits = match &context.restored {
            Some(restored) => decode_all(restored, "a sequence source")?,
            None => {
                let total = (self.end as i128 - self.start as i128 + 1).max(0);
                let (p, i) = (context.info.parallelism.max(1) as i128, context.info.index as i128);
                let next = self.start as i128 + total * i / p;
                let last = self.start as i128 + total * (i + 1) / p - 1;
                vec![RangeSplit { next, last }]
            }
        };
        Ok(Box::new(SequenceReader {
            splits: splits.into_iter().filter(|s| s.next <= s.last).collect(),
        }))
    }
}
