//! Checkpoints in a local directory or an object store.
//!
//! Every location is a `Path`: a local directory, or a URL such as
//! `s3://bucket/checkpoints/job-1/chk-7`. Both go through `object_store` (see
//! [`crate::object`]; local paths through its `LocalFileSystem`), one code path
//! for every store: a put is atomic everywhere (on disk a staged file renamed into
//! place), and local files are synced once written.
//!
//! Reading for a restore tells damage from unavailability (see
//! [`CheckpointError::class`]): unavailable storage is retried as the job's
//! [`StorageRetry`] says and then fails the restore, naming the checkpoint; a
//! damaged checkpoint is skipped with a warning in favour of an older valid one.
//! Local files are read only when they are regular files, and never beyond the
//! size the metadata records.

use crate::error::{CheckpointError, ErrorClass};
use crate::metadata::{
    CheckpointMetadata, FileHandle, Section, SnapshotKind, METADATA_FILE, METADATA_VERSION, OLDEST_READABLE_VERSION,
    SHARED_DIR,
};
use crate::object::{Durability, Object, ObjectWriter};
use crate::retry::with_retry;
use crate::shared::SharedFileStore;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use weir_core::StorageRetry;
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

/// Copies the file or object `from` to `to`, local or remote on either side.
fn copy_file(from: &Path, to: &Path) -> Result<(), CheckpointError> {
    Object::parse(from)?.copy_to(&Object::parse(to)?, Durability::FileAndDir)
}

/// Writes one state file, computing its size and checksum on the way. The bytes
/// stream into storage as they come (see `ObjectWriter`); the file appears,
/// complete, when [`finish`] returns. Parts of the file can be marked as sections
/// ([`begin_section`], [`end_section`]), each with a checksum of its own.
///
/// [`finish`]: StateFileWriter::finish
/// [`begin_section`]: StateFileWriter::begin_section
/// [`end_section`]: StateFileWriter::end_section
pub struct StateFileWriter {
    path: PathBuf,
    name: String,
    out: ObjectWriter,
    hasher: Xxh3,
    written: u64,
    section: Option<(u64, Xxh3)>,
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

    /// Starts a section at the current position (ending one still open).
    pub fn begin_section(&mut self) {
        self.section = Some((self.written, Xxh3::new()));
    }

