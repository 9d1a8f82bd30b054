//! The jobs a REST server answers for, and the savepoint operations it has started.

use crate::error::ApiError;
use crate::model::{
    JobDetail, JobOverview, QueueStatus, SavepointOutcome, SavepointStatus, VertexDetail, COMPLETED, IN_PROGRESS,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use weir_runtime::{JobHandle, JobStatus};

/// The state of one savepoint operation.
type Operation = Arc<Mutex<Option<Result<PathBuf, String>>>>;

#[derive(Default)]
struct Inner {
    jobs: Vec<JobHandle>,
    /// (job id, request id) → operation.
    operations: HashMap<(String, String), Operation>,
}

/// The jobs of this process that the REST API can see and control. Cheap to clone;
/// register each job once it is started ([`register`](Self::register)).
#[derive(Clone, Default)]
pub struct JobRegistry {
    inner: Arc<Mutex<Inner>>,
    default_savepoint_dir: Option<PathBuf>,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRegistry")
            .field("jobs", &self.inner.lock().jobs.len())
            .field("default_savepoint_dir", &self.default_savepoint_dir)
            .finish()
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Savepoints requested without a target directory go below `dir` (Flink's
    /// `state.savepoints.dir`); without it such requests are refused.
    pub fn with_default_savepoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.default_savepoint_dir = Some(dir.into());
        self
    }

    /// Makes `job` visible to the REST API.
    pub fn register(&self, job: JobHandle) {
        self.inner.lock().jobs.push(job);
    }

    /// Every registered job, oldest first.
    pub fn overview(&self) -> Vec<JobOverview> {
        self.inner
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

    /// The job whose id is `id` or starts with it (a unique prefix of at least four
    /// digits is enough, as with git commits).
    pub fn job(&self, id: &str) -> Result<JobHandle, ApiError> {
        let inner = self.inner.lock();
        if let Some(job) = inner.jobs.iter().find(|j| j.job_id() == id) {
            return Ok(job.clone());
        }
        let matching: Vec<&JobHandle> = if id.len() >= 4 {
            inner.jobs.iter().filter(|j| j.job_id().starts_with(id)).collect()
        } else {
            Vec::new()
        };
        match matching.as_slice() {
            [job] => Ok((*job).clone()),
            [] => Err(ApiError::NotFound(format!("no job with id '{id}'"))),
            _ => Err(ApiError::BadRequest(format!(
                "'{id}' is the start of {} job ids; give more digits",
                matching.len()
            ))),
        }
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
    /// id to poll with [`savepoint_status`](Self::savepoint_status).
    pub fn start_savepoint(&self, id: &str, target: Option<String>, stop: bool) -> Result<String, ApiError> {
        let job = self.job(id)?;
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
        let target = match target.filter(|t| !t.trim().is_empty()) {
            Some(target) => PathBuf::from(target),
            None => self.default_savepoint_dir.clone().ok_or_else(|| {
                ApiError::BadRequest(
                    "no target directory given and this server has no default savepoint directory".into(),
                )
            })?,
        };
        let request_id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let operation: Operation = Arc::new(Mutex::new(None));
        self.inner
            .lock()
            .operations
            .insert((job.job_id().to_string(), request_id.clone()), operation.clone());
        let spawned = std::thread::Builder::new()
            .name("weir-rest-savepoint".into())
            .spawn(move || {
                let result = if stop {
                    job.stop_with_savepoint(target)
                } else {
                    job.trigger_savepoint(target)
                };
                *operation.lock() = Some(result.map_err(|e| e.to_string()));
            });
        if let Err(e) = spawned {
            return Err(ApiError::Internal(format!("cannot start the savepoint: {e}")));
        }
        Ok(request_id)
    }

    /// The status of savepoint request `request_id` of job `id`.
    pub fn savepoint_status(&self, id: &str, request_id: &str) -> Result<SavepointStatus, ApiError> {
        let job = self.job(id)?;
        let operation = self
            .inner
            .lock()
            .operations
            .get(&(job.job_id().to_string(), request_id.to_string()))
            .cloned()
            .ok_or_else(|| {
                ApiError::NotFound(format!("job {} has no savepoint request '{request_id}'", job.job_id()))
            })?;
        let outcome = operation.lock().clone();
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

    /// Cancels job `id`.
    pub fn cancel(&self, id: &str) -> Result<(), ApiError> {
        let job = self.job(id)?;
        if !job.is_finished() {
            job.cancel();
        }
        Ok(())
    }
}
