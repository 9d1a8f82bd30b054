//! Full snapshots of a RocksDB instance in the backend-independent format.

use super::access::split_key;
use super::options::{cf_options, column_family};
use crate::descriptor::StateKind;
use crate::error::StateError;
use crate::format::{push_entry, retain_live};
use crate::keyed::native::{hash_file, is_shared_file, NativeFile, NativeFileLocation, NativeSnapshot, SharedFiles};
use crate::keyed::snapshot::{KeyGroupBlock, KeyedStateHandle, StateBlock};
use crate::KeyedSnapshot;
use rocksdb::DB;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use weir_core::keygroup::KeyGroupRange;

/// A state (column family) as a snapshot writes it.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotState {
    pub name: String,
    pub kind: StateKind,
    /// Whether its values carry TTL timestamps.
    pub ttl: bool,
    /// Values stamped at or before this are left out (TTL'd state cleaning up in
    /// full snapshots).
    pub cutoff: Option<i64>,
}

impl SnapshotState {
    /// The states of a native snapshot, read as they are.
    pub(crate) fn of_native(snapshot: &NativeSnapshot) -> Vec<SnapshotState> {
        snapshot
            .states
            .iter()
            .map(|(name, kind)| SnapshotState {
                name: name.clone(),
                kind: *kind,
                ttl: snapshot.ttl_states.contains(name),
                cutoff: None,
            })
            .collect()
    }
}

/// A RocksDB checkpoint (hard-linked files) to be written as key group blocks, or
/// incrementally as files.
pub(crate) struct RocksSnapshot {
    pub path: PathBuf,
    pub range: KeyGroupRange,
    pub states: Vec<SnapshotState>,
    /// Content hashes of SST files already hashed, by (name, size).
    pub hashes: Arc<Mutex<HashMap<(String, u64), String>>>,
}

impl Drop for RocksSnapshot {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove RocksDB snapshot {}: {e}", self.path.display());
            }
        }
    }
}

fn backend(message: String) -> StateError {
    StateError::Backend(message)
}

/// Opens the RocksDB directory `path` holding the states named `names`, read-only.
pub(crate) fn open_read_only<'a>(path: &Path, names: impl IntoIterator<Item = &'a str>) -> Result<DB, StateError> {
    let mut options = cf_options(None);
    options.create_if_missing(false);
    let descriptors: Vec<rocksdb::ColumnFamilyDescriptor> = names
        .into_iter()
        .map(|name| rocksdb::ColumnFamilyDescriptor::new(column_family(name), cf_options(None)))
        .collect();
    DB::open_cf_descriptors_read_only(&options, path, descriptors, false)
        .map_err(|e| backend(format!("cannot open RocksDB files in {}: {e}", path.display())))
}

impl KeyedSnapshot for RocksSnapshot {
    fn write(self: Box<Self>, out: &mut dyn Write) -> Result<KeyedStateHandle, StateError> {
        if self.states.is_empty() {
            return Ok(KeyedStateHandle::default());
        }
        let db = open_read_only(&self.path, self.states.iter().map(|s| s.name.as_str()))?;
        write_blocks(&db, self.range, &self.states, out, u64::MAX)?
            .ok_or_else(|| backend("a snapshot exceeded an unlimited size".into()))
    }

    fn write_incremental(
        self: Box<Self>,
        out: &mut dyn Write,
        shared: &dyn SharedFiles,
    ) -> Result<KeyedStateHandle, StateError> {
        let mut files = Vec::new();
        let mut inline = 0u64;
        let mut uploaded = 0u64;
        let entries = std::fs::read_dir(&self.path)
            .map_err(|e| backend(format!("cannot list RocksDB snapshot {}: {e}", self.path.display())))?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| backend(format!("cannot list {}: {e}", self.path.display())))?;
            paths.push(entry.path());
        }
        paths.sort();
        for path in paths {
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_string()) else {
                continue;
            };
            let io = |e: std::io::Error| backend(format!("cannot read {}: {e}", path.display()));
            let size = std::fs::metadata(&path).map_err(io)?.len();
            if is_shared_file(&name) {
                let cached = self
                    .hashes
                    .lock()
                    .ok()
                    .and_then(|h| h.get(&(name.clone(), size)).cloned());
                let hash = match cached {
                    Some(hash) => hash,
                    None => {
                        let hash = hash_file(&path).map_err(io)?;
                        if let Ok(mut hashes) = self.hashes.lock() {
                            hashes.insert((name.clone(), size), hash.clone());
                        }
                        hash
                    }
                };
                uploaded += shared
                    .put(&path, &hash, size)
                    .map_err(|e| backend(format!("cannot store {}: {e}", path.display())))?;
                files.push(NativeFile {
                    name,
                    size,
                    location: NativeFileLocation::Shared(hash.clone()),
                    hash,
                });
            } else {
                let bytes = std::fs::read(&path).map_err(io)?;
                out.write_all(&bytes)?;
                let hash = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes));
                files.push(NativeFile {
                    name,
                    size,
                    hash,
                    location: NativeFileLocation::Inline {
                        offset: inline,
                        len: bytes.len() as u64,
                    },
                });
                inline += bytes.len() as u64;
            }
        }
        Ok(KeyedStateHandle {
            groups: Vec::new(),
            bytes: inline,
            native: Some(NativeSnapshot {
                key_groups: (self.range.start as u32, self.range.end as u32),
                states: self.states.iter().map(|s| (s.name.clone(), s.kind)).collect(),
                ttl_states: self.states.iter().filter(|s| s.ttl).map(|s| s.name.clone()).collect(),
                files,
                uploaded,
            }),
        })
    }
}

