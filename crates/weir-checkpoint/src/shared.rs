//! Files shared between the checkpoints of a job: the immutable RocksDB files of
//! incremental checkpoints, stored once under the hash of their content.
//!
//! Which files are live is decided by references over checkpoint ids, never by a
//! clock: a shared file is kept while a retained completed checkpoint lists it
//! in its metadata, or a checkpoint still in flight has put or reused it
//! ([`SharedFileStore::for_checkpoint`] records which); everything else is
//! garbage ([`collect_garbage`]). A jump of the wall clock, or a storage server
//! whose clock is off, changes nothing.
//!
//! Storage goes through `object_store` like every checkpoint file: on the local
//! file system a put is a hard link of the RocksDB file (a copy across devices),
//! and so is a fetch.
//!
//! [`collect_garbage`]: SharedFileStore::collect_garbage

use crate::metadata::{CheckpointMetadata, SHARED_DIR};
use crate::object::{Durability, Object};
use crate::retry::with_retry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use weir_core::StorageRetry;
use weir_state::SharedFiles;

/// The keys each checkpoint in flight has put or reused, by checkpoint id.
type InFlight = BTreeMap<u64, HashSet<String>>;

/// Shared files in a local directory or under an object store prefix.
#[derive(Debug, Clone)]
pub struct SharedFileStore {
    dir: PathBuf,
    object: Object,
    /// What checkpoints in flight use; the lock also serializes "is it there?
    /// then keep it" against garbage collection.
    in_flight: Arc<Mutex<InFlight>>,
    /// How fetches for a restore are retried while storage is unavailable.
    retry: StorageRetry,
}

