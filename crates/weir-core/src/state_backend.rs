//! Which state backend a job uses, and its settings.

use crate::error::{Result, WeirError};
use std::path::PathBuf;

/// Where the keyed state of a job's operators lives.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum StateBackendConfig {
    /// Hash maps on the heap (the default): fastest; state must fit in memory.
    #[default]
    Heap,
    /// Embedded RocksDB, one instance per operator subtask on local disk: state
    /// may be far larger than memory.
    RocksDb(RocksDbOptions),
}

impl StateBackendConfig {
    /// The RocksDB backend with default settings.
    pub fn rocksdb() -> Self {
        StateBackendConfig::RocksDb(RocksDbOptions::default())
    }

    /// Parses `heap` or `rocksdb` (as the CLI's `--state-backend` takes them).
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "heap" | "hashmap" | "memory" => Ok(StateBackendConfig::Heap),
            "rocksdb" | "rocks" => Ok(Self::rocksdb()),
            other => Err(WeirError::Config(format!(
                "unknown state backend '{other}': expected 'heap' or 'rocksdb'"
            ))),
        }
    }

    /// Checks the settings; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        match self {
            StateBackendConfig::Heap => Ok(()),
            StateBackendConfig::RocksDb(options) => options.validate(),
        }
    }
}

/// Settings of the RocksDB state backend.
#[derive(Debug, Clone, PartialEq)]
pub struct RocksDbOptions {
    /// Directory under which every subtask's instance gets its own directory
    /// (removed when the subtask ends). Default: the system's temporary directory.
    pub local_dir: PathBuf,
    /// Bytes of memory for the block cache and the write buffers (memtables) of all
    /// instances of the job together. Default 256 MiB, at least 8 MiB.
    pub memory_budget: usize,
    /// Fraction of the budget that write buffers may use; the block cache has all
    /// of it, write buffers being charged to the cache. Default 0.5.
    pub write_buffer_ratio: f64,
    /// A subtask whose state is at most this many bytes (RocksDB's estimate) is
    /// snapshotted by scanning it in the synchronous part of the checkpoint; larger
    /// state is flushed and hard-linked (a RocksDB checkpoint), then read in the
    /// asynchronous part. Default 4 MiB; 0 always takes the RocksDB checkpoint.
    pub inline_snapshot_bytes: usize,
    /// Whether checkpoints are incremental: each uploads only the RocksDB files
    /// checkpoint storage does not hold yet (shared between checkpoints, deleted
    /// when no retained checkpoint needs them). Savepoints are always full.
    /// Default false (full snapshots in the backend-independent format).
    pub incremental_checkpoints: bool,
    /// Bytes of encoded keys and values each value-like state (value, reducing,
    /// aggregating; without TTL) of each subtask keeps in a write-back cache in
    /// front of RocksDB: reads of cached keys skip RocksDB, updates overwrite the
    /// cached bytes and reach RocksDB in one batch at the next checkpoint or when
    /// the cache is full. Default 4 MiB; 0 turns the cache off.
    pub write_cache_bytes: usize,
}

impl Default for RocksDbOptions {
    fn default() -> Self {
        RocksDbOptions {
            local_dir: std::env::temp_dir(),
            memory_budget: 256 << 20,
            write_buffer_ratio: 0.5,
            inline_snapshot_bytes: 4 << 20,
            incremental_checkpoints: false,
            write_cache_bytes: 4 << 20,
        }
    }
}

impl RocksDbOptions {
    /// Checks the settings; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        if self.memory_budget < (8 << 20) {
            return Err(WeirError::Config(format!(
                "the RocksDB memory budget must be at least 8 MiB, got {} bytes",
                self.memory_budget
            )));
        }
        if !(self.write_buffer_ratio > 0.0 && self.write_buffer_ratio < 1.0) {
            return Err(WeirError::Config(format!(
                "the RocksDB write buffer ratio must lie strictly between 0 and 1, got {}",
                self.write_buffer_ratio
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_bad_settings_are_named() {
        assert_eq!(
            StateBackendConfig::parse("RocksDB").unwrap(),
            StateBackendConfig::rocksdb()
        );
        assert_eq!(StateBackendConfig::parse("heap").unwrap(), StateBackendConfig::Heap);
        assert!(StateBackendConfig::parse("disk")
            .unwrap_err()
            .to_string()
            .contains("'disk'"));
        let small = StateBackendConfig::RocksDb(RocksDbOptions {
            memory_budget: 1 << 20,
            ..Default::default()
        });
        assert!(small.validate().unwrap_err().to_string().contains("memory budget"));
    }
}
