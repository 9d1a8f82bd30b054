//! The checkpoint coordinator: triggers checkpoints, collects acknowledgements,
//! completes checkpoints (metadata first, then notifications) and aborts the ones
//! that fail or time out.

use super::events::{SavepointRequest, SnapshotWritten};
use crate::message::CheckpointBarrier;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weir_checkpoint::{
    CheckpointMetadata, CheckpointStorage, SharedFileStore, SnapshotKind, TaskSnapshotHandle, METADATA_VERSION,
};
use weir_core::time::deadline;
use weir_core::{CheckpointConfig, CheckpointMode};

/// Figures of one completed checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointStats {
    /// Checkpoint id.
    pub id: u64,
    /// From trigger to completion (metadata written).
    pub duration: Duration,
    /// Bytes written: state files, and the shared files an incremental checkpoint
    /// uploaded.
    pub bytes: u64,
    /// Bytes of state the checkpoint refers to (for an incremental checkpoint, also
    /// the shared files earlier checkpoints uploaded).
    pub state_size: u64,
    /// Longest synchronous part at any task.
    pub max_sync: Duration,
    /// Longest asynchronous part (writing) at any task.
    pub max_async: Duration,
    /// Where it is stored.
    pub path: PathBuf,
}

struct Pending {
    barrier: CheckpointBarrier,
    started: Instant,
    handles: Vec<TaskSnapshotHandle>,
    acked: HashSet<(usize, usize)>,
    max_sync: Duration,
    max_async: Duration,
    savepoint: Option<SavepointRequest>,
}

/// What the master must do after an event.
pub(crate) enum Decision {
    Nothing,
    /// Tell every task: checkpoint `id` completed (and those subsumed by it were
    /// aborted); `final_checkpoint` means tasks may finish.
    Completed {
        id: u64,
        subsumed: Vec<u64>,
        final_checkpoint: bool,
        /// The checkpoint was a savepoint taken to stop the job: its path, and the
        /// request to answer once every task handled the completion.
        stop_with_savepoint: Option<(PathBuf, SavepointRequest)>,
    },
    /// Tell every task the checkpoint was aborted; `fail` means the tolerable number
    /// of failed checkpoints was exceeded.
    Aborted {
        id: u64,
        fail: Option<String>,
    },
}

pub(crate) struct Coordinator {
    config: CheckpointConfig,
    storage: Arc<CheckpointStorage>,
    /// Shared files of incremental checkpoints, and the metadata of the retained
    /// checkpoints that may refer to them.
    shared: Option<Arc<SharedFileStore>>,
    retained: VecDeque<CheckpointMetadata>,
    job_name: String,
    total_tasks: usize,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    last_trigger: Option<Instant>,
    last_completion: Option<Instant>,
    consecutive_failures: u32,
    ended: HashSet<(usize, usize)>,
    final_id: Option<u64>,
    savepoints: VecDeque<SavepointRequest>,
    /// A savepoint that stops the job is in flight or completed: no checkpoint may
    /// follow it (its transactions would hold what the resumed job replays).
    stopping: bool,
    pub completed: Vec<CheckpointStats>,
    pub failed: u32,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(weir_core::time::millis)
        .unwrap_or(0)
}

impl Coordinator {
    pub(crate) fn new(
        config: CheckpointConfig,
        storage: Arc<CheckpointStorage>,
        shared: Option<Arc<SharedFileStore>>,
        job_name: String,
        first_id: u64,
    ) -> Self {
        Coordinator {
            config,
            storage,
            shared,
            retained: VecDeque::new(),
            job_name,
            total_tasks: 0,
            next_id: first_id.max(1),
            pending: BTreeMap::new(),
            last_trigger: None,
            last_completion: None,
            consecutive_failures: 0,
            ended: HashSet::new(),
            final_id: None,
            savepoints: VecDeque::new(),
            stopping: false,
            completed: Vec::new(),
            failed: 0,
        }
    }

    /// Forgets the previous attempt's checkpoints in flight.
    pub(crate) fn start_attempt(&mut self, total_tasks: usize) {
        for (id, pending) in std::mem::take(&mut self.pending) {
            self.storage.discard(id);
            if let Some(request) = pending.savepoint {
                request.answer(Err(format!(
                    "the job failed and restarted while savepoint {id} was being taken"
                )));
            }
        }
        self.total_tasks = total_tasks;
        self.stopping = false;
        self.ended.clear();
        self.final_id = None;
        self.last_trigger = Some(Instant::now());
    }