/// Writes the states of `db` as key group blocks of `range`; gives up (`None`)
/// once more than `limit` bytes are written.
pub(crate) fn write_blocks(
    db: &DB,
    range: KeyGroupRange,
    states: &[SnapshotState],
    out: &mut dyn Write,
    limit: u64,
) -> Result<Option<KeyedStateHandle>, StateError> {
    let mut handle = KeyedStateHandle::default();
    let complete = visit_blocks(db, range, states, |block| {
        let key_group = block.key_group;
        let bytes = block.to_bytes().map_err(|message| StateError::Serialize {
            name: format!("key group {key_group}"),
            message,
        })?;
        out.write_all(&bytes)?;
        handle.groups.push((key_group, handle.bytes, bytes.len() as u64));
        handle.bytes += bytes.len() as u64;
        Ok(handle.bytes <= limit)
    })?;
    Ok(complete.then_some(handle))
}

/// Calls `visit` with the block of every key group of `range` that holds state,
/// in order, until it returns false; returns whether every group was visited.
/// TTL'd states with a cutoff leave out what it expires.
pub(crate) fn visit_blocks(
    db: &DB,
    range: KeyGroupRange,
    states: &[SnapshotState],
    mut visit: impl FnMut(KeyGroupBlock) -> Result<bool, StateError>,
) -> Result<bool, StateError> {
    let first = u16::try_from(range.start).map_err(|_| backend(format!("key group {} is too large", range.start)))?;
    let mut iterators = Vec::new();
    for SnapshotState { name: state, .. } in states {
        let cf = db
            .cf_handle(&column_family(state))
            .ok_or_else(|| backend(format!("the snapshot lacks state '{state}'")))?;
        let mut iterator = db.raw_iterator_cf(cf);
        iterator.seek(first.to_be_bytes());
        iterators.push(iterator);
    }
    let read_error = |state: &str, e: rocksdb::Error| backend(format!("state '{state}': cannot read snapshot: {e}"));
    let mut buffer = Vec::new();
    for key_group in range.iter() {
        let mut blocks = Vec::new();
        for (iterator, meta) in iterators.iter_mut().zip(states) {
            let state = &meta.name;
            let mut entries = Vec::new();
            while iterator.valid() {
                let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                    break;
                };
                let (group, rest) = split_key(key)
                    .ok_or_else(|| backend(format!("state '{state}' holds a key without a key group")))?;
                if group > key_group {
                    break;
                }
                if group == key_group {
                    let serialize = |message: String| StateError::Serialize {
                        name: state.clone(),
                        message,
                    };
                    let value = match meta.cutoff {
                        None => Some(value),
                        Some(cutoff) => retain_live(value, meta.kind == StateKind::List, cutoff, &mut buffer)
                            .map_err(|m| serialize(format!("{m}; was the state written without TTL?")))?,
                    };
                    if let Some(value) = value {
                        push_entry(&mut entries, rest, value).map_err(serialize)?;
                    }
                }
                iterator.next();
            }
            iterator.status().map_err(|e| read_error(state, e))?;
            if !entries.is_empty() {
                blocks.push(StateBlock {
                    name: state.clone(),
                    kind: meta.kind,
                    entries,
                    ttl: meta.ttl,
                });
            }
        }
        if blocks.is_empty() {
            continue;
        }
        let go_on = visit(KeyGroupBlock {
            key_group: key_group as u32,
            states: blocks,
        })?;
        if !go_on {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A snapshot already encoded in the synchronous part (small state).
pub(crate) struct EncodedSnapshot {
    pub bytes: Vec<u8>,
    pub handle: KeyedStateHandle,
}

impl KeyedSnapshot for EncodedSnapshot {
    fn write(self: Box<Self>, out: &mut dyn Write) -> Result<KeyedStateHandle, StateError> {
        out.write_all(&self.bytes)?;
        Ok(self.handle)
    }
}

/// A snapshot whose synchronous part failed: writing it reports the failure.
pub(crate) struct FailedSnapshot(pub String);

impl KeyedSnapshot for FailedSnapshot {
    fn write(self: Box<Self>, _out: &mut dyn Write) -> Result<KeyedStateHandle, StateError> {
        Err(StateError::Backend(self.0))
    }
}
