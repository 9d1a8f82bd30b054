//! Typed handles on the state of the current key.

use super::current_key::CurrentKey;
use super::rocks::RocksAccess;
use super::table::{Map, Table};
use crate::descriptor::AggregateFunction;
use crate::error::StateError;
use crate::ttl::{Expirable, TtlNow, TtlValue};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::hash::Hash;
use std::sync::Arc;

/// Where a state's entries live: a heap table (`S` entries), a heap table of a
/// TTL'd state (`T`: the entries with timestamps) or a RocksDB column family
/// (which handles TTL itself).
pub(crate) enum Backing<'a, K, S, T> {
    Heap(&'a mut Table<K, S>),
    HeapTtl(TtlTable<'a, K, T>),
    Rocks(RocksAccess<'a, K, S>),
}

/// The heap table of a TTL'd state, for one access at one time. Reads may remove
/// expired entries or renew timestamps, hence the cell.
pub(crate) struct TtlTable<'a, K, T> {
    table: RefCell<&'a mut Table<K, T>>,
    ttl: TtlNow,
}

impl<'a, K, T> TtlTable<'a, K, T> {
    pub(crate) fn new(table: &'a mut Table<K, T>, ttl: TtlNow) -> Self {
        TtlTable {
            table: RefCell::new(table),
            ttl,
        }
    }

    /// The table and the access's TTL.
    pub(crate) fn into_parts(self) -> (&'a mut Table<K, T>, TtlNow) {
        (self.table.into_inner(), self.ttl)
    }
}

/// The entry of `key` without its expired parts (removing them, and the entry
/// when nothing is left); with `refresh`, stamped with the access time.
fn live_entry<'t, K: Hash + Eq + Clone, T: Clone + Expirable>(
    table: &'t mut Table<K, T>,
    key: &CurrentKey<K>,
    ttl: TtlNow,
    refresh: bool,
) -> Result<Option<&'t T>, StateError> {
    let (expired, renew) = match table.get(key)? {
        None => return Ok(None),
        Some(entry) => (entry.has_expired(ttl.cutoff), refresh && entry.needs_renewal(ttl.now)),
    };
    if expired || renew {
        let left = match table.get_mut(key)? {
            Some(entry) => {
                let left = entry.purge(ttl.cutoff);
                if refresh {
                    entry.renew(ttl.now);
                }
                left
            }
            None => false,
        };
        if !left {
            table.remove(key)?;
            return Ok(None);
        }
    }
    table.get(key)
}

/// The live value of `user_key` in `key`'s TTL'd map (removed when expired;
/// renewed with `refresh`).
fn live_map_value<'t, K: Hash + Eq + Clone, UK: Hash + Eq + Clone, UV: Clone>(
    table: &'t mut Table<K, Map<UK, TtlValue<UV>>>,
    key: &CurrentKey<K>,
    user_key: &UK,
    ttl: TtlNow,
    refresh: bool,
) -> Result<Option<&'t UV>, StateError> {
    let ts = match table.get(key)?.and_then(|m| m.get(user_key)) {
        None => return Ok(None),
        Some(entry) => entry.ts,
    };
    if ttl.expired(ts) {
        let empty = match table.get_mut(key)? {
            Some(map) => {
                map.remove(user_key);
                map.is_empty()
            }
            None => false,
        };
        if empty {
            table.remove(key)?;
        }
        return Ok(None);
    }
    if refresh && ts != ttl.now {
        return Ok(table.get_mut(key)?.and_then(|m| m.get_mut(user_key)).map(|entry| {
            entry.ts = ttl.now;
            &entry.value
        }));
    }
    Ok(table.get(key)?.and_then(|m| m.get(user_key)).map(|entry| &entry.value))
}

/// Bounds every type kept in keyed state has.
pub trait StateData: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> StateData for T {}

/// Bounds of keys (and map-state user keys).
pub trait StateKey: StateData + Hash + Eq {}
impl<T: StateData + Hash + Eq> StateKey for T {}

