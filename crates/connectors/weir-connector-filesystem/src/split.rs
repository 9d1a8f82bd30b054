//! The splits of a file source and their positions.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use weir_connector_api::split::SourceSplit;

/// What part of a file a split is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SplitKind {
    /// The lines starting in bytes `[start, end)` of an uncompressed file.
    Lines {
        /// The first byte of the range.
        start: u64,
        /// The end of the range (exclusive): a line starting here belongs to the
        /// next range.
        end: u64,
    },
    /// All lines of a compressed file (`gzip`, `zstd`): compressed files cannot
    /// be cut, so each is one split; positions count decompressed bytes.
    Compressed {
        /// The compression (`gzip`, `zstd`).
        codec: String,
    },
    /// One row group of a Parquet file; positions count rows.
    RowGroup {
        /// The row group's index in the file.
        index: usize,
    },
    /// The blocks of an Avro object container file that start in bytes
    /// `[start, end)`: a reader starts at the first sync marker ending at or after
    /// `start` and reads the blocks starting before `end`, so every block (and
    /// record) is read exactly once across the ranges of a file.
    AvroBlocks {
        /// The first byte of the range.
        start: u64,
        /// The end of the range (exclusive): a block starting here belongs to the
        /// next range.
        end: u64,
    },
}

/// How far a split was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPosition {
    /// The byte offset of the next line to read (of the decompressed bytes for a
    /// compressed file), the number of rows read of a row group, or the byte
    /// offset of the Avro block holding the next record.
    pub offset: u64,
    /// The 0-based number of the next line in its file, when known (it is
    /// counted only when an error message needs it, for ranges not starting at
    /// the beginning of their file).
    pub line: Option<u64>,
    /// Avro blocks: the records of the block at `offset` already read (0 for the
    /// other kinds).
    #[serde(default)]
    pub records: u64,
}

/// One split of a file source: a byte range of a line file, a whole compressed
/// file, a Parquet row group or a byte range of an Avro container file, with how
/// far it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSplit {
    /// The file (absolute).
    pub path: PathBuf,
    /// Which part of it.
    pub kind: SplitKind,
    /// How far it was read (`None`: not started).
    pub position: Option<SplitPosition>,
}

impl SourceSplit for FileSplit {
    fn split_id(&self) -> String {
        match &self.kind {
            SplitKind::Lines { start, .. } => format!("{}@{start}", self.path.display()),
            SplitKind::Compressed { .. } => self.path.display().to_string(),
            SplitKind::RowGroup { index } => format!("{}#{index}", self.path.display()),
            SplitKind::AvroBlocks { start, .. } => format!("{}@{start}", self.path.display()),
        }
    }
}

/// The position `line N (byte offset B)` of a line in error messages (1-based
/// line numbers).
pub(crate) fn line_position(line: Option<u64>, offset: u64) -> String {
    match line {
        Some(line) => format!("line {} (byte offset {offset})", line + 1),
        None => format!("byte offset {offset}"),
    }
}
