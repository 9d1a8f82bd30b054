//! Checkpoints in a local directory or an object store.
//!
//! Every location is a `Path`: a local directory, or a URL such as
//! `s3://bucket/checkpoints/job-1/chk-7`. Both go through `object_store` (see
//! [`crate::object`]; local paths through its `LocalFileSystem`), one code path
//! for every store: a put is atomic everywhere (on disk a staged file renamed into
//! place), and local files are synced once written.

use crate::error::CheckpointError;
use crate::metadata::{
    CheckpointMetadata, FileHandle, SnapshotKind, METADATA_FILE, METADATA_VERSION, OLDEST_READABLE_VERSION,
};
use crate::object::{Durability, Object, ObjectWriter};
use std::io::Write;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

const CHECKSUM_PREFIX: &str = "#xxh3=";

/// A completed checkpoint on storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointLocation {
    /// Its id.
    pub id: u64,
    /// Its directory.
    pub dir: PathBuf,
}

/// The object (or prefix) `path` names, local or in an object store.
pub(crate) fn object(path: &Path) -> Result<Object, CheckpointError> {
    Object::parse(path)
}

/// Reads the whole file or object at `path`.
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    object(path)?.read()
}

/// Whether a file or object exists at `path`.
pub(crate) fn is_file(path: &Path) -> bool {
    object(path).is_ok_and(|object| object.exists())
}

/// Copies the file or object `from` to `to`, local or remote on either side.
fn copy_file(from: &Path, to: &Path) -> Result<(), CheckpointError> {
    object(from)?.copy_to(&object(to)?, Durability::FileAndDir)
}

/// Writes one state file, computing its size and checksum on the way. The bytes
/// stream into storage as they come (see `ObjectWriter`); the file appears,
/// complete, when [`finish`] returns.
///
/// [`finish`]: StateFileWriter::finish
pub struct StateFileWriter {
    path: PathBuf,
    name: String,
    out: ObjectWriter,
    hasher: Xxh3,
    written: u64,
}

impl std::fmt::Debug for StateFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateFileWriter")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish()
    }
}

impl StateFileWriter {
    /// Bytes written so far (the offset of the next byte).
    pub fn position(&self) -> u64 {
        self.written
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Completes the file (synced when local) and returns its handle.
    pub fn finish(self) -> Result<FileHandle, CheckpointError> {
        // The directory is synced with the checkpoint's `_metadata`, written
        // after every state file into the same directory.
        self.out.finish(Durability::File)?;
        Ok(FileHandle {
            name: self.name,
            size: self.written,
            checksum: self.hasher.digest(),
        })
    }
}

impl Write for StateFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf).map_err(std::io::Error::other)?;
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Parts are sent as they fill; the rest goes by `finish`.
        Ok(())
    }
}

/// Writes `metadata` into `dir` atomically (one put, synced when local), with a
/// checksum line.
fn write_metadata(dir: &Path, metadata: &CheckpointMetadata) -> Result<(), CheckpointError> {
    let mut body = serde_json::to_vec_pretty(metadata)
        .map_err(|e| CheckpointError::corrupt(dir.join(METADATA_FILE), e.to_string()))?;
    let checksum = xxh3_64(&body);
    body.extend_from_slice(format!("\n{CHECKSUM_PREFIX}{checksum:016x}\n").as_bytes());
    object(dir)?.child(METADATA_FILE).write(body)
}

/// The checkpoints of one job, in a local directory or under an object store
/// prefix (`s3://bucket/prefix`).
#[derive(Debug, Clone)]
pub struct CheckpointStorage {
    job_dir: PathBuf,
    object: Object,
}

fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "job".to_string()
    } else {
        trimmed.chars().take(60).collect()
    }
}

fn checkpoint_id_of(dir_name: &str) -> Option<u64> {
    dir_name.strip_prefix("chk-")?.parse().ok()
}

impl CheckpointStorage {
    /// Storage in `job_dir` (a local directory, created if missing, or an object
    /// store URL).
    pub fn new(job_dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let job_dir = job_dir.into();
        let object = object(&job_dir)?;
        object.create_dir()?;
        Ok(CheckpointStorage { job_dir, object })
    }

    /// Whether the checkpoints live in a remote object store (not on local disk).
    pub fn is_remote(&self) -> bool {
        crate::is_remote(&self.job_dir)
    }

