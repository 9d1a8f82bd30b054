//! The local executor: runs a [`JobGraph`] in this process, one thread per subtask.
//!
//! [`execute`] validates the configuration, prepares checkpoint storage and the
//! restore point, starts the job master thread (see `master.rs`) and returns a
//! [`JobClient`]. The master starts the tasks, coordinates checkpoints, and on a task
//! failure cancels every task and restarts the job from the newest completed
//! checkpoint, as the restart strategy allows; otherwise the job fails with the
//! failing operator's name, subtask and cause.

mod build;
mod coordinator;
mod events;
mod master;
mod restore;
mod restore_path;
mod wiring;
mod writer_pool;

pub use coordinator::CheckpointStats;

pub use wiring::ChannelReport;

use crate::graph::{ExecutionGraph, JobGraph};
use crate::task::TaskShared;
use events::MasterEvent;
use master::{source_vertices, Master};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weir_checkpoint::CheckpointStorage;
use weir_core::{Result, WeirError};

/// Figures of one vertex after (or during) a run.
#[derive(Debug, Clone)]
pub struct VertexReport {
    /// The chain's name.
    pub name: String,
    /// Number of subtasks.
    pub parallelism: usize,
    /// Records its subtasks took in (from channels, or from the source reader)
    /// in the current attempt.
    pub records_in: u64,
}

/// One restart of a job after a failure (see [`JobHandle::restart_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRecord {
    /// Which restart it was (1 for the first).
    pub restart: u32,
    /// How long the job waited before restarting.
    pub delay: Duration,
    /// The failure that caused it.
    pub cause: String,
}

/// How many restarts [`JobHandle::restart_history`] remembers.
pub const RESTART_HISTORY: usize = 100;

/// The outcome of a job that finished.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// Name of the job.
    pub job_name: String,
    /// Wall time from start to the end of the last task.
    pub elapsed: Duration,
    /// Figures per vertex of the last attempt, in graph order.
    pub vertices: Vec<VertexReport>,
    /// Figures per channel of the last attempt.
    pub channels: Vec<ChannelReport>,
    /// How often the job restarted after a failure.
    pub restarts: u32,
    /// Completed checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointStats>,
    /// Checkpoints that failed (declined, timed out, or not written).
    pub failed_checkpoints: u32,
    /// Where this run's checkpoints are, when checkpointing is enabled.
    pub checkpoint_dir: Option<PathBuf>,
    /// The checkpoint the last attempt started from, if any.
    pub restored_from: Option<PathBuf>,
    /// The savepoint the job stopped with ([`JobClient::stop_with_savepoint`]).
    pub savepoint: Option<PathBuf>,
}

pub(crate) struct JobState {
    pub job_id: String,
    pub job_name: String,
    pub status: Mutex<JobStatus>,
    pub vertex_names: Vec<String>,
    pub tasks: Mutex<Vec<Vec<Arc<TaskShared>>>>,
    pub user_cancelled: AtomicBool,
    pub restarts: AtomicU32,
    pub restart_history: Mutex<std::collections::VecDeque<RestartRecord>>,
    pub checkpoints_completed: AtomicU64,
    pub checkpoints_failed: AtomicU64,
    pub latest_checkpoint: Mutex<Option<PathBuf>>,
    pub started: Instant,
}

impl JobState {
    fn cancel_all(&self) {
        for task in self.tasks.lock().iter().flatten() {
            task.cancel();
        }
    }

    pub(crate) fn vertex_reports(&self) -> Vec<VertexReport> {
        self.tasks
            .lock()
            .iter()
            .zip(&self.vertex_names)
            .map(|(subtasks, name)| VertexReport {
                name: name.clone(),
                parallelism: subtasks.len(),
                records_in: subtasks
                    .iter()
                    .map(|t| t.metrics.records_in.load(Ordering::Relaxed))
                    .sum(),
            })
            .collect()
    }
}