    pub(crate) fn on_end_of_input(&mut self, vertex: usize, subtask: usize) {
        self.ended.insert((vertex, subtask));
        if self.all_ended() {
            for request in self.savepoints.drain(..) {
                request.answer(Err(
                    "the job's input has ended: there is nothing left to savepoint".into()
                ));
            }
        }
    }

    /// Queues a savepoint: it is triggered as the next checkpoint, at once.
    pub(crate) fn request_savepoint(&mut self, request: SavepointRequest) {
        if self.stopping {
            request.answer(Err("the job is stopping with a savepoint".into()));
            return;
        }
        if self.all_ended() {
            request.answer(Err(
                "the job's input has ended: there is nothing left to savepoint".into()
            ));
            return;
        }
        self.savepoints.push_back(request);
    }

    fn all_ended(&self) -> bool {
        self.total_tasks > 0 && self.ended.len() >= self.total_tasks
    }

    fn next_trigger_time(&self, now: Instant) -> Option<Instant> {
        if self.all_ended() {
            // The final checkpoint is due at once.
            return if self.final_id.is_none() { Some(now) } else { None };
        }
        if !self.savepoints.is_empty() && self.pending.values().all(|p| p.savepoint.is_none()) {
            return Some(now);
        }
        if self.stopping {
            return None;
        }
        let interval = self.config.interval?;
        if self.pending.len() >= self.config.max_concurrent {
            return None;
        }
        let after_interval = self.last_trigger.map_or(now, |t| deadline(t, interval));
        let after_pause = self.last_completion.map_or(after_interval, |t| {
            deadline(t, self.config.min_pause).max(after_interval)
        });
        Some(after_pause)
    }

