//! Parquet files as a split source: one split per row group, records as Arrow
//! record batches ([`ArrowBatch`]).
//!
//! Records are batches, not rows: Parquet is columnar, and a batch is what the
//! reader decodes anyway, so nothing is converted per row. A job that wants typed
//! rows converts them in a `flat_map` (by hand over the columns, or with a crate
//! such as `serde_arrow`), paying for it only where it is needed.

use super::enumerator::Discovery;
use crate::batch::ArrowBatch;
use crate::error::FileSystemError;
use crate::paths::list_files;
use crate::split::{FileSplit, SplitKind, SplitPosition};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::source::{Boundedness, PollStatus, ReaderContext, SourceOutput};
use weir_connector_api::split::{EnumeratorInit, SplitEnumerator, SplitReader, SplitSource, SplitSourceAdapter};
use weir_connector_api::BoxError;

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> FileSystemError {
    FileSystemError::Config(format!("cannot read Parquet file '{}': {e}", path.display()))
}

/// The row-group splits of `path`.
fn row_group_splits(path: &Path) -> Result<Vec<FileSplit>, FileSystemError> {
    let file = File::open(path).map_err(|e| FileSystemError::io("cannot open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    Ok((0..builder.metadata().num_row_groups())
        .map(|index| FileSplit {
            path: path.to_path_buf(),
            kind: SplitKind::RowGroup { index },
            position: None,
        })
        .collect())
}

struct Settings {
    paths: Vec<String>,
    monitor: Option<Duration>,
    batch_rows: usize,
}

/// A source of the row groups of Parquet files (files, directories, globs), as
/// Arrow record batches. Each row group is a split; its position (the rows
/// emitted) is stored in checkpoints, so a restore goes on at the next batch.
pub struct ParquetSource {
    settings: Arc<Settings>,
    name: String,
}

/// Configures a [`ParquetSource`].
pub struct ParquetSourceBuilder {
    paths: Vec<String>,
    monitor: Option<Duration>,
    batch_rows: usize,
    name: String,
}

impl ParquetSource {
    /// A builder of a source reading the Parquet files of `paths`.
    pub fn builder<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> ParquetSourceBuilder {
        ParquetSourceBuilder {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_string_lossy().into_owned())
                .collect(),
            monitor: None,
            batch_rows: 8192,
            name: "parquet files".to_string(),
        }
    }

    /// The source as a [`Source`](weir_connector_api::source::Source) the runtime runs.
    pub fn into_source(self) -> SplitSourceAdapter<ArrowBatch, ParquetSource> {
        let name = self.name.clone();
        SplitSourceAdapter::new(name, self)
    }
}

impl ParquetSourceBuilder {
    /// The source's name in errors and logs.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The most rows per batch (default 8192).
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Lists the paths again every `interval` and reads new files (unbounded).
    pub fn monitor(mut self, interval: Duration) -> Self {
        self.monitor = Some(interval);
        self
    }

    /// The source; without monitoring every path must exist now.
    pub fn build(self) -> Result<ParquetSource, FileSystemError> {
        if self.monitor.is_none() {
            list_files(&self.paths, false)?;
        }
        Ok(ParquetSource {
            settings: Arc::new(Settings {
                paths: self.paths,
                monitor: self.monitor,
                batch_rows: self.batch_rows,
            }),
            name: self.name,
        })
    }
}

impl SplitSource<ArrowBatch> for ParquetSource {
    type Split = FileSplit;

    fn boundedness(&self) -> Boundedness {
        Discovery::boundedness(self.settings.monitor)
    }

    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<FileSplit>>, BoxError> {
        let discovery = Discovery {
            paths: self.settings.paths.clone(),
            monitor: self.settings.monitor,
            splitter: Arc::new(row_group_splits),
        };
        discovery.enumerator(&self.name, restored)
    }

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SplitReader<ArrowBatch, FileSplit>>, BoxError> {
        Ok(Box::new(RowGroupReader {
            settings: self.settings.clone(),
            queue: VecDeque::new(),
            current: None,
            next_slot: 0,
        }))
    }
}

struct OpenRowGroup {
    split: FileSplit,
    rows: u64,
    reader: ParquetRecordBatchReader,
    slot: usize,
}

struct RowGroupReader {
    settings: Arc<Settings>,
    queue: VecDeque<FileSplit>,
    current: Option<OpenRowGroup>,
    next_slot: usize,
}

impl RowGroupReader {
    fn open(&mut self, split: FileSplit) -> Result<OpenRowGroup, BoxError> {
        let SplitKind::RowGroup { index } = split.kind else {
            return Err(format!("'{}': not a Parquet row group split", split.path.display()).into());
        };
        let path = &split.path;
        let rows = split.position.map_or(0, |p| p.offset);
        let file = File::open(path).map_err(|e| FileSystemError::io("cannot open", path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| parquet_error(path, e))?
            .with_row_groups(vec![index])
            .with_offset(usize::try_from(rows).unwrap_or(usize::MAX))
            .with_batch_size(self.settings.batch_rows)
            .build()
            .map_err(|e| parquet_error(path, e))?;
        let slot = self.next_slot;
        self.next_slot += 1;
        Ok(OpenRowGroup {
            split,
            rows,
            reader,
            slot,
        })
    }
}

impl SplitReader<ArrowBatch, FileSplit> for RowGroupReader {
    fn add_splits(&mut self, splits: Vec<FileSplit>) -> Result<(), BoxError> {
        self.queue.extend(splits);
        Ok(())
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, ArrowBatch>) -> Result<PollStatus, BoxError> {
        if self.current.is_none() {
            let Some(split) = self.queue.pop_front() else {
                return Ok(PollStatus::Finished);
            };
            self.current = Some(self.open(split)?);
        }
        let Some(open) = self.current.as_mut() else {
            return Ok(PollStatus::MoreAvailable);
        };
        match open.reader.next() {
            Some(Ok(batch)) => {
                open.rows += batch.num_rows() as u64;
                output.collect_in(open.slot, ArrowBatch(batch));
            }
            Some(Err(e)) => return Err(parquet_error(&open.split.path, e).into()),
            None => {
                output.split_finished(open.slot);
                self.current = None;
            }
        }
        Ok(if self.current.is_none() && self.queue.is_empty() {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<FileSplit>, BoxError> {
        let mut splits = Vec::with_capacity(self.queue.len() + 1);
        if let Some(open) = &self.current {
            let mut split = open.split.clone();
            split.position = Some(SplitPosition {
                offset: open.rows,
                line: None,
                records: 0,
            });
            splits.push(split);
        }
        splits.extend(self.queue.iter().cloned());
        Ok(splits)
    }
}
