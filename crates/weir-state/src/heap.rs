//! The heap backend's tables: plain hash maps in the task's memory.

use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::Hash;

/// One value per key.
pub(crate) struct HeapValueTable<K, V> {
    map: HashMap<K, V, RandomState>,
}

impl<K: Hash + Eq, V> HeapValueTable<K, V> {
    pub(crate) fn new() -> Self {
        HeapValueTable {
            map: HashMap::with_hasher(RandomState::default()),
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    #[inline]
    pub(crate) fn insert(&mut self, key: K, value: V) {
        self.map.insert(key, value);
    }

    #[inline]
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
