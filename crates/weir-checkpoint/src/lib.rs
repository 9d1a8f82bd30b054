//! Checkpoint storage.
//!
//! A job's checkpoints live under one directory, one subdirectory per checkpoint:
//!
//! ```text
//! <job checkpoint dir>/
//!   chk-7/
//!     task-0-0.state      state of vertex 0, subtask 0 (all operators of its chain,
//!     task-0-1.state      plus channel state of unaligned checkpoints)
//!     task-1-0.state
//!     _metadata           JSON: every task's file with size and checksum, where
//!                         each operator's state lies in it (with a checksum per
//!                         section) and each operator's max parallelism; written
//!                         last, atomically
//!   shared/               files of incremental checkpoints, by content hash
//! ```
//!
//! A checkpoint exists only once its `_metadata` does: the file is written last, in
//! one atomic put (on disk: to a hidden name, renamed, synced). Every state file
//! carries an XXH3-64 checksum in the metadata, and the metadata carries one of its
//! own, so a truncated or bit-flipped checkpoint is detected on restore and the
//! previous one is used ([`CheckpointStorage::latest_valid`]). Reads tell damage
//! from unavailability ([`CheckpointError::class`]): unavailable storage is
//! retried ([`weir_core::StorageRetry`]) and then fails the restore, never
//! making a job start from empty state.
//!
//! Every location goes through the `object_store` crate: a local directory (the
//! default) through its `LocalFileSystem`, an object store URL
//! (`s3://bucket/prefix`, see [`is_remote`]) through S3 with credentials from the
//! environment. The layout is the same in both. [`faults::FaultInjection`] serves
//! `faulty://` locations that fail on purpose, for tests.

mod error;
pub mod faults;
mod metadata;
mod object;
mod retry;
mod shared;
mod storage;

pub use error::{CheckpointError, ErrorClass};
pub use metadata::{
    CheckpointMetadata, FileHandle, OperatorSnapshotHandle, Section, SnapshotKind, TaskSnapshotHandle, METADATA_FILE,
    METADATA_VERSION, OLDEST_READABLE_VERSION, SHARED_DIR,
};
pub use object::is_remote;
pub use shared::{CheckpointSharedFiles, SharedFileStore};
pub use storage::{CheckpointLocation, CheckpointStorage, StateFileWriter};
