//! A split source written against the light connector API: numbers cut into
//! ranges, assigned on request, positions checkpointed. The example reads part of
//! it with three readers, takes a checkpoint, "fails", and finishes with two
//! readers from the checkpoint: every number comes out exactly once.
//!
//! Run with `cargo run -p weir-connector-api --example range_source`.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::source::{Boundedness, PollStatus, ReaderContext, SourceOutput};
use weir_connector_api::split::testing::Harness;
use weir_connector_api::split::{
    EnumeratorContext, EnumeratorInit, SourceSplit, SplitEnumerator, SplitReader, SplitSource, SplitSourceAdapter,
};
use weir_connector_api::BoxError;

/// Numbers `next..end`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Range {
    start: u64,
    next: u64,
    end: u64,
}

impl SourceSplit for Range {
    fn split_id(&self) -> String {
        format!("range-{}", self.start)
    }
}

struct Ranges {
    total: u64,
    size: u64,
}

struct Enumerator {
    unassigned: VecDeque<Range>,
}

impl SplitEnumerator<Range> for Enumerator {
    fn handle_split_request(&mut self, subtask: usize, context: &mut EnumeratorContext<Range>) -> Result<(), BoxError> {
        match self.unassigned.pop_front() {
            Some(range) => context.assign(subtask, range),
            None => context.signal_no_more_splits(subtask),
        }
        Ok(())
    }
    fn add_splits_back(&mut self, splits: Vec<Range>, _: &mut EnumeratorContext<Range>) -> Result<(), BoxError> {
        self.unassigned.extend(splits);
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<u8>, BoxError> {
        encode_state(&self.unassigned)
    }
}

struct Reader {
    ranges: VecDeque<Range>,
}

impl SplitReader<u64, Range> for Reader {
    fn add_splits(&mut self, splits: Vec<Range>) -> Result<(), BoxError> {
        self.ranges.extend(splits);
        Ok(())
    }
    fn poll_next(&mut self, output: &mut SourceOutput<'_, u64>) -> Result<PollStatus, BoxError> {
        let Some(range) = self.ranges.front_mut() else {
            return Ok(PollStatus::Finished);
        };
        // A bounded batch per poll, so checkpoints are not held up.
        let stop = range.end.min(range.next + 10);
        for n in range.next..stop {
            output.collect(n);
        }
        range.next = stop;
        if range.next == range.end {
            self.ranges.pop_front();
        }
        Ok(PollStatus::MoreAvailable)
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Range>, BoxError> {
        Ok(self.ranges.iter().cloned().collect())
    }
}

impl SplitSource<u64> for Ranges {
    type Split = Range;
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<Range>>, BoxError> {
        let unassigned = match restored {
            Some(bytes) => decode_state(bytes, "the unassigned ranges")?,
            None => (0..self.total)
                .step_by(self.size as usize)
                .map(|start| Range {
                    start,
                    next: start,
                    end: (start + self.size).min(self.total),
                })
                .collect(),
        };
        Ok(Box::new(Enumerator { unassigned }))
    }
    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SplitReader<u64, Range>>, BoxError> {
        Ok(Box::new(Reader {
            ranges: VecDeque::new(),
        }))
    }
}

fn main() -> Result<(), BoxError> {
    let adapter = Arc::new(SplitSourceAdapter::new("ranges", Ranges { total: 1000, size: 64 }));
    let mut first = Harness::start(adapter.clone(), 3, 0, None)?;
    for _ in 0..7 {
        for reader in 0..3 {
            first.poll(reader)?;
        }
    }
    let mut seen = first.take_records();
    let state = first.checkpoint(1)?;
    first.complete(1)?;
    println!(
        "checkpoint 1: {} numbers read, {} state entries",
        seen.len(),
        state.len()
    );
    for reader in 0..3 {
        first.poll(reader)?; // read after the checkpoint, then lost in the failure
    }
    drop(first);

    let mut second = Harness::start(adapter, 2, 1, Some(state))?;
    second.run_to_end(10_000)?;
    seen.extend(second.take_records());
    seen.sort_unstable();
    assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    println!("restored at parallelism 2: all 1000 numbers exactly once");
    Ok(())
}
