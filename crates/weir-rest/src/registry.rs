//! The jobs a REST server answers for, and the savepoint operations it has started.

use crate::error::ApiError;
use crate::model::{
    JobDetail, JobOverview, QueueStatus, SavepointOutcome, SavepointStatus, VertexDetail, COMPLETED, IN_PROGRESS,
};
use crate::targets::SavepointTargets;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_runtime::{JobHandle, JobStatus};

/// One savepoint operation: its outcome once known, and whether a client has
/// fetched that outcome.
#[derive(Default)]
struct Operation {
    outcome: Option<Result<PathBuf, String>>,
    delivered: bool,
}

#[derive(Default)]
struct Inner {
    jobs: Vec<JobHandle>,
    /// (job id, request id) → operation.
    operations: HashMap<(String, String), Operation>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    /// Notified when an operation completes or its outcome is fetched.
    changed: Condvar,
}

/// The jobs of this process that the REST API can see and control, and where it
/// may write savepoints. Cheap to clone; register each job once it is started
/// ([`register`](Self::register)).
///
/// Savepoints requested over the API go below the default savepoint directory
/// ([`with_default_savepoint_dir`](Self::with_default_savepoint_dir)) or a directory
/// allowed with [`allow_savepoint_dir`](Self::allow_savepoint_dir); a request that
/// names any other place is refused with 403 before anything is written.
#[derive(Clone, Default)]
pub struct JobRegistry {
    shared: Arc<Shared>,
    default_savepoint_dir: Option<PathBuf>,
    targets: SavepointTargets,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRegistry")
            .field("jobs", &self.shared.inner.lock().jobs.len())
            .field("default_savepoint_dir", &self.default_savepoint_dir)
            .field("savepoint_targets", &self.targets)
            .finish()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Savepoints requested without a target directory go below `dir` (Flink's
    /// `state.savepoints.dir`), and requests may name `dir` or a directory below it;
    /// without any savepoint directory such requests are refused.
    pub fn with_default_savepoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.targets.allow(&dir);
        self.default_savepoint_dir = Some(dir);
        self
    }

