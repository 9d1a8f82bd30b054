//! Snapshots of keyed state and their serialized form.
//!
//! A keyed snapshot is written as a sequence of [`KeyGroupBlock`]s, one per key group
//! that holds any state, each encoded on its own. The [`KeyedStateHandle`] records
//! where every block starts, so a restore reads only the key groups it owns, whatever
//! parallelism wrote them.

use super::table::Map;
use crate::codec;
use crate::descriptor::StateKind;
use crate::error::StateError;
use crate::format::EntryFormat;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::keygroup::KeyGroupRange;

/// All state of one key group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyGroupBlock {
    /// The key group.
    pub key_group: u32,
    /// Its entries per state.
    pub states: Vec<StateBlock>,
}

/// The entries of one state in one key group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateBlock {
    /// The state's name.
    pub name: String,
    /// The state's kind.
    pub kind: StateKind,
    /// The state's entries in the backend-independent form of [`crate::format`]:
    /// length-prefixed `(key bytes, value bytes)` pairs.
    #[serde(with = "serde_bytes")]
    pub entries: Vec<u8>,
    /// Whether the values carry time-to-live timestamps (the state has a
    /// [`StateTtlConfig`](crate::StateTtlConfig)). Not part of the derived serde
    /// form, which stays that of snapshots without TTL: [`KeyGroupBlock::to_bytes`]
    /// appends it.
    #[serde(skip)]
    pub ttl: bool,
}

/// What [`KeyGroupBlock::to_bytes`] appends to the serde form of a block when some
/// of its states have a TTL. Blocks without it (all written before TTL existed)
/// decode as they always did.
#[derive(Debug, Serialize, Deserialize)]
struct BlockExtension {
    /// Indexes (in `states`) of the states whose values carry TTL timestamps.
    ttl_states: Vec<u32>,
}

impl KeyGroupBlock {
    /// The block's bytes in snapshots: its bincode serde form, followed, when any
    /// state has a TTL, by the list of those states.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut bytes = codec::encode(self)?;
        let ttl_states: Vec<u32> = self
            .states
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ttl)
            .map(|(i, _)| u32::try_from(i).map_err(|_| format!("a block of {i} states is too large")))
            .collect::<Result<_, _>>()?;
        if !ttl_states.is_empty() {
            bytes.extend(codec::encode(&BlockExtension { ttl_states })?);
        }
        Ok(bytes)
    }

    /// Decodes what [`to_bytes`](Self::to_bytes) wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let (mut block, used) = crate::format::decode_prefix::<KeyGroupBlock>(bytes)?;
        let rest = bytes.get(used..).unwrap_or_default();
        if !rest.is_empty() {
            let extension: BlockExtension = codec::decode(rest)?;
            for index in extension.ttl_states {
                let state = usize::try_from(index)
                    .ok()
                    .and_then(|i| block.states.get_mut(i))
                    .ok_or_else(|| format!("the block marks state {index} as TTL'd, but has fewer states"))?;
                state.ttl = true;
            }
        }
        Ok(block)
    }
}

/// Where the key groups of a written keyed snapshot are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateHandle {
    /// `(key group, offset, length)` of every block, in key group order.
    pub groups: Vec<(u32, u64, u64)>,
    /// Bytes written in total.
    pub bytes: u64,
    /// Set for an incremental snapshot: the RocksDB files (then `groups` is empty
    /// and `bytes` counts the files written inline).
    #[serde(default)]
    pub native: Option<super::native::NativeSnapshot>,
}

impl KeyedStateHandle {
    /// Decodes the blocks of `data` (the bytes the snapshot wrote).
    pub fn blocks<'a>(&'a self, data: &'a [u8]) -> impl Iterator<Item = Result<KeyGroupBlock, StateError>> + 'a {
        self.blocks_in(data, None)
    }

    /// Decodes the blocks of the key groups in `range` (all when `None`).
    pub fn blocks_in<'a>(
        &'a self,
        data: &'a [u8],
        range: Option<KeyGroupRange>,
    ) -> impl Iterator<Item = Result<KeyGroupBlock, StateError>> + 'a {
        self.groups
            .iter()
            .filter(move |(kg, _, _)| range.is_none_or(|r| r.contains(*kg as usize)))
            .map(move |&(kg, offset, len)| {
                let bad = |message: String| StateError::Restore {
                    name: format!("key group {kg}"),
                    message,
                };
                let start = usize::try_from(offset).map_err(|e| bad(e.to_string()))?;
                let end = start
                    .checked_add(usize::try_from(len).map_err(|e| bad(e.to_string()))?)
                    .ok_or_else(|| bad("block length overflows".into()))?;
                let bytes = data.get(start..end).ok_or_else(|| {
                    bad(format!(
                        "block {start}..{end} lies outside the {} bytes read",
                        data.len()
                    ))
                })?;
                let block = KeyGroupBlock::from_bytes(bytes).map_err(bad)?;
                if block.key_group != kg {
                    return Err(bad(format!("block holds key group {}", block.key_group)));
                }
                Ok(block)
            })
    }
}

