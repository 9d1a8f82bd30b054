//! Sources over in-memory data.

use crate::MAX_RECORDS_PER_POLL;
use parking_lot::Mutex;
use std::sync::Arc;
use weir_core::BoxError;
use weir_runtime::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader,
};

/// Emits the elements of a vector. Subtask `i` of `p` emits the elements at
/// positions `i, i + p, i + 2p, …`, so at parallelism 1 the order is kept.
#[derive(Debug, Clone)]
pub struct CollectionSource<T> {
    items: Arc<Vec<T>>,
}

impl<T> CollectionSource<T> {
    /// A source over `items`.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        CollectionSource {
            items: Arc::new(items.into_iter().collect()),
        }
    }
}

struct CollectionReader<T> {
    items: Arc<Vec<T>>,
    next: usize,
    step: usize,
}

impl<T: Clone + Send + Sync + 'static> SourceReader<T> for CollectionReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        for _ in 0..MAX_RECORDS_PER_POLL {
            let Some(item) = self.items.get(self.next) else {
                return Ok(PollStatus::Finished);
            };
            output.collect(item.clone());
            self.next += self.step;
        }
        Ok(PollStatus::MoreAvailable)
    }
}

impl<T: Clone + Send + Sync + 'static> Source<T> for CollectionSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        Ok(Box::new(CollectionReader {
            items: self.items.clone(),
            next: context.info.index,
            step: context.info.parallelism.max(1),
        }))
    }
}

type BoxedIter<T> = Box<dyn Iterator<Item = T> + Send>;

/// Emits what an iterator yields; runs at parallelism 1 (an iterator cannot be
/// split) and cannot be replayed after a failure.
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

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let iterator = self
            .iterator
            .lock()
            .take()
            .ok_or("the iterator of this source was already consumed by an earlier run; an iterator source can run only once")?;
        Ok(Box::new(IteratorReader { iterator }))
    }
}
