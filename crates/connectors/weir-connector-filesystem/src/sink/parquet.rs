//! Parquet part files (a bulk format: each part is closed at checkpoints).

use super::part::{PartFormat, PartWriter};
use crate::batch::ArrowBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};
use weir_connector_api::BoxError;

/// Record batches into Parquet files of one schema.
pub struct ParquetFormat {
    schema: SchemaRef,
    properties: WriterProperties,
}

impl ParquetFormat {
    /// Parquet files of `schema`, Snappy-compressed.
    pub fn new(schema: SchemaRef) -> Self {
        ParquetFormat {
            schema,
            properties: WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build(),
        }
    }

    /// With writer properties of your own (compression, row-group size).
    pub fn with_properties(mut self, properties: WriterProperties) -> Self {
        self.properties = properties;
        self
    }
}

struct ParquetPart {
    writer: ArrowWriter<File>,
    path: PathBuf,
}

impl PartWriter<ArrowBatch> for ParquetPart {
    fn write(&mut self, batch: &ArrowBatch) -> Result<(), BoxError> {
        self.writer
            .write(&batch.0)
            .map_err(|e| format!("cannot write a batch into '{}': {e}", self.path.display()).into())
    }

    fn bytes(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }

    fn finish(self: Box<Self>) -> Result<File, BoxError> {
        let path = self.path;
        self.writer
            .into_inner()
            .map_err(|e| format!("cannot finish '{}': {e}", path.display()).into())
    }
}

impl PartFormat<ArrowBatch> for ParquetFormat {
    fn extension(&self) -> &str {
        "parquet"
    }

    fn is_bulk(&self) -> bool {
        true
    }

    fn open(&self, file: File, path: &Path) -> Result<Box<dyn PartWriter<ArrowBatch>>, BoxError> {
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
            .map_err(|e| format!("cannot start '{}': {e}", path.display()))?;
        Ok(Box::new(ParquetPart {
            writer,
            path: path.to_path_buf(),
        }))
    }
}
