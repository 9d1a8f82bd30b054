//! The metadata of a completed checkpoint.

use serde::{Deserialize, Serialize};
use weir_core::CheckpointMode;
use weir_state::KeyedStateHandle;

/// Name of the metadata file in a checkpoint directory.
pub const METADATA_FILE: &str = "_metadata";

/// Name of the shared-file directory, next to the `chk-<n>` directories (and
/// inside a savepoint's directory when it has shared files).
pub const SHARED_DIR: &str = "shared";

/// Version of the metadata format written by this release.
///
/// * 1: keyed state entries as one bincode sequence of typed pairs.
/// * 2: keyed state entries in the backend-independent form (length-prefixed key and
///   value bytes, see `weir-state`'s `format` module); checkpoints and savepoints.
/// * 3: each operator's max parallelism (its number of key groups), and a checksum
///   per section, so that a task reads and verifies only the sections it needs.
pub const METADATA_VERSION: u32 = 3;

/// The oldest metadata version this release reads: version 2 recorded neither max
/// parallelism (so a restore could not tell whether key groups still mean the same
/// keys) nor section checksums.
pub const OLDEST_READABLE_VERSION: u32 = 3;

/// Whether a snapshot is a checkpoint (owned and deleted by the job) or a savepoint
/// (owned by the user, never deleted by Weir).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SnapshotKind {
    /// Taken periodically, kept as long as the retention policy says.
    #[default]
    Checkpoint,
    /// Taken on request, into a directory of the user's choosing.
    Savepoint,
}

/// A byte range of a state file, with the checksum of its bytes: a task restoring
/// from a checkpoint reads and verifies only the sections it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// XXH3-64 of the section's bytes.
    pub checksum: u64,
}

impl Section {
    /// The bytes of this section in `data`, or `None` if it lies outside.
    pub fn slice<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.len).ok()?)?;
        data.get(start..end)
    }
}

/// A state file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHandle {
    /// File name inside the checkpoint directory.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// XXH3-64 of the content.
    pub checksum: u64,
}

/// Where one operator's state lies in its task's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSnapshotHandle {
    /// The operator's id (its uid, or an id derived from its place in the graph).
    pub operator_id: String,
    /// The operator's max parallelism (number of key groups) when the checkpoint
    /// was taken: keyed state restores only into the same number of key groups.
    pub max_parallelism: usize,
    /// Keyed state: the section, and where each key group lies within it.
    pub keyed: Option<(Section, KeyedStateHandle)>,
    /// Operator state: the section holding an encoded `OperatorStateSnapshot`.
    pub operator_state: Option<Section>,
}

/// The state of one subtask at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSnapshotHandle {
    /// Name of the task's vertex (its chain).
    pub vertex: String,
    /// Operator id of the chain's head: identifies the vertex across runs.
    pub head_operator: String,
    /// Subtask index.
    pub subtask: usize,
    /// Parallelism of the vertex when the checkpoint was taken.
    pub parallelism: usize,
    /// The state file, if the task had any state.
    pub file: Option<FileHandle>,
    /// Per operator of the chain.
    pub operators: Vec<OperatorSnapshotHandle>,
    /// In-flight input of an unaligned checkpoint.
    pub channel_state: Option<Section>,
}

/// Everything needed to restore a job from a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// Format version ([`METADATA_VERSION`]).
    pub version: u32,
    /// Name of the job.
    pub job_name: String,
    /// Checkpoint id.
    pub checkpoint_id: u64,
    /// When the checkpoint was triggered (ms since the epoch).
    pub timestamp_ms: i64,
    /// How barriers were handled.
    pub mode: CheckpointMode,
    /// Checkpoint or savepoint.
    #[serde(default)]
    pub kind: SnapshotKind,
    /// One entry per subtask of every vertex.
    pub tasks: Vec<TaskSnapshotHandle>,
}

impl CheckpointMetadata {
    /// The task entry of `head_operator`'s vertex, subtask `subtask`.
    pub fn task(&self, head_operator: &str, subtask: usize) -> Option<&TaskSnapshotHandle> {
        self.tasks
            .iter()
            .find(|t| t.head_operator == head_operator && t.subtask == subtask)
    }

    /// The incremental (native RocksDB) snapshots, with their operator's id.
    pub(crate) fn natives(&self) -> impl Iterator<Item = (&str, &weir_state::NativeSnapshot)> {
        self.tasks
            .iter()
            .flat_map(|t| t.operators.iter())
            .filter_map(|o| Some((o.operator_id.as_str(), o.keyed.as_ref()?.1.native.as_ref()?)))
    }

    /// Bytes this checkpoint wrote: its state files and the shared files it
    /// uploaded (incremental checkpoints upload only files storage lacked).
    pub fn written_bytes(&self) -> u64 {
        self.state_bytes() + self.natives().map(|(_, n)| n.uploaded).sum::<u64>()
    }

    /// Bytes of state the checkpoint refers to: its state files and every shared
    /// file it lists, uploaded now or before.
    pub fn referenced_bytes(&self) -> u64 {
        let inline: u64 = self
            .natives()
            .map(|(_, n)| {
                n.files
                    .iter()
                    .filter(|f| matches!(f.location, weir_state::NativeFileLocation::Inline { .. }))
                    .map(|f| f.size)
                    .sum::<u64>()
            })
            .sum();
        self.state_bytes() - inline.min(self.state_bytes()) + self.natives().map(|(_, n)| n.total_bytes()).sum::<u64>()
    }

    /// Total bytes of all state files.
    pub fn state_bytes(&self) -> u64 {
        self.tasks.iter().filter_map(|t| t.file.as_ref()).map(|f| f.size).sum()
    }
}
