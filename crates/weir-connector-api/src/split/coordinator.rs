//! The enumerator of one job run, shared by the run's readers.

use super::{Assignment, EnumeratorContext, SourceSplit, SplitEnumerator};
use crate::source::SourceWaker;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::time::Instant;
use weir_core::BoxError;

/// What a reader gets from the coordinator on a poll.
pub(crate) struct Delivery<S> {
    pub assignments: Vec<Assignment<S>>,
    pub next_discovery: Option<Instant>,
}

/// What a reader gets from the coordinator at a checkpoint barrier.
pub(crate) struct BarrierDelivery<S> {
    /// The enumerator's state, when this reader was the first at the barrier.
    pub enumerator_state: Option<Vec<u8>>,
    /// Assignments made before the enumerator's snapshot: the reader's state must
    /// include them.
    pub assignments: Vec<Assignment<S>>,
}

struct Inner<S: SourceSplit> {
    enumerator: Box<dyn SplitEnumerator<S>>,
    context: EnumeratorContext<S>,
    started: bool,
    restored_splits: Option<Vec<S>>,
    /// The checkpoint id of the enumerator's latest snapshot in this run.
    epoch: u64,
    /// Per reader: assignments not yet taken, tagged with the epoch they were made in.
    mailboxes: Vec<VecDeque<(u64, Assignment<S>)>>,
    wakers: Vec<Option<SourceWaker>>,
    created: Vec<bool>,
    next_discovery: Option<Instant>,
    last_completed: u64,
}

/// One run's enumerator behind a lock, with the readers' mailboxes.
pub(crate) struct Coordinator<S: SourceSplit> {
    source_name: String,
    inner: Mutex<Inner<S>>,
}

impl<S: SourceSplit> Coordinator<S> {
    pub fn new(
        source_name: String,
        enumerator: Box<dyn SplitEnumerator<S>>,
        parallelism: usize,
        restored_splits: Vec<S>,
    ) -> Self {
        let parallelism = parallelism.max(1);
        Coordinator {
            source_name,
            inner: Mutex::new(Inner {
                enumerator,
                context: EnumeratorContext::new(parallelism),
                started: false,
                restored_splits: Some(restored_splits),
                epoch: 0,
                mailboxes: (0..parallelism).map(|_| VecDeque::new()).collect(),
                wakers: vec![None; parallelism],
                created: vec![false; parallelism],
                next_discovery: None,
                last_completed: 0,
            }),
        }
    }

    fn fail(&self, what: &str, e: BoxError) -> BoxError {
        format!(
            "split enumerator of source '{}' failed to {what}: {e}",
            self.source_name
        )
        .into()
    }

    /// Whether reader `index` was already created in this run (a second creation
    /// means a new run).
    pub fn is_created(&self, index: usize) -> bool {
        self.inner.lock().created.get(index).copied().unwrap_or(true)
    }

