//! The keyed state store of one operator subtask.

use super::current_key::CurrentKey;
use super::handles::{
    AggregatingState, Backing, ListState, MapState, ReducingState, StateData, StateKey, TtlTable, ValueState,
};
use super::heap::HeapStates;
use super::native::{self, NativeSnapshot, SharedFiles};
use super::rocks;
use super::rocks::RocksStates;
use super::snapshot::KeyGroupBlock;
use super::table::Map;
use crate::backend::StateBackend;
use crate::descriptor::{
    AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, StateKind,
    ValueStateDescriptor,
};
use crate::error::StateError;
use crate::format::{EntryFormat, ListFormat, MapFormat, TtlListFormat, TtlMapFormat, TtlValueFormat, ValueFormat};
use crate::ttl::{Expirable, StateTtlConfig, TtlClock, TtlNow, TtlSettings, TtlValue};
use crate::KeyedSnapshot;
use std::sync::Arc;
use weir_core::hash::stable_hash;
use weir_core::keygroup::{key_group_for_hash, KeyGroupRange};

enum Backend {
    Heap(HeapStates),
    Rocks(Box<RocksStates>),
}

/// All keyed state of one operator subtask, for keys of type `K`, covering the key
/// groups the subtask owns, on the heap or in RocksDB ([`StateBackend`]).
///
/// States are registered on first access through a descriptor. On the heap, state
/// restored from a snapshot stays encoded until its descriptor is first used (only
/// then is its type known); state that is never accessed again is carried into
/// later snapshots unchanged. RocksDB stores restored state as it comes.
///
/// Descriptors with a [`StateTtlConfig`] get state whose values expire; the time
/// comes from the store's [`TtlClock`] (the system clock unless
/// [`set_ttl_clock`](Self::set_ttl_clock) installs another).
pub struct KeyedStateStore<K> {
    max_parallelism: usize,
    range: KeyGroupRange,
    hash: fn(&K) -> u64,
    backend: Backend,
    clock: TtlClock,
}

impl<K> std::fmt::Debug for KeyedStateStore<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (backend, names) = match &self.backend {
            Backend::Heap(heap) => ("heap", heap.names()),
            Backend::Rocks(_) => ("rocksdb", Vec::new()),
        };
        f.debug_struct("KeyedStateStore")
            .field("backend", &backend)
            .field("key_groups", &self.range)
            .field("states", &names)
            .finish()
    }
}

impl<K: StateKey> KeyedStateStore<K> {
    /// An empty heap store for a subtask owning key groups `range` of
    /// `max_parallelism`.
    pub fn new(max_parallelism: usize, range: KeyGroupRange) -> Self {
        Self::with_partitioning(max_parallelism, range, stable_hash::<K>)
    }

    /// An empty heap store whose keys belong to the key group of `hash(key)`: for
    /// composite keys (e.g. a record key with a window) that must stay in the key
    /// group of their record key.
    pub fn with_partitioning(max_parallelism: usize, range: KeyGroupRange, hash: fn(&K) -> u64) -> Self {
        KeyedStateStore {
            max_parallelism: max_parallelism.max(1),
            range,
            hash,
            backend: Backend::Heap(HeapStates::default()),
            clock: TtlClock::system(),
        }
    }

    /// An empty store on `backend` (a new RocksDB instance for the RocksDB
    /// backend), keys placed by `hash` (use [`stable_hash`] for plain keys).
    pub fn open(
        backend: &StateBackend,
        max_parallelism: usize,
        range: KeyGroupRange,
        hash: fn(&K) -> u64,
    ) -> Result<Self, StateError> {
        let mut store = Self::with_partitioning(max_parallelism, range, hash);
        if let Some(shared) = backend.rocks() {
            store.backend = Backend::Rocks(Box::new(RocksStates::open(shared.clone(), range)?));
        }
        Ok(store)
    }

    /// Uses `clock` as the processing time of state TTL (timestamps of writes,
    /// expiry of reads, snapshots and RocksDB compactions).
    pub fn set_ttl_clock(&mut self, clock: TtlClock) {
        if let Backend::Rocks(rocks) = &mut self.backend {
            rocks.set_clock(clock.clone());
        }
        self.clock = clock;
    }

