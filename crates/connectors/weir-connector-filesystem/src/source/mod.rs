//! The file source: files, directories and globs, read as splits.
//!
//! ```
//! use weir_connector_api::format::Utf8Text;
//! use weir_connector_api::split::testing::drive;
//! use weir_connector_filesystem::FileSource;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("a.txt"), "one\ntwo\r\nthree").unwrap();
//! let source = FileSource::lines([dir.path()], || Utf8Text).split_size(4).build().unwrap();
//! let mut lines: Vec<String> = drive(source, 2).unwrap();
//! lines.sort();
//! assert_eq!(lines, ["one", "three", "two"]);
//! ```

#[cfg(feature = "avro")]
mod avro;
mod enumerator;
#[cfg(feature = "parquet")]
mod parquet;
mod reader;

use crate::error::FileSystemError;
use crate::paths::list_files;
use enumerator::{line_splits, Discovery};
use reader::FileReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::{BadRecordHandler, BadRecordPolicy};
use weir_connector_api::format::Deserializer;
use weir_connector_api::source::{Boundedness, ReaderContext};
use weir_connector_api::split::{EnumeratorInit, SplitEnumerator, SplitReader, SplitSource, SplitSourceAdapter};
use weir_connector_api::BoxError;

pub use crate::split::{FileSplit, SplitKind, SplitPosition};
#[cfg(feature = "avro")]
pub use avro::{AvroSource, AvroSourceBuilder, DEFAULT_MAX_BLOCK_BYTES};
#[cfg(feature = "parquet")]
pub use parquet::{ParquetSource, ParquetSourceBuilder};

/// The default size of a byte-range split: 64 MiB.
pub const DEFAULT_SPLIT_SIZE: u64 = 64 << 20;
/// The default longest line: 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 << 20;
/// The default read size: 1 MiB.
pub const DEFAULT_READ_SIZE: usize = 1 << 20;

/// Makes one deserializer per reader.
pub type DeserializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Deserializer<T>>, BoxError> + Send + Sync>;

/// The source's settings, shared by its enumerator and readers.
pub(crate) struct Config<T> {
    pub paths: Vec<String>,
    pub deserializer: DeserializerFactory<T>,
    pub split_size: u64,
    pub monitor: Option<Duration>,
    pub max_line: usize,
    pub read_size: usize,
    pub batch: usize,
    pub skip_empty_lines: bool,
    pub handler: BadRecordHandler,
}

/// A source of the lines of files, each line decoded by a [`Deserializer`].
///
/// * **Inputs**: files, directories (walked recursively) and glob patterns
///   (`/data/2026-*/**/*.json`). Names starting with `.` or `_` inside
///   directories are skipped (in-progress files of sinks, `_SUCCESS` markers).
///   A path or pattern that finds nothing is an error naming it, unless the
///   source monitors for new files.
/// * **Splits**: byte ranges of [`split_size`](FileSourceBuilder::split_size)
///   bytes (default 64 MiB) of each uncompressed file. A range owns the lines that
///   *start* in it: one starting mid-line skips to the next line start, and its
///   last line may run past its end; so every line is read exactly once. A
///   compressed file (`.gz`, `.zst`) is one split.
/// * **Positions**: each split's position (the byte offset of its next line and,
///   when known, the line number) is stored in checkpoints; a restore goes on from
///   there, at any parallelism. The enumerator's state (the files already handed
///   out, the splits not yet assigned) is checkpointed too.
/// * **Monitoring**: with [`monitor`](FileSourceBuilder::monitor) the source is
///   unbounded and lists its paths again at that interval; files it has not seen
///   become new splits. Files must be complete when they appear (write them
///   elsewhere, or under a hidden name, and rename them in): a file is read once.
/// * **Bad records**: lines that fail to decode, and lines longer than
///   [`max_line_bytes`](FileSourceBuilder::max_line_bytes) (skipped without being
///   held in memory), go to the [`BadRecordPolicy`] with the position
///   `path, line N (byte offset B)`.
/// * **Lines**: `\n` or `\r\n` endings; the last line needs none; empty lines are
///   skipped unless [`keep_empty_lines`](FileSourceBuilder::keep_empty_lines).
pub struct FileSource<T> {
    config: Arc<Config<T>>,
    name: String,
}

