//! The sink's two-phase commit: part files written hidden (`.inprogress`),
//! renamed to `.pending` at the checkpoint barrier (pre-commit), and to their
//! visible name when the checkpoint completes (commit).

use super::part::{PartFormat, PartWriter};
use super::partition::{check_partition_path, Committer, Partition};
use super::rolling::RollingPolicy;
use crate::error::FileSystemError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use weir_connector_api::transactional::{TransactionContext, TransactionalSink};
use weir_connector_api::BoxError;

/// Chooses a record's partition from the record and its event time.
pub type Partitioner<T> = Arc<dyn Fn(&T, Option<i64>) -> Partition + Send + Sync>;

/// Name of the hidden directory of the sink's own bookkeeping.
pub(crate) const BOOKKEEPING: &str = ".weir-partitions";

pub(crate) struct Core<T> {
    pub base: PathBuf,
    pub format: Arc<dyn PartFormat<T>>,
    pub rolling: RollingPolicy,
    pub partitioner: Option<Partitioner<T>>,
    pub committer: Option<Arc<Committer>>,
}

struct OpenPart<T> {
    writer: Box<dyn PartWriter<T>>,
    path: PathBuf,
    file_no: u64,
    opened: Instant,
    last_write: Instant,
}

/// A part closed by the rolling policy, waiting for the barrier.
struct ClosedPart {
    path: PathBuf,
    file_no: u64,
}

/// The open transaction of one subtask: its part files of one checkpoint
/// interval, by partition.
pub struct FileTransaction<T> {
    open: HashMap<String, OpenPart<T>>,
    closed: Vec<ClosedPart>,
    /// Partitions written, with their closing times.
    partitions: HashMap<String, i64>,
    next_file: u64,
    /// `part-<subtask>-<attempt>-<sequence>`.
    stem: String,
    writes: u64,
}

/// A pre-committed file: where it is and the name it gets when committed
/// (absolute paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// The hidden pending file.
    pub pending: PathBuf,
    /// Its final name, `part-<subtask>-<checkpoint>-<attempt>-<sequence>-<n>.<ext>`.
    pub committed: PathBuf,
}

/// A pre-committed transaction, as checkpoints record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransaction {
    /// The sink's base directory when it was written (absolute).
    pub base: PathBuf,
    /// Its files.
    pub files: Vec<PendingFile>,
    /// The partitions it wrote into, with their closing times.
    pub partitions: Vec<(String, i64)>,
}

impl PendingFile {
    /// The subtask that wrote it and the checkpoint it belongs to, from its final
    /// name.
    fn origin(&self) -> Option<(usize, u64)> {
        origin_of(self.committed.file_name()?.to_str()?)
    }
}

fn origin_of(name: &str) -> Option<(usize, u64)> {
    let mut parts = name.strip_prefix("part-")?.split('-');
    let writer = parts.next()?.parse().ok()?;
    let checkpoint = parts.next()?.parse().ok()?;
    Some((writer, checkpoint))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Syncs directory `dir` (so that renames in it are durable).
fn sync_dir(dir: &Path) -> Result<(), BoxError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FileSystemError::io("cannot sync directory", dir, e))?;
    Ok(())
}

/// The file in `base` recording the last checkpoint whose files subtask `writer`
/// committed.
fn commit_record(base: &Path, writer: usize) -> PathBuf {
    base.join(format!(".part-{writer}.committed"))
}