    /// Ends the section begun last and returns where it lies, with the checksum
    /// of its bytes (an empty section here if none was begun).
    pub fn end_section(&mut self) -> Section {
        let (offset, hasher) = self.section.take().unwrap_or((self.written, Xxh3::new()));
        Section {
            offset,
            len: self.written - offset,
            checksum: hasher.digest(),
        }
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
        if let Some((_, section)) = &mut self.section {
            section.update(buf);
        }
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
    Object::parse(dir)?.child(METADATA_FILE).write(body)
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
        let object = Object::parse(&job_dir)?;
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
            if !Object::parse(&dir)?.in_use()? {
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
            section: None,
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
        let keys: BTreeSet<&str> = metadata
            .natives()
            .flat_map(|(_, native)| native.shared_keys())
            .collect();
        if !keys.is_empty() {
            let from_dir = self.job_dir.join(SHARED_DIR);
            let to_dir = dir.join(SHARED_DIR);
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

    /// Whether the checkpoint in `dir` has its `_metadata` (so it completed). A
    /// `_metadata` that is there but damaged (not a regular file) counts: loading
    /// the checkpoint reports the damage. Unavailable storage is an error, never
    /// "incomplete".
    fn has_metadata(dir: &Path) -> Result<bool, CheckpointError> {
        match Object::parse(dir)?.child(METADATA_FILE).head() {
            Ok(found) => Ok(found.is_some()),
            Err(e) if e.class() == ErrorClass::Damaged => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Completed checkpoints (those with metadata), oldest first.
    pub fn completed(&self) -> Result<Vec<CheckpointLocation>, CheckpointError> {
        let mut completed = Vec::new();
        for location in Self::checkpoint_dirs(&self.job_dir)? {
            if Self::has_metadata(&location.dir)? {
                completed.push(location);
            }
        }
        Ok(completed)
    }

    fn checkpoint_dirs(job_dir: &Path) -> Result<Vec<CheckpointLocation>, CheckpointError> {
        let mut found = Vec::new();
        for name in Object::parse(job_dir)?.child_dirs()? {
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
    /// Deletes nothing when storage cannot tell which checkpoints completed.
    pub fn retain(&self, keep: usize) -> Result<(), CheckpointError> {
        let mut all = Vec::new();
        for location in Self::checkpoint_dirs(&self.job_dir)? {
            let complete = Self::has_metadata(&location.dir)?;
            all.push((location, complete));
        }
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

    /// Reads and verifies the metadata of the checkpoint in `dir`, the size and
    /// checksum of every state file it names, and the presence and size of every
    /// shared file of its incremental state. Reads are retried while storage is
    /// unavailable, as `retry` says. Errors name the damaged file.
    pub fn load(dir: &Path, retry: &StorageRetry) -> Result<CheckpointMetadata, CheckpointError> {
        let path = dir.join(METADATA_FILE);
        let object = Object::parse(&path)?;
        let bytes = with_retry(retry, &path.display(), || object.read())?;
        let metadata = Self::parse_metadata(&path, &bytes)?;
        for file in metadata.tasks.iter().filter_map(|t| t.file.as_ref()) {
            let file_path = dir.join(&file.name);
            with_retry(retry, &file_path.display(), || Self::verify_file(&file_path, file))?;
        }
        Self::verify_shared_files(dir, &metadata, retry)?;
        Ok(metadata)
    }

    fn parse_metadata(path: &Path, bytes: &[u8]) -> Result<CheckpointMetadata, CheckpointError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CheckpointError::corrupt(path, "not UTF-8"))?;
        let trimmed = text.trim_end_matches('\n');
        let (body, trailer) = trimmed
            .rsplit_once('\n')
            .ok_or_else(|| CheckpointError::corrupt(path, "missing checksum line"))?;
        let expected = trailer
            .strip_prefix(CHECKSUM_PREFIX)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| CheckpointError::corrupt(path, "missing or malformed checksum line"))?;
        let actual = xxh3_64(body.as_bytes());
        if actual != expected {
            return Err(CheckpointError::corrupt(
                path,
                format!("checksum mismatch (stored {expected:016x}, computed {actual:016x})"),
            ));
        }
        // The version first: an older layout would fail to parse with a less
        // helpful message.
        #[derive(serde::Deserialize)]
        struct Versioned {
            version: u32,
        }
        let version = serde_json::from_str::<Versioned>(body)
            .map_err(|e| CheckpointError::corrupt(path, e.to_string()))?
            .version;
        if version < OLDEST_READABLE_VERSION {
            return Err(CheckpointError::corrupt(
                path,
                format!(
                    "format version {version} was written by an older release; this release reads versions \
                     {OLDEST_READABLE_VERSION} to {METADATA_VERSION} (version 3 added each operator's max \
                     parallelism, without which keyed state cannot be restored safely, and section checksums); \
                     take a new savepoint with the release that wrote it, or start without state"
                ),
            ));
        }
        if version > METADATA_VERSION {
            return Err(CheckpointError::corrupt(
                path,
                format!("format version {version} is newer than this release understands ({METADATA_VERSION})"),
            ));
        }
        serde_json::from_str(body).map_err(|e| CheckpointError::corrupt(path, e.to_string()))
    }

    /// Reads the file at `path` (no further than one byte past the size the
    /// metadata records) and compares its size and checksum.
    fn verify_file(path: &Path, handle: &FileHandle) -> Result<(), CheckpointError> {
        let mut hasher = Xxh3::new();
        let size = Object::parse(path)?.read_chunks(Some(handle.size.saturating_add(1)), |chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        if size > handle.size {
            return Err(CheckpointError::corrupt(
                path,
                format!("is larger than the {} bytes the metadata says", handle.size),
            ));
        }
        Self::check(path, handle, size, hasher.digest())
    }

    /// Checks that every shared file the checkpoint's incremental state lists is
    /// there with its size and content hash (each file read once per process:
    /// shared files never change), so that a damaged one makes the checkpoint
    /// skipped for an older one instead of failing the restore later.
    fn verify_shared_files(
        dir: &Path,
        metadata: &CheckpointMetadata,
        retry: &StorageRetry,
    ) -> Result<(), CheckpointError> {
        let files: Vec<(&str, &weir_state::NativeFile, &str)> = metadata
            .natives()
            .flat_map(|(operator, native)| {
                native.files.iter().filter_map(move |file| match &file.location {
                    weir_state::NativeFileLocation::Shared(key) => Some((key.as_str(), file, operator)),
                    weir_state::NativeFileLocation::Inline { .. } => None,
                })
            })
            .collect();
        if files.is_empty() {
            return Ok(());
        }
        let shared = SharedFileStore::for_snapshot(dir, retry)?;
        let mut checked = BTreeSet::new();
        for (key, file, operator) in files {
            if !checked.insert(key) {
                continue;
            }
            let path = shared.dir().join(key);
            let size = with_retry(retry, &path.display(), || shared.size_of(key))?;
            match size {
                None => {
                    return Err(CheckpointError::corrupt(
                        &path,
                        format!(
                            "is missing: the shared file holding '{}' of operator '{operator}'",
                            file.name
                        ),
                    ))
                }
                Some(size) if size != file.size => {
                    return Err(CheckpointError::corrupt(
                        &path,
                        format!(
                            "size is {size} bytes, the metadata says {} ('{}' of operator '{operator}')",
                            file.size, file.name
                        ),
                    ))
                }
                Some(_) => {}
            }
            let content = with_retry(retry, &path.display(), || {
                shared.verify_content(key, file.size, &file.hash)
            })?;
            if let Err(found) = content {
                return Err(CheckpointError::corrupt(
                    &path,
                    format!(
                        "content hash is {found}, the metadata says {} ('{}' of operator '{operator}')",
                        file.hash, file.name
                    ),
                ));
            }
        }
        Ok(())
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

    /// Reads a whole state file of the checkpoint in `dir`, verifying size and
    /// checksum.
    pub fn read_state_file(dir: &Path, handle: &FileHandle) -> Result<Vec<u8>, CheckpointError> {
        let path = dir.join(&handle.name);
        let mut bytes = Vec::new();
        Object::parse(&path)?.read_chunks(Some(handle.size.saturating_add(1)), |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        Self::check(&path, handle, bytes.len() as u64, xxh3_64(&bytes))?;
        Ok(bytes)
    }

    /// Reads one section of a state file of the checkpoint in `dir` and verifies
    /// its checksum: what a task restoring from the checkpoint reads, instead of
    /// whole files. Retried while storage is unavailable, as `retry` says.
    pub fn read_section(
        dir: &Path,
        handle: &FileHandle,
        section: &Section,
        retry: &StorageRetry,
    ) -> Result<Vec<u8>, CheckpointError> {
        let path = dir.join(&handle.name);
        let end = section.offset.checked_add(section.len);
        if end.is_none_or(|end| end > handle.size) {
            return Err(CheckpointError::corrupt(
                &path,
                format!(
                    "the metadata places a section at {}+{} bytes, outside the file's {} bytes",
                    section.offset, section.len, handle.size
                ),
            ));
        }
        let object = Object::parse(&path)?;
        with_retry(retry, &path.display(), || {
            let bytes = object.read_range(section.offset, section.len)?;
            if xxh3_64(&bytes) != section.checksum {
                return Err(CheckpointError::corrupt(
                    &path,
                    format!(
                        "checksum mismatch in bytes {}..{}",
                        section.offset,
                        section.offset + section.len
                    ),
                ));
            }
            Ok(bytes)
        })
    }

    /// The checkpoint to restore from `path`: the checkpoint itself when `path` is a
    /// checkpoint or savepoint directory (an error if it is damaged), or the newest
    /// valid one when `path` is a job's checkpoint directory (damaged ones and
    /// newer ones without `_metadata` are skipped with a warning saying why).
    /// Reads are retried while storage is unavailable, as `retry` says; then the
    /// error names the checkpoint it could not read.
    pub fn latest_valid(path: &Path, retry: &StorageRetry) -> Result<(PathBuf, CheckpointMetadata), CheckpointError> {
        if with_retry(retry, &path.join(METADATA_FILE).display(), || Self::has_metadata(path))? {
            return Self::load(path, retry).map(|m| (path.to_path_buf(), m));
        }
        let in_use = with_retry(retry, &path.display(), || Object::parse(path)?.in_use())?;
        if !in_use {
            return Err(CheckpointError::NotFound {
                path: path.to_path_buf(),
                details: "no such directory".into(),
            });
        }
        Self::newest_valid(path, &[], retry)?.ok_or_else(|| CheckpointError::NotFound {
            path: path.to_path_buf(),
            details: "it holds no completed checkpoint".into(),
        })
    }

    /// The checkpoint a job restarting after a failure resumes from: the newest
    /// valid one among those on storage and `known` (the ids this run completed and
    /// still retains; one of them missing from storage is damage, not absence).
    /// `None` only when `known` is empty: a run that completed a checkpoint never
    /// restarts from empty state. Damaged checkpoints are skipped with a warning in
    /// favour of older valid ones; when all are damaged, or storage stays
    /// unavailable through `retry`, the error names the checkpoints and the cause.
    pub fn latest_for_failover(
        &self,
        known: &[u64],
        retry: &StorageRetry,
    ) -> Result<Option<(PathBuf, CheckpointMetadata)>, CheckpointError> {
        if known.is_empty() {
            return Ok(None);
        }
        Self::newest_valid(&self.job_dir, known, retry)
    }

    fn newest_valid(
        job_dir: &Path,
        known: &[u64],
        retry: &StorageRetry,
    ) -> Result<Option<(PathBuf, CheckpointMetadata)>, CheckpointError> {
        let newest_known = known.iter().max().map(|id| job_dir.join(format!("chk-{id}")));
        let list = || -> Result<Vec<(u64, bool)>, CheckpointError> {
            let dirs = with_retry(retry, &job_dir.display(), || Self::checkpoint_dirs(job_dir))?;
            dirs.into_iter()
                .map(|l| {
                    let path = l.dir.join(METADATA_FILE);
                    Ok((l.id, with_retry(retry, &path.display(), || Self::has_metadata(&l.dir))?))
                })
                .collect()
        };
        let listed = list().map_err(|e| match &newest_known {
            Some(path) => CheckpointError::Unreadable {
                path: path.clone(),
                source: Box::new(e),
            },
            None => e,
        })?;
        let candidates: BTreeSet<u64> = listed
            .iter()
            .filter(|(_, complete)| *complete)
            .map(|(id, _)| *id)
            .chain(known.iter().copied())
            .collect();
        let mut rejected = Vec::new();
        for &id in candidates.iter().rev() {
            let dir = job_dir.join(format!("chk-{id}"));
            match Self::load(&dir, retry) {
                Ok(metadata) => {
                    for &(newer, _) in listed.iter().filter(|(n, complete)| *n > id && !complete) {
                        let skipped = job_dir.join(format!("chk-{newer}"));
                        if known.is_empty() {
                            tracing::warn!(
                                checkpoint = newer,
                                "skipping '{}': it has no {METADATA_FILE} (it never completed, or its metadata was lost)",
                                skipped.display()
                            );
                        } else {
                            tracing::debug!(checkpoint = newer, "'{}' never completed", skipped.display());
                        }
                    }
                    return Ok(Some((dir, metadata)));
                }
                Err(e) if e.class() == ErrorClass::Damaged => {
                    tracing::warn!(checkpoint = id, "skipping damaged checkpoint '{}': {e}", dir.display());
                    rejected.push(format!("chk-{id}: {e}"));
                }
                Err(e) => {
                    return Err(CheckpointError::Unreadable {
                        path: dir,
                        source: Box::new(e),
                    })
                }
            }
        }
        if candidates.is_empty() {
            return Ok(None);
        }
        Err(CheckpointError::NotFound {
            path: job_dir.to_path_buf(),
            details: format!(
                "all {} completed checkpoints are damaged: {}",
                candidates.len(),
                rejected.join("; ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{OperatorSnapshotHandle, TaskSnapshotHandle};
    use std::fs;
    use weir_core::CheckpointMode;

    const NO_RETRY: StorageRetry = StorageRetry {
        attempts: 1,
        initial_backoff: std::time::Duration::ZERO,
        max_backoff: std::time::Duration::ZERO,
    };

    fn is_file(path: &Path) -> bool {
        Object::parse(path).unwrap().head().unwrap().is_some()
    }

    fn object(path: &Path) -> Result<Object, CheckpointError> {
        Object::parse(path)
    }

    fn write_checkpoint(storage: &CheckpointStorage, id: u64, payload: &[u8]) -> CheckpointMetadata {
        let mut writer = storage.create_state_file(id, "task-0-0.state").unwrap();
        writer.begin_section();
        writer.write_all(payload).unwrap();
        let section = writer.end_section();
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
                    max_parallelism: 128,
                    keyed: None,
                    operator_state: Some(section),
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
        let (path, loaded) = CheckpointStorage::latest_valid(dir.path(), &NO_RETRY).unwrap();
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
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2), &NO_RETRY).unwrap_err();
        assert!(e.to_string().contains("task-0-0.state"), "{e}");
        let (path, loaded) = CheckpointStorage::latest_valid(dir.path(), &NO_RETRY).unwrap();
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
        let e = CheckpointStorage::load(&storage.checkpoint_dir(1), &NO_RETRY).unwrap_err();
        assert!(e.to_string().contains("size is 4 bytes"), "{e}");

        write_checkpoint(&storage, 2, b"x");
        let meta = storage.checkpoint_dir(2).join(METADATA_FILE);
        let text = fs::read_to_string(&meta).unwrap();
        fs::write(&meta, text.replace("\"test\"", "\"tent\"")).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2), &NO_RETRY).unwrap_err();
        assert!(
            e.to_string().contains("_metadata") && e.to_string().contains("checksum"),
            "{e}"
        );

        let e = CheckpointStorage::latest_valid(dir.path(), &NO_RETRY).unwrap_err();
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
        assert_eq!(
            CheckpointStorage::latest_valid(dir.path(), &NO_RETRY)
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

    /// What a job restarting after a failure resumes from: the newest valid of the
    /// checkpoints it knows it completed; a damaged one (here: its `_metadata`
    /// lost) is skipped for an older one; all damaged is an error, not "nothing".
    #[test]
    fn failover_skips_damage_and_never_returns_nothing_for_known_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path().join("job")).unwrap();
        assert!(storage.latest_for_failover(&[], &NO_RETRY).unwrap().is_none());
        write_checkpoint(&storage, 1, b"first");
        write_checkpoint(&storage, 2, b"second");
        // Checkpoint 3 is in flight (no metadata), checkpoint 2 lost its metadata.
        storage
            .create_state_file(3, "task-0-0.state")
            .unwrap()
            .finish()
            .unwrap();
        fs::remove_file(storage.checkpoint_dir(2).join(METADATA_FILE)).unwrap();
        let (path, chosen) = storage.latest_for_failover(&[1, 2], &NO_RETRY).unwrap().unwrap();
        assert_eq!((path, chosen.checkpoint_id), (storage.checkpoint_dir(1), 1));

        let state = storage.checkpoint_dir(1).join("task-0-0.state");
        fs::write(&state, b"FIRST").unwrap();
        let e = storage.latest_for_failover(&[1, 2], &NO_RETRY).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Damaged);
        let message = e.to_string();
        assert!(
            message.contains("all 2 completed checkpoints are damaged")
                && message.contains("chk-1")
                && message.contains("chk-2"),
            "{message}"
        );
    }

    /// Unavailable storage is retried: a few failed reads are survived, storage
    /// that stays unavailable fails the restore naming the checkpoint, and is
    /// never mistaken for damage (which would fall back to an older checkpoint).
    #[test]
    fn unavailable_storage_is_retried_then_fails_naming_the_checkpoint() {
        use crate::faults::{Fault, FaultInjection, FaultKind, Operation};
        let faulty = FaultInjection::in_memory("storage-retry");
        let storage = CheckpointStorage::new(faulty.location().join("job")).unwrap();
        write_checkpoint(&storage, 1, b"first");
        write_checkpoint(&storage, 2, b"second");
        let retry = StorageRetry {
            attempts: 4,
            initial_backoff: std::time::Duration::from_millis(1),
            max_backoff: std::time::Duration::from_millis(4),
        };
        faulty.inject(Fault::new(Operation::Read, FaultKind::Unavailable).times(3));
        let (_, chosen) = storage.latest_for_failover(&[1, 2], &retry).unwrap().unwrap();
        assert_eq!(chosen.checkpoint_id, 2);
        assert_eq!(faulty.injected(), 3);

        faulty.inject(Fault::new(Operation::Read, FaultKind::Unavailable).on_paths_containing("chk-2"));
        let e = storage.latest_for_failover(&[1, 2], &retry).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Unavailable);
        let message = e.to_string();
        assert!(
            message.contains("chk-2") && message.contains("after 4 attempts") && message.contains("unavailable"),
            "{message}"
        );
        let e = CheckpointStorage::latest_valid(storage.job_dir(), &retry).unwrap_err();
        assert!(e.to_string().contains("chk-2"), "{e}");

        faulty.clear();
        faulty.inject(Fault::new(Operation::List, FaultKind::Unavailable));
        let e = storage.latest_for_failover(&[1, 2], &retry).unwrap_err();
        assert!(
            e.to_string().contains("chk-2") && e.to_string().contains("after 4 attempts"),
            "{e}"
        );
        faulty.clear();

        let section = Section {
            offset: 0,
            len: 6,
            checksum: xxh3_64(b"second"),
        };
        let file = chosen.tasks[0].file.clone().unwrap();
        faulty.inject(Fault::new(Operation::Read, FaultKind::Unavailable).times(2));
        let dir = storage.checkpoint_dir(2);
        assert_eq!(
            CheckpointStorage::read_section(&dir, &file, &section, &retry).unwrap(),
            b"second"
        );
    }

    /// `latest_valid` checks the shared files of incremental state before it
    /// chooses a checkpoint: one missing or of the wrong size makes it fall back.
    #[test]
    fn shared_files_are_validated_before_a_checkpoint_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path().join("job")).unwrap();
        let shared = dir.path().join("job").join(SHARED_DIR);
        fs::create_dir_all(&shared).unwrap();
        // Shared files are named by the hash of their content (9 bytes each here).
        let key = |content: &[u8]| format!("{:032x}", xxhash_rust::xxh3::xxh3_128(content));
        let (a, b) = (key(b"sst bytes"), key(b"sst other"));
        fs::write(shared.join(&a), b"sst bytes").unwrap();
        storage
            .commit(&crate::shared::tests::metadata_listing(1, &[&a]))
            .unwrap();
        storage
            .commit(&crate::shared::tests::metadata_listing(2, &[&a, &b]))
            .unwrap();
        let chosen = |storage: &CheckpointStorage| {
            CheckpointStorage::latest_valid(storage.job_dir(), &NO_RETRY)
                .unwrap()
                .1
                .checkpoint_id
        };
        assert_eq!(chosen(&storage), 1, "b is missing");
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2), &NO_RETRY).unwrap_err();
        assert!(e.to_string().contains(&b) && e.to_string().contains("missing"), "{e}");
        fs::write(shared.join(&b), b"short").unwrap();
        assert_eq!(chosen(&storage), 1, "b has the wrong size");
        fs::write(shared.join(&b), b"sst bytez").unwrap();
        assert_eq!(chosen(&storage), 1, "b has the right size but not its content");
        let e = CheckpointStorage::load(&storage.checkpoint_dir(2), &NO_RETRY).unwrap_err();
        assert!(e.to_string().contains("content hash"), "{e}");
        fs::write(shared.join(&b), b"sst other").unwrap();
        assert_eq!(chosen(&storage), 2);
    }

    /// Each section carries its own checksum: a task reads and verifies the
    /// sections it needs, and damage in one section does not hide the others.
    #[test]
    fn sections_are_read_and_verified_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        let mut writer = storage.create_state_file(1, "task-0-0.state").unwrap();
        writer.write_all(b"header").unwrap();
        writer.begin_section();
        writer.write_all(b"first section").unwrap();
        let first = writer.end_section();
        writer.begin_section();
        writer.write_all(b"second section").unwrap();
        let second = writer.end_section();
        let file = writer.finish().unwrap();
        assert_eq!((first.offset, first.len, second.offset), (6, 13, 19));
        let chk = storage.checkpoint_dir(1);
        let read = |section: &Section| CheckpointStorage::read_section(&chk, &file, section, &NO_RETRY);
        assert_eq!(read(&first).unwrap(), b"first section");
        assert_eq!(read(&second).unwrap(), b"second section");

        let path = chk.join("task-0-0.state");
        let mut bytes = fs::read(&path).unwrap();
        bytes[25] ^= 0x20;
        fs::write(&path, bytes).unwrap();
        assert_eq!(read(&first).unwrap(), b"first section");
        let e = read(&second).unwrap_err();
        assert!(e.to_string().contains("checksum mismatch in bytes 19..33"), "{e}");
        let outside = Section {
            offset: 30,
            len: 10,
            checksum: 0,
        };
        assert!(read(&outside).unwrap_err().to_string().contains("outside"));
    }

    /// Metadata of version 2 lacks max parallelism: refused with a clear message.
    #[test]
    fn metadata_of_an_older_version_is_refused_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        let old = crate::shared::tests::metadata_listing(1, &[]);
        let mut body = serde_json::to_value(&old).unwrap();
        body["version"] = serde_json::json!(2);
        let text = serde_json::to_string_pretty(&body).unwrap();
        let checksum = xxh3_64(text.as_bytes());
        let chk = storage.checkpoint_dir(1);
        fs::create_dir_all(&chk).unwrap();
        fs::write(
            chk.join(METADATA_FILE),
            format!("{text}\n{CHECKSUM_PREFIX}{checksum:016x}\n"),
        )
        .unwrap();
        let e = CheckpointStorage::load(&chk, &NO_RETRY).unwrap_err().to_string();
        assert!(e.contains("format version 2") && e.contains("max parallelism"), "{e}");
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
        let (path, loaded) = CheckpointStorage::latest_valid(&relative, &NO_RETRY).unwrap();
        assert_eq!(path, relative.join("chk-2"));
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(file.size, large.len() as u64);
        assert_eq!(CheckpointStorage::read_state_file(&path, file).unwrap(), large);
        assert_eq!(fs::read(dir.path().join("job/chk-2/task-0-0.state")).unwrap(), large);

        // Damage is reported under the path as written.
        fs::write(dir.path().join("job/chk-2/task-0-0.state"), b"short").unwrap();
        let e = CheckpointStorage::load(&path, &NO_RETRY).unwrap_err();
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
        let (path, loaded) = CheckpointStorage::latest_valid(remote.job_dir(), &NO_RETRY).unwrap();
        let file = loaded.tasks[0].file.as_ref().unwrap();
        assert_eq!(CheckpointStorage::read_state_file(&path, file).unwrap(), larger);

        let e = CheckpointStorage::latest_valid(&dir.path().join("missing"), &NO_RETRY).unwrap_err();
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

        let (path, loaded) = CheckpointStorage::latest_valid(storage.job_dir(), &NO_RETRY).unwrap();
        assert_eq!(loaded.checkpoint_id, 4);
        let file = loaded.tasks[0].file.clone().unwrap();
        assert_eq!(CheckpointStorage::read_state_file(&path, &file).unwrap(), b"state 4");

        // A savepoint exported to local disk and one in the object store.
        let local = tempfile::tempdir().unwrap();
        let exported = storage.export_savepoint(&loaded, local.path()).unwrap();
        let (_, from_disk) = CheckpointStorage::latest_valid(&exported, &NO_RETRY).unwrap();
        assert_eq!(from_disk.kind, SnapshotKind::Savepoint);
        let remote_savepoint = storage
            .export_savepoint(&loaded, Path::new("memory://storage-test/savepoints"))
            .unwrap();
        assert!(CheckpointStorage::load(&remote_savepoint, &NO_RETRY).is_ok());

        // Damage: a flipped byte in the newest state file makes restore fall back.
        let state = storage.checkpoint_dir(4).join("task-0-0.state");
        let object = object(&state).unwrap();
        let mut bytes = object.read().unwrap();
        bytes[0] ^= 0x01;
        object.write(bytes).unwrap();
        let e = CheckpointStorage::load(&storage.checkpoint_dir(4), &NO_RETRY).unwrap_err();
        assert!(e.to_string().contains("memory://storage-test/jobs/job-"), "{e}");
        assert!(
            e.to_string().contains("task-0-0.state") && e.to_string().contains("checksum"),
            "{e}"
        );
        assert_eq!(
            CheckpointStorage::latest_valid(storage.job_dir(), &NO_RETRY)
                .unwrap()
                .1
                .checkpoint_id,
            3
        );

        storage.discard(5);
        assert!(!is_file(&storage.checkpoint_dir(5).join("task-0-0.state")));
        let e = CheckpointStorage::latest_valid(Path::new("memory://storage-test/nothing"), &NO_RETRY).unwrap_err();
        assert!(matches!(e, CheckpointError::NotFound { .. }), "{e}");
        let e = CheckpointStorage::new("s3:///no-bucket").unwrap_err();
        assert!(e.to_string().contains("names no bucket"), "{e}");
    }
}

#[cfg(all(test, unix))]
mod special_file_tests {
    use super::*;
    use std::time::Duration;

