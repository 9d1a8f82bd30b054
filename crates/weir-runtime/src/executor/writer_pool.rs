//! The asynchronous part of snapshots: writing state files off the task threads.

use super::events::{MasterEvent, SnapshotWritten};
use crate::failure::panic_message;
use crate::snapshot::TaskSnapshot;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weir_checkpoint::{CheckpointStorage, OperatorSnapshotHandle, SharedFileStore, TaskSnapshotHandle};

/// One task's snapshot to write.
pub(crate) struct SnapshotJob {
    pub attempt: u32,
    pub vertex: usize,
    pub vertex_name: String,
    pub head_operator: String,
    pub subtask: usize,
    pub parallelism: usize,
    pub snapshot: TaskSnapshot,
    pub channel_state: Option<Vec<u8>>,
    pub sync_duration: Duration,
}

/// A few threads that write snapshots and acknowledge (or decline) checkpoints.
pub(crate) struct WriterPool {
    sender: Mutex<Option<mpsc::Sender<SnapshotJob>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Checkpoints that are savepoints: always written in full.
    savepoints: Arc<Mutex<HashSet<u64>>>,
}

/// How keyed state is written: in full, or incrementally into shared files; and
/// each operator's max parallelism, recorded with its state.
#[derive(Clone)]
pub(crate) struct WriteMode {
    pub shared: Option<Arc<SharedFileStore>>,
    pub savepoints: Arc<Mutex<HashSet<u64>>>,
    pub max_parallelism: Arc<HashMap<String, usize>>,
}

impl WriterPool {
    /// `shared` set: keyed state is written incrementally where the backend can.
    /// `max_parallelism`: every operator's max parallelism, by operator id.
    pub(crate) fn new(
        storage: Arc<CheckpointStorage>,
        shared: Option<Arc<SharedFileStore>>,
        max_parallelism: HashMap<String, usize>,
        events: mpsc::Sender<MasterEvent>,
        threads: usize,
    ) -> Self {
        let savepoints = Arc::new(Mutex::new(HashSet::new()));
        let mode = WriteMode {
            shared,
            savepoints: savepoints.clone(),
            max_parallelism: Arc::new(max_parallelism),
        };
        let (sender, receiver) = mpsc::channel::<SnapshotJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let storage = storage.clone();
            let events = events.clone();
            let mode = mode.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("weir-snapshot-{i}"))
                .spawn(move || loop {
                    let job = receiver.lock().recv();
                    let Ok(job) = job else { break };
                    let (attempt, checkpoint_id, vertex, subtask) =
                        (job.attempt, job.snapshot.checkpoint_id, job.vertex, job.subtask);
                    let started = Instant::now();
                    let sync_duration = job.sync_duration;
                    let result = match catch_unwind(AssertUnwindSafe(|| write(&storage, &mode, job))) {
                        Ok(result) => result,
                        Err(payload) => Err(format!("panicked while writing: {}", panic_message(&*payload))),
                    };
                    let result = result.map(|handle| SnapshotWritten {
                        handle,
                        sync_duration,
                        async_duration: started.elapsed(),
                    });
                    let _ = events.send(MasterEvent::Snapshot {
                        attempt,
                        checkpoint_id,
                        vertex,
                        subtask,
                        result,
                    });
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => tracing::error!("cannot start a snapshot writer thread: {e}"),
            }
        }
        WriterPool {
            sender: Mutex::new(Some(sender)),
            threads: Mutex::new(handles),
            savepoints,
        }
    }

    /// Checkpoint `id` is a savepoint: its state is written in full.
    pub(crate) fn mark_savepoint(&self, id: u64) {
        self.savepoints.lock().insert(id);
    }

    pub(crate) fn submit(&self, job: SnapshotJob) {
        if let Some(sender) = &*self.sender.lock() {
            let _ = sender.send(job);
        }
    }

    /// Lets the threads finish queued work and exit.
    pub(crate) fn shutdown(&self) {
        self.sender.lock().take();
        for handle in self.threads.lock().drain(..) {
            let _ = handle.join();
        }
    }
}

fn write(storage: &CheckpointStorage, mode: &WriteMode, job: SnapshotJob) -> Result<TaskSnapshotHandle, String> {
    let SnapshotJob {
        vertex,
        vertex_name,
        head_operator,
        subtask,
        parallelism,
        snapshot,
        channel_state,
        ..
    } = job;
    let mut handle = TaskSnapshotHandle {
        vertex: vertex_name,
        head_operator,
        subtask,
        parallelism,
        file: None,
        operators: Vec::new(),
        channel_state: None,
    };
    if snapshot.operators.is_empty() && channel_state.is_none() {
        return Ok(handle);
    }
    let checkpoint_id = snapshot.checkpoint_id;
    let shared = match &mode.shared {
        Some(shared) if !mode.savepoints.lock().contains(&checkpoint_id) => Some(shared.clone()),
        _ => None,
    };
    let name = format!("task-{vertex}-{subtask}.state");
    let mut out = storage
        .create_state_file(snapshot.checkpoint_id, &name)
        .map_err(|e| e.to_string())?;
    for operator in snapshot.operators {
        let max_parallelism = *mode
            .max_parallelism
            .get(&operator.operator_id)
            .ok_or_else(|| format!("operator '{}' is not in the job graph", operator.operator_id))?;
        let keyed = match operator.keyed {
            Some(keyed) => {
                out.begin_section();
                let written = match &shared {
                    Some(shared) => keyed.write_incremental(&mut out, &shared.for_checkpoint(checkpoint_id)),
                    None => keyed.write(&mut out),
                };
                let keyed_handle = written.map_err(|e| format!("operator '{}': {e}", operator.operator_id))?;
                Some((out.end_section(), keyed_handle))
            }
            None => None,
        };
        let operator_state = match operator.operator_state {
            Some(state) => {
                let bytes = bincode::serde::encode_to_vec(&state, bincode::config::standard())
                    .map_err(|e| format!("operator '{}': {e}", operator.operator_id))?;
                out.begin_section();
                out.write_all(&bytes)
                    .map_err(|e| format!("{}: {e}", out.path().display()))?;
                Some(out.end_section())
            }
            None => None,
        };
        handle.operators.push(OperatorSnapshotHandle {
            operator_id: operator.operator_id,
            max_parallelism,
            keyed,
            operator_state,
        });
    }
    if let Some(bytes) = channel_state {
        out.begin_section();
        out.write_all(&bytes)
            .map_err(|e| format!("{}: {e}", out.path().display()))?;
        handle.channel_state = Some(out.end_section());
    }
    handle.file = Some(out.finish().map_err(|e| e.to_string())?);
    Ok(handle)
}