fn last_committed(base: &Path, writer: usize) -> Option<u64> {
    fs::read_to_string(commit_record(base, writer))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Records that `writer` committed its files of `checkpoint` (not synced: a
/// record lost in a crash reads as an older one, which only makes a later
/// restore stricter).
fn record_commit(base: &Path, writer: usize, checkpoint: u64) -> Result<(), BoxError> {
    if last_committed(base, writer).is_some_and(|last| last >= checkpoint) {
        return Ok(());
    }
    let path = commit_record(base, writer);
    fs::write(&path, format!("{checkpoint}\n")).map_err(|e| FileSystemError::io("cannot write", &path, e))?;
    Ok(())
}

/// `pending`'s file is gone: fine if it was committed (maybe moved away since);
/// an error if it was lost before its commit.
fn check_committed(base: &Path, pending: &PendingFile) -> Result<(), BoxError> {
    if pending.committed.exists() {
        return Ok(());
    }
    let origin = pending.origin();
    if origin.is_some_and(|(writer, checkpoint)| last_committed(base, writer).is_some_and(|last| last >= checkpoint)) {
        tracing::warn!(
            "'{}' was committed before and has been moved or deleted since; nothing to commit",
            pending.committed.display()
        );
        return Ok(());
    }
    let reason = match origin {
        Some((writer, checkpoint)) => format!(
            "subtask {writer} never committed checkpoint {checkpoint} there (see '{}')",
            commit_record(base, writer).display()
        ),
        None => "its name is not one the file sink gives".to_string(),
    };
    Err(format!(
        "pre-committed output is missing: '{}' was never committed and neither it nor '{}' exists ({reason}); \
         its records are lost",
        pending.pending.display(),
        pending.committed.display(),
    )
    .into())
}

/// Whether `name` is a hidden part (`.part-<w>-….inprogress|.pending`) of a
/// writer `w` that subtask `index` of `parallelism` cleans up.
fn owned_leftover(name: &str, index: usize, parallelism: usize) -> bool {
    let Some(rest) = name.strip_prefix(".part-") else {
        return false;
    };
    if !(name.ends_with(".inprogress") || name.ends_with(".pending")) {
        return false;
    }
    rest.split('-')
        .next()
        .and_then(|s| s.parse::<usize>().ok())
        .is_some_and(|writer| writer % parallelism.max(1) == index)
}

fn remove_leftovers(dir: &Path, index: usize, parallelism: usize) -> Result<(), BoxError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FileSystemError::io("cannot list directory", dir, e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(|e| FileSystemError::io("cannot list directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            if name != BOOKKEEPING {
                remove_leftovers(&path, index, parallelism)?;
            }
        } else if owned_leftover(&name, index, parallelism) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FileSystemError::io("cannot remove", &path, e).into()),
            }
        }
    }
    Ok(())
}

impl<T: Send + 'static> Core<T> {
    fn close_part(&self, part: OpenPart<T>, closed: &mut Vec<ClosedPart>) -> Result<(), BoxError> {
        let file = part.writer.finish()?;
        file.sync_all()
            .map_err(|e| FileSystemError::io("cannot sync", &part.path, e))?;
        closed.push(ClosedPart {
            path: part.path,
            file_no: part.file_no,
        });
        Ok(())
    }

    /// Closes the parts the rolling policy says are done (checked every 256
    /// records, so the clock is read rarely).
    fn roll(&self, txn: &mut FileTransaction<T>) -> Result<(), BoxError> {
        let now = Instant::now();
        let done: Vec<String> = txn
            .open
            .iter()
            .filter(|(_, p)| self.rolling.should_roll(p.writer.bytes(), p.opened, p.last_write, now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            if let Some(part) = txn.open.remove(&key) {
                self.close_part(part, &mut txn.closed)?;
            }
        }
        Ok(())
    }

    fn open_part(&self, txn: &mut FileTransaction<T>, partition: &str) -> Result<OpenPart<T>, BoxError> {
        let dir = if partition.is_empty() {
            self.base.clone()
        } else {
            self.base.join(partition)
        };
        fs::create_dir_all(&dir).map_err(|e| FileSystemError::io("cannot create directory", &dir, e))?;
        let file_no = txn.next_file;
        txn.next_file += 1;
        let path = dir.join(format!(
            ".{}-{file_no}.{}.inprogress",
            txn.stem,
            self.format.extension()
        ));
        let file = File::create(&path).map_err(|e| FileSystemError::io("cannot create", &path, e))?;
        let now = Instant::now();
        Ok(OpenPart {
            writer: self.format.open(file, &path)?,
            path,
            file_no,
            opened: now,
            last_write: now,
        })
    }
}