    /// Storage for a new run of `job_name` under `base`: `base/<job-name>-<run-id>`.
    pub fn for_new_run(base: &Path, job_name: &str) -> Result<Self, CheckpointError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let mut suffix = 0u32;
        loop {
            let name = if suffix == 0 {
                format!("{}-{stamp}", sanitize(job_name))
            } else {
                format!("{}-{stamp}-{suffix}", sanitize(job_name))
            };
            let dir = base.join(name);
            if !object(&dir)?.in_use()? {
                return Self::new(dir);
            }
            suffix += 1;
        }
    }

    /// The job's checkpoint directory.
    pub fn job_dir(&self) -> &Path {
        &self.job_dir
    }

    /// The directory of checkpoint `id`.
    pub fn checkpoint_dir(&self, id: u64) -> PathBuf {
        self.job_dir.join(format!("chk-{id}"))
    }

    /// Creates state file `name` of checkpoint `id`.
    pub fn create_state_file(&self, id: u64, name: &str) -> Result<StateFileWriter, CheckpointError> {
        Ok(StateFileWriter {
            path: self.checkpoint_dir(id).join(name),
            name: name.to_string(),
            out: self.object.child(&format!("chk-{id}")).child(name).writer(),
            hasher: Xxh3::new(),
            written: 0,
        })
    }

    /// Makes checkpoint `metadata.checkpoint_id` complete by writing its metadata
    /// atomically (one put; on disk a staged file renamed into place, then synced).
    pub fn commit(&self, metadata: &CheckpointMetadata) -> Result<PathBuf, CheckpointError> {
        let dir = self.checkpoint_dir(metadata.checkpoint_id);
        write_metadata(&dir, metadata)?;
        Ok(dir)
    }

    /// Copies completed checkpoint `metadata.checkpoint_id` into a new savepoint
    /// directory under `target` (`savepoint-<id>-<timestamp>`), which Weir never
    /// deletes. The savepoint is complete once its metadata is written (last).
    pub fn export_savepoint(&self, metadata: &CheckpointMetadata, target: &Path) -> Result<PathBuf, CheckpointError> {
        let source = self.checkpoint_dir(metadata.checkpoint_id);
        let dir = target.join(format!(
            "savepoint-{}-{}",
            metadata.checkpoint_id, metadata.timestamp_ms
        ));
        for file in metadata.tasks.iter().filter_map(|t| t.file.as_ref()) {
            copy_file(&source.join(&file.name), &dir.join(&file.name))?;
        }
        // Incremental state: the savepoint gets its own copy of the shared files.
        let keys: std::collections::BTreeSet<&str> = metadata
            .tasks
            .iter()
            .flat_map(|t| t.operators.iter())
            .filter_map(|o| o.keyed.as_ref())
            .filter_map(|(_, handle)| handle.native.as_ref())
            .flat_map(|n| n.shared_keys())
            .collect();
        if !keys.is_empty() {
            let from_dir = self.job_dir.join(crate::shared::SHARED_DIR);
            let to_dir = dir.join(crate::shared::SHARED_DIR);
            for key in keys {
                copy_file(&from_dir.join(key), &to_dir.join(key))?;
            }
        }
        let savepoint = CheckpointMetadata {
            kind: SnapshotKind::Savepoint,
            ..metadata.clone()
        };
        write_metadata(&dir, &savepoint)?;
        Ok(dir)
    }

    /// Completed checkpoints (those with metadata), oldest first.
    pub fn completed(&self) -> Result<Vec<CheckpointLocation>, CheckpointError> {
        Ok(Self::checkpoint_dirs(&self.job_dir)?
            .into_iter()
            .filter(|l| is_file(&l.dir.join(METADATA_FILE)))
            .collect())
    }

    fn checkpoint_dirs(job_dir: &Path) -> Result<Vec<CheckpointLocation>, CheckpointError> {
        let mut found = Vec::new();
        for name in object(job_dir)?.child_dirs()? {
            if let Some(id) = checkpoint_id_of(&name) {
                found.push(CheckpointLocation {
                    id,
                    dir: job_dir.join(name),
                });
            }
        }
        found.sort_by_key(|l| l.id);
        Ok(found)
    }

    /// Deletes the directory of checkpoint `id` (an aborted checkpoint's files).
    pub fn discard(&self, id: u64) {
        if let Err(e) = self.object.child(&format!("chk-{id}")).delete_all() {
            tracing::warn!("cannot delete checkpoint '{}': {e}", self.checkpoint_dir(id).display());
        }
    }

    /// Keeps the newest `keep` completed checkpoints and deletes older ones, and the
    /// leftovers of incomplete checkpoints older than the newest completed one.
    pub fn retain(&self, keep: usize) -> Result<(), CheckpointError> {
        let all: Vec<(CheckpointLocation, bool)> = Self::checkpoint_dirs(&self.job_dir)?
            .into_iter()
            .map(|l| {
                let complete = is_file(&l.dir.join(METADATA_FILE));
                (l, complete)
            })
            .collect();
        let completed: Vec<u64> = all.iter().filter(|(_, c)| *c).map(|(l, _)| l.id).collect();
        let Some(&newest) = completed.last() else {
            return Ok(());
        };
        let kept: Vec<u64> = completed.iter().rev().take(keep.max(1)).copied().collect();
        for (location, complete) in &all {
            let incomplete_and_old = !complete && location.id < newest;
            let completed_and_dropped = *complete && !kept.contains(&location.id);
            if incomplete_and_old || completed_and_dropped {
                // The metadata first: a half-deleted checkpoint is incomplete.
                let checkpoint = self.object.child(&format!("chk-{}", location.id));
                checkpoint.child(METADATA_FILE).delete()?;
                checkpoint.delete_all()?;
            }
        }
        Ok(())
    }

    /// Reads and verifies the metadata of the checkpoint in `dir` and the size and
    /// checksum of every state file it names. Errors name the damaged file.
    pub fn load(dir: &Path) -> Result<CheckpointMetadata, CheckpointError> {
        let path = dir.join(METADATA_FILE);
        let bytes = read_all(&path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CheckpointError::corrupt(&path, "not UTF-8"))?;
        let trimmed = text.trim_end_matches('\n');
        let (body, trailer) = trimmed
            .rsplit_once('\n')
            .ok_or_else(|| CheckpointError::corrupt(&path, "missing checksum line"))?;
        let expected = trailer
            .strip_prefix(CHECKSUM_PREFIX)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| CheckpointError::corrupt(&path, "missing or malformed checksum line"))?;
        let actual = xxh3_64(body.as_bytes());
        if actual != expected {
            return Err(CheckpointError::corrupt(
                &path,
                format!("checksum mismatch (stored {expected:016x}, computed {actual:016x})"),
            ));
        }
        let metadata: CheckpointMetadata =
            serde_json::from_str(body).map_err(|e| CheckpointError::corrupt(&path, e.to_string()))?;
        if metadata.version < OLDEST_READABLE_VERSION {
            return Err(CheckpointError::corrupt(
                &path,
                format!(
                    "format version {} was written by an older release whose state layout this release \
                     cannot read (oldest readable: {OLDEST_READABLE_VERSION})",
                    metadata.version
                ),
            ));
        }
        if metadata.version > METADATA_VERSION {
            return Err(CheckpointError::corrupt(
                &path,
                format!(
                    "format version {} is newer than this release understands ({METADATA_VERSION})",
                    metadata.version
                ),
            ));
        }
        for file in metadata.tasks.iter().filter_map(|t| t.file.as_ref()) {
            Self::verify_file(dir, file)?;
        }
        Ok(metadata)
    }

    fn verify_file(dir: &Path, handle: &FileHandle) -> Result<(), CheckpointError> {
        let path = dir.join(&handle.name);
        let mut hasher = Xxh3::new();
        let size = object(&path)?.read_chunks(|chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        Self::check(&path, handle, size, hasher.digest())
    }

    fn check(path: &Path, handle: &FileHandle, size: u64, checksum: u64) -> Result<(), CheckpointError> {
        if size != handle.size {
            return Err(CheckpointError::corrupt(
                path,
                format!("size is {size} bytes, the metadata says {}", handle.size),
            ));
        }
        if checksum != handle.checksum {
            return Err(CheckpointError::corrupt(path, "checksum mismatch"));
        }
        Ok(())
    }

    /// Reads a state file of the checkpoint in `dir`, verifying size and checksum.
    pub fn read_state_file(dir: &Path, handle: &FileHandle) -> Result<Vec<u8>, CheckpointError> {
        let path = dir.join(&handle.name);
        let bytes = read_all(&path)?;
        if bytes.len() as u64 != handle.size {
            return Err(CheckpointError::corrupt(
                &path,
                format!("size is {} bytes, the metadata says {}", bytes.len(), handle.size),
            ));
        }
        if xxh3_64(&bytes) != handle.checksum {
            return Err(CheckpointError::corrupt(&path, "checksum mismatch"));
        }
        Ok(bytes)
    }

    /// The checkpoint to restore from `path`: the checkpoint itself when `path` is a
    /// checkpoint directory (an error if it is damaged), or the newest valid one when
    /// `path` is a job's checkpoint directory (damaged ones are skipped with a
    /// warning).
    pub fn latest_valid(path: &Path) -> Result<(PathBuf, CheckpointMetadata), CheckpointError> {
        if is_file(&path.join(METADATA_FILE)) {
            return Self::load(path).map(|m| (path.to_path_buf(), m));
        }
        if !object(path)?.in_use()? {
            return Err(CheckpointError::NotFound {
                path: path.to_path_buf(),
                details: "no such directory".into(),
            });
        }
        let mut rejected = Vec::new();
        for location in Self::checkpoint_dirs(path)?.into_iter().rev() {
            if !is_file(&location.dir.join(METADATA_FILE)) {
                continue;
            }
            match Self::load(&location.dir) {
                Ok(metadata) => return Ok((location.dir, metadata)),
                Err(e) => {
                    tracing::warn!("skipping checkpoint {}: {e}", location.id);
                    rejected.push(format!("chk-{}: {e}", location.id));
                }
            }
        }
        Err(CheckpointError::NotFound {
            path: path.to_path_buf(),
            details: rejected.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{OperatorSnapshotHandle, Section, TaskSnapshotHandle};
    use std::fs;
    use weir_core::CheckpointMode;

    fn write_checkpoint(storage: &CheckpointStorage, id: u64, payload: &[u8]) -> CheckpointMetadata {
        let mut writer = storage.create_state_file(id, "task-0-0.state").unwrap();
        writer.write_all(payload).unwrap();
        let file = writer.finish().unwrap();
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_name: "test".into(),
            checkpoint_id: id,
            timestamp_ms: 0,
            mode: CheckpointMode::Aligned,
            kind: SnapshotKind::Checkpoint,
            tasks: vec![TaskSnapshotHandle {
                vertex: "v".into(),
                head_operator: "op".into(),
                subtask: 0,
                parallelism: 1,
                file: Some(file),
                operators: vec![OperatorSnapshotHandle {
                    operator_id: "op".into(),
                    keyed: None,
                    operator_state: Some(Section {
                        offset: 0,
                        len: payload.len() as u64,
                    }),
                }],
                channel_state: None,
            }],
        };
        storage.commit(&metadata).unwrap();
        metadata
    }

    #[test]
    fn commit_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        let written = write_checkpoint(&storage, 1, b"hello state");
        let (path, loaded) = CheckpointStorage::latest_valid(dir.path()).unwrap();
        assert_eq!(loaded, written);
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(CheckpointStorage::read_state_file(&path, file).unwrap(), b"hello state");
    }

    #[test]
    fn corrupt_latest_falls_back_to_previous_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        write_checkpoint(&storage, 1, b"first");
        write_checkpoint(&storage, 2, b"second");
        // Flip one bit of the newest state file.
        let state = storage.checkpoint_dir(2).join("task-0-0.state");
        let mut bytes = fs::read(&state).unwrap();
        bytes[0] ^= 0x01;
        fs::write(&state, bytes).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2)).unwrap_err();
        assert!(e.to_string().contains("task-0-0.state"), "{e}");
        let (path, loaded) = CheckpointStorage::latest_valid(dir.path()).unwrap();
        assert_eq!(loaded.checkpoint_id, 1);
        assert_eq!(path, storage.checkpoint_dir(1));
    }

    #[test]
    fn truncated_files_and_metadata_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        write_checkpoint(&storage, 1, b"some state bytes");
        let state = storage.checkpoint_dir(1).join("task-0-0.state");
        let bytes = fs::read(&state).unwrap();
        fs::write(&state, &bytes[..4]).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(1)).unwrap_err();
        assert!(e.to_string().contains("size is 4 bytes"), "{e}");

        write_checkpoint(&storage, 2, b"x");
        let meta = storage.checkpoint_dir(2).join(METADATA_FILE);
        let text = fs::read_to_string(&meta).unwrap();
        fs::write(&meta, text.replace("\"test\"", "\"tent\"")).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2)).unwrap_err();
        assert!(
            e.to_string().contains("_metadata") && e.to_string().contains("checksum"),
            "{e}"
        );

        let e = CheckpointStorage::latest_valid(dir.path()).unwrap_err();
        assert!(matches!(e, CheckpointError::NotFound { .. }), "{e}");
    }

    #[test]
    fn incomplete_checkpoints_are_invisible_and_retention_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        for id in 1..=5 {
            write_checkpoint(&storage, id, b"s");
        }
        // Checkpoint 6 wrote a file but never completed.
        storage
            .create_state_file(6, "task-0-0.state")
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(storage.completed().unwrap().len(), 5);
        assert_eq!(CheckpointStorage::latest_valid(dir.path()).unwrap().1.checkpoint_id, 5);
        storage.retain(2).unwrap();
        let ids: Vec<u64> = storage.completed().unwrap().iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![4, 5]);
        // The incomplete newer checkpoint may still be in progress: it stays.
        assert!(storage.checkpoint_dir(6).exists());
    }

    #[test]
    fn new_runs_get_their_own_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = CheckpointStorage::for_new_run(dir.path(), "my job/1").unwrap();
        let b = CheckpointStorage::for_new_run(dir.path(), "my job/1").unwrap();
        assert_ne!(a.job_dir(), b.job_dir());
        assert!(a
            .job_dir()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("my-job-1-"));
    }

    /// A local directory goes through `object_store` too: a relative path (with
    /// `.` and `..`) works and names files as written, the files land at the
    /// usual paths with nothing else beside them, large state files are written
    /// in parts, unfinished ones stay invisible, and deletions remove directories.
    #[test]
    fn local_directories_relative_paths_layout_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let ups = std::env::current_dir().unwrap().components().count() - 1;
        let relative = Path::new(".")
            .join(PathBuf::from_iter(std::iter::repeat_n("..", ups)))
            .join(dir.path().strip_prefix("/").unwrap())
            .join("job");
        let storage = CheckpointStorage::new(&relative).unwrap();
        assert!(!storage.is_remote());
        assert!(dir.path().join("job").is_dir(), "the job directory exists at once");
        write_checkpoint(&storage, 1, b"small");
        let mut names: Vec<String> = fs::read_dir(dir.path().join("job/chk-1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec![METADATA_FILE.to_string(), "task-0-0.state".to_string()]);

        // Larger than a part: a multipart upload, read back whole.
        let large: Vec<u8> = (0..(3 << 20) + 12_345).map(|i: u32| (i % 251) as u8).collect();
        write_checkpoint(&storage, 2, &large);
        let (path, loaded) = CheckpointStorage::latest_valid(&relative).unwrap();
        assert_eq!(path, relative.join("chk-2"));
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(file.size, large.len() as u64);
        assert_eq!(CheckpointStorage::read_state_file(&path, file).unwrap(), large);
        assert_eq!(fs::read(dir.path().join("job/chk-2/task-0-0.state")).unwrap(), large);

        // Damage is reported under the path as written.
        fs::write(dir.path().join("job/chk-2/task-0-0.state"), b"short").unwrap();
        let e = CheckpointStorage::load(&path).unwrap_err();
        assert!(
            e.to_string()
                .contains(&relative.join("chk-2/task-0-0.state").display().to_string()),
            "{e}"
        );

        // A writer dropped mid-upload leaves no file.
        let mut unfinished = storage.create_state_file(3, "task-0-0.state").unwrap();
        unfinished.write_all(&large).unwrap();
        drop(unfinished);
        assert!(!is_file(&storage.checkpoint_dir(3).join("task-0-0.state")));

        storage
            .create_state_file(5, "task-0-0.state")
            .unwrap()
            .finish()
            .unwrap();
        storage.discard(5);
        assert!(!storage.checkpoint_dir(5).exists());
        write_checkpoint(&storage, 4, b"newest");
        storage.retain(1).unwrap();
        let ids: Vec<u64> = storage.completed().unwrap().iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![4]);
        assert!(!dir.path().join("job/chk-1").exists() && !dir.path().join("job/chk-2").exists());
        assert!(dir.path().join("job/chk-4").is_dir());

        // A state file of several parts in an object store as well.
        let remote = CheckpointStorage::new("memory://storage-test/large").unwrap();
        let larger: Vec<u8> = (0..(17 << 20) + 3).map(|i: u32| (i % 253) as u8).collect();
        write_checkpoint(&remote, 1, &larger);
        let (path, loaded) = CheckpointStorage::latest_valid(remote.job_dir()).unwrap();
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(CheckpointStorage::read_state_file(&path, file).unwrap(), larger);

        let e = CheckpointStorage::latest_valid(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, CheckpointError::NotFound { .. }), "{e}");
    }

    /// The same operations on an object store (the in-process `memory://` one; the
    /// S3 server test in weir-runtime covers `s3://`).
    #[test]
    fn object_store_checkpoints_retention_damage_savepoints_and_runs() {
        let base = PathBuf::from("memory://storage-test/jobs");
        let storage = CheckpointStorage::for_new_run(&base, "job").unwrap();
        assert!(storage.is_remote());
        let again = CheckpointStorage::for_new_run(&base, "job").unwrap();
        for id in 1..=4 {
            write_checkpoint(&storage, id, format!("state {id}").as_bytes());
        }
        // Runs are told apart once the first one has written something.
        let third = CheckpointStorage::for_new_run(&base, "job").unwrap();
        assert_ne!(third.job_dir(), storage.job_dir());
        drop(again);
        storage
            .create_state_file(5, "task-0-0.state")
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(storage.completed().unwrap().len(), 4);
        storage.retain(2).unwrap();
        let ids: Vec<u64> = storage.completed().unwrap().iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![3, 4]);
        assert!(is_file(&storage.checkpoint_dir(5).join("task-0-0.state")));
        assert!(!is_file(&storage.checkpoint_dir(1).join("task-0-0.state")));

        let (path, loaded) = CheckpointStorage::latest_valid(storage.job_dir()).unwrap();
        assert_eq!(loaded.checkpoint_id, 4);
        let file = loaded.tasks[0].file.clone().unwrap();
        assert_eq!(CheckpointStorage::read_state_file(&path, &file).unwrap(), b"state 4");

        // A savepoint exported to local disk and one in the object store.
        let local = tempfile::tempdir().unwrap();
        let exported = storage.export_savepoint(&loaded, local.path()).unwrap();
        let (_, from_disk) = CheckpointStorage::latest_valid(&exported).unwrap();
        assert_eq!(from_disk.kind, SnapshotKind::Savepoint);
        let remote_savepoint = storage
            .export_savepoint(&loaded, Path::new("memory://storage-test/savepoints"))
            .unwrap();
        assert!(CheckpointStorage::load(&remote_savepoint).is_ok());

        // Damage: a flipped byte in the newest state file makes restore fall back.
        let state = storage.checkpoint_dir(4).join("task-0-0.state");
        let object = object(&state).unwrap();
        let mut bytes = object.read().unwrap();
        bytes[0] ^= 0x01;
        object.write(bytes).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(4)).unwrap_err();
        assert!(e.to_string().contains("memory://storage-test/jobs/job-"), "{e}");
        assert!(
            e.to_string().contains("task-0-0.state") && e.to_string().contains("checksum"),
            "{e}"
        );
        assert_eq!(
            CheckpointStorage::latest_valid(storage.job_dir())
                .unwrap()
                .1
                .checkpoint_id,
            3
        );

        storage.discard(5);
        assert!(!is_file(&storage.checkpoint_dir(5).join("task-0-0.state")));
        let e = CheckpointStorage::latest_valid(Path::new("memory://storage-test/nothing")).unwrap_err();
        assert!(matches!(e, CheckpointError::NotFound { .. }), "{e}");
        let e = CheckpointStorage::new("s3:///no-bucket").unwrap_err();
        assert!(e.to_string().contains("names no bucket"), "{e}");
    }
}