/// What a job is doing, as the REST API and the CLI show it (Flink's job states).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStatus {
    /// Tasks are running (or the job is restarting after a failure).
    Running,
    /// Every task finished (bounded input, `stop`, or stop-with-savepoint).
    Finished,
    /// The job failed; the message names the operator, subtask and cause.
    Failed(String),
    /// The job was cancelled.
    Cancelled,
}

impl JobStatus {
    /// Flink's name of the state: `RUNNING`, `FINISHED`, `FAILED` or `CANCELED`.
    pub fn name(&self) -> &'static str {
        match self {
            JobStatus::Running => "RUNNING",
            JobStatus::Finished => "FINISHED",
            JobStatus::Failed(_) => "FAILED",
            JobStatus::Cancelled => "CANCELED",
        }
    }

    /// Whether the job has ended.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, JobStatus::Running)
    }
}

/// A cloneable handle on a running job: what a control plane (the REST API, a
/// dashboard) needs to watch it, take savepoints, stop or cancel it. Obtained from
/// [`JobClient::handle`]; every [`JobClient`] method except `wait` is here.
#[derive(Clone)]
pub struct JobHandle {
    state: Arc<JobState>,
    control: mpsc::Sender<MasterEvent>,
    checkpoint_dir: Option<PathBuf>,
}

/// A handle on a running job, owning it: [`wait`](Self::wait) returns its result,
/// and dropping the client of a job still running cancels the job. Dereferences to
/// [`JobHandle`] for everything else.
pub struct JobClient {
    handle: JobHandle,
    master: Option<JoinHandle<Result<JobResult>>>,
}

impl std::fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("job_id", &self.state.job_id)
            .field("job_name", &self.state.job_name)
            .finish()
    }
}

impl std::fmt::Debug for JobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobClient")
            .field("job_id", &self.state.job_id)
            .field("job_name", &self.state.job_name)
            .finish()
    }
}

impl std::ops::Deref for JobClient {
    type Target = JobHandle;

    fn deref(&self) -> &JobHandle {
        &self.handle
    }
}

impl JobHandle {
    /// The job's id: 32 hexadecimal digits, unique per run (as Flink's `JobID`).
    pub fn job_id(&self) -> &str {
        &self.state.job_id
    }

    /// Name of the job.
    pub fn job_name(&self) -> &str {
        &self.state.job_name
    }

    /// Where this run's checkpoints go (when checkpointing is enabled).
    pub fn checkpoint_dir(&self) -> Option<&std::path::Path> {
        self.checkpoint_dir.as_deref()
    }

    /// Whether the job takes checkpoints (and so can take savepoints).
    pub fn is_checkpointing(&self) -> bool {
        self.checkpoint_dir.is_some()
    }

    /// Ends the job gracefully: sources stop reading as if their input had ended;
    /// everything already read is processed and written (with checkpoints: committed
    /// by a final checkpoint) before the job finishes.
    pub fn stop(&self) {
        let _ = self.control.send(MasterEvent::Stop);
    }

    /// Takes a savepoint into a new directory under `target` and returns that
    /// directory once it is complete. A savepoint is an aligned checkpoint in the
    /// backend-independent format that Weir never deletes; start a job from it with
    /// `restore_from`, at any parallelism and on either state backend. Needs
    /// checkpointing enabled; blocks until the savepoint completes or fails.
    pub fn trigger_savepoint(&self, target: impl Into<PathBuf>) -> Result<PathBuf> {
        self.savepoint(target.into(), false)
    }

    /// Takes a savepoint like [`trigger_savepoint`](Self::trigger_savepoint), then
    /// stops the job without draining it (no final watermark, windows do not fire):
    /// [`JobClient::wait`] returns a result whose `savepoint` is the directory.
    /// Resume with `restore_from(savepoint)`.
    ///
    /// Returns once every task has handled the savepoint's completion: every sink
    /// has committed the transactions the savepoint covers. No checkpoint follows
    /// the savepoint, so nothing written after it is committed (the resumed job
    /// replays it). Sources stop reading once the savepoint completed.
    pub fn stop_with_savepoint(&self, target: impl Into<PathBuf>) -> Result<PathBuf> {
        self.savepoint(target.into(), true)
    }

