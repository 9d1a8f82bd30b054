//! Avro object container files as a split source: byte ranges of blocks, records
//! decoded into serde types by the writer schema of each file's header.
//!
//! The split rule is the one of Hadoop's and Flink's Avro input formats, the Avro
//! analogue of the line-start rule: a range reads the blocks that *start* in it.
//! Its reader reads the header at the start of the file, moves to the first sync
//! marker ending at or after the range's start, and reads blocks while they start
//! before the range's end (the last one may run past it). A split's position is
//! the block holding its next record and the records of that block already read
//! ([`FilePosition`]); a restore opens the range at that block and skips those
//! records.

use super::enumerator::Discovery;
use crate::error::FileSystemError;
use crate::paths::list_files;
use crate::split::{FileSplit, SplitKind, SplitPosition};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy};
use weir_connector_api::format::{FormatError, FormatErrorKind};
use weir_connector_api::source::{Boundedness, PollStatus, ReaderContext, SourceOutput};
use weir_connector_api::split::{EnumeratorInit, SplitEnumerator, SplitReader, SplitSource, SplitSourceAdapter};
use weir_connector_api::BoxError;
use weir_format_avro::{AvroFileReader, ContainerError, FilePosition};

/// The default longest Avro block (compressed, and again decompressed): 64 MiB.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 64 << 20;

/// The byte-range splits of Avro file `path`.
fn avro_splits(path: &Path, split_size: u64) -> Result<Vec<FileSplit>, FileSystemError> {
    let size = std::fs::metadata(path)
        .map_err(|e| FileSystemError::io("cannot inspect", path, e))?
        .len();
    let mut splits = Vec::new();
    let mut start = 0;
    // An empty file is one split, so reading it reports that it is not Avro.
    while start < size || (size == 0 && splits.is_empty()) {
        let end = start.saturating_add(split_size).min(size);
        splits.push(FileSplit {
            path: path.to_path_buf(),
            kind: SplitKind::AvroBlocks { start, end },
            position: None,
        });
        if end == start {
            break;
        }
        start = end;
    }
    Ok(splits)
}

struct Settings {
    paths: Vec<String>,
    monitor: Option<Duration>,
    split_size: u64,
    batch: usize,
    max_block_bytes: usize,
    handler: BadRecordHandler,
}

/// A source of the records of Avro object container files (files, directories,
/// globs), decoded into `T` with serde by each file's writer schema.
///
/// * **Splits**: byte ranges of [`split_size`](AvroSourceBuilder::split_size)
///   bytes (default 64 MiB); a range reads the blocks starting in it (from the
///   first sync marker at or after its start), so every record is read exactly
///   once whatever the split size, even below a block's size.
/// * **Positions**: each split's position (its next block's offset and the
///   records of that block already read) is stored in checkpoints; a restore goes
///   on from there at any parallelism.
/// * **Records**: `T` is matched to the writer schema by field name, as in
///   [`weir_format_avro`] (a struct's name must be the record's name). Codecs:
///   `null` and `deflate`.
/// * **Bad records**: a record that does not decode goes to the
///   [`BadRecordPolicy`] with the position `block at byte B, record N`; the rest
///   of its block cannot be located (Avro records have no framing of their own)
///   and is skipped with it, which the error says. A broken file (not Avro, a
///   truncated block, a sync marker that does not match the header's) fails the
///   job whatever the policy, naming the path and the byte offset: nothing after
///   it can be read.
pub struct AvroSource<T> {
    settings: Arc<Settings>,
    name: String,
    _records: PhantomData<fn() -> T>,
}

/// Configures an [`AvroSource`].
pub struct AvroSourceBuilder<T> {
    paths: Vec<String>,
    monitor: Option<Duration>,
    split_size: u64,
    batch: usize,
    max_block_bytes: usize,
    policy: BadRecordPolicy,
    name: String,
    _records: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> AvroSource<T> {
    /// A builder of a source reading the Avro container files of `paths` (files,
    /// directories or glob patterns).
    pub fn builder<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> AvroSourceBuilder<T> {
        AvroSourceBuilder {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_string_lossy().into_owned())
                .collect(),
            monitor: None,
            split_size: super::DEFAULT_SPLIT_SIZE,
            batch: 4096,
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            policy: BadRecordPolicy::Fail,
            name: "avro files".to_string(),
            _records: PhantomData,
        }
    }

