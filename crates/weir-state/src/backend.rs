//! State backends: where keyed state lives while a job runs.
//!
//! * [`StateBackend::heap`] (the default): per-key-group hash maps on the heap,
//!   copy-on-write snapshots. Fastest; state must fit in memory.
//! * [`StateBackend::rocksdb`]: one embedded RocksDB instance per operator subtask,
//!   on local disk, one column family per state. State may be far larger than
//!   memory: a job-wide [memory budget](RocksDbOptions::memory_budget) bounds the
//!   block cache and the write buffers of every instance together. Each instance
//!   lives in its own directory under [`RocksDbOptions::local_dir`], removes it
//!   when its subtask ends and holds a lock on it meanwhile; when a backend opens
//!   its first instance, it removes the directories of instances whose process is
//!   gone (killed with SIGKILL, say), never one still in use by any process.
//!
//! Both write the same snapshot format, so a job can move between them through a
//! checkpoint or savepoint.

use crate::error::StateError;
use std::sync::{Arc, Mutex};
pub use weir_core::state_backend::{RocksDbOptions, StateBackendConfig};

/// Memory shared by every RocksDB instance of a job.
pub(crate) struct RocksShared {
    pub options: RocksDbOptions,
    pub cache: rocksdb::Cache,
    pub write_buffers: rocksdb::WriteBufferManager,
    /// Instances opened so far (names their directories).
    pub opened: Mutex<u64>,
}

impl std::fmt::Debug for RocksShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksShared")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Heap,
    RocksDb(Arc<RocksShared>),
}

/// Where the keyed state of a job's operators lives. Cheap to clone; every clone
/// shares the same memory budget.
#[derive(Debug, Clone)]
pub struct StateBackend {
    kind: Kind,
}

impl Default for StateBackend {
    fn default() -> Self {
        Self::heap()
    }
}

impl StateBackend {
    /// State in memory (the default).
    pub fn heap() -> Self {
        StateBackend { kind: Kind::Heap }
    }

    /// State in embedded RocksDB instances configured by `options`.
    pub fn rocksdb(options: RocksDbOptions) -> Result<Self, StateError> {
        options.validate().map_err(|e| StateError::Config(e.to_string()))?;
        std::fs::create_dir_all(&options.local_dir).map_err(|e| {
            StateError::Config(format!(
                "cannot create the RocksDB local directory {}: {e}",
                options.local_dir.display()
            ))
        })?;
        let cache = rocksdb::Cache::new_lru_cache(options.memory_budget);
        let buffer_bytes = (options.memory_budget as f64 * options.write_buffer_ratio) as usize;
        // Memtable memory is charged to the cache, so cache + memtables stay within
        // the budget; writers stall rather than exceed it.
        let write_buffers =
            rocksdb::WriteBufferManager::new_write_buffer_manager_with_cache(buffer_bytes, true, cache.clone());
        Ok(StateBackend {
            kind: Kind::RocksDb(Arc::new(RocksShared {
                options,
                cache,
                write_buffers,
                opened: Mutex::new(0),
            })),
        })
    }

    /// The backend `config` describes.
    pub fn from_config(config: &StateBackendConfig) -> Result<Self, StateError> {
        match config {
            StateBackendConfig::Heap => Ok(Self::heap()),
            StateBackendConfig::RocksDb(options) => Self::rocksdb(options.clone()),
            other => Err(StateError::Config(format!(
                "this build of weir-state has no state backend for {other:?}"
            ))),
        }
    }

    /// Whether this is the RocksDB backend.
    pub fn is_rocksdb(&self) -> bool {
        matches!(self.kind, Kind::RocksDb(_))
    }

    /// A short name: `heap` or `rocksdb`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Heap => "heap",
            Kind::RocksDb(_) => "rocksdb",
        }
    }

    pub(crate) fn rocks(&self) -> Option<&Arc<RocksShared>> {
        match &self.kind {
            Kind::Heap => None,
            Kind::RocksDb(shared) => Some(shared),
        }
    }
}