/// A keyed snapshot taken on the task thread and written elsewhere.
pub trait KeyedSnapshot: Send {
    /// Serializes the snapshot to `out` and says where each key group went.
    fn write(self: Box<Self>, out: &mut dyn Write) -> Result<KeyedStateHandle, StateError>;

    /// Writes the snapshot incrementally where the backend can (RocksDB: its files,
    /// uploading to `shared` those not there yet, small ones into `out`); others
    /// write it in full ([`write`](Self::write)).
    fn write_incremental(
        self: Box<Self>,
        out: &mut dyn Write,
        shared: &dyn super::native::SharedFiles,
    ) -> Result<KeyedStateHandle, StateError> {
        let _ = shared;
        self.write(out)
    }
}

/// One table's groups as they were when the snapshot was taken.
pub(crate) trait TableSnapshot: Send {
    /// The encoded entries of the group at `index` in the owned range (none if empty).
    fn encode_group(&self, index: usize) -> Result<Option<Vec<u8>>, String>;
}

pub(crate) struct TypedTableSnapshot<K, S, F> {
    groups: Vec<Arc<Map<K, S>>>,
    /// TTL'd state: values stamped at or before this are left out.
    cutoff: Option<i64>,
    _format: PhantomData<fn() -> F>,
}

impl<K, S, F> TypedTableSnapshot<K, S, F> {
    pub(crate) fn new(groups: Vec<Arc<Map<K, S>>>, cutoff: Option<i64>) -> Self {
        TypedTableSnapshot {
            groups,
            cutoff,
            _format: PhantomData,
        }
    }
}

impl<K, S, F> TableSnapshot for TypedTableSnapshot<K, S, F>
where
    K: Send + Sync,
    S: Send + Sync,
    F: EntryFormat<K, S>,
{
    fn encode_group(&self, index: usize) -> Result<Option<Vec<u8>>, String> {
        match self.groups.get(index) {
            Some(group) if !group.is_empty() => {
                let mut out = Vec::new();
                let mut scratch = Vec::new();
                for (key, entry) in group.iter() {
                    F::write(key, entry, self.cutoff, &mut scratch, &mut out)?;
                }
                Ok((!out.is_empty()).then_some(out))
            }
            _ => Ok(None),
        }
    }
}

/// Restored groups of a state not yet accessed in this run.
#[derive(Clone)]
pub(crate) struct PendingGroups {
    pub kind: StateKind,
    pub ttl: bool,
    pub groups: Vec<(usize, Arc<[u8]>)>,
}

pub(crate) struct HeapSnapshot {
    pub range: KeyGroupRange,
    /// Name, kind, whether TTL'd, and the groups of every registered state.
    pub tables: Vec<(String, StateKind, bool, Box<dyn TableSnapshot>)>,
    pub pending: Vec<(String, PendingGroups)>,
}

impl KeyedSnapshot for HeapSnapshot {
    fn write(self: Box<Self>, out: &mut dyn Write) -> Result<KeyedStateHandle, StateError> {
        let mut handle = KeyedStateHandle::default();
        for (index, key_group) in self.range.iter().enumerate() {
            let mut states = Vec::new();
            for (name, kind, ttl, table) in &self.tables {
                let encoded = table.encode_group(index).map_err(|message| StateError::Serialize {
                    name: name.clone(),
                    message,
                })?;
                if let Some(entries) = encoded {
                    states.push(StateBlock {
                        name: name.clone(),
                        kind: *kind,
                        entries,
                        ttl: *ttl,
                    });
                }
            }
            for (name, pending) in &self.pending {
                for (kg, bytes) in &pending.groups {
                    if *kg == key_group {
                        states.push(StateBlock {
                            name: name.clone(),
                            kind: pending.kind,
                            entries: bytes.to_vec(),
                            ttl: pending.ttl,
                        });
                    }
                }
            }
            if states.is_empty() {
                continue;
            }
            let block = KeyGroupBlock {
                key_group: key_group as u32,
                states,
            };
            let bytes = block.to_bytes().map_err(|message| StateError::Serialize {
                name: format!("key group {key_group}"),
                message,
            })?;
            out.write_all(&bytes)?;
            handle.groups.push((key_group as u32, handle.bytes, bytes.len() as u64));
            handle.bytes += bytes.len() as u64;
        }
        Ok(handle)
    }
}