    /// The source's bad-record handler ([`BadRecordHandler::skipped`] counts the
    /// records skipped so far).
    pub fn bad_records(&self) -> BadRecordHandler {
        self.settings.handler.clone()
    }

    /// The source as a [`Source`](weir_connector_api::source::Source) the runtime runs.
    pub fn into_source(self) -> SplitSourceAdapter<T, AvroSource<T>> {
        let name = self.name.clone();
        SplitSourceAdapter::new(name, self)
    }
}

impl<T: DeserializeOwned + Send + 'static> AvroSourceBuilder<T> {
    /// The source's name in errors and logs (default `avro files`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The size of the byte ranges files are cut into (default 64 MiB).
    pub fn split_size(mut self, bytes: u64) -> Self {
        self.split_size = bytes.max(1);
        self
    }

    /// The most records a reader emits per poll (default 4096).
    pub fn batch_records(mut self, records: usize) -> Self {
        self.batch = records.max(1);
        self
    }

    /// The largest block, compressed and decompressed (default 64 MiB); a larger
    /// one fails the job (a corrupt block count would otherwise allocate it).
    pub fn max_block_bytes(mut self, bytes: usize) -> Self {
        self.max_block_bytes = bytes.max(1);
        self
    }

    /// Lists the paths again every `interval` and reads new files (unbounded).
    pub fn monitor(mut self, interval: Duration) -> Self {
        self.monitor = Some(interval);
        self
    }

    /// What to do with records that cannot be decoded (default: fail).
    pub fn bad_records(mut self, policy: BadRecordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The source; without monitoring every path must exist and every pattern
    /// match a file now.
    pub fn build(self) -> Result<AvroSource<T>, FileSystemError> {
        if self.paths.is_empty() {
            return Err(FileSystemError::Config(format!(
                "Avro source '{}' has no path to read",
                self.name
            )));
        }
        if self.monitor.is_none() {
            list_files(&self.paths, false)?;
        }
        Ok(AvroSource {
            settings: Arc::new(Settings {
                paths: self.paths,
                monitor: self.monitor,
                split_size: self.split_size,
                batch: self.batch,
                max_block_bytes: self.max_block_bytes,
                handler: BadRecordHandler::new(self.name.clone(), self.policy),
            }),
            name: self.name,
            _records: PhantomData,
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> SplitSource<T> for AvroSource<T> {
    type Split = FileSplit;

    fn boundedness(&self) -> Boundedness {
        Discovery::boundedness(self.settings.monitor)
    }

    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<FileSplit>>, BoxError> {
        let split_size = self.settings.split_size;
        let discovery = Discovery {
            paths: self.settings.paths.clone(),
            monitor: self.settings.monitor,
            splitter: Arc::new(move |path| avro_splits(path, split_size)),
        };
        discovery.enumerator(&self.name, restored)
    }

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SplitReader<T, FileSplit>>, BoxError> {
        Ok(Box::new(BlockReader {
            settings: self.settings.clone(),
            queue: VecDeque::new(),
            current: None,
            next_slot: 0,
        }))
    }
}

/// The split being read.
struct OpenBlocks<T> {
    split: FileSplit,
    /// The path as errors show it.
    name: String,
    reader: AvroFileReader<BufReader<File>, T>,
    slot: usize,
}

struct BlockReader<T> {
    settings: Arc<Settings>,
    queue: VecDeque<FileSplit>,
    current: Option<OpenBlocks<T>>,
    next_slot: usize,
}

/// A broken file as an error naming it and the offset.
fn file_error(path: &Path, e: ContainerError) -> BoxError {
    match e {
        ContainerError::Io(source) => FileSystemError::io("cannot read", path, source).into(),
        ContainerError::Format { offset, error } => {
            format!("Avro file '{}' at byte offset {offset}: {error}", path.display()).into()
        }
        // Handled as bad records by the caller; reported in full otherwise.
        e @ ContainerError::Record { .. } => format!("'{}': {e}", path.display()).into(),
    }
}

impl<T: DeserializeOwned + Send + 'static> BlockReader<T> {
    fn open(&mut self, split: FileSplit) -> Result<OpenBlocks<T>, BoxError> {
        let SplitKind::AvroBlocks { start, end } = split.kind else {
            return Err(format!("'{}': not a split of Avro blocks", split.path.display()).into());
        };
        let path = &split.path;
        let file = File::open(path).map_err(|e| FileSystemError::io("cannot open", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| FileSystemError::io("cannot inspect", path, e))?
            .len();
        if size < end {
            return Err(format!(
                "'{}' has {size} bytes, fewer than when it was listed ({end} or more): \
                 files must not change once the source has seen them",
                path.display()
            )
            .into());
        }
        let input = BufReader::with_capacity(1 << 16, file);
        let max = self.settings.max_block_bytes;
        let reader = match split.position {
            Some(position) => resume(input, position, end, max),
            None => AvroFileReader::open_range_with_max_block_bytes(input, start, end, max),
        }
        .map_err(|e| file_error(path, e))?;
        let slot = self.next_slot;
        self.next_slot += 1;
        Ok(OpenBlocks {
            name: path.display().to_string(),
            split,
            reader,
            slot,
        })
    }
}

/// A reader of `input` going on at `position` (a block's offset and the records
/// of it already read), up to `end`.
fn resume<T: DeserializeOwned>(
    input: BufReader<File>,
    position: SplitPosition,
    end: u64,
    max_block_bytes: usize,
) -> Result<AvroFileReader<BufReader<File>, T>, ContainerError> {
    let mut reader = AvroFileReader::open_range_with_max_block_bytes(input, position.offset, end, max_block_bytes)?;
    if position.records > 0 {
        let at = reader.position();
        if at.block_start != position.offset {
            return Err(ContainerError::Format {
                offset: position.offset,
                error: FormatError::new(
                    FormatErrorKind::Syntax,
                    "no block starts at the position to resume from (has the file changed?)",
                ),
            });
        }
        // Records have no framing: the ones already emitted are decoded again.
        for _ in 0..position.records {
            if reader.next_record()?.is_none() {
                break;
            }
        }
        let now = reader.position();
        let expected = FilePosition {
            block_start: position.offset,
            records_read: position.records,
        };
        if now != expected {
            return Err(ContainerError::Format {
                offset: position.offset,
                error: FormatError::new(
                    FormatErrorKind::Syntax,
                    format!(
                        "the block has fewer than the {} records already read from it (has the file changed?)",
                        position.records
                    ),
                ),
            });
        }
    }
    Ok(reader)
}

/// Reads up to `budget` records of `open`; returns whether the split is done.
fn read_records<T: DeserializeOwned + 'static>(
    open: &mut OpenBlocks<T>,
    handler: &BadRecordHandler,
    output: &mut SourceOutput<'_, T>,
    budget: usize,
) -> Result<bool, BoxError> {
    for _ in 0..budget {
        match open.reader.next_record() {
            Ok(Some(record)) => output.collect_in(open.slot, record),
            Ok(None) => return Ok(true),
            Err(ContainerError::Record {
                block_start,
                record,
                skipped,
                error,
            }) => {
                let position = format!("block at byte offset {block_start}, record {record}");
                let error = if skipped > 0 {
                    FormatError::new(
                        error.kind,
                        format!(
                            "{} (the block's {skipped} later records cannot be located and are skipped with it)",
                            error.message
                        ),
                    )
                } else {
                    error
                };
                output.bad_record(
                    handler,
                    BadRecord {
                        split: &open.name,
                        position: &position,
                        bytes: &[],
                        error: &error,
                    },
                )?;
            }
            Err(e) => return Err(file_error(&open.split.path, e)),
        }
    }
    Ok(false)
}

impl<T: DeserializeOwned + Send + 'static> SplitReader<T, FileSplit> for BlockReader<T> {
    fn add_splits(&mut self, splits: Vec<FileSplit>) -> Result<(), BoxError> {
        self.queue.extend(splits);
        Ok(())
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        if self.current.is_none() {
            let Some(split) = self.queue.pop_front() else {
                return Ok(PollStatus::Finished);
            };
            self.current = Some(self.open(split)?);
        }
        let Some(open) = self.current.as_mut() else {
            return Ok(PollStatus::MoreAvailable);
        };
        if read_records(open, &self.settings.handler, output, self.settings.batch)? {
            output.split_finished(open.slot);
            self.current = None;
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
            let position = open.reader.position();
            let mut split = open.split.clone();
            split.position = Some(SplitPosition {
                offset: position.block_start,
                line: None,
                records: position.records_read,
            });
            splits.push(split);
        }
        splits.extend(self.queue.iter().cloned());
        Ok(splits)
    }
}
