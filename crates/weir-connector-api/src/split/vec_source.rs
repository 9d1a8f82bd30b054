//! A split source over in-memory vectors: the reference implementation of the
//! split API, used by tests and examples.

use super::{EnumeratorContext, EnumeratorInit, SourceSplit, SplitEnumerator, SplitReader, SplitSource};
use crate::codec::{decode_state, encode_state};
use crate::source::{Boundedness, PollStatus, ReaderContext, SourceOutput};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use weir_core::BoxError;

/// One vector of a [`VecSplitSource`] and how far it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VecSplit {
    /// Which vector.
    pub index: usize,
    /// How many of its elements were emitted.
    pub position: usize,
}

impl SourceSplit for VecSplit {
    fn split_id(&self) -> String {
        format!("vec-{}", self.index)
    }
}

/// A bounded source whose splits are the given vectors, handed to readers as they
/// ask (so fast readers read more splits).
#[derive(Debug, Clone)]
pub struct VecSplitSource<T> {
    splits: Arc<Vec<Vec<T>>>,
    batch: usize,
    push: bool,
}

impl<T> VecSplitSource<T> {
    /// A source of `splits`.
    pub fn new(splits: Vec<Vec<T>>) -> Self {
        VecSplitSource {
            splits: Arc::new(splits),
            batch: 1024,
            push: false,
        }
    }

    /// Assigns every split up front, round-robin, instead of on request (the way a
    /// Kafka source assigns partitions).
    pub fn assigning_up_front(mut self) -> Self {
        self.push = true;
        self
    }

    /// Emits at most `batch` records per poll (default 1024).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }
}

struct VecEnumerator {
    unassigned: VecDeque<VecSplit>,
    push: bool,
    next: usize,
}

impl VecEnumerator {
    fn push_all(&mut self, context: &mut EnumeratorContext<VecSplit>) {
        while let Some(split) = self.unassigned.pop_front() {
            context.assign(self.next, split);
            self.next += 1;
        }
    }
}

impl SplitEnumerator<VecSplit> for VecEnumerator {
    fn start(&mut self, context: &mut EnumeratorContext<VecSplit>) -> Result<(), BoxError> {
        if self.push {
            self.push_all(context);
            for subtask in 0..context.parallelism() {
                context.signal_no_more_splits(subtask);
            }
        }
        Ok(())
    }

    fn handle_split_request(
        &mut self,
        subtask: usize,
        context: &mut EnumeratorContext<VecSplit>,
    ) -> Result<(), BoxError> {
        match self.unassigned.pop_front() {
            Some(split) => context.assign(subtask, split),
            None => context.signal_no_more_splits(subtask),
        }
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<VecSplit>,
        context: &mut EnumeratorContext<VecSplit>,
    ) -> Result<(), BoxError> {
        self.unassigned.extend(splits);
        if self.push {
            self.push_all(context);
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<u8>, BoxError> {
        encode_state(&self.unassigned)
    }
}

struct VecReader<T> {
    data: Arc<Vec<Vec<T>>>,
    splits: VecDeque<VecSplit>,
    batch: usize,
}

impl<T: Clone + Send + Sync + 'static> SplitReader<T, VecSplit> for VecReader<T> {
    fn add_splits(&mut self, splits: Vec<VecSplit>) -> Result<(), BoxError> {
        for split in &splits {
            if split.index >= self.data.len() {
                return Err(format!(
                    "split {} does not exist (the source has {})",
                    split.index,
                    self.data.len()
                )
                .into());
            }
        }
        self.splits.extend(splits);
        Ok(())
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let Some(split) = self.splits.front_mut() else {
            return Ok(PollStatus::Finished);
        };
        let values = &self.data[split.index];
        let end = values.len().min(split.position.saturating_add(self.batch));
        for value in values.get(split.position..end).unwrap_or_default() {
            output.collect_in(split.index, value.clone());
        }
        split.position = end.max(split.position);
        if split.position >= values.len() {
            output.split_finished(split.index);
            self.splits.pop_front();
        }
        Ok(if self.splits.is_empty() {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<VecSplit>, BoxError> {
        Ok(self.splits.iter().cloned().collect())
    }
}

impl<T: Clone + Send + Sync + 'static> SplitSource<T> for VecSplitSource<T> {
    type Split = VecSplit;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<VecSplit>>, BoxError> {
        let unassigned = match restored {
            Some(bytes) => decode_state(bytes, "the unassigned splits of a vector source")?,
            None => (0..self.splits.len())
                .map(|index| VecSplit { index, position: 0 })
                .collect(),
        };
        Ok(Box::new(VecEnumerator {
            unassigned,
            push: self.push,
            next: 0,
        }))
    }

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SplitReader<T, VecSplit>>, BoxError> {
        Ok(Box::new(VecReader {
            data: self.splits.clone(),
            splits: VecDeque::new(),
            batch: self.batch,
        }))
    }
}
