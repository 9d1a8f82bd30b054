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
        self.check_claimed(graph, allow_non_restored)
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
        let Some(task) = self.metadata.task(head_operator, subtask) else {
            return Ok(Vec::new());
        };
        let Some(section) = &task.channel_state else {
            return Ok(Vec::new());
        };
        if task.parallelism != parallelism {
            return Err(format!(
                "the checkpoint holds in-flight data of '{}' at parallelism {}; an unaligned checkpoint \
                 restores only at the same parallelism (take an aligned checkpoint or a savepoint to rescale)",
                task.vertex, task.parallelism
            ));
        }
        let bytes = self.read(task, section)?;
        decode(&bytes).map_err(|e| format!("channel state of '{}': {e}", task.vertex))
    }
}
