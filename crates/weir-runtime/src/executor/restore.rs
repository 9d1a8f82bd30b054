//! Restoring a job from a checkpoint: which state each operator subtask starts from.
//!
//! The job master only chooses and verifies the checkpoint (its metadata, and the
//! size and checksum of every file, streamed); it never holds state in memory.
//! Each task, when it builds, reads the sections of the state files it needs
//! (its key groups' keyed state, its share of operator state, its channel state)
//! and verifies each section's checksum.

use crate::graph::JobGraph;
use crate::snapshot::{ChannelStateEntry, OperatorRestore, Restored};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_checkpoint::{
    CheckpointError, CheckpointMetadata, CheckpointStorage, OperatorSnapshotHandle, Section, SharedFileStore,
    TaskSnapshotHandle,
};
use weir_core::keygroup::KeyGroupRange;
use weir_core::{StorageRetry, WeirError};
use weir_state::{redistribute, OperatorStateSnapshot};

/// A verified checkpoint to restore from; tasks read their state from it.
pub(crate) struct JobRestore {
    pub dir: PathBuf,
    pub metadata: CheckpointMetadata,
    retry: StorageRetry,
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

impl JobRestore {
    /// Chooses and verifies the checkpoint at `path` (a checkpoint directory, or a
    /// job's checkpoint directory: then its newest valid checkpoint), retrying
    /// while storage is unavailable as `retry` says.
    pub fn load(path: &Path, retry: &StorageRetry) -> Result<Self, WeirError> {
        let (dir, metadata) =
            CheckpointStorage::latest_valid(path, retry).map_err(|e| WeirError::Checkpoint(e.to_string()))?;
        Ok(Self::new(dir, metadata, retry.clone()))
    }

    /// The verified checkpoint in `dir`; tasks read it retrying as `retry` says.
    pub fn new(dir: PathBuf, metadata: CheckpointMetadata, retry: StorageRetry) -> Self {
        JobRestore { dir, metadata, retry }
    }

    /// Checks that `graph` can start from this checkpoint: every operator holding
    /// state in it is in `graph` (matched by operator id: its uid, or the id
    /// derived from its place; state nobody claims is an error unless
    /// `allow_non_restored` says to drop it), and every operator with keyed state
    /// has the max parallelism (number of key groups) the state was written with.
    pub fn check_compatible(&self, graph: &JobGraph, allow_non_restored: bool) -> Result<(), WeirError> {
        let max_parallelism: HashMap<String, usize> = (0..graph.nodes.len())
            .map(|node| (graph.operator_id(node), graph.node_max_parallelism[node]))
            .collect();
        for operator in self.metadata.tasks.iter().flat_map(|t| t.operators.iter()) {
            let Some(&job) = max_parallelism.get(&operator.operator_id) else {
                continue;
            };
            if operator.keyed.is_some() && operator.max_parallelism != job {
                return Err(WeirError::Checkpoint(
                    CheckpointError::MaxParallelismMismatch {
                        path: self.dir.clone(),
                        operator: operator.operator_id.clone(),
                        checkpoint: operator.max_parallelism,
                        job,
                    }
                    .to_string(),
                ));
            }
        }
        for vertex in &graph.vertices {
            self.check_channel_state_parallelism(&graph.operator_id(vertex.head), vertex.parallelism)
                .map_err(WeirError::Checkpoint)?;
        }
        self.check_claimed(graph, allow_non_restored)
    }

    /// In-flight data (channel state of an unaligned checkpoint) restores only at the
    /// parallelism it was taken at: that of any old subtask of the vertex headed by
    /// `head_operator`, not only of the one with a new subtask's index (after a
    /// scale-down, old subtasks beyond the new parallelism have no successor).
    fn check_channel_state_parallelism(&self, head_operator: &str, parallelism: usize) -> Result<(), String> {
        match self
            .metadata
            .tasks
            .iter()
            .find(|t| t.head_operator == head_operator && t.channel_state.is_some() && t.parallelism != parallelism)
        {
            Some(old) => Err(format!(
                "the checkpoint holds in-flight data of '{}' (subtask {}) at parallelism {}; an unaligned \
                 checkpoint restores only at the same parallelism (take an aligned checkpoint or a savepoint \
                 to rescale)",
                old.vertex, old.subtask, old.parallelism
            )),
            None => Ok(()),
        }
    }

    fn check_claimed(&self, graph: &JobGraph, allow_non_restored: bool) -> Result<(), WeirError> {
        let ids: HashSet<String> = (0..graph.nodes.len()).map(|node| graph.operator_id(node)).collect();
        let mut unclaimed: Vec<&str> = self
            .metadata
            .tasks
            .iter()
            .flat_map(|t| t.operators.iter().map(|o| o.operator_id.as_str()))
            .chain(
                self.metadata
                    .tasks
                    .iter()
                    .filter(|t| t.channel_state.is_some())
                    .map(|t| t.head_operator.as_str()),
            )
            .filter(|id| !ids.contains(*id))
            .collect();
        unclaimed.sort_unstable();
        unclaimed.dedup();
        if unclaimed.is_empty() {
            return Ok(());
        }
        if allow_non_restored {
            tracing::warn!(
                "dropping the state of operators no longer in the job: {}",
                unclaimed.join(", ")
            );
            return Ok(());
        }
        Err(WeirError::Checkpoint(format!(
            "'{}' holds state of operators this job does not have: {} (operators are matched by uid; \
             give operators stable uids, or allow non-restored state to drop it)",
            self.dir.display(),
            unclaimed.join(", ")
        )))
    }

