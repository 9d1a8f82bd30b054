//! The keyed state store of one operator subtask.

use super::handles::{AggregatingState, ListState, MapState, ReducingState, ValueState};
use super::snapshot::{HeapSnapshot, KeyGroupBlock, PendingGroups, TableSnapshot, TypedTableSnapshot};
use super::table::{Map, Table};
use crate::codec;
use crate::descriptor::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, StateKind,
    ValueStateDescriptor,
};
use crate::error::StateError;
use crate::KeyedSnapshot;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use weir_core::hash::stable_hash;
use weir_core::keygroup::{key_group_for_hash, KeyGroupRange};

/// The key of the record being processed, with its key group computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentKey<K> {
    key: K,
    key_group: usize,
}

impl<K> CurrentKey<K> {
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

/// A table of any entry type, as the store holds it.
pub(crate) trait ErasedTable: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn snapshot(&mut self) -> Box<dyn TableSnapshot>;
    fn restore_group(&mut self, key_group: usize, bytes: &[u8]) -> Result<(), String>;
    fn len(&self) -> usize;
}

impl<K, S> ErasedTable for Table<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    S: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn snapshot(&mut self) -> Box<dyn TableSnapshot> {
        Box::new(TypedTableSnapshot {
            first_group: self.range().start,
            groups: self.share(),
        })
    }

    fn restore_group(&mut self, key_group: usize, bytes: &[u8]) -> Result<(), String> {
        let entries: Vec<(K, S)> = codec::decode(bytes)?;
        Table::restore_group(self, key_group, entries);
        Ok(())
    }

    fn len(&self) -> usize {
        Table::len(self)
    }
}

struct Registered {
    name: Arc<str>,
    kind: StateKind,
    type_name: &'static str,
    table: Box<dyn ErasedTable>,
}

/// All keyed state of one operator subtask, for keys of type `K`, covering the key
/// groups the subtask owns.
///
/// States are registered on first access through a descriptor. State restored from a
/// snapshot stays encoded until its descriptor is first used (only then is its type
/// known); state that is never accessed again is carried into later snapshots
/// unchanged.
pub struct KeyedStateStore<K> {
    max_parallelism: usize,
    range: KeyGroupRange,
    hash: fn(&K) -> u64,
    states: Vec<Registered>,
    pending: HashMap<String, PendingGroups>,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K> std::fmt::Debug for KeyedStateStore<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.states.iter().map(|s| &*s.name).collect();
        f.debug_struct("KeyedStateStore")
            .field("key_groups", &self.range)
            .field("states", &names)
            .finish()
    }
}

