//! Weir's filesystem connector.
//!
//! * [`FileSource`]: reads the lines of files, directories and glob patterns as a
//!   split source (byte ranges of line files, whole compressed files), each line
//!   decoded by any [`Deserializer`](weir_connector_api::format::Deserializer);
//!   positions in checkpoints, optional monitoring for new files, bad records
//!   handled by policy.
//!
//! The crate depends on the light connector API only (no runtime).

mod compression;
pub mod error;
mod lines;
mod paths;
pub mod source;
mod split;

pub use error::FileSystemError;
pub use source::{FileSource, FileSourceBuilder, FileSplit, SplitKind, SplitPosition};
