//! What tasks and snapshot writers tell the job master, and the task reporter.

use super::writer_pool::{SnapshotJob, WriterPool};
use crate::failure::OperatorFailure;
use crate::snapshot::TaskSnapshot;
use crate::task::TaskReporter;
use std::sync::{mpsc, Arc};
use std::time::Duration;
use weir_checkpoint::TaskSnapshotHandle;

/// What happened to a task.
pub(crate) enum TaskEvent {
    /// It exited normally.
    Finished,
    /// It failed (or was cancelled).
    Failed(OperatorFailure),
    /// Its input ended and its chain emitted everything.
    EndOfInput,
    /// It handled `TaskCommand::Suspend` (and every command before it).
    Suspended,
}

/// A written task snapshot.
pub(crate) struct SnapshotWritten {
    pub handle: TaskSnapshotHandle,
    pub sync_duration: Duration,
    pub async_duration: Duration,
}

/// Messages to the job master.
pub(crate) enum MasterEvent {
    Task {
        attempt: u32,
        vertex: usize,
        subtask: usize,
        event: TaskEvent,
    },
    Snapshot {
        attempt: u32,
        checkpoint_id: u64,
        vertex: usize,
        subtask: usize,
        result: Result<SnapshotWritten, String>,
    },
    /// The user asked for a graceful stop.
    Stop,
    /// The user cancelled the job.
    Cancel,
    /// The user asked for a savepoint (and to stop the job after it, if `stop`).
    Savepoint(SavepointRequest),
}

/// A savepoint the user asked for, answered on `reply` with its directory.
pub(crate) struct SavepointRequest {
    pub target: std::path::PathBuf,
    pub stop: bool,
    pub reply: mpsc::Sender<Result<std::path::PathBuf, String>>,
}

impl SavepointRequest {
    pub(crate) fn answer(self, result: Result<std::path::PathBuf, String>) {
        let _ = self.reply.send(result);
    }
}

/// Reports one task's checkpoint events to the job master.
pub(crate) struct Reporter {
    pub attempt: u32,
    pub vertex: usize,
    pub vertex_name: String,
    pub head_operator: String,
    pub subtask: usize,
    pub parallelism: usize,
    pub events: mpsc::Sender<MasterEvent>,
    pub pool: Arc<WriterPool>,
}

impl TaskReporter for Reporter {
    fn end_of_input(&self) {
        let _ = self.events.send(MasterEvent::Task {
            attempt: self.attempt,
            vertex: self.vertex,
            subtask: self.subtask,
            event: TaskEvent::EndOfInput,
        });
    }

    fn suspended(&self) {
        let _ = self.events.send(MasterEvent::Task {
            attempt: self.attempt,
            vertex: self.vertex,
            subtask: self.subtask,
            event: TaskEvent::Suspended,
        });
    }

    fn snapshot_taken(&self, snapshot: TaskSnapshot, channel_state: Option<Vec<u8>>, sync_duration: Duration) {
        self.pool.submit(SnapshotJob {
            attempt: self.attempt,
            vertex: self.vertex,
            vertex_name: self.vertex_name.clone(),
            head_operator: self.head_operator.clone(),
            subtask: self.subtask,
            parallelism: self.parallelism,
            snapshot,
            channel_state,
            sync_duration,
        });
    }
}
