//! The checkpoint coordinator: triggers checkpoints, collects acknowledgements,
//! completes checkpoints (metadata first, then notifications) and aborts the ones
//! that fail or time out.

use super::events::SnapshotWritten;
use crate::message::CheckpointBarrier;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weir_checkpoint::{CheckpointMetadata, LocalCheckpointStorage, TaskSnapshotHandle, METADATA_VERSION};
use weir_core::{CheckpointConfig, CheckpointMode};

/// Figures of one completed checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointStats {
    /// Checkpoint id.
    pub id: u64,
    /// From trigger to completion (metadata written).
    pub duration: Duration,
    /// Bytes of state written.
    pub bytes: u64,
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
    storage: Arc<LocalCheckpointStorage>,
    job_name: String,
    total_tasks: usize,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    last_trigger: Option<Instant>,
    last_completion: Option<Instant>,
    consecutive_failures: u32,
    ended: HashSet<(usize, usize)>,
    final_id: Option<u64>,
    pub completed: Vec<CheckpointStats>,
    pub failed: u32,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Coordinator {
    pub(crate) fn new(
        config: CheckpointConfig,
        storage: Arc<LocalCheckpointStorage>,
        job_name: String,
        first_id: u64,
    ) -> Self {
        Coordinator {
            config,
            storage,
            job_name,
            total_tasks: 0,
            next_id: first_id.max(1),
            pending: BTreeMap::new(),
            last_trigger: None,
            last_completion: None,
            consecutive_failures: 0,
            ended: HashSet::new(),
            final_id: None,
            completed: Vec::new(),
            failed: 0,
        }
    }

    /// Forgets the previous attempt's checkpoints in flight.
    pub(crate) fn start_attempt(&mut self, total_tasks: usize) {
        for id in std::mem::take(&mut self.pending).into_keys() {
            self.storage.discard(id);
        }
        self.total_tasks = total_tasks;
        self.ended.clear();
        self.final_id = None;
        self.last_trigger = Some(Instant::now());
    }

    pub(crate) fn on_end_of_input(&mut self, vertex: usize, subtask: usize) {
        self.ended.insert((vertex, subtask));
    }

    fn all_ended(&self) -> bool {
        self.total_tasks > 0 && self.ended.len() >= self.total_tasks
    }

    fn next_trigger_time(&self, now: Instant) -> Option<Instant> {
        if self.all_ended() {
            // The final checkpoint is due at once.
            return if self.final_id.is_none() { Some(now) } else { None };
        }
        let interval = self.config.interval?;
        if self.pending.len() >= self.config.max_concurrent {
            return None;
        }
        let after_interval = self.last_trigger.map_or(now, |t| t + interval);
        let after_pause = self
            .last_completion
            .map_or(after_interval, |t| (t + self.config.min_pause).max(after_interval));
        Some(after_pause)
    }

    /// The barrier to inject now, if a checkpoint is due.
    pub(crate) fn due_trigger(&mut self, now: Instant) -> Option<CheckpointBarrier> {
        if now < self.next_trigger_time(now)? {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let barrier = CheckpointBarrier {
            checkpoint_id: id,
            timestamp_ms: now_ms(),
            unaligned: self.config.mode == CheckpointMode::Unaligned,
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
            },
        );
        self.last_trigger = Some(now);
        tracing::debug!(checkpoint = id, "triggering checkpoint");
        Some(barrier)
    }

    /// When the master must wake up next (trigger or timeout).
    pub(crate) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let timeout = self.pending.values().map(|p| p.started + self.config.timeout).min();
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
            .filter(|(_, p)| now >= p.started + self.config.timeout)
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
                    },
                );
                return self.abort(id, &format!("cannot write its metadata: {e}"));
            }
        };
        let stats = CheckpointStats {
            id,
            duration: pending.started.elapsed(),
            bytes: metadata.state_bytes(),
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
            self.pending.remove(old);
            self.storage.discard(*old);
        }
        if let Err(e) = self.storage.retain(self.config.retained) {
            tracing::warn!("cannot delete old checkpoints: {e}");
        }
        let final_checkpoint = self.final_id.is_some_and(|f| id >= f) && self.all_ended();
        Decision::Completed {
            id,
            subsumed,
            final_checkpoint,
        }
    }

    fn abort(&mut self, id: u64, reason: &str) -> Decision {
        if self.pending.remove(&id).is_none() {
            return Decision::Nothing;
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