impl<T: Send + 'static> FileSource<T> {
    /// A builder of a source reading the lines of `paths` (files, directories or
    /// glob patterns) through the deserializers `deserializer` makes (one per
    /// reader).
    pub fn lines<P, D>(
        paths: impl IntoIterator<Item = P>,
        deserializer: impl Fn() -> D + Send + Sync + 'static,
    ) -> FileSourceBuilder<T>
    where
        P: AsRef<Path>,
        D: Deserializer<T> + 'static,
    {
        Self::lines_with(
            paths,
            Arc::new(move || Ok(Box::new(deserializer()) as Box<dyn Deserializer<T>>)),
        )
    }

    /// Like [`lines`](Self::lines), with a factory that may fail or returns boxed
    /// deserializers (e.g. from a format registry).
    pub fn lines_with<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        deserializer: DeserializerFactory<T>,
    ) -> FileSourceBuilder<T> {
        FileSourceBuilder {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_string_lossy().into_owned())
                .collect(),
            deserializer,
            name: "files".to_string(),
            split_size: DEFAULT_SPLIT_SIZE,
            monitor: None,
            max_line: DEFAULT_MAX_LINE,
            read_size: DEFAULT_READ_SIZE,
            batch: 4096,
            skip_empty_lines: true,
            policy: BadRecordPolicy::Fail,
        }
    }

    /// The source's bad-record handler (its counters are shared with the
    /// readers: [`BadRecordHandler::skipped`] counts the records skipped so far).
    pub fn bad_records(&self) -> BadRecordHandler {
        self.config.handler.clone()
    }

    /// The source as a [`Source`](weir_connector_api::source::Source) the runtime runs.
    pub fn into_source(self) -> SplitSourceAdapter<T, FileSource<T>> {
        let name = self.name.clone();
        SplitSourceAdapter::new(name, self)
    }
}

/// Configures a [`FileSource`].
pub struct FileSourceBuilder<T> {
    paths: Vec<String>,
    deserializer: DeserializerFactory<T>,
    name: String,
    split_size: u64,
    monitor: Option<Duration>,
    max_line: usize,
    read_size: usize,
    batch: usize,
    skip_empty_lines: bool,
    policy: BadRecordPolicy,
}

impl<T: Send + 'static> FileSourceBuilder<T> {
    /// The source's name in errors and logs (default `files`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The size of the byte ranges files are cut into (default 64 MiB).
    pub fn split_size(mut self, bytes: u64) -> Self {
        self.split_size = bytes.max(1);
        self
    }

    /// Lists the paths again every `interval` and reads new files: the source
    /// becomes unbounded (Flink's `source.monitor-interval`).
    pub fn monitor(mut self, interval: Duration) -> Self {
        self.monitor = Some(interval);
        self
    }

    /// The longest line (default 16 MiB); longer ones are bad records of kind
    /// `Oversize`.
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// The size of each read (default 1 MiB).
    pub fn read_size(mut self, bytes: usize) -> Self {
        self.read_size = bytes.max(16);
        self
    }

    /// The most lines a reader handles per poll (default 4096).
    pub fn batch_lines(mut self, lines: usize) -> Self {
        self.batch = lines.max(1);
        self
    }

    /// Hands empty lines to the deserializer too (by default they are skipped).
    pub fn keep_empty_lines(mut self) -> Self {
        self.skip_empty_lines = false;
        self
    }

    /// What to do with lines that cannot be decoded (default: fail).
    pub fn bad_records(mut self, policy: BadRecordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The source. Without monitoring, every path must exist and every pattern
    /// match a file now (the error names the one that does not).
    pub fn build(self) -> Result<FileSource<T>, FileSystemError> {
        if self.paths.is_empty() {
            return Err(FileSystemError::Config(format!(
                "file source '{}' has no path to read",
                self.name
            )));
        }
        if self.monitor.is_none() {
            list_files(&self.paths, false)?;
        }
        Ok(FileSource {
            config: Arc::new(Config {
                paths: self.paths,
                deserializer: self.deserializer,
                split_size: self.split_size,
                monitor: self.monitor,
                max_line: self.max_line,
                read_size: self.read_size,
                batch: self.batch,
                skip_empty_lines: self.skip_empty_lines,
                handler: BadRecordHandler::new(self.name.clone(), self.policy),
            }),
            name: self.name,
        })
    }
}

impl<T: Send + 'static> SplitSource<T> for FileSource<T> {
    type Split = FileSplit;

    fn boundedness(&self) -> Boundedness {
        Discovery::boundedness(self.config.monitor)
    }

    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<FileSplit>>, BoxError> {
        let split_size = self.config.split_size;
        let discovery = Discovery {
            paths: self.config.paths.clone(),
            monitor: self.config.monitor,
            splitter: Arc::new(move |path| line_splits(path, split_size)),
        };
        discovery.enumerator(&self.name, restored)
    }

    fn create_reader(&self, _: &ReaderContext) -> Result<Box<dyn SplitReader<T, FileSplit>>, BoxError> {
        Ok(Box::new(FileReader::new(self.config.clone())?))
    }
}
