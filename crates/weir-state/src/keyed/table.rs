//! One keyed state's entries, split by key group, copy-on-write per group.

use super::current_key::CurrentKey;
use crate::error::StateError;
use crate::ttl::Expirable;
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use weir_core::keygroup::KeyGroupRange;

/// The map of one key group.
pub(crate) type Map<K, S> = HashMap<K, S, RandomState>;

/// One key group's map: owned by the table (written in place), or shared with a
/// snapshot that is still being written.
enum Group<K, S> {
    Owned(Map<K, S>),
    Shared(Arc<Map<K, S>>),
}

impl<K: Hash + Eq + Clone, S: Clone> Group<K, S> {
    #[inline]
    fn get(&self) -> &Map<K, S> {
        match self {
            Group::Owned(map) => map,
            Group::Shared(map) => map,
        }
    }

    /// The map for writing. A shared map is taken back if the snapshot is done with
    /// it, and copied otherwise (once per group and snapshot).
    #[inline]
    fn get_mut(&mut self) -> &mut Map<K, S> {
        if let Group::Shared(shared) = self {
            let shared = std::mem::replace(shared, Arc::new(Map::default()));
            *self = Group::Owned(Arc::try_unwrap(shared).unwrap_or_else(|still_shared| (*still_shared).clone()));
        }
        match self {
            Group::Owned(map) => map,
            Group::Shared(_) => unreachable!("just made owned"),
        }
    }

    /// The map as it is now, shared with the caller; later writes do not change it.
    fn share(&mut self) -> Arc<Map<K, S>> {
        if let Group::Owned(map) = self {
            *self = Group::Shared(Arc::new(std::mem::take(map)));
        }
        match self {
            Group::Shared(map) => map.clone(),
            Group::Owned(_) => unreachable!("just made shared"),
        }
    }
}

/// Entries of one state for every key group a subtask owns. Writes go to owned
/// maps directly, with no synchronization. A snapshot turns each group into a shared
/// map and keeps a reference; the first write to a group afterwards copies it only if
/// the snapshot still holds it.
pub(crate) struct Table<K, S> {
    range: KeyGroupRange,
    groups: Vec<Group<K, S>>,
    /// Incremental TTL cleanup: the next group to sweep, and the entries the
    /// accesses since its last sweep paid for.
    sweep: (usize, usize),
}

impl<K: Hash + Eq + Clone, S: Clone> Table<K, S> {
    pub(crate) fn new(range: KeyGroupRange) -> Self {
        Table {
            range,
            groups: (0..range.len()).map(|_| Group::Owned(Map::default())).collect(),
            sweep: (0, 0),
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
        Ok(self.groups[index].get().get(key.key()))
    }

    /// The map of `key_group`, writable.
    #[inline]
    pub(crate) fn group_mut(&mut self, key_group: usize) -> Result<&mut Map<K, S>, StateError> {
        let index = self.index(key_group)?;
        Ok(self.groups[index].get_mut())
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
        if group.contains_key(key.key()) {
            return group.get_mut(key.key()).ok_or_else(|| StateError::Restore {
                name: "entry".into(),
                message: "entry vanished after lookup".into(),
            });
        }
        Ok(group.entry(key.key().clone()).or_insert_with(init))
    }

    /// Replaces the entry of `key` by `f(current)` with a single lookup when it
    /// exists, and returns `then(new entry)`.
    #[inline]
    pub(crate) fn upsert<R>(
        &mut self,
        key: &CurrentKey<K>,
        f: impl FnOnce(Option<&S>) -> S,
        then: impl FnOnce(&S) -> R,
    ) -> Result<R, StateError> {
        let group = self.group_mut(key.key_group())?;
        if let Some(slot) = group.get_mut(key.key()) {
            *slot = f(Some(slot));
            return Ok(then(slot));
        }
        let value = f(None);
        let result = then(&value);
        group.insert(key.key().clone(), value);
        Ok(result)
    }

    /// Changes the entry of `key` in place, or creates it from what `f` returns
    /// when it is missing; returns whether an entry was created.
    #[inline]
    pub(crate) fn modify(
        &mut self,
        key: &CurrentKey<K>,
        f: impl FnOnce(Option<&mut S>) -> Option<S>,
    ) -> Result<bool, StateError> {
        let group = self.group_mut(key.key_group())?;
        if let Some(slot) = group.get_mut(key.key()) {
            f(Some(slot));
            return Ok(false);
        }
        match f(None) {
            Some(value) => {
                group.insert(key.key().clone(), value);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Changes the entry of `key` in place, removing it when `f` returns false.
    #[inline]
    pub(crate) fn modify_or_remove(
        &mut self,
        key: &CurrentKey<K>,
        f: impl FnOnce(&mut S) -> bool,
    ) -> Result<(), StateError> {
        let index = self.index(key.key_group())?;
        if !self.groups[index].get().contains_key(key.key()) {
            return Ok(());
        }
        let group = self.groups[index].get_mut();
        if let Some(slot) = group.get_mut(key.key()) {
            if !f(slot) {
                group.remove(key.key());
            }
        }
        Ok(())
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
        match &mut self.groups[index] {
            Group::Owned(map) => Ok(map.remove(key.key())),
            // Copy a shared group only if there is something to remove.
            shared if !shared.get().contains_key(key.key()) => Ok(None),
            shared => Ok(shared.get_mut().remove(key.key())),
        }
    }

    /// The groups as they are now; later writes do not change what is returned.
    pub(crate) fn share(&mut self) -> Vec<Arc<Map<K, S>>> {
        self.groups.iter_mut().map(Group::share).collect()
    }

    /// Number of keys with an entry.
    pub(crate) fn len(&self) -> usize {
        self.groups.iter().map(|g| g.get().len()).sum()
    }

    /// Every entry with its key group, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (usize, &K, &S)> + '_ {
        let start = self.range.start;
        self.groups
            .iter()
            .enumerate()
            .flat_map(move |(i, g)| g.get().iter().map(move |(k, v)| (start + i, k, v)))
    }

    /// Every key with an entry, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = (usize, &K)> + '_ {
        let start = self.range.start;
        self.groups
            .iter()
            .enumerate()
            .flat_map(move |(i, g)| g.get().keys().map(move |k| (start + i, k)))
    }
}

impl<K: Hash + Eq + Clone, S: Clone + Expirable> Table<K, S> {
    /// Incremental TTL cleanup: credits `budget` examined entries and sweeps whole
    /// key groups, in turn, as long as the credit covers them (an empty group costs
    /// one). A group's expired parts are removed; it is copied (if a snapshot
    /// shares it) only when it holds anything expired. On average `budget`
    /// entries are examined per call.
    pub(crate) fn sweep(&mut self, budget: usize, cutoff: i64) {
        let groups = self.groups.len();
        if groups == 0 {
            return;
        }
        let (mut next, mut credit) = self.sweep;
        credit = credit.saturating_add(budget);
        for _ in 0..groups {
            let index = next % groups;
            let group = &mut self.groups[index];
            let cost = group.get().len().max(1);
            if cost > credit {
                break;
            }
            credit -= cost;
            if group.get().values().any(|entry| entry.has_expired(cutoff)) {
                group.get_mut().retain(|_, entry| entry.purge(cutoff));
            }
            next = index + 1;
        }
        self.sweep = (next % groups, credit);
    }
}