    fn savepoint(&self, target: PathBuf, stop: bool) -> Result<PathBuf> {
        let (reply, answer) = mpsc::channel();
        let request = events::SavepointRequest {
            target: target.clone(),
            stop,
            reply,
        };
        self.control
            .send(MasterEvent::Savepoint(request))
            .map_err(|_| WeirError::Checkpoint("the job has ended: no savepoint can be taken".into()))?;
        match answer.recv() {
            Ok(Ok(path)) => Ok(path),
            Ok(Err(reason)) => Err(WeirError::Checkpoint(format!(
                "savepoint into '{}' failed: {reason}",
                target.display()
            ))),
            Err(_) => Err(WeirError::Checkpoint(format!(
                "the job ended before the savepoint into '{}' completed",
                target.display()
            ))),
        }
    }

    /// Aborts the job: tasks stop at once (user code sees
    /// [`weir_core::SubtaskInfo::is_cancelled`]); [`JobClient::wait`] returns
    /// [`WeirError::Cancelled`]. Returns at once. A task that does not stop within
    /// the task cancellation timeout (`ExecutionConfig::task_cancellation_timeout`)
    /// is abandoned and `wait` returns [`WeirError::TaskStuck`] naming it.
    pub fn cancel(&self) {
        self.state.user_cancelled.store(true, Ordering::Release);
        self.state.cancel_all();
        let _ = self.control.send(MasterEvent::Cancel);
    }

    /// What the job is doing now.
    pub fn status(&self) -> JobStatus {
        self.state.status.lock().clone()
    }

    /// Whether the job has ended (finished, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.status().is_terminal()
    }

    /// Live figures per vertex of the current attempt.
    pub fn vertex_reports(&self) -> Vec<VertexReport> {
        self.state.vertex_reports()
    }

    /// How often the job has restarted so far.
    pub fn restarts(&self) -> u32 {
        self.state.restarts.load(Ordering::Relaxed)
    }

    /// The most recent restarts (at most [`RESTART_HISTORY`]), oldest first, each
    /// with its cause and the delay before it: what a console or dashboard shows.
    /// Every restart is also logged at WARN.
    pub fn restart_history(&self) -> Vec<RestartRecord> {
        self.state.restart_history.lock().iter().cloned().collect()
    }

    /// Checkpoints completed so far.
    pub fn completed_checkpoints(&self) -> u64 {
        self.state.checkpoints_completed.load(Ordering::Acquire)
    }

    /// Checkpoints that failed so far.
    pub fn failed_checkpoints(&self) -> u64 {
        self.state.checkpoints_failed.load(Ordering::Acquire)
    }

    /// The directory of the newest completed checkpoint (a valid `restore_from`
    /// target once the job is gone).
    pub fn latest_checkpoint(&self) -> Option<PathBuf> {
        self.state.latest_checkpoint.lock().clone()
    }

    /// Time since the job started.
    pub fn elapsed(&self) -> Duration {
        self.state.started.elapsed()
    }
}

impl JobClient {
    /// A cloneable handle on this job, for a control plane.
    pub fn handle(&self) -> JobHandle {
        self.handle.clone()
    }

    /// Whether the job has ended (finished, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.master.as_ref().is_none_or(|m| m.is_finished())
    }

    /// Waits for the job to end and returns its result.
    pub fn wait(mut self) -> Result<JobResult> {
        let Some(master) = self.master.take() else {
            return Err(WeirError::Internal("job already waited for".into()));
        };
        master
            .join()
            .map_err(|_| WeirError::Internal("the job master thread panicked".into()))?
    }
}

impl Drop for JobClient {
    fn drop(&mut self) {
        // A dropped client of a running job cancels it rather than leaking threads.
        if let Some(master) = self.master.take() {
            if !master.is_finished() {
                self.cancel();
            }
            let _ = master.join();
        }
    }
}

