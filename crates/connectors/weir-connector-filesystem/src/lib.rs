//! Weir's filesystem connector.
//!
//! * [`FileSource`]: reads the lines of files, directories and glob patterns as a
//!   split source (byte ranges of line files, whole compressed files), each line
//!   decoded by any [`Deserializer`](weir_connector_api::format::Deserializer);
//!   positions in checkpoints, optional monitoring for new files, bad records
//!   handled by policy. With feature `parquet`, `ParquetSource` reads row
//!   groups as Arrow batches; with feature `avro`, `AvroSource` reads byte
//!   ranges of Avro object container files into serde types.
//! * [`FileSink`]: writes part files exactly once (two-phase commit by renames),
//!   through any [`Serializer`](weir_connector_api::format::Serializer) or a bulk
//!   format, with rolling policies, partitioning by field values and partition
//!   commit (`_SUCCESS` files).
//!
//! * [`factory`]: the `filesystem` connector for a
//!   [`Registry`](weir_connector_api::registry::Registry), with Flink's option names.
//!
//! The crate depends on the light connector API only (no runtime).

#[cfg(feature = "parquet")]
mod batch;
mod compression;
pub mod error;
pub mod factory;
mod lines;
mod paths;
pub mod sink;
pub mod source;
mod split;

#[cfg(feature = "parquet")]
pub use batch::ArrowBatch;
pub use error::FileSystemError;
pub use paths::list_files;
pub use sink::{FileSink, FileSinkBuilder};
#[cfg(feature = "avro")]
pub use source::{AvroSource, AvroSourceBuilder};
pub use source::{FileSource, FileSourceBuilder, FileSplit, SplitKind, SplitPosition};
#[cfg(feature = "parquet")]
pub use source::{ParquetSource, ParquetSourceBuilder};
