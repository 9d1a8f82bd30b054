//! The job master: runs attempts of a job, coordinates checkpoints, and fails over.
//!
//! An *attempt* is one set of task threads. When a task fails, the master cancels
//! the attempt, waits for its threads, asks the restart strategy for a delay, and
//! starts a new attempt from the newest valid completed checkpoint (sources rewind
//! to the positions stored in it). Checkpoint ids keep increasing across attempts.

use super::build::SubtaskBuilder;
use super::coordinator::{Coordinator, Decision};
use super::events::{MasterEvent, Reporter, SavepointRequest, TaskEvent};
use super::restore::JobRestore;
use super::wiring::{self, WiredChannel};
use super::writer_pool::WriterPool;
use super::{ChannelReport, JobResult, JobState};
use crate::failure::{into_failure, FailureCause, OperatorMeta};
use crate::graph::{ExecutionGraph, JobGraph, OperatorFactory};
use crate::task::{TaskCommand, TaskReporter, TaskShared};
use parking_lot::{Condvar, Mutex};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weir_checkpoint::CheckpointStorage;
use weir_core::{ExecutionConfig, RestartStrategy, Result, WeirError};

/// One task thread of an attempt.
struct TaskThread {
    /// The task's operators (its vertex name).
    name: String,
    subtask: usize,
    parallelism: usize,
    handle: JoinHandle<()>,
    /// Set when the thread is about to exit.
    done: Arc<AtomicBool>,
}

/// The task threads of an attempt still running, and a signal when none is.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    none_left: Condvar,
}

/// Marks a task thread as done when dropped (the last thing the thread does).
struct ExitGuard {
    running: Arc<Running>,
    done: Arc<AtomicBool>,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        let mut count = self.running.count.lock();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.running.none_left.notify_all();
        }
    }
}

/// A task that did not stop within the task cancellation timeout.
struct StuckTask {
    name: String,
    subtask: usize,
    parallelism: usize,
}

struct Attempt {
    number: u32,
    tasks: Vec<Vec<Arc<TaskShared>>>,
    threads: Vec<TaskThread>,
    running: Arc<Running>,
    wired: Vec<WiredChannel>,
}

impl Attempt {
    fn total(&self) -> usize {
        self.tasks.iter().map(Vec::len).sum()
    }

    fn cancel(&self) {
        self.tasks.iter().flatten().for_each(|t| t.cancel());
    }

    fn post_all(&self, command: TaskCommand) {
        self.tasks.iter().flatten().for_each(|t| t.post(command.clone()));
    }

    /// Waits for the task threads to end, at most `timeout` (zero: forever) once
    /// they have been cancelled; returns those still running then, whose threads
    /// are abandoned (a thread cannot be killed).
    fn join(&mut self, timeout: Duration) -> Vec<StuckTask> {
        if !timeout.is_zero() {
            let deadline = weir_core::time::deadline(Instant::now(), timeout);
            let mut count = self.running.count.lock();
            while *count > 0 {
                if self.running.none_left.wait_until(&mut count, deadline).timed_out() {
                    break;
                }
            }
        }
        let mut stuck = Vec::new();
        for thread in self.threads.drain(..) {
            if timeout.is_zero() || thread.done.load(Ordering::Acquire) {
                let _ = thread.handle.join();
            } else {
                stuck.push(StuckTask {
                    name: thread.name,
                    subtask: thread.subtask,
                    parallelism: thread.parallelism,
                });
            }
        }
        stuck
    }
}

/// A stop-with-savepoint whose savepoint completed: the job stops once every task
/// handled the completion (sinks committed its transactions).
struct Suspension {
    savepoint: std::path::PathBuf,
    request: SavepointRequest,
    acknowledged: HashSet<(usize, usize)>,
}

enum Outcome {
    Finished,
    StoppedWithSavepoint(std::path::PathBuf),
    Cancelled,
    Failed { error: WeirError, recoverable: bool },
}

