//! Sources over in-memory data.

use crate::split_state::{decode_all, encode};
use crate::MAX_RECORDS_PER_POLL;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_core::BoxError;
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Emits the elements of a vector. Subtask `i` of `p` emits the elements at
/// positions `i, i + p, i + 2p, …`, so at parallelism 1 the order is kept. Its
/// position is checkpointed, so after a failure it resumes where the restored
/// checkpoint left off.
#[derive(Debug, Clone)]
pub struct CollectionSource<T> {
    items: Arc<Vec<T>>,
    per_poll: usize,
}

impl<T> CollectionSource<T> {
    /// A source over `items`.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        CollectionSource {
            items: Arc::new(items.into_iter().collect()),
            per_poll: MAX_RECORDS_PER_POLL,
        }
    }

    /// Emits at most `records` records per poll (default 1024). Watermarks and
    /// checkpoint barriers enter the stream between polls, so `1` places them
    /// between any two records: deterministic event-time tests use it.
    pub fn with_records_per_poll(mut self, records: usize) -> Self {
        self.per_poll = records.max(1);
        self
    }
}

/// Every `step`-th position from `next` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StridedSplit {
    pub next: u64,
    pub step: u64,
}

struct CollectionReader<T> {
    items: Arc<Vec<T>>,
    splits: Vec<StridedSplit>,
    per_poll: usize,
}

impl<T: Clone + Send + Sync + 'static> SourceReader<T> for CollectionReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let mut budget = self.per_poll;
        while let Some(split) = self.splits.first_mut() {
            while budget > 0 {
                let Some(item) = self.items.get(split.next as usize) else {
                    break;
                };
                output.collect_in((split.next % split.step) as usize, item.clone());
                split.next += split.step;
                budget -= 1;
            }
            if budget == 0 {
                return Ok(PollStatus::MoreAvailable);
            }
            self.splits.remove(0);
        }
        Ok(PollStatus::Finished)
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.splits.iter().map(encode).collect()
    }
}

impl<T: Clone + Send + Sync + 'static> Source<T> for CollectionSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let splits = match &context.restored {
            Some(restored) => decode_all(restored, "a collection source")?,
            None => vec![StridedSplit {
                next: context.info.index as u64,
                step: context.info.parallelism.max(1) as u64,
            }],
        };
        Ok(Box::new(CollectionReader {
            items: self.items.clone(),
            splits,
            per_poll: self.per_poll,
        }))
    }
}

type BoxedIter<T> = Box<dyn Iterator<Item = T> + Send>;

/// Emits what an iterator yields; runs at parallelism 1 (an iterator cannot be
/// split) and cannot be replayed, so it cannot run in a job with checkpoints.
pub struct IteratorSource<T> {
    iterator: Mutex<Option<BoxedIter<T>>>,
    bounded: bool,
}

impl<T> std::fmt::Debug for IteratorSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IteratorSource")
            .field("bounded", &self.bounded)
            .finish()
    }
}

impl<T> IteratorSource<T> {
    /// A bounded source over `iterator` (the job finishes when it is exhausted).
    pub fn new(iterator: impl Iterator<Item = T> + Send + 'static) -> Self {
        IteratorSource {
            iterator: Mutex::new(Some(Box::new(iterator))),
            bounded: true,
        }
    }

    /// A source over an endless iterator.
    pub fn unbounded(iterator: impl Iterator<Item = T> + Send + 'static) -> Self {
        IteratorSource {
            iterator: Mutex::new(Some(Box::new(iterator))),
            bounded: false,
        }
    }
}

struct IteratorReader<T> {
    iterator: BoxedIter<T>,
}

impl<T: Send + 'static> SourceReader<T> for IteratorReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        for _ in 0..MAX_RECORDS_PER_POLL {
            match self.iterator.next() {
                Some(item) => output.collect(item),
                None => return Ok(PollStatus::Finished),
            }
        }
        Ok(PollStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Err(
            "an iterator source cannot be checkpointed (it cannot replay its input); use a collection, \
             sequence, generator or file source in jobs with checkpoints"
                .into(),
        )
    }
}

impl<T: Send + 'static> Source<T> for IteratorSource<T> {
    fn boundedness(&self) -> Boundedness {
        if self.bounded {
            Boundedness::Bounded
        } else {
            Boundedness::Unbounded
        }
    }

    fn max_parallelism(&self) -> Option<usize> {
        Some(1)
    }

    fn replayable(&self) -> bool {
        false
    }

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let iterator = self.iterator.lock().take().ok_or(
            "the iterator of this source was already consumed by an earlier run; an iterator source can run only once",
        )?;
        Ok(Box::new(IteratorReader { iterator }))
    }
}
