//! The exactly-once file sink: formats, rolling, partitioning, partition commit.
//!
//! ```
//! use weir_connector_api::format::Utf8Text;
//! use weir_connector_filesystem::sink::{FileSink, LineFormat, Partition};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let sink = FileSink::builder(dir.path(), LineFormat::new("txt", || Utf8Text))
//!     .partition_by(|line: &String, _| Partition::new(format!("first={}", &line[..1])))
//!     .build()
//!     .unwrap();
//! # let _ = sink;
//! ```

mod core;
#[cfg(feature = "parquet")]
mod parquet;
mod part;
mod partition;
mod rolling;

pub use self::core::{FileTransaction, Partitioner, PendingFile, PendingTransaction};
#[cfg(feature = "parquet")]
pub use self::parquet::ParquetFormat;
pub use part::{LineFormat, PartFormat, PartWriter, SerializerFactory};
pub use partition::{CommitTrigger, Partition, PartitionCommit};
pub use rolling::RollingPolicy;

use self::core::Core;
use crate::error::FileSystemError;
use crate::paths::absolute;
use partition::Committer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::transactional::ExactlyOnce;
use weir_connector_api::{BoxError, Watermark};

/// Writes records into part files of a directory, exactly once.
///
/// * **Two-phase commit**: each subtask writes the records of a checkpoint
///   interval into hidden in-progress part files
///   (`.part-<subtask>-<attempt>-<sequence>-<n>.<ext>.inprogress`). At the
///   checkpoint barrier they are synced and renamed `.pending` (pre-commit, their
///   absolute paths stored in the checkpoint); when the checkpoint completes they
///   are renamed to their visible names
///   `part-<subtask>-<checkpoint>-<attempt>-<sequence>-<n>.<ext>` (commit). A
///   restore commits the pending files of its checkpoint again (idempotent) and
///   deletes every other hidden part its subtask owns (`writer % parallelism ==
///   index`, so rescaled restores clean up too). A `.part-<subtask>.committed`
///   record tells a file committed and moved away since (fine) from one lost
///   before its commit (an error). Without checkpoints, files are committed when
///   the input ends.
/// * **Formats**: any [`PartFormat`]: lines through a
///   [`Serializer`](weir_connector_api::format::Serializer) ([`LineFormat`]: JSON
///   lines, CSV with a header), or bulk formats such as Parquet.
/// * **Rolling**: a [`RollingPolicy`] closes parts by size, age or inactivity;
///   all parts are closed at every checkpoint.
/// * **Partitioning**: [`partition_by`](FileSinkBuilder::partition_by) puts each
///   record in a directory chosen from its values and event time
///   (`dt=2026-12-03/hour=07/`); with
///   [`partition_commit`](FileSinkBuilder::partition_commit) a `_SUCCESS` file
///   is written into a partition once it can receive no more records and every
///   subtask's files for it are committed (see [`PartitionCommit`]).
///
/// Readers should skip names starting with `.` or `_` (the file source does).
pub struct FileSink<T> {
    base: PathBuf,
    inner: ExactlyOnce<T, Core<T>>,
    committer: Option<Arc<Committer>>,
}

impl<T> std::fmt::Debug for FileSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink").field("base", &self.base).finish()
    }
}

impl<T: Send + 'static> FileSink<T> {
    /// A builder of a sink writing into directory `base` in `format`.
    pub fn builder(base: impl AsRef<Path>, format: impl PartFormat<T> + 'static) -> FileSinkBuilder<T> {
        Self::builder_with(base, Arc::new(format))
    }

    /// Like [`builder`](Self::builder), with a shared format.
    pub fn builder_with(base: impl AsRef<Path>, format: Arc<dyn PartFormat<T>>) -> FileSinkBuilder<T> {
        FileSinkBuilder {
            base: absolute(base.as_ref()),
            format,
            rolling: RollingPolicy::default(),
            partitioner: None,
            commit: None,
        }
    }

    /// The base directory (absolute).
    pub fn base(&self) -> &Path {
        &self.base
    }
}

/// Configures a [`FileSink`].
pub struct FileSinkBuilder<T> {
    base: PathBuf,
    format: Arc<dyn PartFormat<T>>,
    rolling: RollingPolicy,
    partitioner: Option<Partitioner<T>>,
    commit: Option<PartitionCommit>,
}