    /// The restored checkpoint's id.
    pub fn checkpoint_id(&self) -> u64 {
        self.metadata.checkpoint_id
    }

    /// Reads and verifies one section of `task`'s state file.
    fn read(&self, task: &TaskSnapshotHandle, section: &Section) -> Result<Vec<u8>, String> {
        let handle = task
            .file
            .as_ref()
            .ok_or_else(|| format!("task {}[{}] has state sections but no file", task.vertex, task.subtask))?;
        CheckpointStorage::read_section(&self.dir, handle, section, &self.retry).map_err(|e| e.to_string())
    }

    /// The state of operator `operator_id`, subtask `subtask` of `parallelism`,
    /// owning key groups `range`: keyed state of those groups from every old
    /// subtask, and its share of the redistributed operator state.
    pub fn operator(
        &self,
        operator_id: &str,
        subtask: usize,
        parallelism: usize,
        range: KeyGroupRange,
    ) -> Result<Restored, String> {
        let mut entries: Vec<(&TaskSnapshotHandle, &OperatorSnapshotHandle)> = self
            .metadata
            .tasks
            .iter()
            .flat_map(|t| {
                t.operators
                    .iter()
                    .filter(|o| o.operator_id == operator_id)
                    .map(move |o| (t, o))
            })
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        entries.sort_by_key(|(t, _)| t.subtask);
        let mut restore = OperatorRestore::default();
        let old_parallelism = entries[0].0.parallelism.max(1);
        let mut old_operator_states = vec![OperatorStateSnapshot::default(); old_parallelism];
        for (task, op) in &entries {
            if let Some((section, handle)) = &op.keyed {
                if let Some(native) = &handle.native {
                    let (first, last) = native.key_groups;
                    if (first as usize) <= range.end && (last as usize) >= range.start {
                        restore.native.push((native.clone(), self.read(task, section)?));
                        if restore.shared.is_none() {
                            restore.shared =
                                Some(SharedFileStore::for_snapshot(&self.dir, &self.retry).map_err(|e| e.to_string())?);
                        }
                    }
                } else if handle
                    .groups
                    .iter()
                    .any(|(group, _, _)| range.contains(*group as usize))
                {
                    // Only the sections holding key groups this subtask owns.
                    let bytes = self.read(task, section)?;
                    for block in handle.blocks_in(&bytes, Some(range)) {
                        restore
                            .keyed
                            .push(block.map_err(|e| format!("operator '{operator_id}': {e}"))?);
                    }
                }
            }
            if let Some(section) = &op.operator_state {
                let bytes = self.read(task, section)?;
                let state: OperatorStateSnapshot =
                    decode(&bytes).map_err(|e| format!("operator '{operator_id}' operator state: {e}"))?;
                if let Some(slot) = old_operator_states.get_mut(task.subtask) {
                    *slot = state;
                }
            }
        }
        restore.operator_state = redistribute(&old_operator_states, parallelism)
            .into_iter()
            .nth(subtask)
            .unwrap_or_default();
        Ok(Some(Arc::new(restore)))
    }

    /// The channel state of the task headed by `head_operator`, subtask `subtask`.
    pub fn channel_state(
        &self,
        head_operator: &str,
        subtask: usize,
        parallelism: usize,
    ) -> Result<Vec<ChannelStateEntry>, String> {
        self.check_channel_state_parallelism(head_operator, parallelism)?;
        let Some(task) = self.metadata.task(head_operator, subtask) else {
            return Ok(Vec::new());
        };
        let Some(section) = &task.channel_state else {
            return Ok(Vec::new());
        };
        let bytes = self.read(task, section)?;
        decode(&bytes).map_err(|e| format!("channel state of '{}': {e}", task.vertex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_checkpoint::{FileHandle, SnapshotKind, METADATA_VERSION};
    use weir_core::CheckpointMode;

    fn task(subtask: usize, parallelism: usize, in_flight: bool) -> TaskSnapshotHandle {
        TaskSnapshotHandle {
            vertex: "sum".into(),
            head_operator: "sum-id".into(),
            subtask,
            parallelism,
            file: in_flight.then(|| FileHandle {
                name: format!("task-1-{subtask}.state"),
                size: 8,
                checksum: 0,
            }),
            operators: Vec::new(),
            channel_state: in_flight.then_some(Section {
                offset: 0,
                len: 8,
                checksum: 0,
            }),
        }
    }

    /// A checkpoint at parallelism 4 whose in-flight data lies only with subtasks 2
    /// and 3: restoring it at parallelism 1 or 2 would drop that data, since no new
    /// subtask has their index. Found by weir-chaos's unaligned scale-down test.
    #[test]
    fn in_flight_data_of_any_old_subtask_pins_the_parallelism() {
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_name: "job".into(),
            checkpoint_id: 7,
            timestamp_ms: 0,
            mode: CheckpointMode::Unaligned,
            kind: SnapshotKind::Checkpoint,
            tasks: vec![task(0, 4, false), task(1, 4, false), task(2, 4, true), task(3, 4, true)],
        };
        let restore = JobRestore::new(PathBuf::from("chk-7"), metadata, StorageRetry::default());
        for parallelism in [1, 2, 3] {
            let e = restore.channel_state("sum-id", 0, parallelism).unwrap_err();
            assert!(
                e.contains("'sum' (subtask 2) at parallelism 4") && e.contains("same parallelism"),
                "{e}"
            );
        }
        assert!(restore.check_channel_state_parallelism("sum-id", 4).is_ok());
        assert!(restore.check_channel_state_parallelism("other-id", 1).is_ok());
    }
}