    /// Runs `f` on its own thread; a hang fails the test instead of blocking it.
    fn no_hang<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{what}: the restore hung"))
    }

    #[test]
    fn fifo_and_dev_zero_state_files_are_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let storage = CheckpointStorage::new(dir.path()).unwrap();
        let mut writer = storage.create_state_file(1, "task-0-0.state").unwrap();
        writer.write_all(b"state").unwrap();
        let file = writer.finish().unwrap();
        let recorded = file.clone();
        let metadata = CheckpointMetadata {
            version: METADATA_VERSION,
            job_name: "test".into(),
            checkpoint_id: 1,
            timestamp_ms: 0,
            mode: weir_core::CheckpointMode::Aligned,
            kind: SnapshotKind::Checkpoint,
            tasks: vec![crate::metadata::TaskSnapshotHandle {
                vertex: "v".into(),
                head_operator: "op".into(),
                subtask: 0,
                parallelism: 1,
                file: Some(file),
                operators: Vec::new(),
                channel_state: None,
            }],
        };
        storage.commit(&metadata).unwrap();
        let chk = storage.checkpoint_dir(1);
        let state = chk.join("task-0-0.state");

        // A FIFO instead of the state file: opening it for reading would block.
        std::fs::remove_file(&state).unwrap();
        let status = std::process::Command::new("mkfifo").arg(&state).status().unwrap();
        assert!(status.success());
        let dir_copy = chk.clone();
        let e = no_hang("fifo", move || {
            CheckpointStorage::load(&dir_copy, &StorageRetry::none()).unwrap_err()
        });
        assert!(
            e.to_string().contains("task-0-0.state") && e.to_string().contains("regular"),
            "{e}"
        );

