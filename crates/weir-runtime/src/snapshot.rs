//! What a task's chain hands over at a checkpoint, and gets back on restore.

use std::sync::Arc;
use weir_state::{KeyGroupBlock, KeyedSnapshot, OperatorStateSnapshot};

/// The synchronous snapshot of one operator: its keyed state (to be serialized off
/// the task thread) and its operator state (already encoded; it is small).
pub struct OperatorSnapshot {
    /// The operator's id.
    pub operator_id: String,
    /// Keyed state, if the operator has any.
    pub keyed: Option<Box<dyn KeyedSnapshot>>,
    /// Operator state, if the operator has any.
    pub operator_state: Option<OperatorStateSnapshot>,
}

impl std::fmt::Debug for OperatorSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorSnapshot")
            .field("operator_id", &self.operator_id)
            .field("keyed", &self.keyed.is_some())
            .field("operator_state", &self.operator_state)
            .finish()
    }
}

/// The snapshots of a task's operators for one checkpoint, collected as the
/// checkpoint call travels the chain.
#[derive(Debug)]
pub struct TaskSnapshot {
    /// The checkpoint.
    pub checkpoint_id: u64,
    /// One entry per operator that has state.
    pub operators: Vec<OperatorSnapshot>,
}

impl TaskSnapshot {
    /// An empty snapshot for `checkpoint_id`.
    pub fn new(checkpoint_id: u64) -> Self {
        TaskSnapshot {
            checkpoint_id,
            operators: Vec::new(),
        }
    }

    /// Adds an operator's snapshot (skipped when it holds nothing).
    pub fn add(&mut self, snapshot: OperatorSnapshot) {
        let empty_operator_state = snapshot.operator_state.as_ref().is_none_or(|s| s.is_empty());
        if snapshot.keyed.is_none() && empty_operator_state {
            return;
        }
        self.operators.push(snapshot);
    }
}

/// The state an operator starts from after a restore.
#[derive(Debug, Clone, Default)]
pub struct OperatorRestore {
    /// Keyed state blocks of the key groups this subtask owns.
    pub keyed: Vec<KeyGroupBlock>,
    /// This subtask's share of the operator state.
    pub operator_state: OperatorStateSnapshot,
}

/// Shared restored state of one operator subtask.
pub type Restored = Option<Arc<OperatorRestore>>;

/// One buffer of in-flight input stored by an unaligned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChannelStateEntry {
    /// Input of the task (0, or 1 for the second input of two-input tasks).
    pub input: u8,
    /// Channel within that input.
    pub channel: u32,
    /// The encoded buffer (`Vec<StreamRecord<T>>`).
    #[serde(with = "serde_bytes")]
    pub buffer: Vec<u8>,
}

/// Encodes a buffer of records for channel state.
pub fn encode_buffer<T: serde::Serialize>(buffer: &[weir_core::StreamRecord<T>]) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(buffer, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decodes a buffer of records from channel state.
pub fn decode_buffer<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Vec<weir_core::StreamRecord<T>>, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}