    /// The barrier to inject now, if a checkpoint is due.
    pub(crate) fn due_trigger(&mut self, now: Instant) -> Option<CheckpointBarrier> {
        if now < self.next_trigger_time(now)? {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let savepoint = if self.pending.values().all(|p| p.savepoint.is_none()) {
            self.savepoints.pop_front()
        } else {
            None
        };
        if savepoint.as_ref().is_some_and(|s| s.stop) {
            self.stopping = true;
        }
        // Savepoints are always aligned: they carry no in-flight data, so they
        // restore at any parallelism.
        let barrier = CheckpointBarrier {
            checkpoint_id: id,
            timestamp_ms: now_ms(),
            unaligned: self.config.mode == CheckpointMode::Unaligned && savepoint.is_none(),
        };
        if self.all_ended() {
            self.final_id = Some(id);
        }
        self.pending.insert(
            id,
            Pending {
                barrier,
                started: now,
                handles: Vec::new(),
                acked: HashSet::new(),
                max_sync: Duration::ZERO,
                max_async: Duration::ZERO,
                savepoint,
            },
        );
        self.last_trigger = Some(now);
        tracing::debug!(checkpoint = id, "triggering checkpoint");
        Some(barrier)
    }

    /// Whether pending checkpoint `id` is a savepoint.
    pub(crate) fn is_savepoint(&self, id: u64) -> bool {
        self.pending.get(&id).is_some_and(|p| p.savepoint.is_some())
    }

    /// When the master must wake up next (trigger or timeout).
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let timeout = self
            .pending
            .values()
            .map(|p| deadline(p.started, self.config.timeout))
            .min();
        match (self.next_trigger_time(now), timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Checkpoints that timed out, aborted.
    pub(crate) fn check_timeouts(&mut self, now: Instant) -> Vec<Decision> {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= deadline(p.started, self.config.timeout))
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .map(|id| {
                let timeout = self.config.timeout;
                self.abort(id, &format!("not completed within the timeout of {timeout:?}"))
            })
            .collect()
    }

    pub(crate) fn on_snapshot(
        &mut self,
        checkpoint_id: u64,
        vertex: usize,
        subtask: usize,
        result: Result<SnapshotWritten, String>,
    ) -> Decision {
        let Some(pending) = self.pending.get_mut(&checkpoint_id) else {
            return Decision::Nothing;
        };
        match result {
            Err(reason) => self.abort(
                checkpoint_id,
                &format!("task {vertex}[{subtask}] could not write its snapshot: {reason}"),
            ),
            Ok(written) => {
                if pending.acked.insert((vertex, subtask)) {
                    pending.max_sync = pending.max_sync.max(written.sync_duration);
                    pending.max_async = pending.max_async.max(written.async_duration);
                    pending.handles.push(written.handle);
                }
                if pending.acked.len() >= self.total_tasks {
                    self.complete(checkpoint_id)
                } else {
                    Decision::Nothing
                }
            }
        }
    }

    fn complete(&mut self, id: u64) -> Decision {
        let Some(mut pending) = self.pending.remove(&id) else {
            return Decision::Nothing;
        };
        pending
            .handles
            .sort_by(|a, b| (&a.head_operator, a.subtask).cmp(&(&b.head_operator, b.subtask)));
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_name: self.job_name.clone(),
            checkpoint_id: id,
            timestamp_ms: pending.barrier.timestamp_ms,
            mode: self.config.mode,
            kind: SnapshotKind::Checkpoint,
            tasks: pending.handles,
        };
        let path = match self.storage.commit(&metadata) {
            Ok(path) => path,
            Err(e) => {
                // Put it back so that abort() finds and counts it.
                self.pending.insert(
                    id,
                    Pending {
                        barrier: pending.barrier,
                        started: pending.started,
                        handles: Vec::new(),
                        acked: HashSet::new(),
                        max_sync: pending.max_sync,
                        max_async: pending.max_async,
                        savepoint: pending.savepoint,
                    },
                );
                return self.abort(id, &format!("cannot write its metadata: {e}"));
            }
        };
        let stats = CheckpointStats {
            id,
            duration: pending.started.elapsed(),
            bytes: metadata.written_bytes(),
            state_size: metadata.referenced_bytes(),
            max_sync: pending.max_sync,
            max_async: pending.max_async,
            path,
        };
        tracing::info!(
            checkpoint = id,
            duration = ?stats.duration,
            bytes = stats.bytes,
            "checkpoint completed"
        );
        self.completed.push(stats);
        self.consecutive_failures = 0;
        self.last_completion = Some(Instant::now());
        let subsumed: Vec<u64> = self.pending.range(..id).map(|(k, _)| *k).collect();
        for old in &subsumed {
            if let Some(request) = self.pending.remove(old).and_then(|p| p.savepoint) {
                // A later checkpoint completed first: take the savepoint again.
                self.savepoints.push_front(request);
            }
            self.storage.discard(*old);
        }
        if let Err(e) = self.storage.retain(self.config.retained) {
            tracing::warn!("cannot delete old checkpoints: {e}");
        }
        if let Some(shared) = &self.shared {
            self.retained.push_back(metadata.clone());
            while self.retained.len() > self.config.retained.max(1) {
                self.retained.pop_front();
            }
            // Files are live while a retained checkpoint lists them or a checkpoint
            // in flight uses them: references over checkpoint ids, no clock.
            let in_flight: Vec<u64> = self.pending.keys().copied().collect();
            let retained: Vec<CheckpointMetadata> = self.retained.iter().cloned().collect();
            let deleted = shared.collect_garbage(&retained, &in_flight);
            if deleted > 0 {
                tracing::debug!(checkpoint = id, deleted, "deleted unreferenced shared files");
            }
        }
        let final_checkpoint = self.final_id.is_some_and(|f| id >= f) && self.all_ended();
        let mut stop_with_savepoint = None;
        if let Some(request) = pending.savepoint {
            match self.storage.export_savepoint(&metadata, &request.target) {
                Ok(path) => {
                    tracing::info!(checkpoint = id, "savepoint written to '{}'", path.display());
                    if request.stop {
                        for other in self.savepoints.drain(..) {
                            other.answer(Err(format!(
                                "the job stopped with savepoint '{}' first",
                                path.display()
                            )));
                        }
                        // Answered once every sink has committed the savepoint.
                        stop_with_savepoint = Some((path, request));
                    } else {
                        request.answer(Ok(path));
                    }
                }
                Err(e) => {
                    self.stopping = false;
                    request.answer(Err(format!(
                        "checkpoint {id} completed, but the savepoint cannot be written: {e}"
                    )))
                }
            }
        }
        Decision::Completed {
            id,
            subsumed,
            final_checkpoint,
            stop_with_savepoint,
        }
    }

    fn abort(&mut self, id: u64, reason: &str) -> Decision {
        let Some(pending) = self.pending.remove(&id) else {
            return Decision::Nothing;
        };
        if let Some(request) = pending.savepoint {
            if request.stop {
                self.stopping = false;
            }
            request.answer(Err(format!("savepoint {id} failed: {reason}")));
        }
        self.storage.discard(id);
        self.failed += 1;
        self.consecutive_failures += 1;
        if self.final_id == Some(id) {
            self.final_id = None;
        }
        tracing::warn!(checkpoint = id, "checkpoint failed: {reason}");
        let fail = (self.consecutive_failures > self.config.tolerable_failures).then(|| {
            format!(
                "{} consecutive checkpoints failed (tolerable: {}); the last: checkpoint {id} {reason}",
                self.consecutive_failures, self.config.tolerable_failures
            )
        });
        if fail.is_some() {
            self.consecutive_failures = 0;
        }
        Decision::Aborted { id, fail }
    }
}