impl SharedFileStore {
    /// Shared files in `dir` (created on the first write), a local directory or
    /// an object store URL; an unusable URL is an error.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, crate::CheckpointError> {
        let dir = dir.into();
        let object = Object::parse(&dir)?;
        Ok(SharedFileStore {
            dir,
            object,
            in_flight: Arc::new(Mutex::new(BTreeMap::new())),
            retry: StorageRetry::none(),
        })
    }

    /// The shared files of the checkpoint or savepoint in `snapshot_dir`: its own
    /// `shared` directory if it has one, else its job's (`../shared`). Looking,
    /// and fetching files later, are retried while storage is unavailable, as
    /// `retry` says.
    pub fn for_snapshot(snapshot_dir: &Path, retry: &StorageRetry) -> Result<Self, crate::CheckpointError> {
        let own = snapshot_dir.join(SHARED_DIR);
        let own_object = Object::parse(&own)?;
        let dir = if with_retry(retry, &own.display(), || own_object.in_use())? {
            own
        } else {
            snapshot_dir.parent().unwrap_or(snapshot_dir).join(SHARED_DIR)
        };
        Ok(SharedFileStore {
            retry: retry.clone(),
            ..Self::new(dir)?
        })
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

    fn lock(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The size of shared file `key`, or `None` if it is missing.
    pub fn size_of(&self, key: &str) -> Result<Option<u64>, crate::CheckpointError> {
        let file = self
            .file(key)
            .map_err(|reason| crate::CheckpointError::corrupt(self.dir.join(key), reason))?;
        file.head()
    }

    /// Whether shared file `key` holds exactly `size` bytes whose XXH3-128 (hex,
    /// as keys are named) is `hash`; returns the hash found when it does not.
    /// Reads no further than one byte past `size`. Shared files never change once
    /// written, so a file this process has written or verified is not read again (remembered
    /// per path, size and hash for the life of the process).
    pub fn verify_content(
        &self,
        key: &str,
        size: u64,
        hash: &str,
    ) -> Result<Result<(), String>, crate::CheckpointError> {
        let file = self
            .file(key)
            .map_err(|reason| crate::CheckpointError::corrupt(self.dir.join(key), reason))?;
        let remembered = (self.dir.join(key), size, hash.to_string());
        let verified = verified_contents();
        if verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&remembered)
        {
            return Ok(Ok(()));
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let read = file.read_chunks(Some(size.saturating_add(1)), |chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        let found = format!("{:032x}", hasher.digest128());
        if read != size {
            return Ok(Err(format!("{read} bytes or more")));
        }
        if found != hash {
            return Ok(Err(found));
        }
        verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(remembered);
        Ok(Ok(()))
    }

    /// The store as checkpoint `checkpoint_id` writes to it: every file it puts
    /// or reuses is kept until the checkpoint is no longer in flight (then its
    /// metadata, if it completed, keeps what it lists).
    pub fn for_checkpoint(&self, checkpoint_id: u64) -> CheckpointSharedFiles {
        CheckpointSharedFiles {
            store: self.clone(),
            checkpoint_id,
        }
    }

    /// How many checkpoints reference each shared file: the retained completed
    /// checkpoints by their metadata, the checkpoints in flight by what they put
    /// or reused so far.
    fn references<'a>(retained: &'a [CheckpointMetadata], in_flight: &'a InFlight) -> HashMap<&'a str, usize> {
        let mut references: HashMap<&str, usize> = HashMap::new();
        for metadata in retained {
            let keys: HashSet<&str> = metadata
                .natives()
                .flat_map(|(_, native)| native.shared_keys())
                .collect();
            for key in keys {
                *references.entry(key).or_default() += 1;
            }
        }
        for key in in_flight.values().flatten() {
            *references.entry(key.as_str()).or_default() += 1;
        }
        references
    }

    /// Deletes the shared files no checkpoint references: none of the `retained`
    /// completed checkpoints lists it, and none of the checkpoints `in_flight` (by
    /// id) has put or reused it. Forgets what checkpoints no longer in flight
    /// used (completed ones are covered by their metadata, aborted ones leave
    /// garbage). Returns how many files were deleted.
    pub fn collect_garbage(&self, retained: &[CheckpointMetadata], in_flight: &[u64]) -> usize {
        let mut registered = self.lock();
        registered.retain(|id, _| in_flight.contains(id));
        let references = Self::references(retained, &registered);
        // Files being written are not listed: they appear complete.
        let listed = match self.object.list() {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!("cannot list the shared files to collect garbage: {e}");
                return 0;
            }
        };
        let mut deleted = 0;
        for meta in listed {
            let Some(name) = self.object.relative(&meta) else {
                continue;
            };
            if references.get(name).is_some_and(|n| *n > 0) {
                continue;
            }
            match self.object.child(name).delete() {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!("cannot delete shared file: {e}"),
            }
        }
        deleted
    }

    /// Makes the file at `path` available under `key` for checkpoint
    /// `checkpoint_id`; returns the bytes copied (0 when storage held it).
    fn put_for(&self, checkpoint_id: u64, path: &Path, key: &str, size: u64) -> Result<u64, String> {
        let target = self.file(key)?;
        {
            let mut registered = self.lock();
            // Referenced from now on, reused or written: garbage collection keeps it.
            registered.entry(checkpoint_id).or_default().insert(key.to_string());
            if target.head().map_err(|e| e.to_string())? == Some(size) {
                return Ok(0);
            }
        }
        // A put is atomic: concurrent writes of the same content are harmless.
        Object::parse(path)
            .and_then(|source| source.copy_to(&target, Durability::FileAndDir))
            .map_err(|e| e.to_string())?;
        // Its key is the hash of the content just copied: a restore in this process
        // need not read it again to verify it.
        verified_contents()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((self.dir.join(key), size, key.to_string()));
        Ok(size)
    }

    fn fetch_to(&self, key: &str, to: &Path) -> Result<(), String> {
        // A scratch copy: RocksDB opens it at once, and a lost one is fetched again.
        let source = self.file(key)?;
        let target = Object::parse(to).map_err(|e| e.to_string())?;
        with_retry(&self.retry, &self.dir.join(key).display(), || {
            source.copy_to(&target, Durability::None)
        })
        .map_err(|e| e.to_string())
    }
}

/// Restores read shared files through the store itself; writes go through
/// [`SharedFileStore::for_checkpoint`], which records what each checkpoint uses.
impl SharedFiles for SharedFileStore {
    fn put(&self, _path: &Path, key: &str, _size: u64) -> Result<u64, String> {
        Err(format!(
            "shared file {key}: a put must name its checkpoint (SharedFileStore::for_checkpoint), or \
             garbage collection could delete the file before the checkpoint completes"
        ))
    }

    fn fetch(&self, key: &str, to: &Path) -> Result<(), String> {
        self.fetch_to(key, to)
    }
}

/// The shared files as one checkpoint writes them ([`SharedFileStore::for_checkpoint`]).
#[derive(Debug, Clone)]
pub struct CheckpointSharedFiles {
    store: SharedFileStore,
    checkpoint_id: u64,
}

impl SharedFiles for CheckpointSharedFiles {
    fn put(&self, path: &Path, key: &str, size: u64) -> Result<u64, String> {
        self.store.put_for(self.checkpoint_id, path, key, size)
    }

    fn fetch(&self, key: &str, to: &Path) -> Result<(), String> {
        self.store.fetch_to(key, to)
    }
}

/// Shared files this process has written, or read whole and found as their
/// metadata says: path, size and content hash.
fn verified_contents() -> &'static Mutex<HashSet<(PathBuf, u64, String)>> {
    static VERIFIED: std::sync::OnceLock<Mutex<HashSet<(PathBuf, u64, String)>>> = std::sync::OnceLock::new();
    VERIFIED.get_or_init(|| Mutex::new(HashSet::new()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::faults::FaultInjection;
    use crate::metadata::{OperatorSnapshotHandle, Section, SnapshotKind, TaskSnapshotHandle, METADATA_VERSION};
    use weir_state::{KeyedStateHandle, NativeFile, NativeFileLocation, NativeSnapshot};

    /// The metadata of checkpoint `id` whose incremental state lists `keys`.
    pub(crate) fn metadata_listing(id: u64, keys: &[&str]) -> CheckpointMetadata {
        let native = NativeSnapshot {
            key_groups: (0, 127),
            states: Vec::new(),
            ttl_states: Vec::new(),
            files: keys
                .iter()
                .map(|key| NativeFile {
                    name: format!("{key}.sst"),
                    // Tests write 9-byte files ("sst bytes") named by their hash.
                    size: 9,
                    hash: key.to_string(),
                    location: NativeFileLocation::Shared(key.to_string()),
                })
                .collect(),
            uploaded: 0,
        };
        CheckpointMetadata {
            version: METADATA_VERSION,
            job_name: "test".into(),
            checkpoint_id: id,
            timestamp_ms: 0,
            mode: weir_core::CheckpointMode::Aligned,
            kind: SnapshotKind::Checkpoint,
            tasks: vec![TaskSnapshotHandle {
                vertex: "v".into(),
                head_operator: "op".into(),
                subtask: 0,
                parallelism: 1,
                file: None,
                operators: vec![OperatorSnapshotHandle {
                    operator_id: "op".into(),
                    max_parallelism: 128,
                    keyed: Some((
                        Section {
                            offset: 0,
                            len: 0,
                            checksum: 0,
                        },
                        KeyedStateHandle {
                            groups: Vec::new(),
                            bytes: 0,
                            native: Some(native),
                        },
                    )),
                    operator_state: None,
                }],
                channel_state: None,
            }],
        }
    }

    fn present(shared: &SharedFileStore, key: &str) -> bool {
        shared.size_of(key).unwrap().is_some()
    }

    /// Shared files in a local directory: a put is a hard link of the RocksDB
    /// file (same inode), so is a fetch; a file a checkpoint in flight put is
    /// kept until that checkpoint is no longer in flight.
    #[test]
    fn local_shared_files_are_hard_links_kept_while_their_checkpoint_is_in_flight() {
        use std::os::unix::fs::MetadataExt;
        let local = tempfile::tempdir().unwrap();
        let file = local.path().join("000001.sst");
        std::fs::write(&file, b"sst bytes").unwrap();
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();

        let shared = SharedFileStore::new(local.path().join("job").join(SHARED_DIR)).unwrap();
        let checkpoint = shared.for_checkpoint(1);
        assert_eq!(checkpoint.put(&file, "00aa", 9).unwrap(), 9);
        let stored = local.path().join("job/shared/00aa");
        assert_eq!(inode(&stored), inode(&file), "a hard link, not a copy");
        assert_eq!(checkpoint.put(&file, "00aa", 9).unwrap(), 0);
        let names: Vec<_> = std::fs::read_dir(local.path().join("job/shared")).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing but the file in the shared directory");
        assert!(shared.put(&file, "00bb", 9).is_err(), "a put must name its checkpoint");

        let fetched = local.path().join("restore").join("000001.sst");
        std::fs::create_dir_all(fetched.parent().unwrap()).unwrap();
        shared.fetch("00aa", &fetched).unwrap();
        assert_eq!(inode(&fetched), inode(&file));
        assert_eq!(std::fs::read(&fetched).unwrap(), b"sst bytes");

        // Checkpoint 1 in flight: kept. Aborted (no longer in flight): garbage.
        assert_eq!(shared.collect_garbage(&[], &[1]), 0);
        assert!(stored.is_file());
        assert_eq!(shared.collect_garbage(&[], &[]), 1);
        assert!(!stored.exists());
        assert!(file.is_file() && fetched.is_file(), "the other links stay");
        let found = SharedFileStore::for_snapshot(&local.path().join("job/chk-1"), &StorageRetry::none()).unwrap();
        assert_eq!(found.dir(), local.path().join("job/shared"));
    }

    /// Shared files in an object store: put uploads once, fetch restores.
    #[test]
    fn object_store_shared_files_put_fetch_and_collect() {
        let local = tempfile::tempdir().unwrap();
        let file = local.path().join("000001.sst");
        std::fs::write(&file, b"sst bytes").unwrap();
        let shared = SharedFileStore::new("memory://shared-test/job/shared").unwrap();
        let checkpoint = shared.for_checkpoint(7);
        assert_eq!(checkpoint.put(&file, "00aa", 9).unwrap(), 9);
        assert_eq!(
            checkpoint.put(&file, "00aa", 9).unwrap(),
            0,
            "a second put of the same key uploads nothing"
        );
        assert_eq!(checkpoint.put(&file, "00bb", 9).unwrap(), 9);
        assert!(checkpoint.put(&file, "../escape", 9).is_err());

        let fetched = local.path().join("fetched.sst");
        shared.fetch("00aa", &fetched).unwrap();
        assert_eq!(std::fs::read(&fetched).unwrap(), b"sst bytes");
        assert!(shared.fetch("00cc", &local.path().join("missing")).is_err());

        // Checkpoint 7 completed listing only 00aa: 00bb is garbage.
        assert_eq!(shared.collect_garbage(&[metadata_listing(7, &["00aa"])], &[]), 1);
        assert!(present(&shared, "00aa") && !present(&shared, "00bb"));
        assert_eq!(shared.collect_garbage(&[], &[]), 1);
        assert!(shared.fetch("00aa", &local.path().join("gone")).is_err());
        let found =
            SharedFileStore::for_snapshot(Path::new("memory://shared-test/job/chk-1"), &StorageRetry::none()).unwrap();
        assert_eq!(found.dir(), Path::new("memory://shared-test/job/shared"));
    }

    /// Garbage collection by references over checkpoint ids: whatever the
    /// storage's clock says (an hour ahead, an hour behind) a file an in-flight
    /// checkpoint uses is kept and a file nobody references is deleted. (The
    /// collection by modification times this replaced kept every unreferenced
    /// file while the storage clock ran ahead, and deleted a file an in-flight
    /// checkpoint had just put once the process's clock jumped forward.)
    #[test]
    fn garbage_collection_counts_references_and_ignores_clock_jumps() {
        let local = tempfile::tempdir().unwrap();
        let file = local.path().join("000001.sst");
        std::fs::write(&file, b"sst bytes").unwrap();
        for skew in [3600, -3600, 0] {
            let storage = FaultInjection::in_memory(&format!("gc-clock{skew}"));
            storage.set_clock_skew(skew);
            let shared = SharedFileStore::new(storage.location().join("job").join(SHARED_DIR)).unwrap();
            // Checkpoint 1 puts a and b, and completes listing both.
            for key in ["000a", "000b"] {
                shared.for_checkpoint(1).put(&file, key, 9).unwrap();
            }
            let first = metadata_listing(1, &["000a", "000b"]);
            // Checkpoint 2 reuses a and puts c; it is still in flight.
            assert_eq!(shared.for_checkpoint(2).put(&file, "000a", 9).unwrap(), 0);
            shared.for_checkpoint(2).put(&file, "000c", 9).unwrap();
            // Checkpoint 3 puts d and is aborted.
            shared.for_checkpoint(3).put(&file, "000d", 9).unwrap();

            assert_eq!(
                shared.collect_garbage(std::slice::from_ref(&first), &[2]),
                1,
                "skew {skew}s"
            );
            let kept: Vec<bool> = ["000a", "000b", "000c", "000d"]
                .iter()
                .map(|key| present(&shared, key))
                .collect();
            assert_eq!(
                kept,
                vec![true, true, true, false],
                "skew {skew}s: a, b, c live; d garbage"
            );

            // Checkpoint 2 completes listing a and c; only it is retained.
            let second = metadata_listing(2, &["000a", "000c"]);
            assert_eq!(shared.collect_garbage(&[second], &[]), 1, "skew {skew}s");
            let kept: Vec<bool> = ["000a", "000b", "000c"]
                .iter()
                .map(|key| present(&shared, key))
                .collect();
            assert_eq!(
                kept,
                vec![true, false, true],
                "skew {skew}s: b is garbage once 1 is dropped"
            );
        }
    }
}