/// Starts `graph` in this process and returns a handle on the running job.
pub fn execute(graph: JobGraph) -> Result<JobClient> {
    let config = Arc::new(graph.config.clone());
    config.validate()?;
    let state_backend =
        weir_state::StateBackend::from_config(&config.state_backend).map_err(|e| WeirError::Config(e.to_string()))?;
    let graph = Arc::new(graph);
    let initial_restore = match &config.restore_from {
        Some(path) => {
            let restore = restore_path::load(path, &config.checkpointing.storage_retry)?;
            restore.check_compatible(&graph, config.allow_non_restored_state)?;
            tracing::info!(
                checkpoint = restore.checkpoint_id(),
                "starting from checkpoint '{}'",
                restore.dir.display()
            );
            Some(Arc::new(restore))
        }
        None => None,
    };
    let (events, received) = mpsc::channel::<MasterEvent>();
    let checkpointing = &config.checkpointing;
    let (storage, pool, coordinator) = if checkpointing.enabled() {
        let storage = Arc::new(
            CheckpointStorage::for_new_run(&checkpointing.directory, &graph.job_name)
                .map_err(|e| WeirError::Checkpoint(e.to_string()))?,
        );
        tracing::info!(
            "checkpoints of job '{}' go to '{}'",
            graph.job_name,
            storage.job_dir().display()
        );
        let incremental = matches!(
            &config.state_backend,
            weir_core::StateBackendConfig::RocksDb(options) if options.incremental_checkpoints
        );
        let shared = if incremental {
            let dir = storage.job_dir().join(weir_checkpoint::SHARED_DIR);
            Some(Arc::new(
                weir_checkpoint::SharedFileStore::new(dir).map_err(|e| WeirError::Checkpoint(e.to_string()))?,
            ))
        } else {
            None
        };
        let max_parallelism = (0..graph.nodes.len())
            .map(|node| (graph.operator_id(node), graph.node_max_parallelism[node]))
            .collect();
        let pool = Arc::new(writer_pool::WriterPool::new(
            storage.clone(),
            shared.clone(),
            max_parallelism,
            events.clone(),
            2,
        ));
        let first_id = initial_restore.as_ref().map_or(1, |r| r.checkpoint_id() + 1);
        let coordinator = coordinator::Coordinator::new(
            checkpointing.clone(),
            storage.clone(),
            shared,
            graph.job_name.clone(),
            first_id,
        );
        (Some(storage), Some(pool), Some(coordinator))
    } else {
        (None, None, None)
    };
    let state = Arc::new(JobState {
        job_id: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        job_name: graph.job_name.clone(),
        status: Mutex::new(JobStatus::Running),
        vertex_names: graph.vertices.iter().map(|v| v.name.clone()).collect(),
        tasks: Mutex::new(Vec::new()),
        user_cancelled: AtomicBool::new(false),
        restarts: AtomicU32::new(0),
        restart_history: Mutex::new(std::collections::VecDeque::new()),
        checkpoints_completed: AtomicU64::new(0),
        checkpoints_failed: AtomicU64::new(0),
        latest_checkpoint: Mutex::new(None),
        started: Instant::now(),
    });
    let checkpoint_dir = storage.as_ref().map(|s| s.job_dir().to_path_buf());
    let master = Master {
        source_vertices: source_vertices(&graph),
        execution: ExecutionGraph::from_job_graph(&graph),
        graph,
        config,
        state: state.clone(),
        events: events.clone(),
        received,
        storage,
        pool,
        coordinator,
        initial_restore,
        state_backend,
    };
    let ended = state.clone();
    let master = std::thread::Builder::new()
        .name("weir-job-master".into())
        .spawn(move || {
            let result = master.run();
            *ended.status.lock() = match &result {
                Ok(_) => JobStatus::Finished,
                Err(WeirError::Cancelled) => JobStatus::Cancelled,
                Err(e) => JobStatus::Failed(e.to_string()),
            };
            result
        })
        .map_err(|e| WeirError::Internal(format!("could not start the job master thread: {e}")))?;
    Ok(JobClient {
        handle: JobHandle {
            state,
            control: events,
            checkpoint_dir,
        },
        master: Some(master),
    })
}
