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
                let block: KeyGroupBlock = codec::decode(bytes).map_err(bad)?;
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
    _format: PhantomData<fn() -> F>,
}

impl<K, S, F> TypedTableSnapshot<K, S, F> {
    pub(crate) fn new(groups: Vec<Arc<Map<K, S>>>) -> Self {
        TypedTableSnapshot {
            groups,
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
                    F::write(key, entry, &mut scratch, &mut out)?;
                }
                Ok(Some(out))
            }
            _ => Ok(None),
        }
    }
}

/// Restored groups of a state not yet accessed in this run.
#[derive(Clone)]
pub(crate) struct PendingGroups {
    pub kind: StateKind,
    pub groups: Vec<(usize, Arc<[u8]>)>,
}

pub(crate) struct HeapSnapshot {
    pub range: KeyGroupRange,
    pub tables: Vec<(String, StateKind, Box<dyn TableSnapshot>)>,
    pub pending: Vec<(String, PendingGroups)>,
}

impl KeyedSnapshot for HeapSnapshot {
    fn write(self: Box<Self>, out: &mut dyn Write) -> Result<KeyedStateHandle, StateError> {
        let mut handle = KeyedStateHandle::default();
        for (index, key_group) in self.range.iter().enumerate() {
            let mut states = Vec::new();
            for (name, kind, table) in &self.tables {
                let encoded = table.encode_group(index).map_err(|message| StateError::Serialize {
                    name: name.clone(),
                    message,
                })?;
                if let Some(entries) = encoded {
                    states.push(StateBlock {
                        name: name.clone(),
                        kind: *kind,
                        entries,
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
            let bytes = codec::encode(&block).map_err(|message| StateError::Serialize {
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
