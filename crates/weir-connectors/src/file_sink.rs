//! An exactly-once file sink: two-phase commit by atomic renames.

use std::fmt::Display;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_core::{BoxError, WeirError};
use weir_runtime::sink::transactional::{TransactionContext, TransactionalSink};

type Encoder<T> = Arc<dyn Fn(&T, &mut Vec<u8>) -> Result<(), BoxError> + Send + Sync>;

/// Writes records into files of a directory, exactly once.
///
/// Each subtask writes the records between two checkpoints into a hidden
/// *in-progress* file (`.part-….inprogress`). At the checkpoint barrier the file is
/// synced and renamed to *pending* (`.part-….pending`, pre-commit); when the
/// checkpoint completes it is renamed to its final, visible name
/// `part-<subtask>-<checkpoint>-<attempt>-<sequence>` (commit). After a failure, the
/// pending files of the restored checkpoint are committed and every other hidden file
/// of the subtask is deleted, so the visible files hold each record exactly once.
/// Readers should ignore hidden files (the text file source does).
///
/// Without checkpoints, each subtask commits one file when its input ends.
pub struct FileSink<T> {
    dir: PathBuf,
    encode: Encoder<T>,
    _records: PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for FileSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink").field("dir", &self.dir).finish()
    }
}

impl<T: Display> FileSink<T> {
    /// A sink writing each record's `Display` form as a line into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_encoder(dir, |value: &T, out: &mut Vec<u8>| {
            writeln!(out, "{value}")?;
            Ok(())
        })
    }
}

impl<T> FileSink<T> {
    /// A sink writing what `encode` appends for each record into `dir`.
    pub fn with_encoder(
        dir: impl Into<PathBuf>,
        encode: impl Fn(&T, &mut Vec<u8>) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        FileSink {
            dir: dir.into(),
            encode: Arc::new(encode),
            _records: PhantomData,
        }
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn sync_dir(&self) -> Result<(), BoxError> {
        sync_dir(&self.dir)
    }
}

/// Syncs directory `dir` (so that renames in it are durable).
fn sync_dir(dir: &Path) -> Result<(), BoxError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WeirError::io(dir, e))?;
    Ok(())
}

/// The open file of one transaction.
pub struct FileTransaction {
    path: PathBuf,
    stem: String,
    out: BufWriter<File>,
    buffer: Vec<u8>,
    records: u64,
}

/// A pre-committed file: where it is, and the name it gets when committed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingFile {
    /// The hidden pending file.
    pub pending: PathBuf,
    /// Its final name.
    pub committed: PathBuf,
}

/// Whether `name` is a hidden file (`.part-<subtask>-…`) written by a subtask that
/// `index` of `parallelism` is responsible for cleaning up.
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

