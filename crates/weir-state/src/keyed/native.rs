//! Incremental snapshots: a RocksDB instance's own files, shared between
//! checkpoints.
//!
//! An incremental snapshot lists every file of a RocksDB checkpoint. SST files are
//! immutable, so they are stored once in checkpoint storage under the hash of
//! their content ([`SharedFiles`]) and referenced by every checkpoint that still
//! needs them; a checkpoint uploads only the SST files storage does not hold yet.
//! The small files that change every time (`MANIFEST-*`, `CURRENT`, `OPTIONS-*`)
//! are written into the task's own state file.

use crate::descriptor::StateKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Checkpoint storage for files shared between checkpoints, addressed by content.
pub trait SharedFiles: Send + Sync {
    /// Makes the file at `path` (of `size` bytes, content hash `key`) available
    /// under `key`; returns the bytes copied (0 when storage already held it).
    fn put(&self, path: &Path, key: &str, size: u64) -> Result<u64, String>;
    /// Copies the shared file `key` to `to`.
    fn fetch(&self, key: &str, to: &Path) -> Result<(), String>;
}

/// Where one file of a native snapshot is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NativeFileLocation {
    /// In shared storage under this content key.
    Shared(String),
    /// Inside the keyed state section of the task's state file.
    Inline {
        /// Offset within the section.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
}

/// One file of a native snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeFile {
    /// The file's name in the RocksDB directory.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// XXH3-128 of its content, hex (also the shared key of shared files).
    pub hash: String,
    /// Where it is stored.
    pub location: NativeFileLocation,
}

/// A RocksDB instance as files: restorable by opening it (same key groups) or by
/// reading the key groups another subtask needs out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeSnapshot {
    /// First and last key group the instance owned.
    pub key_groups: (u32, u32),
    /// Its states (column families) and their kinds.
    pub states: Vec<(String, StateKind)>,
    /// The states whose values carry time-to-live timestamps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ttl_states: Vec<String>,
    /// Every file of the RocksDB checkpoint.
    pub files: Vec<NativeFile>,
    /// Bytes copied to shared storage by this checkpoint (the rest was there).
    pub uploaded: u64,
}

impl NativeSnapshot {
    /// Bytes of all files together (what a full copy would move).
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Content keys of the shared files.
    pub fn shared_keys(&self) -> impl Iterator<Item = &str> {
        self.files.iter().filter_map(|f| match &f.location {
            NativeFileLocation::Shared(key) => Some(key.as_str()),
            NativeFileLocation::Inline { .. } => None,
        })
    }
}

/// XXH3-128 of a file's content, hex.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// Whether a RocksDB file is immutable (shared between checkpoints by content).
pub(crate) fn is_shared_file(name: &str) -> bool {
    name.ends_with(".sst") || name.ends_with(".blob")
}

/// Writes the files of `snapshot` into `dir` (shared ones fetched from `shared`,
/// inline ones cut from `section`), checking every file's hash.
pub(crate) fn materialize(
    snapshot: &NativeSnapshot,
    section: &[u8],
    shared: &dyn SharedFiles,
    dir: &Path,
) -> Result<(), crate::StateError> {
    let bad = |message: String| crate::StateError::Restore {
        name: "RocksDB files".into(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
    for file in &snapshot.files {
        if file.name.contains('/') || file.name.contains('\\') || file.name.starts_with('.') {
            return Err(bad(format!("refusing the file name '{}'", file.name)));
        }
        let path = dir.join(&file.name);
        let hash = match &file.location {
            NativeFileLocation::Shared(key) => {
                shared
                    .fetch(key, &path)
                    .map_err(|e| bad(format!("shared file {key} ({}): {e}", file.name)))?;
                hash_file(&path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?
            }
            NativeFileLocation::Inline { offset, len } => {
                let bytes = usize::try_from(*offset)
                    .ok()
                    .zip(usize::try_from(*len).ok())
                    .and_then(|(o, l)| section.get(o..o.checked_add(l)?))
                    .ok_or_else(|| bad(format!("{} lies outside its state file section", file.name)))?;
                std::fs::write(&path, bytes).map_err(|e| bad(format!("cannot write {}: {e}", path.display())))?;
                format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
            }
        };
        if hash != file.hash {
            let location = match &file.location {
                NativeFileLocation::Shared(key) => format!("shared file {key}"),
                NativeFileLocation::Inline { .. } => "the task's state file".to_string(),
            };
            return Err(bad(format!(
                "{} ({location}) is damaged: content hash {hash}, expected {}",
                file.name, file.hash
            )));
        }
    }
    Ok(())
}
