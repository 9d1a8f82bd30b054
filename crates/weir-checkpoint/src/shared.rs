//! Files shared between the checkpoints of a job: the immutable RocksDB files of
//! incremental checkpoints, stored once under the hash of their content.
//!
//! A shared file is referenced by the metadata of every checkpoint that lists it;
//! it is deleted once no retained checkpoint refers to it ([`collect_garbage`]).
//! Files written or reused after a given moment are spared, so a checkpoint still
//! in flight never loses a file it already counted on.

use crate::metadata::CheckpointMetadata;
use crate::remote::Remote;
use crate::storage::remote;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use weir_state::SharedFiles;

/// Name of the shared-file directory, next to the `chk-<n>` directories (and
/// inside a savepoint's directory when it has shared files).
pub const SHARED_DIR: &str = "shared";

/// Shared files in a local directory or under an object store prefix.
#[derive(Debug, Clone)]
pub struct SharedFileStore {
    dir: PathBuf,
    remote: Option<Remote>,
    /// Serializes "is it there? then keep it" against garbage collection, and
    /// holds when each remote file was last written or reused by this process
    /// (objects cannot be touched; local files get a new modification time).
    lock: Arc<Mutex<HashMap<String, SystemTime>>>,
}

impl SharedFileStore {
    /// Shared files in `dir` (created on the first write), a local directory or
    /// an object store URL; an unusable URL is an error.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, crate::CheckpointError> {
        let dir = dir.into();
        let remote = remote(&dir)?;
        Ok(SharedFileStore {
            dir,
            remote,
            lock: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The shared files of the checkpoint or savepoint in `snapshot_dir`: its own
    /// `shared` directory if it has one, else its job's (`../shared`).
    pub fn for_snapshot(snapshot_dir: &Path) -> Result<Self, crate::CheckpointError> {
        let own = snapshot_dir.join(SHARED_DIR);
        let has_own = match remote(&own)? {
            Some(object) => object.has_children()?,
            None => own.is_dir(),
        };
        if has_own {
            return Self::new(own);
        }
        Self::new(snapshot_dir.parent().unwrap_or(snapshot_dir).join(SHARED_DIR))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> Result<PathBuf, String> {
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("'{key}' is not a shared file key"));
        }
        Ok(self.dir.join(key))
    }

    /// Deletes shared files no checkpoint in `retained` refers to, except those
    /// written or reused at or after `spare_since`; returns how many were deleted.
    pub fn collect_garbage(&self, retained: &[CheckpointMetadata], spare_since: SystemTime) -> usize {
        let referenced: HashSet<&str> = retained
            .iter()
            .flat_map(|m| m.tasks.iter())
            .flat_map(|t| t.operators.iter())
            .filter_map(|o| o.keyed.as_ref())
            .filter_map(|(_, handle)| handle.native.as_ref())
            .flat_map(|n| n.shared_keys())
            .collect();
        let mut recent = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(object) = &self.remote {
            let Ok(listed) = object.list() else {
                return 0;
            };
            let mut deleted = 0;
            for meta in listed {
                let Some(name) = object.relative(&meta).map(str::to_string) else {
                    continue;
                };
                let used = recent.get(&name).copied();
                let modified = SystemTime::from(meta.last_modified);
                if referenced.contains(name.as_str())
                    || modified >= spare_since
                    || used.is_some_and(|used| used >= spare_since)
                {
                    continue;
                }
                match object.child(&name).delete() {
                    Ok(()) => {
                        recent.remove(&name);
                        deleted += 1;
                    }
                    Err(e) => tracing::warn!("cannot delete shared file: {e}"),
                }
            }
            return deleted;
        }
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut deleted = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            // Uploads in progress are hidden files; they become visible complete.
            if name.starts_with('.') || referenced.contains(name.as_str()) {
                continue;
            }
            let recent = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified >= spare_since);
            if recent {
                continue;
            }
            match fs::remove_file(entry.path()) {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!("cannot delete shared file {}: {e}", entry.path().display()),
            }
        }
        deleted
    }
}

impl SharedFiles for SharedFileStore {
    fn put(&self, path: &Path, key: &str, size: u64) -> Result<u64, String> {
        let target = self.path(key)?;
        if let Some(object) = &self.remote {
            let target = object.child(key);
            {
                let mut recent = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if target
                    .head()
                    .map_err(|e| e.to_string())?
                    .is_some_and(|m| m.size == size)
                {
                    recent.insert(key.to_string(), SystemTime::now());
                    return Ok(0);
                }
            }
            // A put is atomic: concurrent uploads of the same content are harmless.
            target.upload(path).map_err(|e| e.to_string())?;
            let mut recent = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            recent.insert(key.to_string(), SystemTime::now());
            return Ok(size);
        }
        {
            let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if fs::metadata(&target).is_ok_and(|existing| existing.len() == size) {
                // Reused: mark it recent so that garbage collection spares it.
                let touched = File::options()
                    .append(true)
                    .open(&target)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                if touched.is_ok() {
                    return Ok(0);
                }
            }
        }
        fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        // Unique per upload: two tasks may upload the same content at once.
        static UPLOADS: AtomicU64 = AtomicU64::new(0);
        let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
        let temporary = self.dir.join(format!(".{key}.{}-{n}.inprogress", std::process::id()));
        fs::copy(path, &temporary).map_err(|e| format!("{} -> {}: {e}", path.display(), temporary.display()))?;
        File::open(&temporary)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("{}: {e}", temporary.display()))?;
        fs::rename(&temporary, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        Ok(size)
    }

    fn fetch(&self, key: &str, to: &Path) -> Result<(), String> {
        let source = self.path(key)?;
        if let Some(object) = &self.remote {
            return object.child(key).download(to).map_err(|e| e.to_string());
        }
        // A hard link is enough (files are never changed in place); copy across
        // file systems.
        if fs::hard_link(&source, to).is_ok() {
            return Ok(());
        }
        fs::copy(&source, to)
            .map(|_| ())
            .map_err(|e| format!("{} -> {}: {e}", source.display(), to.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared files in an object store: put uploads once, a reused file is spared
    /// by garbage collection, unreferenced old files are deleted, fetch restores.
    #[test]
    fn object_store_shared_files_put_fetch_and_collect() {
        let local = tempfile::tempdir().unwrap();
        let file = local.path().join("000001.sst");
        std::fs::write(&file, b"sst bytes").unwrap();
        let shared = SharedFileStore::new("memory://shared-test/job/shared").unwrap();
        assert_eq!(shared.put(&file, "00aa", 9).unwrap(), 9);
        assert_eq!(
            shared.put(&file, "00aa", 9).unwrap(),
            0,
            "a second put of the same key uploads nothing"
        );
        assert_eq!(shared.put(&file, "00bb", 9).unwrap(), 9);
        assert!(shared.put(&file, "../escape", 9).is_err());

        let fetched = local.path().join("fetched.sst");
        shared.fetch("00aa", &fetched).unwrap();
        assert_eq!(std::fs::read(&fetched).unwrap(), b"sst bytes");
        assert!(shared.fetch("00cc", &local.path().join("missing")).is_err());

        // Both were written after this moment: nothing is deleted.
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        assert_eq!(shared.collect_garbage(&[], before), 0);
        // Spare nothing: both unreferenced files go.
        let after = SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(shared.collect_garbage(&[], after), 2);
        assert!(shared.fetch("00aa", &local.path().join("gone")).is_err());
        let found = SharedFileStore::for_snapshot(Path::new("memory://shared-test/job/chk-1")).unwrap();
        assert_eq!(found.dir(), Path::new("memory://shared-test/job/shared"));
    }
}