    /// The clock of state TTL.
    pub fn ttl_clock(&self) -> &TtlClock {
        &self.clock
    }

    /// Which backend holds the state: `heap` or `rocksdb`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Heap(_) => "heap",
            Backend::Rocks(_) => "rocksdb",
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
        CurrentKey::new(key, key_group)
    }

    /// The backing of state `name`: without TTL the plain table (`S` entries) or
    /// column family; with TTL the stamped table (`T` entries) or the column
    /// family handling stamps. Heap TTL'd state is swept incrementally here.
    #[inline]
    fn backing<S, T, F, FT>(
        &mut self,
        name: &Arc<str>,
        kind: StateKind,
        ttl: Option<&StateTtlConfig>,
    ) -> Result<Backing<'_, K, S, T>, StateError>
    where
        S: StateData,
        T: Clone + Send + Sync + Expirable + 'static,
        F: EntryFormat<K, S>,
        FT: EntryFormat<K, T>,
    {
        let Some(config) = ttl else {
            return match &mut self.backend {
                Backend::Heap(heap) => heap.table::<K, S, F>(self.range, name, kind, None).map(Backing::Heap),
                Backend::Rocks(rocks) => rocks.access::<K, S>(name, kind, None).map(Backing::Rocks),
            };
        };
        let now = TtlNow::new(config, self.clock.now());
        match &mut self.backend {
            Backend::Heap(heap) => {
                let settings = Some(TtlSettings::of(config));
                let table = heap.table::<K, T, FT>(self.range, name, kind, settings)?;
                if let Some(budget) = config.incremental_cleanup() {
                    table.sweep(budget, now.cutoff);
                }
                Ok(Backing::HeapTtl(TtlTable::new(table, now)))
            }
            Backend::Rocks(rocks) => rocks
                .access::<K, S>(name, kind, Some((config, now)))
                .map(Backing::Rocks),
        }
    }

    fn ttl_now(&self, config: Option<&StateTtlConfig>) -> Option<TtlNow> {
        config.map(|config| TtlNow::new(config, self.clock.now()))
    }

    /// Value state `descriptor` of `key`.
    #[inline]
    pub fn value<'a, V: StateData>(
        &'a mut self,
        descriptor: &'a ValueStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ValueState<'a, K, V>, StateError> {
        let table = self.backing::<V, TtlValue<V>, ValueFormat, TtlValueFormat>(
            &descriptor.name,
            StateKind::Value,
            descriptor.ttl.as_ref(),
        )?;
        Ok(ValueState::new(table, key))
    }

    /// List state `descriptor` of `key`.
    #[inline]
    pub fn list<'a, V: StateData>(
        &'a mut self,
        descriptor: &'a ListStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ListState<'a, K, V>, StateError> {
        let table = self.backing::<Vec<V>, Vec<TtlValue<V>>, ListFormat<V>, TtlListFormat<V>>(
            &descriptor.name,
            StateKind::List,
            descriptor.ttl.as_ref(),
        )?;
        Ok(ListState::new(table, key))
    }

    /// Map state `descriptor` of `key`.
    #[inline]
    pub fn map<'a, UK: StateKey, UV: StateData>(
        &'a mut self,
        descriptor: &'a MapStateDescriptor<UK, UV>,
        key: &'a CurrentKey<K>,
    ) -> Result<MapState<'a, K, UK, UV>, StateError> {
        let table = self.backing::<Map<UK, UV>, Map<UK, TtlValue<UV>>, MapFormat<UK, UV>, TtlMapFormat<UK, UV>>(
            &descriptor.name,
            StateKind::Map,
            descriptor.ttl.as_ref(),
        )?;
        Ok(MapState::new(table, key))
    }

    /// Reducing state `descriptor` of `key`.
    #[inline]
    pub fn reducing<'a, V: StateData>(
        &'a mut self,
        descriptor: &'a ReducingStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ReducingState<'a, K, V>, StateError> {
        let table = self.backing::<V, TtlValue<V>, ValueFormat, TtlValueFormat>(
            &descriptor.name,
            StateKind::Reducing,
            descriptor.ttl.as_ref(),
        )?;
        Ok(ReducingState::new(table, key, &descriptor.reduce))
    }

    /// Aggregating state `descriptor` of `key`.
    #[inline]
    pub fn aggregating<'a, IN, ACC: StateData, OUT>(
        &'a mut self,
        descriptor: &'a AggregatingStateDescriptor<IN, ACC, OUT>,
        key: &'a CurrentKey<K>,
    ) -> Result<AggregatingState<'a, K, IN, ACC, OUT>, StateError> {
        let table = self.backing::<ACC, TtlValue<ACC>, ValueFormat, TtlValueFormat>(
            &descriptor.name,
            StateKind::Aggregating,
            descriptor.ttl.as_ref(),
        )?;
        Ok(AggregatingState::new(table, key, &*descriptor.function))
    }

    /// Number of keys holding value state `descriptor` (with a TTL, unexpired).
    pub fn value_keys<V: StateData>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<usize, StateError> {
        let ttl = self.ttl_now(descriptor.ttl.as_ref());
        match self.backing::<V, TtlValue<V>, ValueFormat, TtlValueFormat>(
            &descriptor.name,
            StateKind::Value,
            descriptor.ttl.as_ref(),
        )? {
            Backing::Heap(table) => Ok(table.len()),
            Backing::HeapTtl(table) => {
                let (table, ttl) = table.into_parts();
                Ok(table.entries().filter(|(_, _, e)| e.has_live(ttl.cutoff)).count())
            }
            Backing::Rocks(_) => match &self.backend {
                Backend::Rocks(rocks) => Ok(rocks.keys::<K>(&descriptor.name, ttl, make_key)?.len()),
                Backend::Heap(_) => Ok(0),
            },
        }
    }

    /// Every key holding value state `descriptor`, with its value (used to rebuild
    /// in-memory indexes, e.g. of timers, after a restore). With a TTL, the
    /// unexpired ones (not renewed).
    pub fn value_entries<V: StateData>(
        &mut self,
        descriptor: &ValueStateDescriptor<V>,
    ) -> Result<Vec<(CurrentKey<K>, V)>, StateError> {
        let ttl = self.ttl_now(descriptor.ttl.as_ref());
        let entry = |key_group: usize, key: &K, value: &V| (CurrentKey::new(key.clone(), key_group), value.clone());
        match self.backing::<V, TtlValue<V>, ValueFormat, TtlValueFormat>(
            &descriptor.name,
            StateKind::Value,
            descriptor.ttl.as_ref(),
        )? {
            Backing::Heap(table) => Ok(table.entries().map(|(g, k, v)| entry(g, k, v)).collect()),
            Backing::HeapTtl(table) => {
                let (table, ttl) = table.into_parts();
                Ok(table
                    .entries()
                    .filter(|(_, _, e)| e.has_live(ttl.cutoff))
                    .map(|(g, k, e)| entry(g, k, &e.value))
                    .collect())
            }
            Backing::Rocks(_) => match &self.backend {
                Backend::Rocks(rocks) => rocks.value_entries::<K, V>(&descriptor.name, ttl, make_key),
                Backend::Heap(_) => Ok(Vec::new()),
            },
        }
    }

    /// Every key holding list state `descriptor`, with its key group (with a TTL,
    /// those with unexpired elements).
    pub fn list_keys<V: StateData>(
        &mut self,
        descriptor: &ListStateDescriptor<V>,
    ) -> Result<Vec<CurrentKey<K>>, StateError> {
        let ttl = self.ttl_now(descriptor.ttl.as_ref());
        let current = |key_group: usize, key: &K| CurrentKey::new(key.clone(), key_group);
        match self.backing::<Vec<V>, Vec<TtlValue<V>>, ListFormat<V>, TtlListFormat<V>>(
            &descriptor.name,
            StateKind::List,
            descriptor.ttl.as_ref(),
        )? {
            Backing::Heap(table) => Ok(table.keys().map(|(g, k)| current(g, k)).collect()),
            Backing::HeapTtl(table) => {
                let (table, ttl) = table.into_parts();
                Ok(table
                    .entries()
                    .filter(|(_, _, e)| e.has_live(ttl.cutoff))
                    .map(|(g, k, _)| current(g, k))
                    .collect())
            }
            Backing::Rocks(_) => match &self.backend {
                Backend::Rocks(rocks) => rocks.keys::<K>(&descriptor.name, ttl, make_key),
                Backend::Heap(_) => Ok(Vec::new()),
            },
        }
    }

    /// Total number of entries over all states (on RocksDB: a full scan). TTL'd
    /// entries count until they are cleaned up, expired or not.
    pub fn entries(&self) -> usize {
        match &self.backend {
            Backend::Heap(heap) => heap.entries(),
            Backend::Rocks(rocks) => rocks.entries(),
        }
    }

    /// Compacts RocksDB state now (its TTL compaction filters drop expired
    /// entries); nothing on the heap.
    #[cfg(test)]
    pub(crate) fn compact(&self) {
        if let Backend::Rocks(rocks) = &self.backend {
            rocks.compact();
        }
    }

    /// A snapshot of every state as it is now, serialized with
    /// [`KeyedSnapshot::write`] on any thread. On the heap it copies no entries
    /// (key groups are shared until written again); on RocksDB it flushes the
    /// memtables and hard-links the instance's files. Written in full, it leaves
    /// out values of TTL'd state that are expired now (unless their TTL turned
    /// [`cleanup in full snapshots`](StateTtlConfig::with_cleanup_in_full_snapshot)
    /// off).
    pub fn snapshot(&mut self) -> Box<dyn KeyedSnapshot> {
        let now = self.clock.now();
        match &mut self.backend {
            Backend::Heap(heap) => heap.snapshot(self.range, now),
            Backend::Rocks(rocks) => rocks.snapshot(now),
        }
    }

    /// Adds the state of one restored key group. Blocks of groups this store does
    /// not own are ignored. Call before the first access.
    pub fn restore_block(&mut self, block: KeyGroupBlock) -> Result<(), StateError> {
        if !self.range.contains(block.key_group as usize) {
            return Ok(());
        }
        match &mut self.backend {
            Backend::Heap(heap) => heap.restore_block(block),
            Backend::Rocks(rocks) => rocks.restore_block(block),
        }
    }
}

