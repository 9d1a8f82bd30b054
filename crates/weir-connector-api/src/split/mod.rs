//! Split-based sources, in the manner of Flink's FLIP-27.
//!
//! A source's input is cut into **splits**: a Kafka partition, a file, a byte range
//! of a file, a Parquet row group. One [`SplitEnumerator`] per job run discovers
//! splits and assigns them to the source's subtasks; each subtask's
//! [`SplitReader`] reads the splits it was given and reports their positions at
//! checkpoints. [`SplitSourceAdapter`] turns a [`SplitSource`] into a
//! [`Source`](crate::source::Source) the runtime runs.
//!
//! # What is checkpointed, and why it is consistent
//!
//! At checkpoint `N` every reader stores its unfinished splits with their
//! positions; the first reader to reach barrier `N` also stores the enumerator's
//! state (e.g. the files already discovered, the splits not yet assigned). An
//! assignment made *before* that enumerator snapshot is taken by its reader before
//! the reader's own snapshot `N` (so it is in exactly one of the two); one made
//! *after* it waits until its reader has stored snapshot `N` (so it is only in the
//! enumerator's state). On restore every reader receives all stored states (the
//! runtime hands them out by union); the run's enumerator is restored from its
//! state and given the stored splits back ([`SplitEnumerator::add_splits_back`]),
//! and assigns them again — at any parallelism.
//!
//! The enumerator runs inside the source's subtasks of one process, behind a lock
//! (it moves to the job master when the cluster arrives, with the same interface).
//! Discovery ([`SplitEnumerator::discover`]) runs on the readers' polls at the
//! enumerator's [`discovery_interval`](SplitEnumerator::discovery_interval).

mod adapter;
mod coordinator;
pub mod testing;
mod vec_source;

pub use adapter::SplitSourceAdapter;
pub use vec_source::{VecSplit, VecSplitSource};

use crate::source::{Boundedness, PollStatus, ReaderContext, SourceOutput};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;
use weir_core::BoxError;

/// One independently readable part of a source's input, with its position.
pub trait SourceSplit: Serialize + DeserializeOwned + Clone + Send + 'static {
    /// A stable id: the same part of the input has the same id in every run
    /// (`orders/3` for a partition, `/data/a.json@0` for a file's first range).
    fn split_id(&self) -> String;
}

/// A split handed to a reader, or the word that no more will come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment<S> {
    /// Read this split.
    Split(S),
    /// No more splits will be assigned to this reader (bounded sources).
    NoMoreSplits,
}

/// What an enumerator can see and do.
#[derive(Debug)]
pub struct EnumeratorContext<S> {
    parallelism: usize,
    registered: BTreeSet<usize>,
    pub(crate) assignments: Vec<(usize, Assignment<S>)>,
}

impl<S> EnumeratorContext<S> {
    pub(crate) fn new(parallelism: usize) -> Self {
        EnumeratorContext {
            parallelism,
            registered: BTreeSet::new(),
            assignments: Vec::new(),
        }
    }

    pub(crate) fn register(&mut self, subtask: usize) {
        self.registered.insert(subtask);
    }

    /// The number of readers (the source's parallelism).
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// The readers that have started.
    pub fn registered_readers(&self) -> &BTreeSet<usize> {
        &self.registered
    }

    /// Assigns `split` to reader `subtask` (which need not have started yet). An
    /// index at or above the parallelism is wrapped around.
    pub fn assign(&mut self, subtask: usize, split: S) {
        let subtask = subtask % self.parallelism.max(1);
        self.assignments.push((subtask, Assignment::Split(split)));
    }

    /// Tells reader `subtask` that it will get no more splits: it finishes once its
    /// splits are read.
    pub fn signal_no_more_splits(&mut self, subtask: usize) {
        let subtask = subtask % self.parallelism.max(1);
        self.assignments.push((subtask, Assignment::NoMoreSplits));
    }
}

/// What an enumerator is created with.
#[derive(Debug, Clone)]
pub struct EnumeratorInit {
    /// The source's name.
    pub source_name: String,
    /// The number of readers.
    pub parallelism: usize,
    /// Whether the job takes checkpoints is not known here; enumerators always
    /// produce their state.
    pub attempt: u32,
}

/// Discovers splits and assigns them to readers (one per job run).
pub trait SplitEnumerator<S: SourceSplit>: Send {
    /// Called once when the run starts, after a restore's splits were added back
    /// (e.g. list partitions and assign them).
    fn start(&mut self, _context: &mut EnumeratorContext<S>) -> Result<(), BoxError> {
        Ok(())
    }

    /// A reader started.
    fn add_reader(&mut self, _subtask: usize, _context: &mut EnumeratorContext<S>) -> Result<(), BoxError> {
        Ok(())
    }

    /// Reader `subtask` has no split left and asks for one. Assign one, signal
    /// no more splits (bounded input, nothing left), or do nothing (more may be
    /// discovered later; the reader asks again after each discovery).
    fn handle_split_request(&mut self, subtask: usize, context: &mut EnumeratorContext<S>) -> Result<(), BoxError>;

    /// Splits come back: the readers' stored splits after a restore (with their
    /// positions). Assign them again.
    fn add_splits_back(&mut self, splits: Vec<S>, context: &mut EnumeratorContext<S>) -> Result<(), BoxError>;

    /// How often [`discover`](Self::discover) runs (`None`: never).
    fn discovery_interval(&self) -> Option<Duration> {
        None
    }

    /// Looks for new splits (new partitions, new files) and assigns them.
    fn discover(&mut self, _context: &mut EnumeratorContext<S>) -> Result<(), BoxError> {
        Ok(())
    }

    /// The enumerator's state for a checkpoint: whatever it needs to go on after a
    /// restore without the splits it had assigned (those are stored by readers).
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>, BoxError>;

    /// A checkpoint completed.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Reads the splits assigned to one subtask.
pub trait SplitReader<T, S: SourceSplit>: Send {
    /// New splits to read (fresh ones, or restored ones with their positions).
    fn add_splits(&mut self, splits: Vec<S>) -> Result<(), BoxError>;

    /// Emits a bounded batch of records from the splits. Returns
    /// [`PollStatus::Finished`] when the reader has no unfinished split left (it
    /// may get more later); the adapter then asks the enumerator for more.
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError>;

    /// The unfinished splits with their current positions, at checkpoint
    /// `checkpoint_id`'s barrier.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<S>, BoxError>;

    /// A checkpoint completed (e.g. commit offsets to a consumer group for
    /// monitoring, acknowledge messages).
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A source made of splits: an enumerator plus one reader per subtask.
pub trait SplitSource<T>: Send + Sync + 'static {
    /// The split type, with its position.
    type Split: SourceSplit;

    /// Whether the input ends by itself.
    fn boundedness(&self) -> Boundedness;

    /// Creates the run's enumerator, from its checkpointed state after a restore.
    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<Self::Split>>, BoxError>;

    /// Creates the reader of one subtask (`context.restored` is always `None`:
    /// restored splits arrive through [`SplitReader::add_splits`]).
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SplitReader<T, Self::Split>>, BoxError>;
}