pub(crate) struct Master {
    pub graph: Arc<JobGraph>,
    pub config: Arc<ExecutionConfig>,
    pub state: Arc<JobState>,
    pub events: mpsc::Sender<MasterEvent>,
    pub received: mpsc::Receiver<MasterEvent>,
    pub storage: Option<Arc<CheckpointStorage>>,
    pub pool: Option<Arc<WriterPool>>,
    pub coordinator: Option<Coordinator>,
    pub initial_restore: Option<Arc<JobRestore>>,
    pub state_backend: weir_state::StateBackend,
    pub source_vertices: Vec<usize>,
    pub execution: ExecutionGraph,
}

impl Master {
    pub(crate) fn run(mut self) -> Result<JobResult> {
        let result = self.run_attempts();
        if let Some(pool) = &self.pool {
            pool.shutdown();
        }
        result
    }

    fn run_attempts(&mut self) -> Result<JobResult> {
        let strategy = self.config.effective_restart_strategy();
        let mut restarts = 0u32;
        let mut unstable = 0u32;
        let mut restore = self.initial_restore.clone();
        let mut stopping = false;
        loop {
            let completed_before = self.state.checkpoints_completed.load(Ordering::Acquire);
            let mut attempt = self.spawn(restarts, restore.clone())?;
            *self.state.tasks.lock() = attempt.tasks.clone();
            if stopping {
                self.post_sources(&attempt, TaskCommand::Stop);
            }
            let outcome = self.supervise(&attempt, &mut stopping);
            attempt.cancel_if_needed(&outcome);
            let stuck = attempt.join(self.config.task_cancellation_timeout);
            if !stuck.is_empty() {
                return Err(self.stuck(stuck, &outcome));
            }
            match outcome {
                Outcome::Finished => {
                    let restored_from = restore.as_ref().map(|r| r.dir.clone());
                    return Ok(self.result(&attempt, restarts, restored_from, None));
                }
                Outcome::StoppedWithSavepoint(savepoint) => {
                    let restored_from = restore.as_ref().map(|r| r.dir.clone());
                    return Ok(self.result(&attempt, restarts, restored_from, Some(savepoint)));
                }
                Outcome::Cancelled => return Err(WeirError::Cancelled),
                Outcome::Failed { error, recoverable } => {
                    if !recoverable {
                        return Err(error);
                    }
                    restarts += 1;
                    let progressed = self.state.checkpoints_completed.load(Ordering::Acquire) > completed_before;
                    unstable = if progressed { 1 } else { unstable + 1 };
                    let Some(delay) = strategy.delay(restarts, unstable) else {
                        if strategy == RestartStrategy::None {
                            return Err(error);
                        }
                        tracing::error!(
                            "restart strategy exhausted after {} restarts; last failure: {error}",
                            restarts - 1
                        );
                        return Err(WeirError::RestartsExhausted {
                            restarts: restarts - 1,
                            last: Box::new(error),
                        });
                    };
                    tracing::warn!(
                        restart = restarts,
                        delay = ?delay,
                        "restarting the job in {delay:?} (restart {restarts}{}) after: {error}",
                        strategy.attempts().map(|a| format!(" of at most {a}")).unwrap_or_default()
                    );
                    {
                        let mut history = self.state.restart_history.lock();
                        if history.len() >= super::RESTART_HISTORY {
                            history.pop_front();
                        }
                        history.push_back(super::RestartRecord {
                            restart: restarts,
                            delay,
                            cause: error.to_string(),
                        });
                    }
                    self.state.restarts.store(restarts, Ordering::Relaxed);
                    if self.wait(delay, &mut stopping) {
                        return Err(WeirError::Cancelled);
                    }
                    restore = self.latest_restore()?.or_else(|| self.initial_restore.clone());
                    if let Some(r) = &restore {
                        tracing::info!(checkpoint = r.checkpoint_id(), "restoring from '{}'", r.dir.display());
                    }
                }
            }
        }
    }