impl<K: StateKey> KeyedStateStore<K> {
    /// Restores incremental (native RocksDB) snapshots: each with the bytes of its
    /// keyed section in the task's state file, fetching shared files from
    /// `shared`. A RocksDB store whose key groups are exactly one snapshot's opens
    /// its files directly; otherwise (another parallelism, or the heap backend) the
    /// key groups this store owns are read out of them. Call before the first
    /// access.
    pub fn restore_native(
        &mut self,
        snapshots: &[(&NativeSnapshot, &[u8])],
        shared: &dyn SharedFiles,
    ) -> Result<(), StateError> {
        let range = self.range;
        let overlapping: Vec<&(&NativeSnapshot, &[u8])> = snapshots
            .iter()
            .filter(|(s, _)| (s.key_groups.0 as usize) <= range.end && (s.key_groups.1 as usize) >= range.start)
            .collect();
        if let ([(snapshot, section)], Backend::Rocks(rocks)) = (overlapping.as_slice(), &mut self.backend) {
            if rocks.is_fresh() && snapshot.key_groups == (range.start as u32, range.end as u32) {
                let dir = rocks.scratch_dir();
                native::materialize(snapshot, section, shared, &dir)?;
                return rocks.adopt(&dir, &snapshot.states, &snapshot.ttl_states);
            }
        }
        for (snapshot, section) in overlapping {
            let scratch = tempfile::Builder::new()
                .prefix("weir-restore-")
                .tempdir()
                .map_err(|e| StateError::Backend(format!("no temporary directory for restored files: {e}")))?;
            native::materialize(snapshot, section, shared, scratch.path())?;
            let db = rocks::snapshot::open_read_only(scratch.path(), snapshot.states.iter().map(|(n, _)| n.as_str()))?;
            let first = range.start.max(snapshot.key_groups.0 as usize);
            let last = range.end.min(snapshot.key_groups.1 as usize);
            let states = rocks::snapshot::SnapshotState::of_native(snapshot);
            rocks::snapshot::visit_blocks(&db, KeyGroupRange::new(first, last), &states, |block| {
                self.restore_block(block).map(|()| true)
            })?;
        }
        Ok(())
    }
}

