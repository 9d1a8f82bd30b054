//! Typed handles on the state of the current key.

use super::store::CurrentKey;
use super::table::{Map, Table};
use crate::descriptor::AggregateFunction;
use crate::error::StateError;
use std::hash::Hash;
use std::sync::Arc;

/// The value of one value state for the current key.
pub struct ValueState<'a, K, V> {
    table: &'a mut Table<K, V>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: Hash + Eq + Clone, V: Clone> ValueState<'a, K, V> {
    pub(crate) fn new(table: &'a mut Table<K, V>, key: &'a CurrentKey<K>) -> Self {
        ValueState { table, key }
    }

    /// The value, if one was set.
    #[inline]
    pub fn get(&self) -> Result<Option<V>, StateError> {
        Ok(self.table.get(self.key)?.cloned())
    }

    /// Sets the value.
    #[inline]
    pub fn set(&mut self, value: V) -> Result<(), StateError> {
        self.table.insert(self.key, value)
    }

    /// Sets the value to `f(current value)` (one lookup when a value exists) and
    /// returns a copy of the new value.
    #[inline]
    pub fn update(&mut self, f: impl FnOnce(Option<&V>) -> V) -> Result<V, StateError> {
        self.table.upsert(self.key, f, V::clone)
    }

    /// Removes the value.
    #[inline]
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(self.key).map(|_| ())
    }

    /// The value without copying it.
    #[inline]
    pub fn get_ref(&self) -> Result<Option<&V>, StateError> {
        self.table.get(self.key)
    }

    /// Removes the value and returns it (no copy).
    #[inline]
    pub fn take(&mut self) -> Result<Option<V>, StateError> {
        self.table.remove(self.key)
    }

    /// Changes an existing value in place and removes it when `f` returns false
    /// (nothing happens when there is no value).
    #[inline]
    pub fn modify_or_remove(&mut self, f: impl FnOnce(&mut V) -> bool) -> Result<(), StateError> {
        self.table.modify_or_remove(self.key, f)
    }

    /// Changes the value in place with a single lookup: `f` receives the current
    /// value to modify (returning `None`), or `None` when there is none (returning
    /// the value to set, if any). Returns whether a value was created.
    #[inline]
    pub fn modify(&mut self, f: impl FnOnce(Option<&mut V>) -> Option<V>) -> Result<bool, StateError> {
        self.table.modify(self.key, f)
    }
}

