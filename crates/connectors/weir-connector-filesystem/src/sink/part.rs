//! How records are encoded into part files.

use crate::error::FileSystemError;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_connector_api::format::Serializer;
use weir_connector_api::BoxError;

/// Writes the records of one part file.
pub trait PartWriter<T>: Send {
    /// Encodes one record.
    fn write(&mut self, value: &T) -> Result<(), BoxError>;
    /// The bytes written so far (an estimate for formats that buffer).
    fn bytes(&self) -> u64;
    /// Writes out everything (a footer, buffered rows) and returns the file, to
    /// be synced.
    fn finish(self: Box<Self>) -> Result<File, BoxError>;
}

/// A file format of the sink: row formats (one record a line) or bulk formats
/// (Parquet).
pub trait PartFormat<T>: Send + Sync {
    /// The part files' extension, without the dot (`json`, `csv`, `parquet`).
    fn extension(&self) -> &str;
    /// Whether parts can only be closed as a whole (bulk formats; they are rolled
    /// at every checkpoint anyway).
    fn is_bulk(&self) -> bool {
        false
    }
    /// A writer of a new part into `file` (at `path`, for errors).
    fn open(&self, file: File, path: &Path) -> Result<Box<dyn PartWriter<T>>, BoxError>;
}

/// Makes one serializer per part file.
pub type SerializerFactory<T> = Arc<dyn Fn() -> Box<dyn Serializer<T>> + Send + Sync>;

/// Records as lines through a [`Serializer`] (JSON lines, CSV): each record's
/// encoding followed by `\n`, after an optional header line.
pub struct LineFormat<T> {
    serializer: SerializerFactory<T>,
    extension: String,
    header: Option<Vec<u8>>,
}

impl<T> LineFormat<T> {
    /// Lines made by the serializers of `serializer`, in files ending in
    /// `.extension`.
    pub fn new<S: Serializer<T> + 'static>(
        extension: impl Into<String>,
        serializer: impl Fn() -> S + Send + Sync + 'static,
    ) -> Self {
        LineFormat {
            serializer: Arc::new(move || Box::new(serializer())),
            extension: extension.into(),
            header: None,
        }
    }

    /// Like [`new`](Self::new), with a factory of boxed serializers (from a
    /// format registry).
    pub fn boxed(extension: impl Into<String>, serializer: SerializerFactory<T>) -> Self {
        LineFormat {
            serializer,
            extension: extension.into(),
            header: None,
        }
    }

    /// Starts every part with `header` as its first line (a CSV header).
    pub fn with_header(mut self, header: impl Into<Vec<u8>>) -> Self {
        self.header = Some(header.into());
        self
    }
}

struct LineWriter<T> {
    serializer: Box<dyn Serializer<T>>,
    out: BufWriter<File>,
    path: PathBuf,
    line: Vec<u8>,
    bytes: u64,
}

impl<T: Send> PartWriter<T> for LineWriter<T> {
    fn write(&mut self, value: &T) -> Result<(), BoxError> {
        self.line.clear();
        self.serializer
            .serialize(value, &mut self.line)
            .map_err(|e| format!("cannot encode a record for '{}': {e}", self.path.display()))?;
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(|e| FileSystemError::io("cannot write", &self.path, e))?;
        self.bytes += self.line.len() as u64;
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn finish(self: Box<Self>) -> Result<File, BoxError> {
        let path = self.path;
        Ok(self
            .out
            .into_inner()
            .map_err(|e| FileSystemError::io("cannot write", &path, e.into_error()))?)
    }
}

impl<T: Send + 'static> PartFormat<T> for LineFormat<T> {
    fn extension(&self) -> &str {
        &self.extension
    }

    fn open(&self, file: File, path: &Path) -> Result<Box<dyn PartWriter<T>>, BoxError> {
        // 64 KiB per open part: a sink with many open partitions keeps one each.
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        let mut bytes = 0;
        if let Some(header) = &self.header {
            out.write_all(header)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| FileSystemError::io("cannot write", path, e))?;
            bytes = header.len() as u64 + 1;
        }
        Ok(Box::new(LineWriter {
            serializer: (self.serializer)(),
            out,
            path: path.to_path_buf(),
            line: Vec::new(),
            bytes,
        }))
    }
}
