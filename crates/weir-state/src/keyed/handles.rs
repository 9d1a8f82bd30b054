//! Typed handles on the state of the current key.

use super::rocks::RocksAccess;
use super::store::CurrentKey;
use super::table::{Map, Table};
use crate::descriptor::AggregateFunction;
use crate::error::StateError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;
use std::sync::Arc;

/// Where a state's entries live: a heap table or a RocksDB column family.
pub(crate) enum Backing<'a, K, S> {
    Heap(&'a mut Table<K, S>),
    Rocks(RocksAccess<'a, K, S>),
}

/// Bounds every type kept in keyed state has.
pub trait StateData: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> StateData for T {}

/// Bounds of keys (and map-state user keys).
pub trait StateKey: StateData + Hash + Eq {}
impl<T: StateData + Hash + Eq> StateKey for T {}

/// The value of one value state for the current key.
pub struct ValueState<'a, K, V> {
    table: Backing<'a, K, V>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, V: StateData> ValueState<'a, K, V> {
    pub(crate) fn new(table: Backing<'a, K, V>, key: &'a CurrentKey<K>) -> Self {
        ValueState { table, key }
    }

    /// The value, if one was set.
    #[inline]
    pub fn get(&self) -> Result<Option<V>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.cloned()),
            Backing::Rocks(t) => t.get(self.key),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&mut self, value: V) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.insert(self.key, value),
            Backing::Rocks(t) => t.put(self.key, &value),
        }
    }

    /// Sets the value to `f(current value)` (one lookup when a value exists) and
    /// returns a copy of the new value.
    #[inline]
    pub fn update(&mut self, f: impl FnOnce(Option<&V>) -> V) -> Result<V, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.upsert(self.key, f, V::clone),
            Backing::Rocks(t) => {
                let new = f(t.get(self.key)?.as_ref());
                t.put(self.key, &new)?;
                Ok(new)
            }
        }
    }

    /// Removes the value.
    #[inline]
    pub fn clear(&mut self) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key).map(|_| ()),
            Backing::Rocks(t) => t.delete(self.key),
        }
    }

    /// The value without copying it (on the heap backend; RocksDB decodes it into
    /// a buffer of the handle).
    #[inline]
    pub fn get_ref(&mut self) -> Result<Option<&V>, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.get(self.key),
            Backing::Rocks(t) => t.get_ref(self.key),
        }
    }

    /// Removes the value and returns it (no copy).
    #[inline]
    pub fn take(&mut self) -> Result<Option<V>, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key),
            Backing::Rocks(t) => {
                let value = t.get(self.key)?;
                if value.is_some() {
                    t.delete(self.key)?;
                }
                Ok(value)
            }
        }
    }

    /// Changes an existing value in place and removes it when `f` returns false
    /// (nothing happens when there is no value).
    #[inline]
    pub fn modify_or_remove(&mut self, f: impl FnOnce(&mut V) -> bool) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.modify_or_remove(self.key, f),
            Backing::Rocks(t) => {
                let Some(mut value) = t.get(self.key)? else {
                    return Ok(());
                };
                if f(&mut value) {
                    t.put(self.key, &value)
                } else {
                    t.delete(self.key)
                }
            }
        }
    }

    /// Changes the value in place with a single lookup: `f` receives the current
    /// value to modify (returning `None`), or `None` when there is none (returning
    /// the value to set, if any). Returns whether a value was created.
    #[inline]
    pub fn modify(&mut self, f: impl FnOnce(Option<&mut V>) -> Option<V>) -> Result<bool, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.modify(self.key, f),
            Backing::Rocks(t) => match t.get(self.key)? {
                Some(mut value) => {
                    f(Some(&mut value));
                    t.put(self.key, &value)?;
                    Ok(false)
                }
                None => match f(None) {
                    Some(value) => {
                        t.put(self.key, &value)?;
                        Ok(true)
                    }
                    None => Ok(false),
                },
            },
        }
    }
}

/// The list of one list state for the current key.
pub struct ListState<'a, K, V> {
    table: Backing<'a, K, Vec<V>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, V: StateData> ListState<'a, K, V> {
    pub(crate) fn new(table: Backing<'a, K, Vec<V>>, key: &'a CurrentKey<K>) -> Self {
        ListState { table, key }
    }

    /// The elements (empty when none were added).
    pub fn get(&self) -> Result<Vec<V>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.cloned().unwrap_or_default()),
            Backing::Rocks(t) => t.list_get(self.key),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> Result<usize, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.map_or(0, Vec::len)),
            Backing::Rocks(t) => Ok(t.list_get(self.key)?.len()),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.is_none_or(Vec::is_empty)),
            Backing::Rocks(t) => Ok(!t.exists(self.key)?),
        }
    }

    /// Appends an element.
    pub fn add(&mut self, value: V) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => {
                t.get_or_insert_with(self.key, Vec::new)?.push(value);
                Ok(())
            }
            Backing::Rocks(t) => t.list_append(self.key, std::slice::from_ref(&value)),
        }
    }

    /// Appends several elements.
    pub fn add_all(&mut self, values: impl IntoIterator<Item = V>) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => {
                t.get_or_insert_with(self.key, Vec::new)?.extend(values);
                Ok(())
            }
            Backing::Rocks(t) => {
                let values: Vec<V> = values.into_iter().collect();
                if values.is_empty() {
                    return Ok(());
                }
                t.list_append(self.key, &values)
            }
        }
    }

    /// Replaces the elements.
    pub fn update(&mut self, values: Vec<V>) -> Result<(), StateError> {
        if values.is_empty() {
            return self.clear();
        }
        match &mut self.table {
            Backing::Heap(t) => t.insert(self.key, values),
            Backing::Rocks(t) => t.list_put(self.key, &values),
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key).map(|_| ()),
            Backing::Rocks(t) => t.delete(self.key),
        }
    }
}