        // A symlink to /dev/zero: reading it never ends.
        std::fs::remove_file(&state).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &state).unwrap();
        let dir_copy = chk.clone();
        let e = no_hang("/dev/zero", move || {
            CheckpointStorage::load(&dir_copy, &StorageRetry::none()).unwrap_err()
        });
        assert!(
            e.to_string().contains("task-0-0.state") && e.to_string().contains("regular"),
            "{e}"
        );

        // A regular file larger than recorded is read no further than one byte
        // past the recorded size.
        std::fs::remove_file(&state).unwrap();
        std::fs::write(&state, vec![7u8; 3 << 20]).unwrap();
        let e = CheckpointStorage::load(&chk, &StorageRetry::none()).unwrap_err();
        assert!(e.to_string().contains("larger than the 5 bytes"), "{e}");
        let e = CheckpointStorage::read_state_file(&chk, &recorded).unwrap_err();
        assert!(e.to_string().contains("size is 6 bytes"), "{e}");

        // The same for `_metadata`, and the job directory then has no valid checkpoint.
        std::fs::remove_file(&state).unwrap();
        std::fs::remove_file(chk.join(METADATA_FILE)).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(chk.join(METADATA_FILE))
            .status()
            .unwrap();
        assert!(status.success());
        let job = dir.path().to_path_buf();
        let e = no_hang("fifo metadata", move || {
            CheckpointStorage::latest_valid(&job, &StorageRetry::none()).unwrap_err()
        });
        assert!(
            e.to_string().contains("_metadata") && e.to_string().contains("regular"),
            "{e}"
        );
    }
}