    /// Reader `index` was created; `waker` wakes it when it gets an assignment.
    pub fn register(&self, index: usize, waker: SourceWaker) -> Result<(), BoxError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if index >= inner.created.len() {
            return Err(format!(
                "source '{}': reader {index} does not exist at parallelism {}",
                self.source_name,
                inner.created.len()
            )
            .into());
        }
        inner.created[index] = true;
        inner.wakers[index] = Some(waker);
        inner.context.register(index);
        inner
            .enumerator
            .add_reader(index, &mut inner.context)
            .map_err(|e| self.fail("add a reader", e))?;
        self.route(inner);
        Ok(())
    }

    fn start(&self, inner: &mut Inner<S>) -> Result<(), BoxError> {
        if inner.started {
            return Ok(());
        }
        inner.started = true;
        if let Some(splits) = inner.restored_splits.take() {
            if !splits.is_empty() {
                inner
                    .enumerator
                    .add_splits_back(splits, &mut inner.context)
                    .map_err(|e| self.fail("take back the restored splits", e))?;
            }
        }
        inner
            .enumerator
            .start(&mut inner.context)
            .map_err(|e| self.fail("start", e))?;
        inner.next_discovery = inner.enumerator.discovery_interval().map(|d| Instant::now() + d);
        self.route(inner);
        Ok(())
    }

    /// Moves the enumerator's new assignments to the mailboxes and wakes readers.
    fn route(&self, inner: &mut Inner<S>) {
        let epoch = inner.epoch;
        for (index, assignment) in inner.context.assignments.drain(..) {
            if let Some(mailbox) = inner.mailboxes.get_mut(index) {
                mailbox.push_back((epoch, assignment));
                if let Some(Some(waker)) = inner.wakers.get(index) {
                    waker.wake();
                }
            }
        }
    }

    fn discover_if_due(&self, inner: &mut Inner<S>, now: Instant) -> Result<(), BoxError> {
        if inner.next_discovery.is_some_and(|at| at <= now) {
            inner
                .enumerator
                .discover(&mut inner.context)
                .map_err(|e| self.fail("discover splits", e))?;
            inner.next_discovery = inner.enumerator.discovery_interval().map(|d| now + d);
            self.route(inner);
            // Readers waiting for a split ask again after each discovery.
            for waker in inner.wakers.iter().flatten() {
                waker.wake();
            }
        }
        Ok(())
    }

    /// A poll of reader `index`, which stored its last snapshot at `snapshotted`;
    /// `wants_split` when it has nothing to read.
    pub fn poll(&self, index: usize, snapshotted: u64, wants_split: bool) -> Result<Delivery<S>, BoxError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        self.start(inner)?;
        self.discover_if_due(inner, Instant::now())?;
        let takeable =
            |mailbox: &VecDeque<(u64, Assignment<S>)>| mailbox.front().is_some_and(|(e, _)| *e <= snapshotted);
        if wants_split && inner.mailboxes.get(index).is_some_and(|m| m.is_empty()) {
            inner
                .enumerator
                .handle_split_request(index, &mut inner.context)
                .map_err(|e| self.fail("assign a split", e))?;
            self.route(inner);
        }
        let mut assignments = Vec::new();
        if let Some(mailbox) = inner.mailboxes.get_mut(index) {
            while takeable(mailbox) {
                if let Some((_, assignment)) = mailbox.pop_front() {
                    assignments.push(assignment);
                }
            }
        }
        Ok(Delivery {
            assignments,
            next_discovery: inner.next_discovery,
        })
    }

    /// Reader `index` reached checkpoint `checkpoint_id`'s barrier.
    pub fn barrier(&self, index: usize, checkpoint_id: u64) -> Result<BarrierDelivery<S>, BoxError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        self.start(inner)?;
        let enumerator_state = if inner.epoch < checkpoint_id {
            let state = inner
                .enumerator
                .snapshot_state(checkpoint_id)
                .map_err(|e| self.fail(&format!("snapshot its state for checkpoint {checkpoint_id}"), e))?;
            inner.epoch = checkpoint_id;
            Some(state)
        } else {
            None
        };
        let mut assignments = Vec::new();
        if let Some(mailbox) = inner.mailboxes.get_mut(index) {
            while mailbox.front().is_some_and(|(e, _)| *e < checkpoint_id) {
                if let Some((_, assignment)) = mailbox.pop_front() {
                    assignments.push(assignment);
                }
            }
        }
        Ok(BarrierDelivery {
            enumerator_state,
            assignments,
        })
    }

    /// Whether reader `index` has assignments waiting.
    pub fn has_mail(&self, index: usize) -> bool {
        self.inner.lock().mailboxes.get(index).is_some_and(|m| !m.is_empty())
    }

    /// A checkpoint completed (told once to the enumerator, whichever reader
    /// reports it first).
    pub fn checkpoint_complete(&self, checkpoint_id: u64) -> Result<(), BoxError> {
        let mut inner = self.inner.lock();
        if inner.last_completed >= checkpoint_id {
            return Ok(());
        }
        inner.last_completed = checkpoint_id;
        inner
            .enumerator
            .notify_checkpoint_complete(checkpoint_id)
            .map_err(|e| self.fail("handle a completed checkpoint", e))
    }
}