/// The value of one value state for the current key.
pub struct ValueState<'a, K, V> {
    table: Backing<'a, K, V, TtlValue<V>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, V: StateData> ValueState<'a, K, V> {
    pub(crate) fn new(table: Backing<'a, K, V, TtlValue<V>>, key: &'a CurrentKey<K>) -> Self {
        ValueState { table, key }
    }

    /// The value, if one was set (and, with a TTL, has not expired).
    #[inline]
    pub fn get(&self) -> Result<Option<V>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.cloned()),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_entry(&mut table, self.key, t.ttl, t.ttl.refresh)?.map(|e| e.value.clone()))
            }
            Backing::Rocks(t) => t.get(self.key),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&mut self, value: V) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.insert(self.key, value),
            Backing::HeapTtl(t) => t.table.get_mut().insert(self.key, TtlValue { ts: t.ttl.now, value }),
            Backing::Rocks(t) => t.put(self.key, &value),
        }
    }

    /// Sets the value to `f(current value)` (one lookup when a value exists) and
    /// returns a copy of the new value.
    #[inline]
    pub fn update(&mut self, f: impl FnOnce(Option<&V>) -> V) -> Result<V, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.upsert(self.key, f, V::clone),
            Backing::HeapTtl(t) => {
                let table = t.table.get_mut();
                let new = f(live_entry(table, self.key, t.ttl, false)?.map(|e| &e.value));
                table.insert(
                    self.key,
                    TtlValue {
                        ts: t.ttl.now,
                        value: new.clone(),
                    },
                )?;
                Ok(new)
            }
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
            Backing::HeapTtl(t) => t.table.get_mut().remove(self.key).map(|_| ()),
            Backing::Rocks(t) => t.delete(self.key),
        }
    }

    /// The value without copying it (on the heap backend; RocksDB decodes it into
    /// a buffer of the handle).
    #[inline]
    pub fn get_ref(&mut self) -> Result<Option<&V>, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.get(self.key),
            Backing::HeapTtl(t) => {
                let ttl = t.ttl;
                Ok(live_entry(t.table.get_mut(), self.key, ttl, ttl.refresh)?.map(|e| &e.value))
            }
            Backing::Rocks(t) => t.get_ref(self.key),
        }
    }

    /// Removes the value and returns it (no copy).
    #[inline]
    pub fn take(&mut self) -> Result<Option<V>, StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key),
            Backing::HeapTtl(t) => {
                let table = t.table.get_mut();
                if live_entry(table, self.key, t.ttl, false)?.is_none() {
                    return Ok(None);
                }
                Ok(table.remove(self.key)?.map(|e| e.value))
            }
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
            Backing::HeapTtl(t) => {
                let (table, now) = (t.table.get_mut(), t.ttl.now);
                if live_entry(table, self.key, t.ttl, false)?.is_none() {
                    return Ok(());
                }
                table.modify_or_remove(self.key, |e| {
                    e.ts = now;
                    f(&mut e.value)
                })
            }
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
            Backing::HeapTtl(t) => {
                let (table, now) = (t.table.get_mut(), t.ttl.now);
                live_entry(table, self.key, t.ttl, false)?;
                table.modify(self.key, |current| match current {
                    Some(e) => {
                        e.ts = now;
                        f(Some(&mut e.value));
                        None
                    }
                    None => f(None).map(|value| TtlValue { ts: now, value }),
                })
            }
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
    table: Backing<'a, K, Vec<V>, Vec<TtlValue<V>>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, V: StateData> ListState<'a, K, V> {
    pub(crate) fn new(table: Backing<'a, K, Vec<V>, Vec<TtlValue<V>>>, key: &'a CurrentKey<K>) -> Self {
        ListState { table, key }
    }

    /// The elements (empty when none were added); with a TTL, the unexpired ones.
    pub fn get(&self) -> Result<Vec<V>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.cloned().unwrap_or_default()),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                let list = live_entry(&mut table, self.key, t.ttl, t.ttl.refresh)?;
                Ok(list
                    .map(|l| l.iter().map(|e| e.value.clone()).collect())
                    .unwrap_or_default())
            }
            Backing::Rocks(t) => t.list_get(self.key),
        }
    }

    /// Number of elements (with a TTL, unexpired; this does not renew them).
    pub fn len(&self) -> Result<usize, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.map_or(0, Vec::len)),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_entry(&mut table, self.key, t.ttl, false)?.map_or(0, Vec::len))
            }
            Backing::Rocks(t) => t.list_len(self.key),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.is_none_or(Vec::is_empty)),
            Backing::HeapTtl(_) => Ok(self.len()? == 0),
            Backing::Rocks(t) if t.ttl.is_some() => Ok(t.list_len(self.key)? == 0),
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
            Backing::HeapTtl(t) => {
                let ts = t.ttl.now;
                t.table
                    .get_mut()
                    .get_or_insert_with(self.key, Vec::new)?
                    .push(TtlValue { ts, value });
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
            Backing::HeapTtl(t) => {
                let ts = t.ttl.now;
                let mut values = values.into_iter().map(|value| TtlValue { ts, value }).peekable();
                if values.peek().is_some() {
                    t.table.get_mut().get_or_insert_with(self.key, Vec::new)?.extend(values);
                }
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
            Backing::HeapTtl(t) => {
                let ts = t.ttl.now;
                let values = values.into_iter().map(|value| TtlValue { ts, value }).collect();
                t.table.get_mut().insert(self.key, values)
            }
            Backing::Rocks(t) => t.list_put(self.key, &values),
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) -> Result<(), StateError> {
        match &mut self.table {
            Backing::Heap(t) => t.remove(self.key).map(|_| ()),
            Backing::HeapTtl(t) => t.table.get_mut().remove(self.key).map(|_| ()),
            Backing::Rocks(t) => t.delete(self.key),
        }
    }
}

