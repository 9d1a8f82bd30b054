//! Checkpoints in a local directory.

use crate::error::CheckpointError;
use crate::metadata::{
    CheckpointMetadata, FileHandle, SnapshotKind, METADATA_FILE, METADATA_VERSION, OLDEST_READABLE_VERSION,
};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
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

/// Writes one state file, computing its size and checksum on the way.
pub struct StateFileWriter {
    path: PathBuf,
    name: String,
    out: BufWriter<File>,
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

    /// Flushes and syncs the file and returns its handle.
    pub fn finish(mut self) -> Result<FileHandle, CheckpointError> {
        self.out.flush().map_err(|e| CheckpointError::io(&self.path, e))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| CheckpointError::io(&self.path, e))?;
        Ok(FileHandle {
            name: self.name,
            size: self.written,
            checksum: self.hasher.digest(),
        })
    }
}

impl Write for StateFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes `metadata` into `dir` atomically (temporary file, sync, rename, sync of
/// the directory), with a checksum line.
fn write_metadata(dir: &Path, metadata: &CheckpointMetadata) -> Result<(), CheckpointError> {
    fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))?;
    let mut body = serde_json::to_vec_pretty(metadata)
        .map_err(|e| CheckpointError::corrupt(dir.join(METADATA_FILE), e.to_string()))?;
    let checksum = xxh3_64(&body);
    body.extend_from_slice(format!("\n{CHECKSUM_PREFIX}{checksum:016x}\n").as_bytes());
    let temporary = dir.join(format!("{METADATA_FILE}.inprogress"));
    let final_path = dir.join(METADATA_FILE);
    {
        let mut file = File::create(&temporary).map_err(|e| CheckpointError::io(&temporary, e))?;
        file.write_all(&body).map_err(|e| CheckpointError::io(&temporary, e))?;
        file.sync_all().map_err(|e| CheckpointError::io(&temporary, e))?;
    }
    fs::rename(&temporary, &final_path).map_err(|e| CheckpointError::io(&final_path, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The checkpoints of one job in a local directory.
#[derive(Debug, Clone)]
pub struct LocalCheckpointStorage {
    job_dir: PathBuf,
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

impl LocalCheckpointStorage {
    /// Storage in `job_dir` (created if missing).
    pub fn new(job_dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let job_dir = job_dir.into();
        fs::create_dir_all(&job_dir).map_err(|e| CheckpointError::io(&job_dir, e))?;
        Ok(LocalCheckpointStorage { job_dir })
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
            if !dir.exists() {
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
        let dir = self.checkpoint_dir(id);
        fs::create_dir_all(&dir).map_err(|e| CheckpointError::io(&dir, e))?;
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| CheckpointError::io(&path, e))?;
        Ok(StateFileWriter {
            path,
            name: name.to_string(),
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: Xxh3::new(),
            written: 0,
        })
    }

    /// Makes checkpoint `metadata.checkpoint_id` complete by writing its metadata
    /// atomically (temporary file, sync, rename, sync of the directory).
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
        fs::create_dir_all(&dir).map_err(|e| CheckpointError::io(&dir, e))?;
        for file in metadata.tasks.iter().filter_map(|t| t.file.as_ref()) {
            let from = source.join(&file.name);
            let to = dir.join(&file.name);
            fs::copy(&from, &to).map_err(|e| CheckpointError::io(&from, e))?;
            File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(|e| CheckpointError::io(&to, e))?;
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
            fs::create_dir_all(&to_dir).map_err(|e| CheckpointError::io(&to_dir, e))?;
            for key in keys {
                let from = from_dir.join(key);
                fs::copy(&from, to_dir.join(key)).map_err(|e| CheckpointError::io(&from, e))?;
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
            .filter(|l| l.dir.join(METADATA_FILE).is_file())
            .collect())
    }

    fn checkpoint_dirs(job_dir: &Path) -> Result<Vec<CheckpointLocation>, CheckpointError> {
        let mut found = Vec::new();
        for entry in fs::read_dir(job_dir).map_err(|e| CheckpointError::io(job_dir, e))? {
            let entry = entry.map_err(|e| CheckpointError::io(job_dir, e))?;
            let name = entry.file_name();
            if let Some(id) = checkpoint_id_of(&name.to_string_lossy()) {
                if entry.path().is_dir() {
                    found.push(CheckpointLocation { id, dir: entry.path() });
                }
            }
        }
        found.sort_by_key(|l| l.id);
        Ok(found)
    }

    /// Deletes the directory of checkpoint `id` (an aborted checkpoint's files).
    pub fn discard(&self, id: u64) {
        let dir = self.checkpoint_dir(id);
        if dir.exists() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                tracing::warn!("cannot delete checkpoint directory '{}': {e}", dir.display());
            }
        }
    }

    /// Keeps the newest `keep` completed checkpoints and deletes older ones, and the
    /// leftovers of incomplete checkpoints older than the newest completed one.
    pub fn retain(&self, keep: usize) -> Result<(), CheckpointError> {
        let all = Self::checkpoint_dirs(&self.job_dir)?;
        let completed: Vec<&CheckpointLocation> = all.iter().filter(|l| l.dir.join(METADATA_FILE).is_file()).collect();
        let Some(newest) = completed.last().map(|l| l.id) else {
            return Ok(());
        };
        let kept: Vec<u64> = completed.iter().rev().take(keep.max(1)).map(|l| l.id).collect();
        for location in &all {
            let incomplete_and_old = !location.dir.join(METADATA_FILE).is_file() && location.id < newest;
            let completed_and_dropped = location.dir.join(METADATA_FILE).is_file() && !kept.contains(&location.id);
            if incomplete_and_old || completed_and_dropped {
                fs::remove_dir_all(&location.dir).map_err(|e| CheckpointError::io(&location.dir, e))?;
            }
        }
        Ok(())
    }

    /// Reads and verifies the metadata of the checkpoint in `dir` and the size and
    /// checksum of every state file it names. Errors name the damaged file.
    pub fn load(dir: &Path) -> Result<CheckpointMetadata, CheckpointError> {
        let path = dir.join(METADATA_FILE);
        let bytes = fs::read(&path).map_err(|e| CheckpointError::io(&path, e))?;
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
        let mut file = File::open(&path).map_err(|e| CheckpointError::io(&path, e))?;
        let mut hasher = Xxh3::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buffer).map_err(|e| CheckpointError::io(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
        }
        if size != handle.size {
            return Err(CheckpointError::corrupt(
                &path,
                format!("size is {size} bytes, the metadata says {}", handle.size),
            ));
        }
        if hasher.digest() != handle.checksum {
            return Err(CheckpointError::corrupt(&path, "checksum mismatch"));
        }
        Ok(())
    }

    /// Reads a state file of the checkpoint in `dir`, verifying size and checksum.
    pub fn read_state_file(dir: &Path, handle: &FileHandle) -> Result<Vec<u8>, CheckpointError> {
        let path = dir.join(&handle.name);
        let bytes = fs::read(&path).map_err(|e| CheckpointError::io(&path, e))?;
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
        if path.join(METADATA_FILE).is_file() {
            return Self::load(path).map(|m| (path.to_path_buf(), m));
        }
        if !path.is_dir() {
            return Err(CheckpointError::NotFound {
                path: path.to_path_buf(),
                details: "no such directory".into(),
            });
        }
        let mut rejected = Vec::new();
        for location in Self::checkpoint_dirs(path)?.into_iter().rev() {
            if !location.dir.join(METADATA_FILE).is_file() {
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
    use weir_core::CheckpointMode;

    fn write_checkpoint(storage: &LocalCheckpointStorage, id: u64, payload: &[u8]) -> CheckpointMetadata {
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
        let storage = LocalCheckpointStorage::new(dir.path()).unwrap();
        let written = write_checkpoint(&storage, 1, b"hello state");
        let (path, loaded) = LocalCheckpointStorage::latest_valid(dir.path()).unwrap();
        assert_eq!(loaded, written);
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(
            LocalCheckpointStorage::read_state_file(&path, file).unwrap(),
            b"hello state"
        );
    }

    #[test]
    fn corrupt_latest_falls_back_to_previous_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalCheckpointStorage::new(dir.path()).unwrap();
        write_checkpoint(&storage, 1, b"first");
        write_checkpoint(&storage, 2, b"second");
        // Flip one bit of the newest state file.
        let state = storage.checkpoint_dir(2).join("task-0-0.state");
        let mut bytes = fs::read(&state).unwrap();
        bytes[0] ^= 0x01;
        fs::write(&state, bytes).unwrap();
        let e = LocalCheckpointStorage::load(&storage.checkpoint_dir(2)).unwrap_err();
        assert!(e.to_string().contains("task-0-0.state"), "{e}");
        let (path, loaded) = LocalCheckpointStorage::latest_valid(dir.path()).unwrap();
        assert_eq!(loaded.checkpoint_id, 1);
        assert_eq!(path, storage.checkpoint_dir(1));
    }

    #[test]
    fn truncated_files_and_metadata_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalCheckpointStorage::new(dir.path()).unwrap();
        write_checkpoint(&storage, 1, b"some state bytes");
        let state = storage.checkpoint_dir(1).join("task-0-0.state");
        let bytes = fs::read(&state).unwrap();
        fs::write(&state, &bytes[..4]).unwrap();
        let e = LocalCheckpointStorage::load(&storage.checkpoint_dir(1)).unwrap_err();
        assert!(e.to_string().contains("size is 4 bytes"), "{e}");

        write_checkpoint(&storage, 2, b"x");
        let meta = storage.checkpoint_dir(2).join(METADATA_FILE);
        let text = fs::read_to_string(&meta).unwrap();
        fs::write(&meta, text.replace("\"test\"", "\"tent\"")).unwrap();
        let e = LocalCheckpointStorage::load(&storage.checkpoint_dir(2)).unwrap_err();
        assert!(
            e.to_string().contains("_metadata") && e.to_string().contains("checksum"),
            "{e}"
        );

        let e = LocalCheckpointStorage::latest_valid(dir.path()).unwrap_err();
        assert!(matches!(e, CheckpointError::NotFound { .. }), "{e}");
    }

    #[test]
    fn incomplete_checkpoints_are_invisible_and_retention_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalCheckpointStorage::new(dir.path()).unwrap();
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
        assert_eq!(
            LocalCheckpointStorage::latest_valid(dir.path())
                .unwrap()
                .1
                .checkpoint_id,
            5
        );
        storage.retain(2).unwrap();
        let ids: Vec<u64> = storage.completed().unwrap().iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![4, 5]);
        // The incomplete newer checkpoint may still be in progress: it stays.
        assert!(storage.checkpoint_dir(6).exists());
    }

    #[test]
    fn new_runs_get_their_own_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalCheckpointStorage::for_new_run(dir.path(), "my job/1").unwrap();
        let b = LocalCheckpointStorage::for_new_run(dir.path(), "my job/1").unwrap();
        assert_ne!(a.job_dir(), b.job_dir());
        assert!(a
            .job_dir()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("my-job-1-"));
    }
}