impl<T: Send + 'static> FileSinkBuilder<T> {
    /// When parts are closed (default: 128 MiB, 30 minutes).
    pub fn rolling(mut self, policy: RollingPolicy) -> Self {
        self.rolling = policy;
        self
    }

    /// Puts each record into the partition directory `partitioner` chooses from
    /// the record and its event time.
    pub fn partition_by(mut self, partitioner: impl Fn(&T, Option<i64>) -> Partition + Send + Sync + 'static) -> Self {
        self.partitioner = Some(Arc::new(partitioner));
        self
    }

    /// Like [`partition_by`](Self::partition_by), with a shared function.
    pub fn partitioner(mut self, partitioner: Partitioner<T>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }

    /// Writes a success file into each partition once it is complete.
    pub fn partition_commit(mut self, commit: PartitionCommit) -> Self {
        self.commit = Some(commit);
        self
    }

    /// The sink.
    pub fn build(self) -> Result<FileSink<T>, FileSystemError> {
        if self.commit.is_some() && self.partitioner.is_none() {
            return Err(FileSystemError::Config(
                "partition commit needs partitioning: set a partition function".to_string(),
            ));
        }
        if let Some(commit) = &self.commit {
            if commit.success_file.is_empty() || commit.success_file.contains('/') {
                return Err(FileSystemError::Config(format!(
                    "invalid success file name '{}'",
                    commit.success_file
                )));
            }
        }
        let committer = self
            .commit
            .map(|commit| Arc::new(Committer::new(self.base.clone(), commit)));
        Ok(FileSink {
            base: self.base.clone(),
            inner: ExactlyOnce::new(Core {
                base: self.base,
                format: self.format,
                rolling: self.rolling,
                partitioner: self.partitioner,
                committer: committer.clone(),
            }),
            committer,
        })
    }
}

impl<T: Send + 'static> Sink<T> for FileSink<T> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let inner = self.inner.create_writer(context)?;
        if let Some(committer) = &self.committer {
            committer.start(context.info.index, context.info.parallelism)?;
        }
        Ok(Box::new(FileSinkWriter {
            inner,
            committer: self.committer.clone(),
            index: context.info.index,
            parallelism: context.info.parallelism,
            checkpointing: context.checkpointing,
            clocks: BTreeMap::new(),
            ended: false,
            watermark: i64::MIN,
        }))
    }
}

/// The two-phase-commit writer, plus the clocks of partition commit.
struct FileSinkWriter<T> {
    inner: Box<dyn SinkWriter<T>>,
    committer: Option<Arc<Committer>>,
    index: usize,
    parallelism: usize,
    checkpointing: bool,
    /// The clock at each checkpoint barrier not yet completed.
    clocks: BTreeMap<u64, i64>,
    ended: bool,
    /// The input watermark: the clock of [`CommitTrigger::PartitionTime`].
    watermark: i64,
}

impl<T> FileSinkWriter<T> {
    fn clock(&self, committer: &Committer) -> i64 {
        if self.ended {
            return i64::MAX;
        }
        match committer.config().trigger {
            CommitTrigger::ProcessTime => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            CommitTrigger::PartitionTime => self.watermark,
        }
    }
}

impl<T: Send> SinkWriter<T> for FileSinkWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.inner.write(value, timestamp)
    }

    fn write_watermark(&mut self, watermark: Watermark) -> Result<(), BoxError> {
        self.watermark = self.watermark.max(watermark.timestamp);
        self.inner.write_watermark(watermark)
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.ended = true;
        self.inner.finish()?;
        if !self.checkpointing {
            if let Some(committer) = &self.committer {
                committer.progress(self.index, self.parallelism, i64::MAX)?;
            }
        }
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        if let Some(committer) = &self.committer {
            let clock = self.clock(committer);
            self.clocks.insert(checkpoint_id, clock);
        }
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_complete(checkpoint_id)?;
        let Some(committer) = &self.committer else {
            return Ok(());
        };
        let covered: Vec<u64> = self.clocks.range(..=checkpoint_id).map(|(c, _)| *c).collect();
        let clock = covered.last().and_then(|c| self.clocks.get(c)).copied();
        for checkpoint in covered {
            self.clocks.remove(&checkpoint);
        }
        if let Some(clock) = clock {
            committer.progress(self.index, self.parallelism, clock)?;
        }
        Ok(())
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }
}
