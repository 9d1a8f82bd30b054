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
/// The directory is made absolute against the current directory when the sink is
/// created, and checkpoints record absolute paths: a job restored in another
/// current directory commits the restored files where they were written.
///
/// Committed files belong to the user, who may move or delete them. A restore may
/// commit a file again that was committed before the failure; if it has been moved
/// away meanwhile, that is logged and skipped. To tell such a file from one lost
/// before its commit (an error: its records would be missing), each subtask keeps
/// the last checkpoint whose files it committed in a hidden
/// `.part-<subtask>.committed` file of the directory.
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
        let dir = dir.into();
        FileSink {
            // Fails only for an empty path or without a current directory; the
            // path is then kept as it is and its first use reports the problem.
            dir: std::path::absolute(&dir).unwrap_or(dir),
            encode: Arc::new(encode),
            _records: PhantomData,
        }
    }

    /// The output directory (absolute).
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

/// A pre-committed file, as checkpoints record it: where it is, and the name it
/// gets when committed (absolute paths, unless the current directory was unknown
/// when the sink was created).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingFile {
    /// The hidden pending file.
    pub pending: PathBuf,
    /// Its final name, `part-<subtask>-<checkpoint>-<attempt>-<sequence>`.
    pub committed: PathBuf,
}

impl PendingFile {
    /// The subtask that wrote it and the checkpoint it belongs to, from its final
    /// name.
    fn origin(&self) -> Option<(usize, u64)> {
        let name = self.committed.file_name()?.to_str()?;
        let mut parts = name.strip_prefix("part-")?.split('-');
        let writer = parts.next()?.parse().ok()?;
        let checkpoint = parts.next()?.parse().ok()?;
        Some((writer, checkpoint))
    }
}

/// The file in `dir` recording the last checkpoint whose files subtask `writer`
/// committed there.
fn commit_record(dir: &Path, writer: usize) -> PathBuf {
    dir.join(format!(".part-{writer}.committed"))
}