/// The map of one map state for the current key.
pub struct MapState<'a, K, UK, UV> {
    table: Backing<'a, K, Map<UK, UV>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, UK: StateKey, UV: StateData> MapState<'a, K, UK, UV> {
    pub(crate) fn new(table: Backing<'a, K, Map<UK, UV>>, key: &'a CurrentKey<K>) -> Self {
        MapState { table, key }
    }

    /// The value of `user_key`.
    pub fn get(&self, user_key: &UK) -> Result<Option<UV>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.and_then(|m| m.get(user_key)).cloned()),
            Backing::Rocks(t) => t.map_get(self.key, user_key),
        }
    }

    /// Whether `user_key` has a value.
    pub fn contains(&self, user_key: &UK) -> Result<bool, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.is_some_and(|m| m.contains_key(user_key))),
            Backing::Rocks(t) => Ok(t.map_get(self.key, user_key)?.is_some()),
        }
    }

    /// Sets the value of `user_key`.
    pub fn put(&mut self, user_key: UK, value: UV) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => {
                t.get_or_insert_with(self.key, Map::default)?.insert(user_key, value);
                Ok(())
            }
            Backing::Rocks(t) => t.map_put(self.key, &user_key, &value),
        }
    }

    /// Removes `user_key`, returning its value.
    pub fn remove(&mut self, user_key: &UK) -> Result<Option<UV>, StateError> {
        match &mut self.table {
            Backing::Heap(t) => {
                let Some(map) = t.get_mut(self.key)? else {
                    return Ok(None);
                };
                let removed = map.remove(user_key);
                if map.is_empty() {
                    t.remove(self.key)?;
                }
                Ok(removed)
            }
            Backing::Rocks(t) => t.map_remove(self.key, user_key),
        }
    }

    /// All entries, in no particular order.
    pub fn entries(&self) -> Result<Vec<(UK, UV)>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t
                .get(self.key)?
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            Backing::Rocks(t) => t.map_entries(self.key),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> Result<usize, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.map_or(0, |m| m.len())),
            Backing::Rocks(t) => t.map_len(self.key),
        }
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.len()? == 0)
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key).map(|_| ()),
            Backing::Rocks(t) => t.map_clear(self.key),
        }
    }
}

/// The value of one reducing state for the current key.
pub struct ReducingState<'a, K, V> {
    value: ValueState<'a, K, V>,
    reduce: &'a Arc<dyn Fn(V, V) -> V + Send + Sync>,
}

impl<'a, K: StateKey, V: StateData> ReducingState<'a, K, V> {
    pub(crate) fn new(
        table: Backing<'a, K, V>,
        key: &'a CurrentKey<K>,
        reduce: &'a Arc<dyn Fn(V, V) -> V + Send + Sync>,
    ) -> Self {
        ReducingState {
            value: ValueState::new(table, key),
            reduce,
        }
    }

    /// The reduced value, if any was added.
    pub fn get(&self) -> Result<Option<V>, StateError> {
        self.value.get()
    }

    /// Combines `value` into the state.
    pub fn add(&mut self, value: V) -> Result<(), StateError> {
        let reduce = self.reduce;
        let mut value = Some(value);
        self.value
            .modify(|current| match current {
                Some(current) => {
                    if let Some(value) = value.take() {
                        *current = reduce(current.clone(), value);
                    }
                    None
                }
                None => value.take(),
            })
            .map(|_| ())
    }

    /// Removes the value.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.value.clear()
    }
}

/// The accumulator of one aggregating state for the current key.
pub struct AggregatingState<'a, K, IN, ACC, OUT> {
    value: ValueState<'a, K, ACC>,
    function: &'a dyn AggregateFunction<IN, ACC, OUT>,
}

impl<'a, K: StateKey, IN, ACC: StateData, OUT> AggregatingState<'a, K, IN, ACC, OUT> {
    pub(crate) fn new(
        table: Backing<'a, K, ACC>,
        key: &'a CurrentKey<K>,
        function: &'a dyn AggregateFunction<IN, ACC, OUT>,
    ) -> Self {
        AggregatingState {
            value: ValueState::new(table, key),
            function,
        }
    }

    /// The aggregate's result, if anything was added.
    pub fn get(&self) -> Result<Option<OUT>, StateError> {
        Ok(self.value.get()?.map(|acc| self.function.get_result(&acc)))
    }

    /// Adds `value` to the accumulator.
    pub fn add(&mut self, value: IN) -> Result<(), StateError> {
        let function = self.function;
        self.value
            .modify(|current| match current {
                Some(accumulator) => {
                    function.add(accumulator, value);
                    None
                }
                None => {
                    let mut accumulator = function.create_accumulator();
                    function.add(&mut accumulator, value);
                    Some(accumulator)
                }
            })
            .map(|_| ())
    }

    /// Removes the accumulator.
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.value.clear()
    }
}
