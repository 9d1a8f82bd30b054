//! Restoring a job from a checkpoint: which state each operator subtask starts from.

use crate::graph::JobGraph;
use crate::snapshot::{ChannelStateEntry, OperatorRestore, Restored};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_checkpoint::{
    CheckpointMetadata, CheckpointStorage, OperatorSnapshotHandle, SharedFileStore, TaskSnapshotHandle,
};
use weir_core::keygroup::KeyGroupRange;
use weir_core::WeirError;
use weir_state::{redistribute, OperatorStateSnapshot};

/// A verified checkpoint, its files read into memory.
pub(crate) struct JobRestore {
    pub dir: PathBuf,
    pub metadata: CheckpointMetadata,
    files: HashMap<String, Arc<Vec<u8>>>,
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

impl JobRestore {
    /// Loads the checkpoint at `path` (a checkpoint directory, or a job's checkpoint
    /// directory: then its newest valid checkpoint).
    pub fn load(path: &Path) -> Result<Self, WeirError> {
        let (dir, metadata) =
            CheckpointStorage::latest_valid(path).map_err(|e| WeirError::Checkpoint(e.to_string()))?;
        let mut files = HashMap::new();
        for file in metadata.tasks.iter().filter_map(|t| t.file.as_ref()) {
            let bytes =
                CheckpointStorage::read_state_file(&dir, file).map_err(|e| WeirError::Checkpoint(e.to_string()))?;
            files.insert(file.name.clone(), Arc::new(bytes));
        }
        Ok(JobRestore { dir, metadata, files })
    }

    /// Checks that every operator holding state in the checkpoint is in `graph`
    /// (matched by operator id: its uid, or the id derived from its place). State
    /// nobody claims is an error unless `allow_non_restored` says to drop it.
    pub fn check_claimed(&self, graph: &JobGraph, allow_non_restored: bool) -> Result<(), WeirError> {
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

    fn file_of(&self, task: &TaskSnapshotHandle) -> Result<&[u8], String> {
        let handle = task
            .file
            .as_ref()
            .ok_or_else(|| format!("task {}[{}] has state sections but no file", task.vertex, task.subtask))?;
        self.files
            .get(&handle.name)
            .map(|b| b.as_slice())
            .ok_or_else(|| format!("state file '{}' was not loaded", handle.name))
    }

    fn section<'a>(
        &self,
        data: &'a [u8],
        task: &TaskSnapshotHandle,
        section: &weir_checkpoint::Section,
    ) -> Result<&'a [u8], String> {
        section.slice(data).ok_or_else(|| {
            format!(
                "a section of {} lies outside the file ({} bytes)",
                self.dir
                    .join(task.file.as_ref().map_or("?", |f| f.name.as_str()))
                    .display(),
                data.len()
            )
        })
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
            let data = self.file_of(task)?;
            if let Some((section, handle)) = &op.keyed {
                let bytes = self.section(data, task, section)?;
                if let Some(native) = &handle.native {
                    let (first, last) = native.key_groups;
                    if (first as usize) <= range.end && (last as usize) >= range.start {
                        restore.native.push((native.clone(), bytes.to_vec()));
                        if restore.shared.is_none() {
                            restore.shared = Some(SharedFileStore::for_snapshot(&self.dir).map_err(|e| e.to_string())?);
                        }
                    }
                } else {
                    for block in handle.blocks_in(bytes, Some(range)) {
                        restore
                            .keyed
                            .push(block.map_err(|e| format!("operator '{operator_id}': {e}"))?);
                    }
                }
            }
            if let Some(section) = &op.operator_state {
                let bytes = self.section(data, task, section)?;
                let state: OperatorStateSnapshot =
                    decode(bytes).map_err(|e| format!("operator '{operator_id}' operator state: {e}"))?;
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
        let data = self.file_of(task)?;
        let bytes = self.section(data, task, section)?;
        decode(bytes).map_err(|e| format!("channel state of '{}': {e}", task.vertex))
    }
}
