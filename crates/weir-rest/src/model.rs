//! The JSON bodies of the REST API, shared by the server and the client. Field
//! names follow Flink's REST API, so that scripts written against Flink's endpoints
//! read Weir's too.

use serde::{Deserialize, Serialize};

/// One job in `GET /jobs/overview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOverview {
    /// The job's id (32 hexadecimal digits).
    pub jid: String,
    /// The job's name.
    pub name: String,
    /// `RUNNING`, `FINISHED`, `FAILED` or `CANCELED`.
    pub state: String,
    /// Milliseconds since the job started.
    pub duration: u64,
    /// Restarts after failures so far.
    pub restarts: u32,
    /// Checkpoints completed so far.
    #[serde(rename = "checkpoints-completed")]
    pub checkpoints_completed: u64,
}

/// `GET /jobs/overview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsOverview {
    /// Every job this process has run, newest last.
    pub jobs: Vec<JobOverview>,
}

/// One vertex (operator chain) in `GET /jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexDetail {
    /// The chain's name.
    pub name: String,
    /// Its number of subtasks.
    pub parallelism: usize,
    /// Records its subtasks took in during the current attempt.
    #[serde(rename = "read-records")]
    pub read_records: u64,
}

/// `GET /jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The job's id.
    pub jid: String,
    /// The job's name.
    pub name: String,
    /// `RUNNING`, `FINISHED`, `FAILED` or `CANCELED`.
    pub state: String,
    /// Why the job failed, when it did.
    #[serde(rename = "failure-cause", skip_serializing_if = "Option::is_none", default)]
    pub failure_cause: Option<String>,
    /// Milliseconds since the job started.
    pub duration: u64,
    /// Restarts after failures so far.
    pub restarts: u32,
    /// Where the run's checkpoints go, when it takes checkpoints.
    #[serde(rename = "checkpoint-directory", skip_serializing_if = "Option::is_none", default)]
    pub checkpoint_directory: Option<String>,
    /// Checkpoints completed so far.
    #[serde(rename = "checkpoints-completed")]
    pub checkpoints_completed: u64,
    /// Checkpoints failed so far.
    #[serde(rename = "checkpoints-failed")]
    pub checkpoints_failed: u64,
    /// The newest completed checkpoint's directory.
    #[serde(rename = "latest-checkpoint", skip_serializing_if = "Option::is_none", default)]
    pub latest_checkpoint: Option<String>,
    /// The job's vertices in graph order.
    pub vertices: Vec<VertexDetail>,
}

/// `POST /jobs/{id}/savepoints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavepointTriggerRequest {
    /// Where to write the savepoint (a new `savepoint-<n>-<time>` directory below
    /// it); the server's default savepoint directory when absent.
    #[serde(rename = "target-directory", skip_serializing_if = "Option::is_none", default)]
    pub target_directory: Option<String>,
    /// Stop the job once the savepoint is complete.
    #[serde(rename = "cancel-job", default)]
    pub cancel_job: bool,
}

/// `POST /jobs/{id}/stop`: stop with a savepoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// Where to write the savepoint; the server's default when absent.
    #[serde(rename = "targetDirectory", skip_serializing_if = "Option::is_none", default)]
    pub target_directory: Option<String>,
    /// Flink's `drain` (emit the final watermark before stopping); Weir stops
    /// without draining and refuses `true`.
    #[serde(default)]
    pub drain: bool,
}

/// The answer to an asynchronous operation's trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerResponse {
    /// The id to poll the operation's status with.
    #[serde(rename = "request-id")]
    pub request_id: String,
}

/// `IN_PROGRESS` or `COMPLETED` (successfully or not: see the operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStatus {
    /// `IN_PROGRESS` or `COMPLETED`.
    pub id: String,
}

/// The outcome of a completed savepoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavepointOutcome {
    /// The savepoint's directory, when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<String>,
    /// Why it failed, when it did.
    #[serde(rename = "failure-cause", skip_serializing_if = "Option::is_none", default)]
    pub failure_cause: Option<String>,
}

/// `GET /jobs/{id}/savepoints/{request-id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavepointStatus {
    /// Whether the savepoint is still in progress.
    pub status: QueueStatus,
    /// Present once completed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation: Option<SavepointOutcome>,
}

/// `IN_PROGRESS`.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
/// `COMPLETED`.
pub const COMPLETED: &str = "COMPLETED";

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub errors: Vec<String>,
}