    /// The checkpoint a restart resumes from: the newest valid one this run
    /// completed (damaged ones are skipped with a warning), or `None` when the run
    /// completed none. Unavailable storage is retried as configured; when no
    /// completed checkpoint can be read, the job fails rather than restart from
    /// empty state.
    fn latest_restore(&self) -> Result<Option<Arc<JobRestore>>> {
        let Some(storage) = &self.storage else {
            return Ok(None);
        };
        // The checkpoints this run completed and retention keeps.
        let completed: Vec<u64> = self
            .coordinator
            .as_ref()
            .map(|c| c.completed.iter().map(|stats| stats.id).collect())
            .unwrap_or_default();
        let keep = self.config.checkpointing.retained.max(1);
        let retained = &completed[completed.len().saturating_sub(keep)..];
        let retry = &self.config.checkpointing.storage_retry;
        match storage.latest_for_failover(retained, retry) {
            Ok(Some((dir, metadata))) => {
                let restore = JobRestore::new(dir, metadata, retry.clone());
                restore.check_compatible(&self.graph, self.config.allow_non_restored_state)?;
                Ok(Some(Arc::new(restore)))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(WeirError::Checkpoint(format!(
                "the job cannot restart: none of the checkpoints it completed can be restored, and it does not \
                 start over from empty state: {e}"
            ))),
        }
    }

    /// Waits `delay` before a restart; returns true if the job was cancelled.
    fn wait(&mut self, delay: Duration, stopping: &mut bool) -> bool {
        let deadline = weir_core::time::deadline(Instant::now(), delay);
        loop {
            if self.state.user_cancelled.load(Ordering::Acquire) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match self.received.recv_timeout(deadline - now) {
                Ok(MasterEvent::Cancel) => return true,
                Ok(MasterEvent::Stop) => *stopping = true,
                Ok(MasterEvent::Savepoint(request)) => self.request_savepoint(request),
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    fn request_savepoint(&mut self, request: SavepointRequest) {
        match &mut self.coordinator {
            Some(coordinator) => coordinator.request_savepoint(request),
            None => request.answer(Err(
                "savepoints are taken as checkpoints: enable checkpointing for this job".into(),
            )),
        }
    }

    fn post_sources(&self, attempt: &Attempt, command: TaskCommand) {
        for &vertex in &self.source_vertices {
            for task in &attempt.tasks[vertex] {
                task.post(command.clone());
            }
        }
    }

    fn supervise(&mut self, attempt: &Attempt, stopping: &mut bool) -> Outcome {
        let mut suspension = None;
        let outcome = self.supervise_until(attempt, stopping, &mut suspension);
        let Some(suspension) = suspension else {
            return outcome;
        };
        // The job ended otherwise while its sinks were committing the savepoint.
        let path = suspension.savepoint.display().to_string();
        match outcome {
            Outcome::Failed { error, .. } => {
                suspension.request.answer(Err(format!(
                    "the savepoint '{path}' was written, but the job failed before every sink committed it                      (resuming from the savepoint commits it): {error}"
                )));
                Outcome::Failed {
                    error,
                    recoverable: false,
                }
            }
            other => {
                suspension.request.answer(Err(format!(
                    "the savepoint '{path}' was written, but the job was cancelled before every sink committed it                      (resuming from the savepoint commits it)"
                )));
                other
            }
        }
    }

    fn supervise_until(
        &mut self,
        attempt: &Attempt,
        stopping: &mut bool,
        suspension: &mut Option<Suspension>,
    ) -> Outcome {
        let total = attempt.total();
        let mut finished = 0;
        if let Some(coordinator) = &mut self.coordinator {
            coordinator.start_attempt(total);
        }
        loop {
            if self.state.user_cancelled.load(Ordering::Acquire) {
                return Outcome::Cancelled;
            }
            let deadline = self.coordinator.as_ref().and_then(|c| c.next_deadline(Instant::now()));
            let wait = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(3600));
            let event = match self.received.recv_timeout(wait) {
                Ok(event) => Some(event),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Outcome::Failed {
                        error: WeirError::Internal("the job master lost its event channel".into()),
                        recoverable: false,
                    }
                }
            };
            match event {
                Some(MasterEvent::Cancel) => return Outcome::Cancelled,
                Some(MasterEvent::Savepoint(request)) => self.request_savepoint(request),
                Some(MasterEvent::Stop) => {
                    *stopping = true;
                    self.post_sources(attempt, TaskCommand::Stop);
                }
                Some(MasterEvent::Task {
                    attempt: a,
                    vertex,
                    subtask,
                    event,
                }) if a == attempt.number => match event {
                    TaskEvent::Finished => {
                        finished += 1;
                        if let Some(outcome) = Self::acknowledge(suspension, vertex, subtask, total) {
                            return outcome;
                        }
                        if finished == total {
                            return Outcome::Finished;
                        }
                    }
                    TaskEvent::Suspended => {
                        if let Some(outcome) = Self::acknowledge(suspension, vertex, subtask, total) {
                            return outcome;
                        }
                    }
                    TaskEvent::EndOfInput => {
                        if let Some(coordinator) = &mut self.coordinator {
                            coordinator.on_end_of_input(vertex, subtask);
                        }
                    }
                    TaskEvent::Failed(failure) => match failure.cause {
                        FailureCause::Cancelled => {
                            if self.state.user_cancelled.load(Ordering::Acquire) {
                                return Outcome::Cancelled;
                            }
                        }
                        FailureCause::Error(cause) => {
                            tracing::error!(operator = %failure.operator, subtask = failure.subtask, "task failed: {cause}");
                            return Outcome::Failed {
                                error: WeirError::TaskFailed {
                                    operator: failure.operator.to_string(),
                                    subtask: failure.subtask,
                                    parallelism: failure.parallelism,
                                    cause,
                                },
                                recoverable: true,
                            };
                        }
                        FailureCause::Restore(cause) => {
                            return Outcome::Failed {
                                error: WeirError::Checkpoint(format!(
                                    "operator '{}' (subtask {}) cannot start from the restored checkpoint: {cause}",
                                    failure.operator, failure.subtask
                                )),
                                recoverable: false,
                            }
                        }
                    },
                },
                Some(MasterEvent::Snapshot {
                    attempt: a,
                    checkpoint_id,
                    vertex,
                    subtask,
                    result,
                }) if a == attempt.number => {
                    let decision = self
                        .coordinator
                        .as_mut()
                        .map(|c| c.on_snapshot(checkpoint_id, vertex, subtask, result));
                    if let Some(outcome) = decision.and_then(|d| self.apply(d, attempt, suspension)) {
                        return outcome;
                    }
                }
                Some(_) | None => {}
            }
            let now = Instant::now();
            let expired = self
                .coordinator
                .as_mut()
                .map(|c| c.check_timeouts(now))
                .unwrap_or_default();
            for decision in expired {
                if let Some(outcome) = self.apply(decision, attempt, suspension) {
                    return outcome;
                }
            }
            if let Some(coordinator) = &mut self.coordinator {
                if let Some(barrier) = coordinator.due_trigger(now) {
                    if coordinator.is_savepoint(barrier.checkpoint_id) {
                        if let Some(pool) = &self.pool {
                            pool.mark_savepoint(barrier.checkpoint_id);
                        }
                    }
                    for &vertex in &self.source_vertices {
                        for task in &attempt.tasks[vertex] {
                            task.post(TaskCommand::TriggerCheckpoint(barrier));
                        }
                    }
                }
            }
        }
    }

    /// Counts task `(vertex, subtask)` as having handled the stop's savepoint; once
    /// all `total` did, answers the request and stops the job.
    fn acknowledge(
        suspension: &mut Option<Suspension>,
        vertex: usize,
        subtask: usize,
        total: usize,
    ) -> Option<Outcome> {
        let pending = suspension.as_mut()?;
        pending.acknowledged.insert((vertex, subtask));
        if pending.acknowledged.len() < total {
            return None;
        }
        let Suspension { savepoint, request, .. } = suspension.take()?;
        tracing::info!("every task handled savepoint '{}': the job stops", savepoint.display());
        request.answer(Ok(savepoint.clone()));
        Some(Outcome::StoppedWithSavepoint(savepoint))
    }

    fn apply(&self, decision: Decision, attempt: &Attempt, suspension: &mut Option<Suspension>) -> Option<Outcome> {
        match decision {
            Decision::Nothing => None,
            Decision::Completed {
                id,
                subsumed,
                final_checkpoint,
                stop_with_savepoint,
            } => {
                self.state.checkpoints_completed.fetch_add(1, Ordering::AcqRel);
                if let Some(storage) = &self.storage {
                    *self.state.latest_checkpoint.lock() = Some(storage.checkpoint_dir(id));
                }
                for old in subsumed {
                    attempt.post_all(TaskCommand::CheckpointAborted(old));
                }
                attempt.post_all(TaskCommand::CheckpointComplete(id));
                if let Some((savepoint, request)) = stop_with_savepoint {
                    // Every task handles the completion (sinks commit the
                    // savepoint's transactions), then acknowledges the suspension;
                    // the job stops when all did.
                    attempt.post_all(TaskCommand::Suspend);
                    *suspension = Some(Suspension {
                        savepoint,
                        request,
                        acknowledged: HashSet::new(),
                    });
                    return None;
                }
                if final_checkpoint {
                    attempt.post_all(TaskCommand::Finish);
                }
                None
            }
            Decision::Aborted { id, fail } => {
                self.state.checkpoints_failed.fetch_add(1, Ordering::AcqRel);
                attempt.post_all(TaskCommand::CheckpointAborted(id));
                fail.map(|message| Outcome::Failed {
                    error: WeirError::Checkpoint(message),
                    recoverable: true,
                })
            }
        }
    }

    fn spawn(&self, number: u32, restore: Option<Arc<JobRestore>>) -> Result<Attempt> {
        let graph = &self.graph;
        let tasks: Vec<Vec<Arc<TaskShared>>> = graph
            .vertices
            .iter()
            .map(|v| (0..v.parallelism).map(|_| Arc::new(TaskShared::new())).collect())
            .collect();
        let (io, wired) = wiring::wire(graph, &self.execution, &tasks);
        let mut attempt = Attempt {
            number,
            tasks: tasks.clone(),
            threads: Vec::new(),
            running: Arc::new(Running::default()),
            wired,
        };
        for (vertex, subtask_io) in graph.vertices.iter().zip(io) {
            for (subtask, io) in subtask_io.into_iter().enumerate() {
                let graph = self.graph.clone();
                let config = self.config.clone();
                let state_backend = self.state_backend.clone();
                let task = tasks[vertex.id][subtask].clone();
                let events = self.events.clone();
                let restore = restore.clone();
                let head = vertex.head;
                let vertex_id = vertex.id;
                let meta = OperatorMeta::new(vertex.name.as_str(), subtask, vertex.parallelism);
                let reporter: Option<Arc<dyn TaskReporter>> = self.pool.as_ref().map(|pool| {
                    Arc::new(Reporter {
                        attempt: number,
                        vertex: vertex.id,
                        vertex_name: vertex.name.clone(),
                        head_operator: graph.operator_id(head),
                        subtask,
                        parallelism: vertex.parallelism,
                        events: self.events.clone(),
                        pool: pool.clone(),
                    }) as Arc<dyn TaskReporter>
                });
                let thread_name = format!("weir-{}-{subtask}", graph.nodes[head].name);
                let done = Arc::new(AtomicBool::new(false));
                *attempt.running.count.lock() += 1;
                let exit = ExitGuard {
                    running: attempt.running.clone(),
                    done: done.clone(),
                };
                let spawned = std::thread::Builder::new().name(thread_name).spawn(move || {
                    // Dropped last, when everything of the task is gone.
                    let _exit = exit;
                    let outcome = match catch_unwind(AssertUnwindSafe(|| {
                        let builder = SubtaskBuilder {
                            graph: &graph,
                            config: &config,
                            subtask,
                            attempt: number,
                            task: &task,
                            io,
                            restore: restore.as_deref(),
                            reporter,
                            state_backend: &state_backend,
                        };
                        let mut body = builder.task(head)?;
                        drop(restore);
                        body.run(&task);
                        Ok(())
                    })) {
                        Ok(result) => result,
                        Err(payload) => Err(into_failure(payload, &meta)),
                    };
                    let event = match outcome {
                        Ok(()) => TaskEvent::Finished,
                        Err(failure) => TaskEvent::Failed(failure),
                    };
                    let _ = events.send(MasterEvent::Task {
                        attempt: number,
                        vertex: vertex_id,
                        subtask,
                        event,
                    });
                });
                match spawned {
                    Ok(handle) => attempt.threads.push(TaskThread {
                        name: vertex.name.clone(),
                        subtask,
                        parallelism: vertex.parallelism,
                        handle,
                        done,
                    }),
                    Err(e) => {
                        attempt.cancel();
                        attempt.join(self.config.task_cancellation_timeout);
                        return Err(WeirError::Internal(format!(
                            "could not start a thread for '{}' subtask {subtask}: {e}",
                            vertex.name
                        )));
                    }
                }
            }
        }
        Ok(attempt)
    }

    /// The error of a job whose cancelled tasks did not stop (each is logged).
    fn stuck(&self, stuck: Vec<StuckTask>, outcome: &Outcome) -> WeirError {
        let timeout = self.config.task_cancellation_timeout;
        let reason = match outcome {
            Outcome::Cancelled => "the job was cancelled".to_string(),
            Outcome::Failed { error, .. } => format!("after a failure: {error}"),
            Outcome::StoppedWithSavepoint(_) => "the job stopped with a savepoint".to_string(),
            Outcome::Finished => "the job finished".to_string(),
        };
        for task in &stuck {
            tracing::error!(
                "task '{}' (subtask {} of {}) did not stop within {timeout:?} after it was cancelled ({reason}): \
                 one of its operators never returns; its thread is abandoned",
                task.name,
                task.subtask,
                task.parallelism
            );
        }
        let first = &stuck[0];
        WeirError::TaskStuck {
            operator: first.name.clone(),
            subtask: first.subtask,
            parallelism: first.parallelism,
            timeout,
            reason,
            others: stuck.len() - 1,
        }
    }

    fn result(
        &self,
        attempt: &Attempt,
        restarts: u32,
        restored_from: Option<std::path::PathBuf>,
        savepoint: Option<std::path::PathBuf>,
    ) -> JobResult {
        let graph = &self.graph;
        let channels = attempt
            .wired
            .iter()
            .map(|w| {
                let edge = &graph.edges[w.edge];
                ChannelReport {
                    source_vertex: graph.vertices[edge.source_vertex].name.clone(),
                    source_subtask: w.source_subtask,
                    target_vertex: graph.vertices[edge.target_vertex].name.clone(),
                    target_subtask: w.target_subtask,
                    stats: w.channel.stats(),
                }
            })
            .collect();
        let (checkpoints, failed_checkpoints) = self
            .coordinator
            .as_ref()
            .map(|c| (c.completed.clone(), c.failed))
            .unwrap_or_default();
        JobResult {
            job_name: self.state.job_name.clone(),
            elapsed: self.state.started.elapsed(),
            vertices: self.state.vertex_reports(),
            channels,
            restarts,
            checkpoints,
            failed_checkpoints,
            checkpoint_dir: self.storage.as_ref().map(|s| s.job_dir().to_path_buf()),
            restored_from,
            savepoint,
        }
    }
}

impl Attempt {
    fn cancel_if_needed(&self, outcome: &Outcome) {
        if !matches!(outcome, Outcome::Finished) {
            self.cancel();
        }
    }
}

/// Vertices headed by a source.
pub(crate) fn source_vertices(graph: &JobGraph) -> Vec<usize> {
    graph
        .vertices
        .iter()
        .filter(|v| matches!(graph.nodes[v.head].operator, OperatorFactory::Source(_)))
        .map(|v| v.id)
        .collect()
}