    /// Lets requests name `dir` or a directory below it as a savepoint target (a
    /// local directory or an `s3://` prefix), besides the default directory.
    pub fn allow_savepoint_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.targets.allow(dir.as_ref());
        self
    }

    /// Makes `job` visible to the REST API.
    pub fn register(&self, job: JobHandle) {
        self.shared.inner.lock().jobs.push(job);
    }

    /// Every registered job, oldest first.
    pub fn overview(&self) -> Vec<JobOverview> {
        self.shared
            .inner
            .lock()
            .jobs
            .iter()
            .map(|job| JobOverview {
                jid: job.job_id().to_string(),
                name: job.job_name().to_string(),
                state: job.status().name().to_string(),
                duration: millis(job.elapsed()),
                restarts: job.restarts(),
                checkpoints_completed: job.completed_checkpoints(),
            })
            .collect()
    }

    /// The job whose id is exactly `id` (all 32 digits: a prefix is not enough).
    pub fn job(&self, id: &str) -> Result<JobHandle, ApiError> {
        let inner = self.shared.inner.lock();
        inner.jobs.iter().find(|j| j.job_id() == id).cloned().ok_or_else(|| {
            ApiError::NotFound(format!(
                "no job with id '{id}' (give the full id, as `weir list` shows it)"
            ))
        })
    }

    /// Details of job `id`.
    pub fn detail(&self, id: &str) -> Result<JobDetail, ApiError> {
        let job = self.job(id)?;
        let status = job.status();
        Ok(JobDetail {
            jid: job.job_id().to_string(),
            name: job.job_name().to_string(),
            state: status.name().to_string(),
            failure_cause: match status {
                JobStatus::Failed(cause) => Some(cause),
                _ => None,
            },
            duration: millis(job.elapsed()),
            restarts: job.restarts(),
            checkpoint_directory: job.checkpoint_dir().map(|d| d.display().to_string()),
            checkpoints_completed: job.completed_checkpoints(),
            checkpoints_failed: job.failed_checkpoints(),
            latest_checkpoint: job.latest_checkpoint().map(|d| d.display().to_string()),
            vertices: job
                .vertex_reports()
                .into_iter()
                .map(|v| VertexDetail {
                    name: v.name,
                    parallelism: v.parallelism,
                    read_records: v.records_in,
                })
                .collect(),
        })
    }

    /// Starts a savepoint of job `id` into `target` (or the default directory) in
    /// the background, stopping the job afterwards if `stop`; returns the request
    /// id to poll with [`savepoint_status`](Self::savepoint_status). A `target`
    /// outside the allowed directories is refused (403) before anything happens.
    pub fn start_savepoint(&self, id: &str, target: Option<String>, stop: bool) -> Result<String, ApiError> {
        let job = self.job(id)?;
        let target = match target.filter(|t| !t.trim().is_empty()) {
            Some(target) => self.targets.check(&target)?,
            None => self.default_savepoint_dir.clone().ok_or_else(|| {
                ApiError::BadRequest(
                    "no target directory given and this server has no default savepoint directory".into(),
                )
            })?,
        };
        if job.is_finished() {
            return Err(ApiError::Conflict(format!(
                "job {} is {}: no savepoint can be taken",
                job.job_id(),
                job.status().name()
            )));
        }
        if !job.is_checkpointing() {
            return Err(ApiError::BadRequest(format!(
                "job {} does not take checkpoints, so it cannot take savepoints (enable checkpointing)",
                job.job_id()
            )));
        }
        let request_id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let key = (job.job_id().to_string(), request_id.clone());
        self.shared
            .inner
            .lock()
            .operations
            .insert(key.clone(), Operation::default());
        let shared = self.shared.clone();
        let started = key.clone();
        let spawned = std::thread::Builder::new()
            .name("weir-rest-savepoint".into())
            .spawn(move || {
                let result = if stop {
                    job.stop_with_savepoint(target)
                } else {
                    job.trigger_savepoint(target)
                };
                if let Some(operation) = shared.inner.lock().operations.get_mut(&started) {
                    operation.outcome = Some(result.map_err(|e| e.to_string()));
                }
                shared.changed.notify_all();
            });
        if let Err(e) = spawned {
            self.shared.inner.lock().operations.remove(&key);
            return Err(ApiError::Internal(format!("cannot start the savepoint: {e}")));
        }
        Ok(request_id)
    }

    /// The status of savepoint request `request_id` of job `id`. Answering with a
    /// completed outcome marks it delivered (see
    /// [`wait_for_undelivered`](Self::wait_for_undelivered)).
    pub fn savepoint_status(&self, id: &str, request_id: &str) -> Result<SavepointStatus, ApiError> {
        let job = self.job(id)?;
        let outcome = {
            let mut inner = self.shared.inner.lock();
            let operation = inner
                .operations
                .get_mut(&(job.job_id().to_string(), request_id.to_string()))
                .ok_or_else(|| {
                    ApiError::NotFound(format!("job {} has no savepoint request '{request_id}'", job.job_id()))
                })?;
            if operation.outcome.is_some() {
                operation.delivered = true;
            }
            operation.outcome.clone()
        };
        if outcome.is_some() {
            self.shared.changed.notify_all();
        }
        Ok(match outcome {
            None => SavepointStatus {
                status: QueueStatus { id: IN_PROGRESS.into() },
                operation: None,
            },
            Some(result) => SavepointStatus {
                status: QueueStatus { id: COMPLETED.into() },
                operation: Some(match result {
                    Ok(location) => SavepointOutcome {
                        location: Some(location.display().to_string()),
                        failure_cause: None,
                    },
                    Err(cause) => SavepointOutcome {
                        location: None,
                        failure_cause: Some(cause),
                    },
                }),
            },
        })
    }

    /// Savepoint operations whose outcome no client has fetched yet (still running,
    /// or completed and not yet polled).
    pub fn undelivered(&self) -> usize {
        self.shared
            .inner
            .lock()
            .operations
            .values()
            .filter(|o| !o.delivered)
            .count()
    }

    /// Waits until every savepoint operation started so far has completed and its
    /// outcome has been fetched by a client, or `grace` has passed; returns whether
    /// all were delivered. A process whose job has ended calls this before it stops
    /// serving, so that `weir stop` learns where the final savepoint is.
    pub fn wait_for_undelivered(&self, grace: Duration) -> bool {
        let deadline = Instant::now().checked_add(grace);
        let mut inner = self.shared.inner.lock();
        loop {
            if inner.operations.values().all(|o| o.delivered) {
                return true;
            }
            match deadline {
                Some(deadline) => {
                    if self.shared.changed.wait_until(&mut inner, deadline).timed_out() {
                        return inner.operations.values().all(|o| o.delivered);
                    }
                }
                None => self.shared.changed.wait(&mut inner),
            }
        }
    }

    /// Cancels job `id`.
    pub fn cancel(&self, id: &str) -> Result<(), ApiError> {
        let job = self.job(id)?;
        if !job.is_finished() {
            job.cancel();
        }
        Ok(())
    }
}