impl<T: Send + 'static> TransactionalSink<T> for Core<T> {
    type Transaction = FileTransaction<T>;
    type Pending = PendingTransaction;

    fn begin(&self, context: &TransactionContext) -> Result<FileTransaction<T>, BoxError> {
        Ok(FileTransaction {
            open: HashMap::new(),
            closed: Vec::new(),
            partitions: HashMap::new(),
            next_file: 0,
            stem: format!(
                "part-{}-{}-{}",
                context.info.index, context.info.attempt, context.sequence
            ),
            writes: 0,
        })
    }

    fn write(
        &self,
        _: &TransactionContext,
        txn: &mut FileTransaction<T>,
        value: T,
        timestamp: Option<i64>,
    ) -> Result<(), BoxError> {
        let partition = match &self.partitioner {
            Some(partitioner) => partitioner(&value, timestamp),
            None => Partition::new(""),
        };
        if !txn.partitions.contains_key(&partition.path) {
            check_partition_path(&partition.path)?;
            let closing = match &self.committer {
                Some(committer) => committer.config().closing_time(&partition, now_ms()),
                None => i64::MAX,
            };
            txn.partitions.insert(partition.path.clone(), closing);
        }
        txn.writes += 1;
        if txn.writes.is_multiple_of(256) {
            self.roll(txn)?;
        }
        if !txn.open.contains_key(&partition.path) {
            let part = self.open_part(txn, &partition.path)?;
            txn.open.insert(partition.path.clone(), part);
        }
        let Some(part) = txn.open.get_mut(&partition.path) else {
            return Err("the part file vanished".into());
        };
        part.writer.write(&value)?;
        if part.writer.bytes() >= self.rolling.max_part_bytes {
            if let Some(part) = txn.open.remove(&partition.path) {
                self.close_part(part, &mut txn.closed)?;
            }
        } else if self.rolling.inactivity_interval.is_some() {
            part.last_write = Instant::now();
        }
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        mut txn: FileTransaction<T>,
        checkpoint_id: u64,
    ) -> Result<Option<PendingTransaction>, BoxError> {
        let open: Vec<OpenPart<T>> = txn.open.drain().map(|(_, p)| p).collect();
        for part in open {
            self.close_part(part, &mut txn.closed)?;
        }
        if txn.closed.is_empty() {
            return Ok(None);
        }
        let tail = txn
            .stem
            .strip_prefix(&format!("part-{}-", context.info.index))
            .unwrap_or(&txn.stem)
            .to_string();
        let mut files = Vec::with_capacity(txn.closed.len());
        let mut dirs = BTreeSet::new();
        for part in &txn.closed {
            let dir = part
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.base.clone());
            let name = format!(
                "part-{}-{checkpoint_id}-{tail}-{}.{}",
                context.info.index,
                part.file_no,
                self.format.extension()
            );
            let pending = dir.join(format!(".{name}.pending"));
            fs::rename(&part.path, &pending).map_err(|e| FileSystemError::io("cannot rename", &part.path, e))?;
            files.push(PendingFile {
                pending,
                committed: dir.join(name),
            });
            dirs.insert(dir);
        }
        for dir in &dirs {
            sync_dir(dir)?;
        }
        let mut partitions: Vec<(String, i64)> = txn.partitions.into_iter().collect();
        partitions.sort();
        Ok(Some(PendingTransaction {
            base: self.base.clone(),
            files,
            partitions,
        }))
    }

    fn commit(&self, context: &TransactionContext, pending: &PendingTransaction) -> Result<(), BoxError> {
        let mut dirs = BTreeSet::new();
        for file in &pending.files {
            match fs::rename(&file.pending, &file.committed) {
                Ok(()) => {
                    if let Some(dir) = file.committed.parent() {
                        dirs.insert(dir.to_path_buf());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => check_committed(&pending.base, file)?,
                Err(e) => {
                    return Err(format!(
                        "cannot commit '{}' as '{}': {}",
                        file.pending.display(),
                        file.committed.display(),
                        FileSystemError::io("cannot rename", &file.pending, e)
                    )
                    .into())
                }
            }
        }
        for dir in &dirs {
            sync_dir(dir)?;
        }
        // Checkpoint 0 is a job without checkpoints: nothing restores it.
        if let Some((writer, checkpoint)) = pending.files.first().and_then(PendingFile::origin).filter(|o| o.1 > 0) {
            if let Err(e) = record_commit(&pending.base, writer, checkpoint) {
                tracing::warn!("cannot record the commit of checkpoint {checkpoint}: {e}");
            }
        }
        if let Some(committer) = &self.committer {
            committer.add(context.info.index, &pending.partitions);
        }
        Ok(())
    }

    fn abort(&self, _: &TransactionContext, txn: FileTransaction<T>) -> Result<(), BoxError> {
        let mut paths: Vec<PathBuf> = txn.closed.into_iter().map(|p| p.path).collect();
        for (_, part) in txn.open {
            drop(part.writer);
            paths.push(part.path);
        }
        for path in paths {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FileSystemError::io("cannot remove", &path, e).into()),
            }
        }
        Ok(())
    }

    fn clean_up(&self, context: &TransactionContext) -> Result<(), BoxError> {
        remove_leftovers(&self.base, context.info.index, context.info.parallelism)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_leftovers() {
        assert_eq!(origin_of("part-3-17-0-2-5.json"), Some((3, 17)));
        assert!(owned_leftover(".part-5-0-1-0.json.inprogress", 1, 2));
        assert!(!owned_leftover(".part-5-0-1-0.json.inprogress", 0, 2));
        assert!(owned_leftover(".part-4-3-0-1-0.csv.pending", 0, 2));
        assert!(!owned_leftover(".part-4.committed", 0, 2));
    }
}