impl<T: Send + 'static> TransactionalSink<T> for FileSink<T> {
    type Transaction = FileTransaction;
    type Pending = PendingFile;

    fn begin(&self, context: &TransactionContext) -> Result<FileTransaction, BoxError> {
        fs::create_dir_all(&self.dir).map_err(|e| WeirError::io(&self.dir, e))?;
        let stem = format!(
            "part-{}-{}-{}",
            context.info.index, context.info.attempt, context.sequence
        );
        let path = self.dir.join(format!(".{stem}.inprogress"));
        let file = File::create(&path).map_err(|e| WeirError::io(&path, e))?;
        Ok(FileTransaction {
            path,
            stem,
            out: BufWriter::with_capacity(256 * 1024, file),
            buffer: Vec::new(),
            records: 0,
        })
    }

    fn write(
        &self,
        _: &TransactionContext,
        transaction: &mut FileTransaction,
        value: T,
        _: Option<i64>,
    ) -> Result<(), BoxError> {
        transaction.buffer.clear();
        (self.encode)(&value, &mut transaction.buffer)?;
        transaction
            .out
            .write_all(&transaction.buffer)
            .map_err(|e| WeirError::io(&transaction.path, e))?;
        transaction.records += 1;
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        transaction: FileTransaction,
        checkpoint_id: u64,
    ) -> Result<Option<PendingFile>, BoxError> {
        let FileTransaction {
            path,
            stem,
            out,
            records,
            ..
        } = transaction;
        if records == 0 {
            drop(out);
            fs::remove_file(&path).map_err(|e| WeirError::io(&path, e))?;
            return Ok(None);
        }
        let file = out.into_inner().map_err(|e| WeirError::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| WeirError::io(&path, e))?;
        drop(file);
        let name = format!(
            "part-{}-{checkpoint_id}-{}",
            context.info.index,
            stem.trim_start_matches(&format!("part-{}-", context.info.index))
        );
        let pending = self.dir.join(format!(".{name}.pending"));
        fs::rename(&path, &pending).map_err(|e| WeirError::io(&pending, e))?;
        self.sync_dir()?;
        Ok(Some(PendingFile {
            pending,
            committed: self.dir.join(name),
        }))
    }

    fn commit(&self, _: &TransactionContext, pending: &PendingFile) -> Result<(), BoxError> {
        if pending.pending.exists() {
            fs::rename(&pending.pending, &pending.committed).map_err(|e| WeirError::io(&pending.committed, e))?;
            // The directory the transaction was written in: a job restored from a
            // savepoint commits the old run's files, whose directory may differ
            // from this sink's (which may not even exist yet).
            match pending.committed.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
                _ => self.sync_dir(),
            }
        } else if pending.committed.exists() {
            Ok(()) // committed before a failure
        } else {
            Err(format!(
                "pre-committed output is missing: neither '{}' nor '{}' exists",
                pending.pending.display(),
                pending.committed.display()
            )
            .into())
        }
    }

    fn abort(&self, _: &TransactionContext, transaction: FileTransaction) -> Result<(), BoxError> {
        drop(transaction.out);
        match fs::remove_file(&transaction.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(WeirError::io(&transaction.path, e).into()),
        }
    }

    fn clean_up(&self, context: &TransactionContext) -> Result<(), BoxError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(WeirError::io(&self.dir, e).into()),
        };
        for entry in entries {
            let entry = entry.map_err(|e| WeirError::io(&self.dir, e))?;
            let name = entry.file_name();
            if owned_leftover(&name.to_string_lossy(), context.info.index, context.info.parallelism) {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| WeirError::io(&path, e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::SubtaskInfo;

    fn context(index: usize, sequence: u64) -> TransactionContext {
        TransactionContext {
            info: SubtaskInfo::new("files", index, 2, 128),
            sequence,
        }
    }

    fn visible(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn in_progress_pending_committed() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::<u32>::new(dir.path());
        let ctx = context(0, 0);
        let mut txn = TransactionalSink::<u32>::begin(&sink, &ctx).unwrap();
        sink.write(&ctx, &mut txn, 1, None).unwrap();
        sink.write(&ctx, &mut txn, 2, None).unwrap();
        assert_eq!(visible(dir.path()), vec![".part-0-0-0.inprogress"]);
        let pending = sink.pre_commit(&ctx, txn, 7).unwrap().unwrap();
        assert_eq!(visible(dir.path()), vec![".part-0-7-0-0.pending"]);
        sink.commit(&ctx, &pending).unwrap();
        sink.commit(&ctx, &pending).unwrap(); // idempotent
        assert_eq!(visible(dir.path()), vec!["part-0-7-0-0"]);
        assert_eq!(fs::read_to_string(dir.path().join("part-0-7-0-0")).unwrap(), "1\n2\n");
    }

    /// A job restored from a savepoint commits the old run's pending files, which
    /// lie in the old run's directory, before (or without) writing to its own.
    #[test]
    fn a_sink_commits_files_pre_committed_in_another_directory() {
        let old = tempfile::tempdir().unwrap();
        let writer = FileSink::<u32>::new(old.path());
        let ctx = context(0, 0);
        let mut txn = TransactionalSink::<u32>::begin(&writer, &ctx).unwrap();
        writer.write(&ctx, &mut txn, 5, None).unwrap();
        let pending = writer.pre_commit(&ctx, txn, 3).unwrap().unwrap();
        let new = tempfile::tempdir().unwrap();
        let restored = FileSink::<u32>::new(new.path().join("not-yet-created"));
        restored.commit(&ctx, &pending).unwrap();
        assert_eq!(visible(old.path()), vec!["part-0-3-0-0"]);
    }

    #[test]
    fn empty_transactions_leave_nothing_and_clean_up_is_per_subtask() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::<u32>::new(dir.path());
        let txn = TransactionalSink::<u32>::begin(&sink, &context(0, 0)).unwrap();
        assert!(sink.pre_commit(&context(0, 0), txn, 1).unwrap().is_none());
        assert!(visible(dir.path()).is_empty());
        let _a = TransactionalSink::<u32>::begin(&sink, &context(0, 1)).unwrap();
        let _b = TransactionalSink::<u32>::begin(&sink, &context(1, 1)).unwrap();
        fs::write(dir.path().join(".part-2-0-0.inprogress"), "old subtask 2").unwrap();
        TransactionalSink::<u32>::clean_up(&sink, &context(0, 0)).unwrap();
        // Subtask 0 of 2 cleans its own files and those of old subtask 2 (2 % 2 == 0).
        assert_eq!(visible(dir.path()), vec![".part-1-0-1.inprogress"]);
    }

    /// Transactions pre-committed at parallelism 2 and restored at 3 are committed
    /// by the subtask that also cleans up their writer's leftovers, whatever order
    /// the new subtasks start in (with an even split, subtask 0 deleted the pending
    /// file subtask 1 was about to commit).
    #[test]
    fn rescaled_restore_commits_every_pending_file_in_any_start_order() {
        use weir_runtime::sink::transactional::ExactlyOnce;
        use weir_runtime::sink::{Sink, SinkContext, SINK_STATE_REDISTRIBUTION};
        use weir_state::{redistribute, OperatorList, OperatorStateSnapshot};

        let dir = tempfile::tempdir().unwrap();
        let sink = ExactlyOnce::<u32, _>::new(FileSink::<u32>::new(dir.path()));
        let snapshots: Vec<OperatorStateSnapshot> = (0..2)
            .map(|index| {
                let mut writer = sink
                    .create_writer(&SinkContext {
                        info: SubtaskInfo::new("files", index, 2, 128),
                        checkpointing: true,
                        restored: None,
                    })
                    .unwrap();
                for checkpoint in 1..=2 {
                    writer.write(index as u32 * 10 + checkpoint, None).unwrap();
                    writer.snapshot_state(checkpoint as u64).unwrap();
                }
                writer.write(99, None).unwrap();
                let elements = writer.snapshot_state(3).unwrap();
                drop(writer);
                OperatorStateSnapshot {
                    lists: vec![OperatorList {
                        name: "sink-state".into(),
                        mode: SINK_STATE_REDISTRIBUTION,
                        elements: elements.into_iter().map(serde_bytes::ByteBuf::from).collect(),
                    }],
                }
            })
            .collect();
        let restored = redistribute(&snapshots, 3);
        for index in [0, 2, 1] {
            let elements = restored[index].lists[0].elements.iter().map(|e| e.to_vec()).collect();
            sink.create_writer(&SinkContext {
                info: SubtaskInfo::new("files", index, 3, 128),
                checkpointing: true,
                restored: Some(elements),
            })
            .unwrap();
        }
        let names = visible(dir.path());
        assert_eq!(names.len(), 6, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("part-")), "{names:?}");
    }
}
