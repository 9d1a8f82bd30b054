//! One keyed state's entries, split by key group, copy-on-write per group.

use super::store::CurrentKey;
use crate::error::StateError;
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use weir_core::keygroup::KeyGroupRange;

/// The map of one key group.
pub(crate) type Map<K, S> = HashMap<K, S, RandomState>;

/// Entries of one state for every key group a subtask owns. Each group's map is
/// behind an `Arc`: a snapshot clones the `Arc`s, and the first write to a group
/// the snapshot still holds copies that group (`Arc::make_mut`).
pub(crate) struct Table<K, S> {
    range: KeyGroupRange,
    groups: Vec<Arc<Map<K, S>>>,
}

impl<K: Hash + Eq + Clone, S: Clone> Table<K, S> {
    pub(crate) fn new(range: KeyGroupRange) -> Self {
        Table {
            range,
            groups: (0..range.len()).map(|_| Arc::new(Map::default())).collect(),
        }
    }

    #[inline]
    fn index(&self, key_group: usize) -> Result<usize, StateError> {
        if self.range.contains(key_group) {
            Ok(key_group - self.range.start)
        } else {
            Err(StateError::KeyGroupOutOfRange {
                key_group,
                start: self.range.start,
                end: self.range.end,
            })
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &CurrentKey<K>) -> Result<Option<&S>, StateError> {
        let index = self.index(key.key_group())?;
        Ok(self.groups[index].get(key.key()))
    }

    /// The group of `key_group`, unshared (copied if a snapshot holds it).
    #[inline]
    pub(crate) fn group_mut(&mut self, key_group: usize) -> Result<&mut Map<K, S>, StateError> {
        let index = self.index(key_group)?;
        Ok(Arc::make_mut(&mut self.groups[index]))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &CurrentKey<K>) -> Result<Option<&mut S>, StateError> {
        Ok(self.group_mut(key.key_group())?.get_mut(key.key()))
    }

    /// The entry of `key`, created with `init` when missing.
    #[inline]
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: &CurrentKey<K>,
        init: impl FnOnce() -> S,
    ) -> Result<&mut S, StateError> {
        let group = self.group_mut(key.key_group())?;
        if !group.contains_key(key.key()) {
            group.insert(key.key().clone(), init());
        }
        // The entry exists now; `get_mut` cannot miss.
        group.get_mut(key.key()).ok_or_else(|| StateError::Restore {
            name: "entry".into(),
            message: "entry vanished after insert".into(),
        })
    }

    #[inline]
    pub(crate) fn insert(&mut self, key: &CurrentKey<K>, value: S) -> Result<(), StateError> {
        let group = self.group_mut(key.key_group())?;
        match group.get_mut(key.key()) {
            Some(slot) => *slot = value,
            None => {
                group.insert(key.key().clone(), value);
            }
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn remove(&mut self, key: &CurrentKey<K>) -> Result<Option<S>, StateError> {
        let index = self.index(key.key_group())?;
        if !self.groups[index].contains_key(key.key()) {
            return Ok(None);
        }
        Ok(Arc::make_mut(&mut self.groups[index]).remove(key.key()))
    }

    /// The groups as they are now; later writes do not change what is returned.
    pub(crate) fn share(&self) -> Vec<Arc<Map<K, S>>> {
        self.groups.clone()
    }

    /// Adds restored entries of `key_group` (ignored when the group is not owned).
    pub(crate) fn restore_group(&mut self, key_group: usize, entries: Vec<(K, S)>) {
        if let Ok(group) = self.group_mut(key_group) {
            group.extend(entries);
        }
    }

    /// The owned key groups.
    pub(crate) fn range(&self) -> KeyGroupRange {
        self.range
    }

    /// Number of keys with an entry.
    pub(crate) fn len(&self) -> usize {
        self.groups.iter().map(|g| g.len()).sum()
    }

    /// Every key with an entry, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = (usize, &K)> + '_ {
        let start = self.range.start;
        self.groups
            .iter()
            .enumerate()
            .flat_map(move |(i, g)| g.keys().map(move |k| (start + i, k)))
    }
}