/// The list of one list state for the current key.
pub struct ListState<'a, K, V> {
    table: &'a mut Table<K, Vec<V>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: Hash + Eq + Clone, V: Clone> ListState<'a, K, V> {
    pub(crate) fn new(table: &'a mut Table<K, Vec<V>>, key: &'a CurrentKey<K>) -> Self {
        ListState { table, key }
    }

    /// The elements (empty when none were added).
    pub fn get(&self) -> Result<Vec<V>, StateError> {
        Ok(self.table.get(self.key)?.cloned().unwrap_or_default())
    }

    /// Number of elements.
    pub fn len(&self) -> Result<usize, StateError> {
        Ok(self.table.get(self.key)?.map_or(0, Vec::len))
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Appends an element.
    pub fn add(&mut self, value: V) -> Result<(), StateError> {
        self.table.get_or_insert_with(self.key, Vec::new)?.push(value);
        Ok(())
    }

    /// Appends several elements.
    pub fn add_all(&mut self, values: impl IntoIterator<Item = V>) -> Result<(), StateError> {
        self.table.get_or_insert_with(self.key, Vec::new)?.extend(values);
        Ok(())
    }

    /// Replaces the elements.
    pub fn update(&mut self, values: Vec<V>) -> Result<(), StateError> {
        if values.is_empty() {
            self.clear()
        } else {
            self.table.insert(self.key, values)
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(self.key).map(|_| ())
    }
}

/// The map of one map state for the current key.
pub struct MapState<'a, K, UK, UV> {
    table: &'a mut Table<K, Map<UK, UV>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: Hash + Eq + Clone, UK: Hash + Eq + Clone, UV: Clone> MapState<'a, K, UK, UV> {
    pub(crate) fn new(table: &'a mut Table<K, Map<UK, UV>>, key: &'a CurrentKey<K>) -> Self {
        MapState { table, key }
    }

    /// The value of `user_key`.
    pub fn get(&self, user_key: &UK) -> Result<Option<UV>, StateError> {
        Ok(self.table.get(self.key)?.and_then(|m| m.get(user_key)).cloned())
    }

    /// Whether `user_key` has a value.
    pub fn contains(&self, user_key: &UK) -> Result<bool, StateError> {
        Ok(self.table.get(self.key)?.is_some_and(|m| m.contains_key(user_key)))
    }

    /// Sets the value of `user_key`.
    pub fn put(&mut self, user_key: UK, value: UV) -> Result<(), StateError> {
        self.table
            .get_or_insert_with(self.key, Map::default)?
            .insert(user_key, value);
        Ok(())
    }

    /// Removes `user_key`, returning its value.
    pub fn remove(&mut self, user_key: &UK) -> Result<Option<UV>, StateError> {
        let Some(map) = self.table.get_mut(self.key)? else {
            return Ok(None);
        };
        let removed = map.remove(user_key);
        if map.is_empty() {
            self.table.remove(self.key)?;
        }
        Ok(removed)
    }

    /// All entries, in no particular order.
    pub fn entries(&self) -> Result<Vec<(UK, UV)>, StateError> {
        Ok(self
            .table
            .get(self.key)?
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Number of entries.
    pub fn len(&self) -> Result<usize, StateError> {
        Ok(self.table.get(self.key)?.map_or(0, |m| m.len()))
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(self.key).map(|_| ())
    }
}

/// The value of one reducing state for the current key.
pub struct ReducingState<'a, K, V> {
    table: &'a mut Table<K, V>,
    key: &'a CurrentKey<K>,
    reduce: &'a Arc<dyn Fn(V, V) -> V + Send + Sync>,
}

impl<'a, K: Hash + Eq + Clone, V: Clone> ReducingState<'a, K, V> {
    pub(crate) fn new(
        table: &'a mut Table<K, V>,
        key: &'a CurrentKey<K>,
        reduce: &'a Arc<dyn Fn(V, V) -> V + Send + Sync>,
    ) -> Self {
        ReducingState { table, key, reduce }
    }

    /// The reduced value, if any was added.
    pub fn get(&self) -> Result<Option<V>, StateError> {
        Ok(self.table.get(self.key)?.cloned())
    }

    /// Combines `value` into the state.
    pub fn add(&mut self, value: V) -> Result<(), StateError> {
        let reduce = self.reduce;
        self.table.upsert(
            self.key,
            |current| match current {
                Some(current) => reduce(current.clone(), value),
                None => value,
            },
            |_| (),
        )
    }

    /// Removes the value.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(self.key).map(|_| ())
    }
}

/// The accumulator of one aggregating state for the current key.
pub struct AggregatingState<'a, K, IN, ACC, OUT> {
    table: &'a mut Table<K, ACC>,
    key: &'a CurrentKey<K>,
    function: &'a dyn AggregateFunction<IN, ACC, OUT>,
}

impl<'a, K: Hash + Eq + Clone, IN, ACC: Clone, OUT> AggregatingState<'a, K, IN, ACC, OUT> {
    pub(crate) fn new(
        table: &'a mut Table<K, ACC>,
        key: &'a CurrentKey<K>,
        function: &'a dyn AggregateFunction<IN, ACC, OUT>,
    ) -> Self {
        AggregatingState { table, key, function }
    }

    /// The aggregate's result, if anything was added.
    pub fn get(&self) -> Result<Option<OUT>, StateError> {
        Ok(self.table.get(self.key)?.map(|acc| self.function.get_result(acc)))
    }

    /// Adds `value` to the accumulator.
    pub fn add(&mut self, value: IN) -> Result<(), StateError> {
        let function = self.function;
        let accumulator = self
            .table
            .get_or_insert_with(self.key, || function.create_accumulator())?;
        function.add(accumulator, value);
        Ok(())
    }

    /// Removes the accumulator.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(self.key).map(|_| ())
    }
}