/// The map of one map state for the current key.
pub struct MapState<'a, K, UK, UV> {
    table: Backing<'a, K, Map<UK, UV>, Map<UK, TtlValue<UV>>>,
    key: &'a CurrentKey<K>,
}

impl<'a, K: StateKey, UK: StateKey, UV: StateData> MapState<'a, K, UK, UV> {
    pub(crate) fn new(table: Backing<'a, K, Map<UK, UV>, Map<UK, TtlValue<UV>>>, key: &'a CurrentKey<K>) -> Self {
        MapState { table, key }
    }

    /// The value of `user_key` (with a TTL, if it has not expired).
    pub fn get(&self, user_key: &UK) -> Result<Option<UV>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.and_then(|m| m.get(user_key)).cloned()),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_map_value(&mut table, self.key, user_key, t.ttl, t.ttl.refresh)?.cloned())
            }
            Backing::Rocks(t) => t.map_get(self.key, user_key),
        }
    }

    /// Whether `user_key` has a value (a read: with
    /// [`TtlUpdate::OnReadAndWrite`](crate::TtlUpdate::OnReadAndWrite) it renews
    /// the entry).
    pub fn contains(&self, user_key: &UK) -> Result<bool, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.is_some_and(|m| m.contains_key(user_key))),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_map_value(&mut table, self.key, user_key, t.ttl, t.ttl.refresh)?.is_some())
            }
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
            Backing::HeapTtl(t) => {
                let ts = t.ttl.now;
                t.table
                    .get_mut()
                    .get_or_insert_with(self.key, Map::default)?
                    .insert(user_key, TtlValue { ts, value });
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
            Backing::HeapTtl(t) => {
                let (table, ttl) = (t.table.get_mut(), t.ttl);
                let Some(map) = table.get_mut(self.key)? else {
                    return Ok(None);
                };
                let removed = map.remove(user_key);
                if map.is_empty() {
                    table.remove(self.key)?;
                }
                Ok(removed.filter(|e| !ttl.expired(e.ts)).map(|e| e.value))
            }
            Backing::Rocks(t) => t.map_remove(self.key, user_key),
        }
    }

    /// All entries, in no particular order (with a TTL, the unexpired ones).
    pub fn entries(&self) -> Result<Vec<(UK, UV)>, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t
                .get(self.key)?
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_entry(&mut table, self.key, t.ttl, t.ttl.refresh)?
                    .map(|m| m.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect())
                    .unwrap_or_default())
            }
            Backing::Rocks(t) => t.map_entries(self.key),
        }
    }

    /// Number of entries (with a TTL, unexpired; this does not renew them).
    pub fn len(&self) -> Result<usize, StateError> {
        match &self.table {
            Backing::Heap(t) => Ok(t.get(self.key)?.map_or(0, |m| m.len())),
            Backing::HeapTtl(t) => {
                let mut table = t.table.borrow_mut();
                Ok(live_entry(&mut table, self.key, t.ttl, false)?.map_or(0, |m| m.len()))
            }
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
            Backing::HeapTtl(t) => t.table.get_mut().remove(self.key).map(|_| ()),
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
        table: Backing<'a, K, V, TtlValue<V>>,
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
        table: Backing<'a, K, ACC, TtlValue<ACC>>,
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