fn make_key<K>(key: K, key_group: usize) -> CurrentKey<K> {
    CurrentKey::new(key, key_group)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{AggregateFunction, KeyedStateHandle, NativeFileLocation, RocksDbOptions};

    pub(crate) fn full() -> KeyGroupRange {
        KeyGroupRange::new(0, 127)
    }

    /// The heap, RocksDB snapshotting small state in memory (default write-back
    /// cache), and RocksDB always snapshotting through a RocksDB checkpoint with a
    /// write-back cache of a few entries (written back and emptied all the time);
    /// the directory must outlive the stores.
    pub(crate) fn backends() -> (tempfile::TempDir, Vec<StateBackend>) {
        let dir = tempfile::tempdir().unwrap();
        let rocks = |inline_snapshot_bytes, write_cache_bytes| {
            StateBackend::rocksdb(RocksDbOptions {
                local_dir: dir.path().to_path_buf(),
                memory_budget: 16 << 20,
                inline_snapshot_bytes,
                write_cache_bytes,
                ..Default::default()
            })
            .unwrap()
        };
        let backends = vec![StateBackend::heap(), rocks(1 << 20, 4 << 20), rocks(0, 400)];
        (dir, backends)
    }

    pub(crate) fn store(backend: &StateBackend, range: KeyGroupRange) -> KeyedStateStore<u32> {
        KeyedStateStore::open(backend, 128, range, stable_hash::<u32>).unwrap()
    }

    pub(crate) struct Average;
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
        let (_dir, backends) = backends();
        for backend in &backends {
            let mut store = store(backend, full());
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
            assert_eq!(store.list(&list, &key).unwrap().len().unwrap(), 3);
            let m = store.map(&map, &key).unwrap();
            assert_eq!(m.get(&"x".to_string()).unwrap(), Some(4));
            assert!(!m.contains(&"y".to_string()).unwrap());
            assert_eq!(m.entries().unwrap(), vec![("x".to_string(), 4)]);
            assert_eq!(m.len().unwrap(), 1);
            assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), Some(104));
            assert_eq!(store.aggregating(&avg, &key).unwrap().get().unwrap(), Some(2.0));
            store.value(&value, &key).unwrap().clear().unwrap();
            assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), None);
            assert_eq!(store.value_keys(&value).unwrap(), 9, "{}", backend.name());
            let mut m = store.map(&map, &key).unwrap();
            m.clear().unwrap();
            assert!(m.is_empty().unwrap());
            let mut l = store.list(&list, &key).unwrap();
            l.update(vec![9]).unwrap();
            assert_eq!(l.get().unwrap(), vec![9]);
            l.clear().unwrap();
            assert!(l.is_empty().unwrap());
            assert_eq!(store.list_keys(&list).unwrap().len(), 9);
            let mut v = store.value(&value, &key).unwrap();
            assert!(v.modify(|_| Some("new".into())).unwrap());
            v.modify_or_remove(|s| {
                s.push('!');
                true
            })
            .unwrap();
            assert_eq!(v.get_ref().unwrap().map(String::as_str), Some("new!"));
            assert_eq!(v.take().unwrap(), Some("new!".into()));
            assert_eq!(v.get().unwrap(), None);
        }
    }

    #[test]
    fn kinds_and_types_are_checked() {
        let (_dir, backends) = backends();
        for backend in &backends {
            let mut store = store(backend, full());
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
    }

    #[test]
    fn keys_outside_the_range_are_rejected() {
        let (_dir, backends) = backends();
        for backend in &backends {
            let mut store = store(backend, KeyGroupRange::new(0, 0));
            let d = ValueStateDescriptor::<u8>::new("v");
            let foreign = (0..100).map(|k| store.key(k)).find(|k| k.key_group() != 0).unwrap();
            let e = store.value(&d, &foreign).unwrap().set(1).err().unwrap();
            assert!(e.to_string().contains("does not belong"), "{e}");
        }
    }

    pub(crate) fn restore_into(store: &mut KeyedStateStore<u32>, bytes: &[u8], handle: &KeyedStateHandle) {
        for block in handle.blocks(bytes) {
            store.restore_block(block.unwrap()).unwrap();
        }
    }

    #[test]
    fn snapshots_are_isolated_from_later_writes_and_restore_on_either_backend() {
        let (_dir, backends) = backends();
        let d = ValueStateDescriptor::<u64>::new("count");
        let l = ListStateDescriptor::<String>::new("names");
        let m = MapStateDescriptor::<u8, String>::new("map");
        for from in &backends {
            let mut store = store(from, full());
            for k in 0..1000 {
                let key = store.key(k);
                store.value(&d, &key).unwrap().set(k as u64).unwrap();
                store.list(&l, &key).unwrap().add(format!("n{k}")).unwrap();
                store.list(&l, &key).unwrap().add("more".into()).unwrap();
                store
                    .map(&m, &key)
                    .unwrap()
                    .put((k % 7) as u8, format!("m{k}"))
                    .unwrap();
                store.map(&m, &key).unwrap().put(200, "x".into()).unwrap();
            }
            let snapshot = store.snapshot();
            // Writes after the snapshot must not leak into it.
            for k in 0..1000 {
                let key = store.key(k);
                store.value(&d, &key).unwrap().set(999_999).unwrap();
                store.list(&l, &key).unwrap().add("late".into()).unwrap();
            }
            let mut bytes = Vec::new();
            let handle = snapshot.write(&mut bytes).unwrap();
            assert_eq!(handle.bytes as usize, bytes.len());

            for to in &backends {
                let mut restored = self::store(to, full());
                restore_into(&mut restored, &bytes, &handle);
                for k in 0..1000 {
                    let key = restored.key(k);
                    let what = format!("{} -> {}, key {k}", from.name(), to.name());
                    assert_eq!(
                        restored.value(&d, &key).unwrap().get().unwrap(),
                        Some(k as u64),
                        "{what}"
                    );
                    assert_eq!(
                        restored.list(&l, &key).unwrap().get().unwrap(),
                        vec![format!("n{k}"), "more".into()],
                        "{what}"
                    );
                    let mut entries = restored.map(&m, &key).unwrap().entries().unwrap();
                    entries.sort();
                    assert_eq!(
                        entries,
                        vec![((k % 7) as u8, format!("m{k}")), (200, "x".into())],
                        "{what}"
                    );
                }
            }
        }
    }

    #[test]
    fn restore_into_halves_keeps_only_owned_groups() {
        let (_dir, backends) = backends();
        let d = ValueStateDescriptor::<u64>::new("count");
        for backend in &backends {
            let mut store = store(backend, full());
            for k in 0..500 {
                let key = store.key(k);
                store.value(&d, &key).unwrap().set(k as u64).unwrap();
            }
            let mut bytes = Vec::new();
            let handle = store.snapshot().write(&mut bytes).unwrap();
            let mut total = 0;
            for range in [KeyGroupRange::new(0, 63), KeyGroupRange::new(64, 127)] {
                let mut half = self::store(backend, range);
                restore_into(&mut half, &bytes, &handle);
                total += half.value_keys(&d).unwrap();
                for k in 0..500 {
                    let key = half.key(k);
                    if range.contains(key.key_group()) {
                        assert_eq!(half.value(&d, &key).unwrap().get().unwrap(), Some(k as u64));
                    }
                }
                assert_eq!(half.value_entries(&d).unwrap().len(), half.value_keys(&d).unwrap());
            }
            assert_eq!(total, 500, "{}", backend.name());
        }
    }

    #[test]
    fn unregistered_restored_state_survives_the_next_snapshot() {
        let (_dir, backends) = backends();
        let d = ValueStateDescriptor::<u64>::new("kept");
        for backend in &backends {
            let mut store = store(backend, full());
            let key = store.key(7);
            store.value(&d, &key).unwrap().set(42).unwrap();
            let mut bytes = Vec::new();
            let handle = store.snapshot().write(&mut bytes).unwrap();

            // A run that never touches "kept" still carries it forward.
            let mut middle = self::store(backend, full());
            restore_into(&mut middle, &bytes, &handle);
            let mut bytes2 = Vec::new();
            let handle2 = middle.snapshot().write(&mut bytes2).unwrap();

            let mut last = self::store(backend, full());
            restore_into(&mut last, &bytes2, &handle2);
            let key = last.key(7);
            assert_eq!(last.value(&d, &key).unwrap().get().unwrap(), Some(42));
        }
    }

    #[test]
    fn restoring_with_another_type_is_a_clear_error() {
        let (_dir, backends) = backends();
        for backend in &backends {
            let mut store = store(backend, full());
            let key = store.key(1);
            store
                .value(&ValueStateDescriptor::<String>::new("s"), &key)
                .unwrap()
                .set("a long string value".into())
                .unwrap();
            let mut bytes = Vec::new();
            let handle = store.snapshot().write(&mut bytes).unwrap();
            let mut restored = self::store(backend, full());
            restore_into(&mut restored, &bytes, &handle);
            let key = restored.key(1);
            let e = match restored.value(&ValueStateDescriptor::<u64>::new("s"), &key) {
                Err(e) => e,
                Ok(state) => state.get().err().unwrap(),
            };
            assert!(e.to_string().contains("did the state's type change"), "{e}");
        }
    }

    #[test]
    fn rocksdb_state_larger_than_its_memtables_survives_flushes() {
        let (_dir, backends) = backends();
        let d = ValueStateDescriptor::<Vec<u8>>::new("blob");
        let mut store = store(&backends[1], full());
        // 40 MB through a 16 MiB budget: memtables are flushed to SST files.
        for k in 0..10_000u32 {
            let key = store.key(k);
            store.value(&d, &key).unwrap().set(vec![(k % 251) as u8; 4000]).unwrap();
        }
        for k in (0..10_000u32).step_by(97) {
            let key = store.key(k);
            assert_eq!(
                store.value(&d, &key).unwrap().get().unwrap(),
                Some(vec![(k % 251) as u8; 4000])
            );
        }
        assert_eq!(store.value_keys(&d).unwrap(), 10_000);
    }

    /// Shared files in a plain directory (what weir-checkpoint does, minus GC).
    pub(crate) struct DirFiles(pub(crate) std::path::PathBuf);

    impl SharedFiles for DirFiles {
        fn put(&self, path: &std::path::Path, key: &str, size: u64) -> Result<u64, String> {
            let target = self.0.join(key);
            if target.exists() {
                return Ok(0);
            }
            std::fs::copy(path, target).map_err(|e| e.to_string())?;
            Ok(size)
        }
        fn fetch(&self, key: &str, to: &std::path::Path) -> Result<(), String> {
            std::fs::copy(self.0.join(key), to)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }

    pub(crate) fn incremental(store: &mut KeyedStateStore<u32>, shared: &DirFiles) -> (KeyedStateHandle, Vec<u8>) {
        let mut section = Vec::new();
        let handle = store.snapshot().write_incremental(&mut section, shared).unwrap();
        (handle, section)
    }

    #[test]
    fn incremental_snapshots_upload_only_new_files_and_restore_anywhere() {
        let (dir, backends) = backends();
        let rocks = &backends[2]; // always snapshots through RocksDB checkpoints
        let files = DirFiles(dir.path().join("shared"));
        std::fs::create_dir_all(&files.0).unwrap();
        let v = ValueStateDescriptor::<Vec<u8>>::new("v");
        let l = ListStateDescriptor::<u32>::new("l");
        let mut store = store(rocks, full());
        const KEYS: u32 = 20_000;
        for k in 0..KEYS {
            let key = store.key(k);
            store.value(&v, &key).unwrap().set(vec![(k % 256) as u8; 500]).unwrap();
            store.list(&l, &key).unwrap().add(k).unwrap();
        }
        // Compact up front, so that no background compaction of the first
        // checkpoint's files can land between the two checkpoints (it would make
        // the second one re-upload rewritten files, depending on timing).
        store.compact();
        let (first, first_section) = incremental(&mut store, &files);
        let native = first.native.clone().unwrap();
        assert!(first.groups.is_empty());
        assert_eq!(
            native.uploaded,
            native
                .files
                .iter()
                .filter(|f| matches!(f.location, NativeFileLocation::Shared(_)))
                .map(|f| f.size)
                .sum::<u64>()
        );
        // Change 1 % of the keys.
        for k in (0..KEYS).step_by(100) {
            let key = store.key(k);
            store.value(&v, &key).unwrap().set(vec![7; 500]).unwrap();
            store.list(&l, &key).unwrap().add(1).unwrap();
        }
        let (second, second_section) = incremental(&mut store, &files);
        let second_native = second.native.clone().unwrap();
        let ratio = second_native.uploaded as f64 / native.uploaded as f64;
        println!(
            "first checkpoint uploaded {} bytes, the second (1 % of keys changed) {} bytes: ratio {ratio:.4}",
            native.uploaded, second_native.uploaded
        );
        assert!(ratio < 0.2, "the second checkpoint uploaded {ratio} of the first");

        let check = |restored: &mut KeyedStateStore<u32>, what: &str| {
            let mut seen = 0;
            for k in 0..KEYS {
                let key = restored.key(k);
                if !restored.key_group_range().contains(key.key_group()) {
                    continue;
                }
                seen += 1;
                let changed = k % 100 == 0;
                let value = restored.value(&v, &key).unwrap().get().unwrap();
                assert_eq!(
                    value,
                    Some(if changed {
                        vec![7; 500]
                    } else {
                        vec![(k % 256) as u8; 500]
                    }),
                    "{what} key {k}"
                );
                let list = restored.list(&l, &key).unwrap().get().unwrap();
                assert_eq!(list, if changed { vec![k, 1] } else { vec![k] }, "{what} key {k}");
            }
            seen
        };
        let snapshots = [(&second_native, second_section.as_slice())];
        // Same key groups on RocksDB: the files are opened as they are.
        let mut same = self::store(rocks, full());
        same.restore_native(&snapshots, &files).unwrap();
        assert_eq!(check(&mut same, "rocksdb, same key groups"), KEYS as usize);
        // Halves, on both backends: the key groups are read out of the files.
        for backend in &backends[..2] {
            let mut total = 0;
            for range in [KeyGroupRange::new(0, 63), KeyGroupRange::new(64, 127)] {
                let mut half = self::store(backend, range);
                half.restore_native(&snapshots, &files).unwrap();
                total += check(&mut half, &format!("{} {range:?}", backend.name()));
            }
            assert_eq!(total, KEYS as usize);
        }
        // The first snapshot's files are still all there: it restores too.
        let mut older = self::store(&backends[0], full());
        older
            .restore_native(&[(&native, first_section.as_slice())], &files)
            .unwrap();
        let key = older.key(0);
        assert_eq!(older.value(&v, &key).unwrap().get().unwrap(), Some(vec![0; 500]));

        // A damaged shared file is named, not used.
        let victim = second_native.shared_keys().next().unwrap().to_string();
        let path = files.0.join(&victim);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let mut damaged = self::store(rocks, full());
        let e = damaged.restore_native(&snapshots, &files).err().unwrap().to_string();
        assert!(e.contains(&victim) && e.contains("damaged"), "{e}");
    }
}
