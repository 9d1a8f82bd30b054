//! Files shared between the checkpoints of a job: the immutable RocksDB files of
//! incremental checkpoints, stored once under the hash of their content.
//!
//! A shared file is referenced by the metadata of every checkpoint that lists it;
//! it is deleted once no retained checkpoint refers to it ([`collect_garbage`]).
//! Files written or reused after a given moment are spared, so a checkpoint still
//! in flight never loses a file it already counted on.
//!
//! Storage goes through `object_store` like every checkpoint file: on the local
//! file system a put is a hard link of the RocksDB file (a copy across devices),
//! and so is a fetch.
//!
//! [`collect_garbage`]: SharedFileStore::collect_garbage

use crate::metadata::CheckpointMetadata;
use crate::object::{Durability, Object};
use crate::storage::object;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
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
    object: Object,
    /// Serializes "is it there? then keep it" against garbage collection, and
    /// holds when each file was last written or reused by this process (objects
    /// cannot be touched, and a hard-linked file keeps the time RocksDB wrote it).
    lock: Arc<Mutex<HashMap<String, SystemTime>>>,
}

impl SharedFileStore {
    /// Shared files in `dir` (created on the first write), a local directory or
    /// an object store URL; an unusable URL is an error.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, crate::CheckpointError> {
        let dir = dir.into();
        let object = object(&dir)?;
        Ok(SharedFileStore {
            dir,
            object,
            lock: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The shared files of the checkpoint or savepoint in `snapshot_dir`: its own
    /// `shared` directory if it has one, else its job's (`../shared`).
    pub fn for_snapshot(snapshot_dir: &Path) -> Result<Self, crate::CheckpointError> {
        let own = snapshot_dir.join(SHARED_DIR);
        if object(&own)?.in_use()? {
            return Self::new(own);
        }
        Self::new(snapshot_dir.parent().unwrap_or(snapshot_dir).join(SHARED_DIR))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, key: &str) -> Result<Object, String> {
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("'{key}' is not a shared file key"));
        }
        Ok(self.object.child(key))
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
        // Files being written are not listed: they appear complete.
        let Ok(listed) = self.object.list() else {
            return 0;
        };
        let mut deleted = 0;
        for meta in listed {
            let Some(name) = self.object.relative(&meta).map(str::to_string) else {
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
            match self.object.child(&name).delete() {
                Ok(()) => {
                    recent.remove(&name);
                    deleted += 1;
                }
                Err(e) => tracing::warn!("cannot delete shared file: {e}"),
            }
        }
        deleted
    }
}

impl SharedFiles for SharedFileStore {
    fn put(&self, path: &Path, key: &str, size: u64) -> Result<u64, String> {
        let target = self.file(key)?;
        {
            let mut recent = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Used from now on, reused or written: garbage collection spares it.
            recent.insert(key.to_string(), SystemTime::now());
            if target
                .head()
                .map_err(|e| e.to_string())?
                .is_some_and(|m| m.size == size)
            {
                return Ok(0);
            }
        }
        // A put is atomic: concurrent writes of the same content are harmless.
        object(path)
            .and_then(|source| source.copy_to(&target, Durability::FileAndDir))
            .map_err(|e| e.to_string())?;
        Ok(size)
    }

    fn fetch(&self, key: &str, to: &Path) -> Result<(), String> {
        // A scratch copy: RocksDB opens it at once, and a lost one is fetched again.
        self.file(key)?
            .copy_to(&object(to).map_err(|e| e.to_string())?, Durability::None)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared files in a local directory: a put is a hard link of the RocksDB
    /// file (same inode), so is a fetch; a file put after `spare_since` is spared
    /// even though the link keeps the RocksDB file's old modification time.
    #[test]
    fn local_shared_files_are_hard_links_and_spared_when_recently_used() {
        use std::os::unix::fs::MetadataExt;
        let local = tempfile::tempdir().unwrap();
        let file = local.path().join("000001.sst");
        std::fs::write(&file, b"sst bytes").unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .append(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();

        let shared = SharedFileStore::new(local.path().join("job").join(SHARED_DIR)).unwrap();
        let before_put = SystemTime::now();
        assert_eq!(shared.put(&file, "00aa", 9).unwrap(), 9);
        let stored = local.path().join("job/shared/00aa");
        assert_eq!(inode(&stored), inode(&file), "a hard link, not a copy");
        assert_eq!(shared.put(&file, "00aa", 9).unwrap(), 0);
        let names: Vec<_> = std::fs::read_dir(local.path().join("job/shared")).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing but the file in the shared directory");

        let fetched = local.path().join("restore").join("000001.sst");
        std::fs::create_dir_all(fetched.parent().unwrap()).unwrap();
        shared.fetch("00aa", &fetched).unwrap();
        assert_eq!(inode(&fetched), inode(&file));
        assert_eq!(std::fs::read(&fetched).unwrap(), b"sst bytes");

        // Modified long ago, but put after `before_put`: spared.
        assert_eq!(shared.collect_garbage(&[], before_put), 0);
        assert!(stored.is_file());
        let after = SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(shared.collect_garbage(&[], after), 1);
        assert!(!stored.exists());
        assert!(file.is_file() && fetched.is_file(), "the other links stay");
        let found = SharedFileStore::for_snapshot(&local.path().join("job/chk-1")).unwrap();
        assert_eq!(found.dir(), local.path().join("job/shared"));
    }

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