/// The last checkpoint whose files `writer` committed in `dir` (`None` when
/// unknown: no record, or one a crash left unreadable).
fn last_committed(dir: &Path, writer: usize) -> Option<u64> {
    fs::read_to_string(commit_record(dir, writer))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Records that `writer` committed its files of `checkpoint` in `dir`.
///
/// Not synced: a record lost or cut short by a crash reads as an older checkpoint
/// (or none), which only makes a later restore stricter.
fn record_commit(dir: &Path, writer: usize, checkpoint: u64) -> Result<(), BoxError> {
    if last_committed(dir, writer).is_some_and(|last| last >= checkpoint) {
        return Ok(());
    }
    let path = commit_record(dir, writer);
    fs::write(&path, format!("{checkpoint}\n")).map_err(|e| WeirError::io(&path, e))?;
    Ok(())
}

/// `pending`'s file is gone: fine if it was committed (again after a restore),
/// even when the committed file was moved or deleted since; an error if it was
/// lost before its commit.
fn check_committed(dir: &Path, pending: &PendingFile) -> Result<(), BoxError> {
    if pending.committed.exists() {
        tracing::debug!("'{}' was committed before", pending.committed.display());
        return Ok(());
    }
    let origin = pending.origin();
    let committed_before =
        origin.is_some_and(|(writer, checkpoint)| last_committed(dir, writer).is_some_and(|last| last >= checkpoint));
    if committed_before {
        tracing::warn!(
            "'{}' was committed before and has been moved or deleted since; nothing to commit",
            pending.committed.display()
        );
        return Ok(());
    }
    let reason = if !dir.is_dir() {
        format!("its directory '{}' does not exist", dir.display())
    } else {
        match origin {
            Some((writer, checkpoint)) => format!(
                "subtask {writer} never committed checkpoint {checkpoint} there (see '{}')",
                commit_record(dir, writer).display()
            ),
            None => "its name is not one the file sink gives".to_string(),
        }
    };
    Err(format!(
        "pre-committed output is missing: '{}' was never committed and neither it nor '{}' exists ({reason}); \
         its records are lost",
        pending.pending.display(),
        pending.committed.display(),
    )
    .into())
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
        // The directory the transaction was written in: a job restored from a
        // savepoint commits the old run's files, whose directory may differ from
        // this sink's (which may not even exist yet).
        let dir = match pending.committed.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => self.dir.as_path(),
        };
        match fs::rename(&pending.pending, &pending.committed) {
            Ok(()) => {
                sync_dir(dir)?;
                // Checkpoint 0 is a job without checkpoints: nothing restores it.
                if let Some((writer, checkpoint)) = pending.origin().filter(|&(_, c)| c > 0) {
                    // The commit is done; without the record a restore after the
                    // file was moved away would only be stricter.
                    if let Err(e) = record_commit(dir, writer, checkpoint) {
                        tracing::warn!("cannot record the commit of '{}': {e}", pending.committed.display());
                    }
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => check_committed(dir, pending),
            Err(e) => Err(format!(
                "cannot commit '{}' as '{}': {}",
                pending.pending.display(),
                pending.committed.display(),
                WeirError::io(&pending.pending, e)
            )
            .into()),
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

    /// Every name in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    /// The names in `dir` but the subtasks' commit records.
    fn visible(dir: &Path) -> Vec<String> {
        let mut names = listing(dir);
        names.retain(|n| !n.ends_with(".committed"));
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

    fn writer_context(restored: Option<Vec<Vec<u8>>>) -> weir_runtime::sink::SinkContext {
        weir_runtime::sink::SinkContext {
            info: SubtaskInfo::new("files", 0, 1, 128),
            checkpointing: true,
            restored,
        }
    }

    /// A restore commits the pending files of its checkpoint again. One committed
    /// before the failure and moved away since is skipped (it crash-looped the
    /// job); one lost before its commit is an error that says so, on restore and
    /// when its checkpoint completes.
    #[test]
    fn a_moved_committed_file_is_skipped_but_a_lost_pending_file_is_an_error() {
        use weir_runtime::sink::transactional::ExactlyOnce;
        use weir_runtime::sink::Sink;

        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let sink = ExactlyOnce::<u32, _>::new(FileSink::<u32>::new(dir.path()));
        let mut writer = sink.create_writer(&writer_context(None)).unwrap();
        writer.write(1, None).unwrap();
        let first = writer.snapshot_state(1).unwrap();
        writer.notify_checkpoint_complete(1).unwrap();
        assert_eq!(listing(dir.path()), vec![".part-0.committed", "part-0-1-0-0"]);
        fs::rename(dir.path().join("part-0-1-0-0"), elsewhere.path().join("moved")).unwrap();
        drop(writer);

        let mut writer = sink.create_writer(&writer_context(Some(first.clone()))).unwrap();
        assert_eq!(listing(dir.path()), vec![".part-0.committed"]);

        // Lost before its commit: the restore fails and names the file.
        writer.write(2, None).unwrap();
        let second = writer.snapshot_state(2).unwrap();
        drop(writer);
        let pending = dir.path().join(".part-0-2-0-0.pending");
        fs::remove_file(&pending).unwrap();
        let e = sink
            .create_writer(&writer_context(Some(second)))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("pre-committed output is missing") && e.contains(".part-0-2-0-0.pending"),
            "{e}"
        );
        assert!(e.contains("never committed checkpoint 2"), "{e}");

        // Lost before the checkpoint completes: the commit fails.
        let mut writer = sink.create_writer(&writer_context(Some(first))).unwrap();
        writer.write(3, None).unwrap();
        writer.snapshot_state(3).unwrap();
        fs::remove_file(dir.path().join(".part-0-3-0-0.pending")).unwrap();
        let e = writer.notify_checkpoint_complete(3).unwrap_err().to_string();
        assert!(e.contains("pre-committed output is missing"), "{e}");
    }

    #[test]
    fn pending_files_are_recorded_with_absolute_paths() {
        let sink = FileSink::<u32>::new("relative/out");
        assert!(sink.dir().is_absolute() && sink.dir().ends_with("relative/out"));
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::<u32>::new(dir.path());
        let ctx = context(1, 0);
        let mut txn = TransactionalSink::<u32>::begin(&sink, &ctx).unwrap();
        sink.write(&ctx, &mut txn, 1, None).unwrap();
        let pending = sink.pre_commit(&ctx, txn, 4).unwrap().unwrap();
        assert!(pending.pending.is_absolute() && pending.committed.is_absolute());
        assert_eq!(pending.origin(), Some((1, 4)));
    }
}
