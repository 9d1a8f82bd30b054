//! A [`SplitSource`] as a [`Source`].

use super::coordinator::Coordinator;
use super::{Assignment, EnumeratorInit, SourceSplit, SplitReader, SplitSource};
use crate::codec::{decode_state, encode_state};
use crate::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader, SourceWaker, SplitStateDistribution,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::BoxError;

/// One element of a split source's checkpointed state.
#[derive(Serialize, Deserialize)]
enum Entry<S> {
    /// The enumerator's state (stored by the first reader at the barrier).
    Enumerator { checkpoint_id: u64, state: Vec<u8> },
    /// A reader's unfinished split with its position.
    Split(S),
}

struct Run<S: SourceSplit> {
    attempt: u32,
    parallelism: usize,
    coordinator: Arc<Coordinator<S>>,
}

/// Runs a [`SplitSource`] as a [`Source`]: one enumerator per job run, shared by
/// the run's readers (see the [module documentation](super) for the protocol).
///
/// One adapter serves one running job at a time: running the same source object
/// in two jobs at once is not supported (build it twice).
pub struct SplitSourceAdapter<T, S: SplitSource<T>> {
    name: String,
    source: Arc<S>,
    run: Mutex<Option<Run<S::Split>>>,
    _records: PhantomData<fn() -> T>,
}

impl<T, S: SplitSource<T>> SplitSourceAdapter<T, S> {
    /// The source `source`, named `name` in errors.
    pub fn new(name: impl Into<String>, source: S) -> Self {
        SplitSourceAdapter {
            name: name.into(),
            source: Arc::new(source),
            run: Mutex::new(None),
            _records: PhantomData,
        }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.source
    }

    fn coordinator(&self, context: &ReaderContext) -> Result<Arc<Coordinator<S::Split>>, BoxError> {
        let info = &context.info;
        let mut run = self.run.lock();
        if let Some(current) = &*run {
            if current.attempt == info.attempt
                && current.parallelism == info.parallelism
                && !current.coordinator.is_created(info.index)
            {
                return Ok(current.coordinator.clone());
            }
        }
        // The first reader of a new run: every reader got the same (union) state.
        let mut enumerator_state: Option<(u64, Vec<u8>)> = None;
        let mut splits: Vec<S::Split> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for bytes in context.restored.iter().flatten() {
            let what = format!("the split state of source '{}'", self.name);
            match decode_state::<Entry<S::Split>>(bytes, &what)? {
                Entry::Enumerator { checkpoint_id, state } => {
                    if enumerator_state.as_ref().is_none_or(|(id, _)| *id < checkpoint_id) {
                        enumerator_state = Some((checkpoint_id, state));
                    }
                }
                Entry::Split(split) => {
                    if seen.insert(split.split_id()) {
                        splits.push(split);
                    }
                }
            }
        }
        let init = EnumeratorInit {
            source_name: self.name.clone(),
            parallelism: info.parallelism,
            attempt: info.attempt,
        };
        let enumerator = self
            .source
            .create_enumerator(&init, enumerator_state.as_ref().map(|(_, s)| s.as_slice()))
            .map_err(|e| format!("source '{}': cannot create its split enumerator: {e}", self.name))?;
        let coordinator = Arc::new(Coordinator::new(
            self.name.clone(),
            enumerator,
            info.parallelism,
            splits,
        ));
        *run = Some(Run {
            attempt: info.attempt,
            parallelism: info.parallelism,
            coordinator: coordinator.clone(),
        });
        Ok(coordinator)
    }
}

impl<T: 'static, S: SplitSource<T>> Source<T> for SplitSourceAdapter<T, S> {
    fn boundedness(&self) -> Boundedness {
        self.source.boundedness()
    }

    fn state_distribution(&self) -> SplitStateDistribution {
        SplitStateDistribution::Union
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let coordinator = self.coordinator(context)?;
        let inner = self.source.create_reader(&ReaderContext {
            info: context.info.clone(),
            waker: context.waker.clone(),
            restored: None,
        })?;
        coordinator.register(context.info.index, context.waker.clone())?;
        Ok(Box::new(AdapterReader {
            coordinator,
            inner,
            index: context.info.index,
            snapshotted: 0,
            has_splits: false,
            no_more_splits: false,
            waker: context.waker.clone(),
        }))
    }
}

struct AdapterReader<T, S: SourceSplit> {
    coordinator: Arc<Coordinator<S>>,
    inner: Box<dyn SplitReader<T, S>>,
    index: usize,
    /// The latest checkpoint this reader stored its state for.
    snapshotted: u64,
    /// The inner reader has unfinished splits (as far as its last poll said).
    has_splits: bool,
    no_more_splits: bool,
    waker: SourceWaker,
}

impl<T, S: SourceSplit> AdapterReader<T, S> {
    fn apply(&mut self, assignments: Vec<Assignment<S>>) -> Result<(), BoxError> {
        let mut splits = Vec::new();
        for assignment in assignments {
            match assignment {
                Assignment::Split(split) => splits.push(split),
                Assignment::NoMoreSplits => self.no_more_splits = true,
            }
        }
        if !splits.is_empty() {
            self.has_splits = true;
            self.inner.add_splits(splits)?;
        }
        Ok(())
    }
}

impl<T, S: SourceSplit> SourceReader<T> for AdapterReader<T, S> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let delivery = self.coordinator.poll(self.index, self.snapshotted, !self.has_splits)?;
        self.apply(delivery.assignments)?;
        if !self.has_splits {
            if self.no_more_splits {
                return Ok(PollStatus::Finished);
            }
            return Ok(PollStatus::Pending {
                retry_at: delivery.next_discovery,
            });
        }
        match self.inner.poll_next(output)? {
            PollStatus::Finished => {
                // Ask for more on the next poll (or finish if none will come).
                self.has_splits = false;
                Ok(PollStatus::MoreAvailable)
            }
            PollStatus::Pending { retry_at } => Ok(PollStatus::Pending {
                retry_at: match (retry_at, delivery.next_discovery) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            }),
            status => Ok(status),
        }
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let delivery = self.coordinator.barrier(self.index, checkpoint_id)?;
        self.apply(delivery.assignments)?;
        let mut entries = Vec::new();
        if let Some(state) = delivery.enumerator_state {
            entries.push(encode_state(&Entry::<S>::Enumerator { checkpoint_id, state })?);
        }
        for split in self.inner.snapshot_state(checkpoint_id)? {
            entries.push(encode_state(&Entry::Split(split))?);
        }
        self.snapshotted = checkpoint_id;
        if self.coordinator.has_mail(self.index) {
            self.waker.wake();
        }
        Ok(entries)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.coordinator.checkpoint_complete(checkpoint_id)?;
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
}