impl<K> KeyedStateStore<K>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// An empty store for a subtask owning key groups `range` of `max_parallelism`.
    pub fn new(max_parallelism: usize, range: KeyGroupRange) -> Self {
        Self::with_partitioning(max_parallelism, range, stable_hash::<K>)
    }

    /// An empty store whose keys belong to the key group of `hash(key)`: for
    /// composite keys (e.g. a record key with a window) that must stay in the key
    /// group of their record key.
    pub fn with_partitioning(max_parallelism: usize, range: KeyGroupRange, hash: fn(&K) -> u64) -> Self {
        KeyedStateStore {
            max_parallelism: max_parallelism.max(1),
            range,
            hash,
            states: Vec::new(),
            pending: HashMap::new(),
            _key: std::marker::PhantomData,
        }
    }

    /// The key groups this store owns.
    pub fn key_group_range(&self) -> KeyGroupRange {
        self.range
    }

    /// Wraps `key` with its key group.
    #[inline]
    pub fn key(&self, key: K) -> CurrentKey<K> {
        let key_group = key_group_for_hash((self.hash)(&key), self.max_parallelism);
        CurrentKey { key, key_group }
    }

    fn table<S>(&mut self, name: &Arc<str>, kind: StateKind) -> Result<&mut Table<K, S>, StateError>
    where
        S: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let position = match self.states.iter().position(|s| Arc::ptr_eq(&s.name, name)) {
            Some(p) => Some(p),
            None => self.states.iter().position(|s| s.name == *name),
        };
        let index = match position {
            Some(index) => index,
            None => self.register::<S>(name, kind)?,
        };
        let registered = &mut self.states[index];
        if registered.kind != kind {
            return Err(StateError::KindMismatch {
                name: name.to_string(),
                registered: registered.kind.name(),
                requested: kind.name(),
            });
        }
        let type_name = registered.type_name;
        registered
            .table
            .as_any_mut()
            .downcast_mut::<Table<K, S>>()
            .ok_or_else(|| StateError::TypeMismatch {
                name: name.to_string(),
                registered: type_name,
                requested: std::any::type_name::<S>(),
            })
    }

    #[cold]
    fn register<S>(&mut self, name: &Arc<str>, kind: StateKind) -> Result<usize, StateError>
    where
        S: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let mut table = Table::<K, S>::new(self.range);
        if let Some(pending) = self.pending.remove(&**name) {
            if pending.kind != kind {
                let registered = pending.kind.name();
                self.pending.insert(name.to_string(), pending);
                return Err(StateError::KindMismatch {
                    name: name.to_string(),
                    registered,
                    requested: kind.name(),
                });
            }
            for (key_group, bytes) in &pending.groups {
                ErasedTable::restore_group(&mut table, *key_group, bytes).map_err(|message| StateError::Restore {
                    name: name.to_string(),
                    message: format!(
                        "key group {key_group} does not decode as {} ({message}); did the state's type change?",
                        std::any::type_name::<S>()
                    ),
                })?;
            }
        }
        self.states.push(Registered {
            name: name.clone(),
            kind,
            type_name: std::any::type_name::<S>(),
            table: Box::new(table),
        });
        Ok(self.states.len() - 1)
    }

    /// Value state `descriptor` of `key`.
    #[inline]
    pub fn value<'a, V>(
        &'a mut self,
        descriptor: &'a ValueStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ValueState<'a, K, V>, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let table = self.table::<V>(&descriptor.name, StateKind::Value)?;
        Ok(ValueState::new(table, key))
    }

    /// List state `descriptor` of `key`.
    #[inline]
    pub fn list<'a, V>(
        &'a mut self,
        descriptor: &'a ListStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ListState<'a, K, V>, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let table = self.table::<Vec<V>>(&descriptor.name, StateKind::List)?;
        Ok(ListState::new(table, key))
    }

    /// Map state `descriptor` of `key`.
    #[inline]
    pub fn map<'a, UK, UV>(
        &'a mut self,
        descriptor: &'a MapStateDescriptor<UK, UV>,
        key: &'a CurrentKey<K>,
    ) -> Result<MapState<'a, K, UK, UV>, StateError>
    where
        UK: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
        UV: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let table = self.table::<Map<UK, UV>>(&descriptor.name, StateKind::Map)?;
        Ok(MapState::new(table, key))
    }

    /// Reducing state `descriptor` of `key`.
    #[inline]
    pub fn reducing<'a, V>(
        &'a mut self,
        descriptor: &'a ReducingStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ReducingState<'a, K, V>, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let table = self.table::<V>(&descriptor.name, StateKind::Reducing)?;
        Ok(ReducingState::new(table, key, &descriptor.reduce))
    }

    /// Aggregating state `descriptor` of `key`.
    #[inline]
    pub fn aggregating<'a, IN, ACC, OUT>(
        &'a mut self,
        descriptor: &'a AggregatingStateDescriptor<IN, ACC, OUT>,
        key: &'a CurrentKey<K>,
    ) -> Result<AggregatingState<'a, K, IN, ACC, OUT>, StateError>
    where
        ACC: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let table = self.table::<ACC>(&descriptor.name, StateKind::Aggregating)?;
        Ok(AggregatingState::new(table, key, &*descriptor.function))
    }

    /// Number of keys holding value state `descriptor`.
    pub fn value_keys<V>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<usize, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        Ok(self.table::<V>(&descriptor.name, StateKind::Value)?.len())
    }

    /// Every key holding value state `descriptor`, with its value (used to rebuild
    /// in-memory indexes, e.g. of timers, after a restore).
    pub fn value_entries<V>(
        &mut self,
        descriptor: &ValueStateDescriptor<V>,
    ) -> Result<Vec<(CurrentKey<K>, V)>, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        Ok(self
            .table::<V>(&descriptor.name, StateKind::Value)?
            .entries()
            .map(|(key_group, key, value)| {
                (
                    CurrentKey {
                        key: key.clone(),
                        key_group,
                    },
                    value.clone(),
                )
            })
            .collect())
    }

    /// Every key holding list state `descriptor`, with its key group.
    pub fn list_keys<V>(&mut self, descriptor: &ListStateDescriptor<V>) -> Result<Vec<CurrentKey<K>>, StateError>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        Ok(self
            .table::<Vec<V>>(&descriptor.name, StateKind::List)?
            .keys()
            .map(|(key_group, key)| CurrentKey {
                key: key.clone(),
                key_group,
            })
            .collect())
    }

    /// Total number of entries over all registered states.
    pub fn entries(&self) -> usize {
        self.states.iter().map(|s| s.table.len()).sum()
    }

    /// A snapshot of every state as it is now. Copies no entries: the key groups are
    /// shared until written again. Serialize it with [`KeyedSnapshot::write`], on
    /// any thread.
    pub fn snapshot(&mut self) -> Box<dyn KeyedSnapshot> {
        Box::new(HeapSnapshot {
            range: self.range,
            tables: self
                .states
                .iter_mut()
                .map(|s| (s.name.to_string(), s.kind, s.table.snapshot()))
                .collect(),
            pending: self.pending.iter().map(|(name, p)| (name.clone(), p.clone())).collect(),
        })
    }

    /// Adds the state of one restored key group. Blocks of groups this store does
    /// not own are ignored. Call before the first access.
    pub fn restore_block(&mut self, block: KeyGroupBlock) -> Result<(), StateError> {
        let key_group = block.key_group as usize;
        if !self.range.contains(key_group) {
            return Ok(());
        }
        for state in block.states {
            if let Some(registered) = self.states.iter_mut().find(|s| *s.name == *state.name) {
                if registered.kind != state.kind {
                    return Err(StateError::KindMismatch {
                        name: state.name,
                        registered: registered.kind.name(),
                        requested: state.kind.name(),
                    });
                }
                registered
                    .table
                    .restore_group(key_group, &state.entries)
                    .map_err(|message| StateError::Restore {
                        name: state.name.clone(),
                        message: format!("key group {key_group}: {message}"),
                    })?;
                continue;
            }
            let pending = self.pending.entry(state.name.clone()).or_insert_with(|| PendingGroups {
                kind: state.kind,
                groups: Vec::new(),
            });
            pending.groups.push((key_group, Arc::from(state.entries)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AggregateFunction, KeyedStateHandle};

    fn full() -> KeyGroupRange {
        KeyGroupRange::new(0, 127)
    }

    struct Average;
    impl AggregateFunction<f64, (f64, u64), f64> for Average {
        fn create_accumulator(&self) -> (f64, u64) {
            (0.0, 0)
        }
        fn add(&self, acc: &mut (f64, u64), value: f64) {
            acc.0 += value;
            acc.1 += 1;
        }
        fn get_result(&self, acc: &(f64, u64)) -> f64 {
            acc.0 / acc.1 as f64
        }
        fn merge(&self, a: (f64, u64), b: (f64, u64)) -> (f64, u64) {
            (a.0 + b.0, a.1 + b.1)
        }
    }

    #[test]
    fn every_state_kind_works_per_key() {
        let mut store = KeyedStateStore::<u32>::new(128, full());
        let value = ValueStateDescriptor::<String>::new("v");
        let list = ListStateDescriptor::<u8>::new("l");
        let map = MapStateDescriptor::<String, i32>::new("m");
        let sum = ReducingStateDescriptor::<i64>::new("r", |a, b| a + b);
        let avg = AggregatingStateDescriptor::new("a", Average);
        for k in 0..10u32 {
            let key = store.key(k);
            store.value(&value, &key).unwrap().set(format!("k{k}")).unwrap();
            let mut l = store.list(&list, &key).unwrap();
            l.add(1).unwrap();
            l.add_all([2, 3]).unwrap();
            let mut m = store.map(&map, &key).unwrap();
            m.put("x".into(), k as i32).unwrap();
            m.put("y".into(), 7).unwrap();
            m.remove(&"y".to_string()).unwrap();
            let mut r = store.reducing(&sum, &key).unwrap();
            r.add(k as i64).unwrap();
            r.add(100).unwrap();
            let mut a = store.aggregating(&avg, &key).unwrap();
            a.add(1.0).unwrap();
            a.add(3.0).unwrap();
        }
        let key = store.key(4);
        assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), Some("k4".into()));
        assert_eq!(store.list(&list, &key).unwrap().get().unwrap(), vec![1, 2, 3]);
        let m = store.map(&map, &key).unwrap();
        assert_eq!(m.get(&"x".to_string()).unwrap(), Some(4));
        assert!(!m.contains(&"y".to_string()).unwrap());
        assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), Some(104));
        assert_eq!(store.aggregating(&avg, &key).unwrap().get().unwrap(), Some(2.0));
        store.value(&value, &key).unwrap().clear().unwrap();
        assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), None);
        assert_eq!(store.value_keys(&value).unwrap(), 9);
    }

    #[test]
    fn kinds_and_types_are_checked() {
        let mut store = KeyedStateStore::<u32>::new(128, full());
        let key = store.key(1);
        store.value(&ValueStateDescriptor::<u8>::new("s"), &key).unwrap();
        let e = store.list(&ListStateDescriptor::<u8>::new("s"), &key).err().unwrap();
        assert!(e.to_string().contains("is a value state"), "{e}");
        let e = store
            .value(&ValueStateDescriptor::<String>::new("s"), &key)
            .err()
            .unwrap();
        assert!(e.to_string().contains("u8"), "{e}");
    }

    #[test]
    fn keys_outside_the_range_are_rejected() {
        let mut store = KeyedStateStore::<u32>::new(128, KeyGroupRange::new(0, 0));
        let d = ValueStateDescriptor::<u8>::new("v");
        let foreign = (0..100).map(|k| store.key(k)).find(|k| k.key_group() != 0).unwrap();
        let e = store.value(&d, &foreign).unwrap().set(1).err().unwrap();
        assert!(e.to_string().contains("does not belong"), "{e}");
    }

    fn restore_into(store: &mut KeyedStateStore<u32>, bytes: &[u8], handle: &KeyedStateHandle) {
        for block in handle.blocks(bytes) {
            store.restore_block(block.unwrap()).unwrap();
        }
    }

    #[test]
    fn snapshot_is_isolated_from_later_writes_and_restores() {
        let d = ValueStateDescriptor::<u64>::new("count");
        let l = ListStateDescriptor::<String>::new("names");
        let mut store = KeyedStateStore::<u32>::new(128, full());
        for k in 0..1000 {
            let key = store.key(k);
            store.value(&d, &key).unwrap().set(k as u64).unwrap();
            store.list(&l, &key).unwrap().add(format!("n{k}")).unwrap();
        }
        let snapshot = store.snapshot();
        // Writes after the snapshot must not leak into it.
        for k in 0..1000 {
            let key = store.key(k);
            store.value(&d, &key).unwrap().set(999_999).unwrap();
        }
        let mut bytes = Vec::new();
        let handle = snapshot.write(&mut bytes).unwrap();
        assert_eq!(handle.bytes as usize, bytes.len());

        let mut restored = KeyedStateStore::<u32>::new(128, full());
        restore_into(&mut restored, &bytes, &handle);
        for k in 0..1000 {
            let key = restored.key(k);
            assert_eq!(restored.value(&d, &key).unwrap().get().unwrap(), Some(k as u64));
            assert_eq!(restored.list(&l, &key).unwrap().get().unwrap(), vec![format!("n{k}")]);
        }
    }

    #[test]
    fn restore_into_halves_keeps_only_owned_groups() {
        let d = ValueStateDescriptor::<u64>::new("count");
        let mut store = KeyedStateStore::<u32>::new(128, full());
        for k in 0..500 {
            let key = store.key(k);
            store.value(&d, &key).unwrap().set(k as u64).unwrap();
        }
        let mut bytes = Vec::new();
        let handle = store.snapshot().write(&mut bytes).unwrap();
        let mut total = 0;
        for range in [KeyGroupRange::new(0, 63), KeyGroupRange::new(64, 127)] {
            let mut half = KeyedStateStore::<u32>::new(128, range);
            restore_into(&mut half, &bytes, &handle);
            total += half.value_keys(&d).unwrap();
            for k in 0..500 {
                let key = half.key(k);
                if range.contains(key.key_group()) {
                    assert_eq!(half.value(&d, &key).unwrap().get().unwrap(), Some(k as u64));
                }
            }
        }
        assert_eq!(total, 500);
    }

    #[test]
    fn unregistered_restored_state_survives_the_next_snapshot() {
        let d = ValueStateDescriptor::<u64>::new("kept");
        let mut store = KeyedStateStore::<u32>::new(128, full());
        let key = store.key(7);
        store.value(&d, &key).unwrap().set(42).unwrap();
        let mut bytes = Vec::new();
        let handle = store.snapshot().write(&mut bytes).unwrap();

        // A run that never touches "kept" still carries it forward.
        let mut middle = KeyedStateStore::<u32>::new(128, full());
        restore_into(&mut middle, &bytes, &handle);
        let mut bytes2 = Vec::new();
        let handle2 = middle.snapshot().write(&mut bytes2).unwrap();

        let mut last = KeyedStateStore::<u32>::new(128, full());
        restore_into(&mut last, &bytes2, &handle2);
        let key = last.key(7);
        assert_eq!(last.value(&d, &key).unwrap().get().unwrap(), Some(42));
    }

    #[test]
    fn restoring_with_another_type_is_a_clear_error() {
        let mut store = KeyedStateStore::<u32>::new(128, full());
        let key = store.key(1);
        store
            .value(&ValueStateDescriptor::<String>::new("s"), &key)
            .unwrap()
            .set("a long string value".into())
            .unwrap();
        let mut bytes = Vec::new();
        let handle = store.snapshot().write(&mut bytes).unwrap();
        let mut restored = KeyedStateStore::<u32>::new(128, full());
        restore_into(&mut restored, &bytes, &handle);
        let key = restored.key(1);
        let e = restored
            .value(&ValueStateDescriptor::<u64>::new("s"), &key)
            .err()
            .unwrap();
        assert!(e.to_string().contains("did the state's type change"), "{e}");
    }
}
