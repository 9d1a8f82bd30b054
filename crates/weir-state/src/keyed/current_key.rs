//! The key of the record being processed, with its key group: what the store,
//! its tables and the RocksDB access all address state by.

/// The key of the record being processed, with its key group computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentKey<K> {
    key: K,
    key_group: usize,
}

impl<K> CurrentKey<K> {
    /// `key`, which belongs to `key_group` (the store computes the group).
    pub(crate) fn new(key: K, key_group: usize) -> Self {
        CurrentKey { key, key_group }
    }

    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Its key group.
    pub fn key_group(&self) -> usize {
        self.key_group
    }

    /// Takes the key out.
    pub fn into_key(self) -> K {
        self.key
    }
}
