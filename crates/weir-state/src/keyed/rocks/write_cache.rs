//! A write-back cache in front of one value-like state's column family.
//!
//! Updating the same key again and again (a count per key) makes RocksDB keep one
//! version per update in its memtable until the next flush, and every read then
//! searches a skip list full of versions. The cache keeps the newest encoded value
//! of recently used keys (or that the key has none); reads of cached keys skip
//! RocksDB, updates overwrite the cached bytes in place. Dirty entries go to
//! RocksDB in one `WriteBatch` before anything reads the column family directly
//! (a scan, a snapshot) and when the cache outgrows its byte limit, which also
//! empties it.

use rocksdb::{ColumnFamily, WriteBatch, WriteOptions, DB};
use std::collections::HashMap;

/// Bytes an entry costs beyond its key and value (map slot, vectors).
const ENTRY_OVERHEAD: usize = 64;

struct Cached {
    /// The encoded value; `None`: the key has no value.
    value: Option<Vec<u8>>,
    /// Whether RocksDB does not have this yet.
    dirty: bool,
}

/// The cache of one state of one subtask.
pub(crate) struct WriteCache {
    entries: HashMap<Vec<u8>, Cached, foldhash::fast::RandomState>,
    bytes: usize,
    limit: usize,
    dirty: usize,
}

impl WriteCache {
    /// An empty cache of at most about `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        WriteCache {
            entries: HashMap::default(),
            bytes: 0,
            limit,
            dirty: 0,
        }
    }

    /// The cached value of `key`: `None` if not cached, `Some(None)` if cached as
    /// absent.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.entries.get(key).map(|c| c.value.as_deref())
    }

    /// Caches `value` for `key`; `dirty` when it is a write RocksDB has not seen.
    /// A full cache is written back and emptied first.
    pub(crate) fn insert(
        &mut self,
        key: &[u8],
        value: Option<&[u8]>,
        dirty: bool,
        db: &DB,
        cf: &ColumnFamily,
        write: &WriteOptions,
    ) -> Result<(), rocksdb::Error> {
        if let Some(cached) = self.entries.get_mut(key) {
            let old = cached.value.as_ref().map_or(0, Vec::len);
            match (&mut cached.value, value) {
                (Some(buffer), Some(new)) => {
                    buffer.clear();
                    buffer.extend_from_slice(new);
                }
                (slot, new) => *slot = new.map(<[u8]>::to_vec),
            }
            self.bytes = self.bytes + value.map_or(0, <[u8]>::len) - old;
            if dirty && !cached.dirty {
                self.dirty += 1;
            }
            cached.dirty |= dirty;
            return Ok(());
        }
        let cost = key.len() + value.map_or(0, <[u8]>::len) + ENTRY_OVERHEAD;
        if self.bytes + cost > self.limit && !self.entries.is_empty() {
            self.flush(db, cf, write)?;
            self.entries.clear();
            self.bytes = 0;
        }
        self.entries.insert(
            key.to_vec(),
            Cached {
                value: value.map(<[u8]>::to_vec),
                dirty,
            },
        );
        self.bytes += cost;
        if dirty {
            self.dirty += 1;
        }
        Ok(())
    }

    /// Writes every dirty entry to RocksDB in one batch; the entries stay cached.
    pub(crate) fn flush(&mut self, db: &DB, cf: &ColumnFamily, write: &WriteOptions) -> Result<(), rocksdb::Error> {
        if self.dirty == 0 {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for (key, cached) in self.entries.iter().filter(|(_, c)| c.dirty) {
            match &cached.value {
                Some(value) => batch.put_cf(cf, key, value),
                None => batch.delete_cf(cf, key),
            }
        }
        db.write_opt(batch, write)?;
        for cached in self.entries.values_mut() {
            cached.dirty = false;
        }
        self.dirty = 0;
        Ok(())
    }

    /// Forgets everything (after the column family was rewritten underneath).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.dirty = 0;
    }
}
