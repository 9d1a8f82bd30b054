//! What a task's chain hands over at a checkpoint, and gets back on restore.

use std::sync::Arc;
use weir_state::{KeyGroupBlock, KeyedSnapshot, NativeSnapshot, OperatorList, OperatorStateSnapshot, Redistribution};

/// Name of the operator-state list, kept with the state of a task's head operator,
/// that records that the task's input had ended when the snapshot was taken: its
/// chain had already emitted what it held at the end of input, so a task restored
/// from the snapshot must not do it again. One element per ended subtask (its index
/// and the parallelism), handed to every subtask on restore.
pub const END_OF_INPUT_STATE: &str = "end-of-input";

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

    /// Adds an operator's snapshot. Skipped only when the operator has no state at
    /// all (no keyed state, no operator-state list): an empty list is still a state
    /// (a finished source's empty list of splits must restore as "nothing left to
    /// read", not as a fresh start).
    pub fn add(&mut self, snapshot: OperatorSnapshot) {
        let no_operator_state = snapshot.operator_state.as_ref().is_none_or(|s| s.lists.is_empty());
        if snapshot.keyed.is_none() && no_operator_state {
            return;
        }
        self.operators.push(snapshot);
    }

    /// Records that the input of the task headed by operator `head_operator`
    /// (subtask `subtask` of `parallelism`) has ended: its chain already emitted what
    /// it held at the end of input ([`END_OF_INPUT_STATE`]).
    pub fn mark_input_ended(&mut self, head_operator: &str, subtask: usize, parallelism: usize) {
        let marker = OperatorList {
            name: END_OF_INPUT_STATE.to_string(),
            mode: Redistribution::Union,
            elements: vec![serde_bytes::ByteBuf::from(encode_subtask(subtask, parallelism))],
        };
        match self.operators.iter_mut().find(|o| o.operator_id == head_operator) {
            Some(head) => head
                .operator_state
                .get_or_insert_with(Default::default)
                .lists
                .push(marker),
            None => self.operators.push(OperatorSnapshot {
                operator_id: head_operator.to_string(),
                keyed: None,
                operator_state: Some(OperatorStateSnapshot { lists: vec![marker] }),
            }),
        }
    }
}

fn encode_subtask(subtask: usize, parallelism: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&(subtask as u64).to_le_bytes());
    bytes.extend_from_slice(&(parallelism as u64).to_le_bytes());
    bytes
}

fn decode_subtask(bytes: &[u8]) -> Option<(usize, usize)> {
    let subtask: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let parallelism: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
    Some((
        usize::try_from(u64::from_le_bytes(subtask)).ok()?,
        usize::try_from(u64::from_le_bytes(parallelism)).ok()?,
    ))
}

/// Takes the end-of-input marker ([`END_OF_INPUT_STATE`]) out of the restored state
/// of a task's head operator (operators never see it) and tells whether subtask
/// `subtask` of `parallelism` starts with its input already ended: at unchanged
/// parallelism when that very subtask had ended, after a rescale when every old
/// subtask had. A restored state that held nothing but the marker becomes `None`.
pub fn take_end_of_input(restored: Restored, subtask: usize, parallelism: usize) -> (Restored, bool) {
    let Some(restore) = restored else {
        return (None, false);
    };
    let lists = &restore.operator_state.lists;
    let Some(position) = lists.iter().position(|l| l.name == END_OF_INPUT_STATE) else {
        return (Some(restore), false);
    };
    let ended: Vec<(usize, usize)> = lists[position]
        .elements
        .iter()
        .filter_map(|e| decode_subtask(e))
        .collect();
    let input_ended = match ended.first() {
        None => false,
        Some(&(_, old_parallelism)) if old_parallelism == parallelism => ended.iter().any(|&(s, _)| s == subtask),
        Some(&(_, old_parallelism)) => {
            let mut subtasks: Vec<usize> = ended.iter().map(|&(s, _)| s).collect();
            subtasks.sort_unstable();
            subtasks.dedup();
            subtasks.len() >= old_parallelism
        }
    };
    let mut restore = Arc::unwrap_or_clone(restore);
    restore.operator_state.lists.remove(position);
    let nothing_else = restore.keyed.is_empty() && restore.native.is_empty() && restore.operator_state.lists.is_empty();
    let restored = if nothing_else { None } else { Some(Arc::new(restore)) };
    (restored, input_ended)
}

/// The state an operator starts from after a restore.
#[derive(Debug, Clone, Default)]
pub struct OperatorRestore {
    /// Keyed state blocks of the key groups this subtask owns.
    pub keyed: Vec<KeyGroupBlock>,
    /// Incremental (native RocksDB) snapshots overlapping this subtask's key
    /// groups, each with its keyed section of the task's state file.
    pub native: Vec<(NativeSnapshot, Vec<u8>)>,
    /// Where the shared files of `native` are.
    pub shared: Option<weir_checkpoint::SharedFileStore>,
    /// This subtask's share of the operator state.
    pub operator_state: OperatorStateSnapshot,
}

/// Shared restored state of one operator subtask.
pub type Restored = Option<Arc<OperatorRestore>>;

/// One buffer (or watermark) of in-flight input stored by an unaligned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChannelStateEntry {
    /// Input of the task (0, or 1 for the second input of two-input tasks).
    pub input: u8,
    /// Channel within that input.
    pub channel: u32,
    /// The encoded item ([`encode_buffer`] or [`encode_watermark`]).
    #[serde(with = "serde_bytes")]
    pub buffer: Vec<u8>,
}

/// What one channel-state entry holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelItem<T> {
    /// A buffer of records, oldest first.
    Records(Vec<weir_core::StreamRecord<T>>),
    /// A watermark the channel carried between buffers.
    Watermark(weir_core::Watermark),
}

const RECORDS: u8 = 0;
const WATERMARK: u8 = 1;

/// Encodes a buffer of records for channel state.
pub fn encode_buffer<T: serde::Serialize>(buffer: &[weir_core::StreamRecord<T>]) -> Result<Vec<u8>, String> {
    let mut bytes = vec![RECORDS];
    bincode::serde::encode_into_std_write(buffer, &mut bytes, bincode::config::standard())
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Encodes a watermark for channel state.
pub fn encode_watermark(watermark: weir_core::Watermark) -> Vec<u8> {
    let mut bytes = vec![WATERMARK];
    bytes.extend_from_slice(&watermark.timestamp.to_le_bytes());
    bytes
}

/// Decodes one channel-state entry.
pub fn decode_channel_item<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<ChannelItem<T>, String> {
    match bytes.split_first() {
        Some((&RECORDS, rest)) => bincode::serde::decode_from_slice(rest, bincode::config::standard())
            .map(|(records, _)| ChannelItem::Records(records))
            .map_err(|e| e.to_string()),
        Some((&WATERMARK, rest)) => {
            let timestamp: [u8; 8] = rest
                .try_into()
                .map_err(|_| format!("a watermark entry has {} bytes instead of 8", rest.len()))?;
            Ok(ChannelItem::Watermark(weir_core::Watermark::new(i64::from_le_bytes(
                timestamp,
            ))))
        }
        Some((tag, _)) => Err(format!("unknown channel-state entry kind {tag}")),
        None => Err("empty channel-state entry".to_string()),
    }
}
