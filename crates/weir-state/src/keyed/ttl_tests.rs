//! State TTL on every backend, with a clock the tests drive.

use super::store::tests::{backends, full, incremental, restore_into, store, Average, DirFiles};
use super::{KeyGroupBlock, KeyedStateStore, StateBlock};
use crate::descriptor::StateKind;
use crate::{
    format, AggregatingStateDescriptor, KeyedStateHandle, ListStateDescriptor, MapStateDescriptor,
    ReducingStateDescriptor, StateBackend, StateError, StateTtlConfig, TtlClock, ValueStateDescriptor,
};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_core::keygroup::KeyGroupRange;

/// The time-to-live of every test: 100 ms.
fn ttl() -> StateTtlConfig {
    StateTtlConfig::new(Duration::from_millis(100))
}

/// A manual clock, starting at 1000 ms.
#[derive(Clone)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

/// A store on `backend` whose TTL clock the test sets.
fn clocked(backend: &StateBackend, range: KeyGroupRange) -> (KeyedStateStore<u32>, Clock) {
    let clock = Clock(Arc::new(AtomicI64::new(1000)));
    let mut store = store(backend, range);
    let now = clock.0.clone();
    store.set_ttl_clock(TtlClock::from_fn(move || now.load(Ordering::SeqCst)));
    (store, clock)
}

fn snapshot_of(store: &mut KeyedStateStore<u32>) -> (Vec<u8>, KeyedStateHandle) {
    let mut bytes = Vec::new();
    let handle = store.snapshot().write(&mut bytes).unwrap();
    (bytes, handle)
}

/// Entries (and, for lists, elements) of state `name` in a written snapshot, with
/// the state's TTL flag.
fn snapshot_entries(bytes: &[u8], handle: &KeyedStateHandle, name: &str) -> (usize, Option<bool>) {
    let mut n = 0;
    let mut ttl = None;
    for block in handle.blocks(bytes) {
        for state in block.unwrap().states.into_iter().filter(|s| s.name == name) {
            ttl = Some(state.ttl);
            for entry in format::entries(&state.entries) {
                let (_, value) = entry.unwrap();
                n += match state.kind {
                    StateKind::List => crate::ttl::frames(value).count(),
                    _ => 1,
                };
            }
        }
    }
    (n, ttl)
}

#[test]
fn value_like_state_is_visible_until_ts_plus_ttl() {
    let (_dir, backends) = backends();
    let config = ttl().disable_incremental_cleanup();
    let value = ValueStateDescriptor::<String>::new("v").with_ttl(config.clone());
    let sum = ReducingStateDescriptor::<u64>::new("sum", |a, b| a + b).with_ttl(config.clone());
    let avg = AggregatingStateDescriptor::new("avg", Average).with_ttl(config);
    for backend in &backends {
        let what = backend.name();
        let (mut store, clock) = clocked(backend, full());
        let key = store.key(7);
        store.value(&value, &key).unwrap().set("x".into()).unwrap();
        store.reducing(&sum, &key).unwrap().add(1).unwrap();
        store.aggregating(&avg, &key).unwrap().add(1.0).unwrap();
        clock.set(1050);
        // A write renews the timestamp (reducing and aggregating add are writes).
        store.reducing(&sum, &key).unwrap().add(2).unwrap();
        store.aggregating(&avg, &key).unwrap().add(3.0).unwrap();
        clock.set(1099);
        assert_eq!(
            store.value(&value, &key).unwrap().get().unwrap(),
            Some("x".into()),
            "{what}"
        );
        assert_eq!(
            store.value(&value, &key).unwrap().get_ref().unwrap().cloned(),
            Some("x".into())
        );
        assert_eq!(store.value_entries(&value).unwrap().len(), 1, "{what}");
        assert_eq!(store.value_keys(&value).unwrap(), 1, "{what}");
        clock.set(1100);
        assert_eq!(store.value_keys(&value).unwrap(), 0, "{what}: expired at ts + ttl");
        assert!(store.value_entries(&value).unwrap().is_empty(), "{what}");
        assert_eq!(store.entries(), 3, "{what}: nothing read yet, nothing removed");
        assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), None, "{what}");
        assert_eq!(store.entries(), 2, "{what}: the expired value is removed on access");
        assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), Some(3), "{what}");
        assert_eq!(
            store.aggregating(&avg, &key).unwrap().get().unwrap(),
            Some(2.0),
            "{what}"
        );
        clock.set(1150);
        assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), None, "{what}");
        assert_eq!(store.aggregating(&avg, &key).unwrap().get().unwrap(), None, "{what}");
        // Adding to an expired value starts afresh.
        store.reducing(&sum, &key).unwrap().add(5).unwrap();
        assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), Some(5), "{what}");
        store.aggregating(&avg, &key).unwrap().add(8.0).unwrap();
        assert_eq!(
            store.aggregating(&avg, &key).unwrap().get().unwrap(),
            Some(8.0),
            "{what}"
        );

        // The other value operations see expired values as absent.
        store.value(&value, &key).unwrap().set("y".into()).unwrap();
        clock.set(1250);
        let mut v = store.value(&value, &key).unwrap();
        assert_eq!(v.update(|old| format!("{old:?}")).unwrap(), "None", "{what}");
        clock.set(1350);
        let mut v = store.value(&value, &key).unwrap();
        assert_eq!(v.take().unwrap(), None, "{what}");
        v.set("z".into()).unwrap();
        clock.set(1449);
        let mut v = store.value(&value, &key).unwrap();
        let created = v
            .modify(|s| {
                if let Some(s) = s {
                    s.push('!');
                }
                None
            })
            .unwrap();
        assert!(!created, "{what}");
        clock.set(1548);
        let mut v = store.value(&value, &key).unwrap();
        v.modify_or_remove(|s| {
            s.push('?');
            true
        })
        .unwrap();
        assert_eq!(
            v.get().unwrap(),
            Some("z!?".into()),
            "{what}: modify wrote at 1449 and 1548"
        );
        clock.set(1648);
        let mut v = store.value(&value, &key).unwrap();
        assert_eq!(v.take().unwrap(), None, "{what}");
        assert!(v.modify(|s| s.map_or(Some("new".into()), |_| None)).unwrap(), "{what}");
    }
}

#[test]
fn reads_renew_values_only_with_update_on_read_and_write() {
    let (_dir, backends) = backends();
    let write = ttl();
    let read = ttl().update_on_read_and_write();
    for backend in &backends {
        let what = backend.name();
        let (mut store, clock) = clocked(backend, full());
        let key = store.key(3);
        for (config, renews) in [(&write, false), (&read, true)] {
            let suffix = if renews { "read" } else { "write" };
            let value = ValueStateDescriptor::<u32>::new(format!("value-{suffix}")).with_ttl(config.clone());
            let list = ListStateDescriptor::<u32>::new(format!("list-{suffix}")).with_ttl(config.clone());
            let map = MapStateDescriptor::<u8, u32>::new(format!("map-{suffix}")).with_ttl(config.clone());
            let sum =
                ReducingStateDescriptor::<u32>::new(format!("sum-{suffix}"), |a, b| a + b).with_ttl(config.clone());
            clock.set(1000);
            store.value(&value, &key).unwrap().set(1).unwrap();
            store.list(&list, &key).unwrap().add(1).unwrap();
            store.map(&map, &key).unwrap().put(1, 1).unwrap();
            store.reducing(&sum, &key).unwrap().add(1).unwrap();
            clock.set(1060);
            assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), Some(1));
            assert_eq!(store.list(&list, &key).unwrap().get().unwrap(), vec![1]);
            assert_eq!(store.map(&map, &key).unwrap().get(&1).unwrap(), Some(1));
            assert_eq!(store.reducing(&sum, &key).unwrap().get().unwrap(), Some(1));
            // 1120 is past the write's expiry (1100), before the read's (1160).
            clock.set(1120);
            let expect = |v: u32| renews.then_some(v);
            let context = format!("{what}, {suffix}");
            assert_eq!(
                store.value(&value, &key).unwrap().get().unwrap(),
                expect(1),
                "{context}"
            );
            assert_eq!(
                store.list(&list, &key).unwrap().get().unwrap(),
                expect(1).into_iter().collect::<Vec<_>>(),
                "{context}"
            );
            assert_eq!(store.map(&map, &key).unwrap().get(&1).unwrap(), expect(1), "{context}");
            assert_eq!(
                store.reducing(&sum, &key).unwrap().get().unwrap(),
                expect(1),
                "{context}"
            );
            if renews {
                // Renewed again at 1120: alive until 1220.
                clock.set(1219);
                assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), Some(1), "{context}");
                assert_eq!(
                    store.map(&map, &key).unwrap().entries().unwrap(),
                    vec![(1, 1)],
                    "{context}"
                );
                assert!(store.map(&map, &key).unwrap().contains(&1).unwrap(), "{context}");
                assert_eq!(store.list(&list, &key).unwrap().len().unwrap(), 1, "{context}");
                // len does not renew: the list was last read at 1120.
                clock.set(1220);
                assert!(store.list(&list, &key).unwrap().is_empty().unwrap(), "{context}");
                assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), Some(1), "{context}");
                assert_eq!(store.map(&map, &key).unwrap().len().unwrap(), 1, "{context}");
                // The value was read at 1220, the map last read at 1219.
                clock.set(1319);
                assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), Some(1), "{context}");
                assert_eq!(store.map(&map, &key).unwrap().len().unwrap(), 0, "{context}");
                clock.set(1419);
                assert_eq!(store.value(&value, &key).unwrap().get().unwrap(), None, "{context}");
            }
        }
    }
}

#[test]
fn list_elements_and_map_entries_expire_one_by_one() {
    let (_dir, backends) = backends();
    let config = ttl().disable_incremental_cleanup();
    let list = ListStateDescriptor::<String>::new("list").with_ttl(config.clone());
    let map = MapStateDescriptor::<u8, String>::new("map").with_ttl(config);
    for backend in &backends {
        let what = backend.name();
        let (mut store, clock) = clocked(backend, full());
        let key = store.key(11);
        store.list(&list, &key).unwrap().add("a".into()).unwrap();
        store.map(&map, &key).unwrap().put(1, "a".into()).unwrap();
        clock.set(1050);
        store
            .list(&list, &key)
            .unwrap()
            .add_all(["b".to_string(), "c".to_string()])
            .unwrap();
        store.map(&map, &key).unwrap().put(2, "b".into()).unwrap();
        store.map(&map, &key).unwrap().put(3, "c".into()).unwrap();
        clock.set(1099);
        assert_eq!(
            store.list(&list, &key).unwrap().get().unwrap(),
            ["a", "b", "c"],
            "{what}"
        );
        assert_eq!(store.map(&map, &key).unwrap().len().unwrap(), 3, "{what}");
        clock.set(1100);
        assert_eq!(store.list(&list, &key).unwrap().get().unwrap(), ["b", "c"], "{what}");
        assert_eq!(store.list(&list, &key).unwrap().len().unwrap(), 2, "{what}");
        assert_eq!(store.list_keys(&list).unwrap().len(), 1, "{what}");
        let mut m = store.map(&map, &key).unwrap();
        assert_eq!(m.get(&1).unwrap(), None, "{what}");
        assert!(!m.contains(&1).unwrap(), "{what}");
        assert_eq!(m.remove(&2).unwrap(), Some("b".into()), "{what}");
        let mut entries = m.entries().unwrap();
        entries.sort();
        assert_eq!(entries, vec![(3, "c".into())], "{what}");
        clock.set(1150);
        assert!(store.list(&list, &key).unwrap().is_empty().unwrap(), "{what}");
        assert!(store.list_keys(&list).unwrap().is_empty(), "{what}");
        assert_eq!(store.list(&list, &key).unwrap().get().unwrap(), Vec::<String>::new());
        let m = store.map(&map, &key).unwrap();
        assert!(m.is_empty().unwrap(), "{what}");
        assert_eq!(
            store.entries(),
            0,
            "{what}: expired lists and maps are removed on access"
        );
        // Replacing a list stamps every element.
        store
            .list(&list, &key)
            .unwrap()
            .update(vec!["x".into(), "y".into()])
            .unwrap();
        clock.set(1249);
        assert_eq!(store.list(&list, &key).unwrap().get().unwrap(), ["x", "y"], "{what}");
        clock.set(1250);
        assert!(store.list(&list, &key).unwrap().get().unwrap().is_empty(), "{what}");
    }
}

/// Writes value, list and map state for keys 0..200: keys below 100 at 1000, the
/// others at 1050, and lists of every key one element at each time.
fn fill(
    store: &mut KeyedStateStore<u32>,
    clock: &Clock,
    value: &ValueStateDescriptor<u64>,
    list: &ListStateDescriptor<u64>,
    map: &MapStateDescriptor<u8, u64>,
) {
    for (now, keys) in [(1000, 0..100u32), (1050, 100..200)] {
        clock.set(now);
        for k in keys {
            let key = store.key(k);
            store.value(value, &key).unwrap().set(k as u64).unwrap();
            store.map(map, &key).unwrap().put(0, k as u64).unwrap();
        }
        for k in 0..200 {
            let key = store.key(k);
            store.list(list, &key).unwrap().add(now as u64).unwrap();
        }
    }
}

#[test]
fn full_snapshots_leave_expired_values_out_and_restore_with_their_timestamps() {
    let (_dir, backends) = backends();
    let config = ttl().disable_incremental_cleanup();
    let value = ValueStateDescriptor::<u64>::new("value").with_ttl(config.clone());
    let list = ListStateDescriptor::<u64>::new("list").with_ttl(config.clone());
    let map = MapStateDescriptor::<u8, u64>::new("map").with_ttl(config);
    let plain = ValueStateDescriptor::<u64>::new("plain");
    for from in &backends {
        let (mut store, clock) = clocked(from, full());
        fill(&mut store, &clock, &value, &list, &map);
        let key = store.key(0);
        store.value(&plain, &key).unwrap().set(1).unwrap();
        clock.set(1100);
        let (bytes, handle) = snapshot_of(&mut store);
        assert_eq!(
            snapshot_entries(&bytes, &handle, "value"),
            (100, Some(true)),
            "{}",
            from.name()
        );
        assert_eq!(
            snapshot_entries(&bytes, &handle, "map"),
            (100, Some(true)),
            "{}",
            from.name()
        );
        assert_eq!(
            snapshot_entries(&bytes, &handle, "list"),
            (200, Some(true)),
            "{}",
            from.name()
        );
        assert_eq!(
            snapshot_entries(&bytes, &handle, "plain"),
            (1, Some(false)),
            "{}",
            from.name()
        );

        for to in &backends {
            let what = format!("{} -> {}", from.name(), to.name());
            let (mut restored, clock) = clocked(to, full());
            clock.set(1100);
            restore_into(&mut restored, &bytes, &handle);
            // Timestamps survive: what was written at 1050 expires at 1150.
            clock.set(1149);
            for k in 0..200 {
                let key = restored.key(k);
                let live = (k >= 100).then_some(k as u64);
                assert_eq!(restored.value(&value, &key).unwrap().get().unwrap(), live, "{what} {k}");
                assert_eq!(restored.map(&map, &key).unwrap().get(&0).unwrap(), live, "{what} {k}");
                assert_eq!(restored.list(&list, &key).unwrap().get().unwrap(), vec![1050], "{what}");
            }
            let key = restored.key(0);
            assert_eq!(restored.value(&plain, &key).unwrap().get().unwrap(), Some(1), "{what}");
            clock.set(1150);
            for k in 100..200 {
                let key = restored.key(k);
                assert_eq!(restored.value(&value, &key).unwrap().get().unwrap(), None, "{what}");
                assert_eq!(restored.map(&map, &key).unwrap().get(&0).unwrap(), None, "{what}");
                assert!(restored.list(&list, &key).unwrap().is_empty().unwrap(), "{what}");
            }
        }
    }
}

#[test]
fn snapshots_keep_expired_values_when_told_to_but_reads_still_hide_them() {
    let (_dir, backends) = backends();
    let config = ttl().with_cleanup_in_full_snapshot(false);
    let value = ValueStateDescriptor::<u64>::new("value").with_ttl(config.clone());
    let list = ListStateDescriptor::<u64>::new("list").with_ttl(config.clone());
    let map = MapStateDescriptor::<u8, u64>::new("map").with_ttl(config);
    for backend in &backends {
        let what = backend.name();
        let (mut store, clock) = clocked(backend, full());
        fill(&mut store, &clock, &value, &list, &map);
        clock.set(1100);
        let (bytes, handle) = snapshot_of(&mut store);
        assert_eq!(snapshot_entries(&bytes, &handle, "value").0, 200, "{what}");
        assert_eq!(snapshot_entries(&bytes, &handle, "list").0, 400, "{what}");
        let (mut restored, clock) = clocked(backend, full());
        restore_into(&mut restored, &bytes, &handle);
        clock.set(1100);
        let key = restored.key(0);
        assert_eq!(restored.value(&value, &key).unwrap().get().unwrap(), None, "{what}");
        assert_eq!(restored.list(&list, &key).unwrap().get().unwrap(), vec![1050], "{what}");
    }
}

#[test]
fn heap_incremental_cleanup_removes_keys_that_are_never_read_again() {
    let heap = StateBackend::heap();
    for (config, cleans) in [(ttl(), true), (ttl().disable_incremental_cleanup(), false)] {
        let value = ValueStateDescriptor::<u64>::new("value").with_ttl(config.clone());
        let list = ListStateDescriptor::<u64>::new("list").with_ttl(config.clone());
        let map = MapStateDescriptor::<u8, u64>::new("map").with_ttl(config.clone());
        let (mut store, clock) = clocked(&heap, full());
        fill(&mut store, &clock, &value, &list, &map);
        assert_eq!(store.entries(), 600);
        clock.set(2000);
        // Every access examines about 5 more keys: one access per state cleans a
        // little (and adds the accessed key's entry).
        let key = store.key(1_000_000);
        store.value(&value, &key).unwrap().set(1).unwrap();
        store.list(&list, &key).unwrap().add(1).unwrap();
        store.map(&map, &key).unwrap().put(1, 1).unwrap();
        let after_one = store.entries();
        if cleans {
            assert!(
                (580..600).contains(&after_one),
                "the sweep is incremental: {after_one} left"
            );
        } else {
            assert_eq!(after_one, 603);
        }
        // 200 keys per state take about 40 accesses (empty key groups cost one each).
        for _ in 0..100 {
            store.value(&value, &key).unwrap().set(1).unwrap();
            store.list(&list, &key).unwrap().add(1).unwrap();
            store.map(&map, &key).unwrap().put(1, 1).unwrap();
        }
        let expected = if cleans { 3 } else { 603 };
        assert_eq!(store.entries(), expected, "incremental cleanup: {cleans}");
    }
    // Elements of a list that is partly expired are swept too.
    let list = ListStateDescriptor::<u64>::new("list").with_ttl(ttl().cleanup_incrementally(1000));
    let (mut store, clock) = clocked(&heap, full());
    let key = store.key(1);
    store.list(&list, &key).unwrap().add(1).unwrap();
    clock.set(1050);
    store.list(&list, &key).unwrap().add(2).unwrap();
    clock.set(1100);
    let other = store.key(2);
    store.list(&list, &other).unwrap().add(3).unwrap();
    let (bytes, handle) = {
        // Written without cleanup in the snapshot, the sweep alone removed element 1.
        let mut bytes = Vec::new();
        let handle = store.snapshot().write(&mut bytes).unwrap();
        (bytes, handle)
    };
    assert_eq!(snapshot_entries(&bytes, &handle, "list").0, 2);
}

#[test]
fn rocksdb_compaction_filter_drops_expired_entries() {
    let (_dir, backends) = backends();
    for (config, filters) in [(ttl(), true), (ttl().with_cleanup_in_rocksdb_compaction(false), false)] {
        let value = ValueStateDescriptor::<u64>::new("value").with_ttl(config.clone());
        let list = ListStateDescriptor::<u64>::new("list").with_ttl(config.clone());
        let map = MapStateDescriptor::<u8, u64>::new("map").with_ttl(config.clone());
        let replaced = ListStateDescriptor::<u64>::new("replaced").with_ttl(config.clone());
        for backend in backends.iter().filter(|b| b.is_rocksdb()) {
            let (mut store, clock) = clocked(backend, full());
            fill(&mut store, &clock, &value, &list, &map);
            clock.set(1000);
            for k in 0..50 {
                let key = store.key(k);
                store.list(&replaced, &key).unwrap().update(vec![1, 2]).unwrap();
            }
            // Value 200, map 200, list 200 keys, replaced 50.
            assert_eq!(store.entries(), 650);
            clock.set(1100);
            store.compact();
            // Lists hold an element written at 1050: kept whole. Replaced lists
            // expired entirely; half of the values and map entries too.
            let expected = if filters { 100 + 100 + 200 } else { 650 };
            assert_eq!(store.entries(), expected, "{} filters: {filters}", backend.name());
            clock.set(1150);
            store.compact();
            let expected = if filters { 0 } else { 650 };
            assert_eq!(store.entries(), expected, "{} filters: {filters}", backend.name());
        }
    }
}

#[test]
fn ttl_state_restored_without_ttl_and_the_reverse_is_a_named_error() {
    let (_dir, backends) = backends();
    let with = ValueStateDescriptor::<u64>::new("sessions").with_ttl(ttl());
    let without = ValueStateDescriptor::<u64>::new("sessions");
    let list_with = ListStateDescriptor::<u64>::new("events").with_ttl(ttl());
    let list_without = ListStateDescriptor::<u64>::new("events");
    for from in &backends {
        for (write_ttl, read_ttl) in [(true, false), (false, true)] {
            let (mut store, _clock) = clocked(from, full());
            let key = store.key(1);
            let (w, lw) = if write_ttl {
                (&with, &list_with)
            } else {
                (&without, &list_without)
            };
            store.value(w, &key).unwrap().set(5).unwrap();
            store.list(lw, &key).unwrap().add(5).unwrap();
            // Within one run too.
            let (r, lr) = if read_ttl {
                (&with, &list_with)
            } else {
                (&without, &list_without)
            };
            let e = store.value(r, &key).err().unwrap();
            assert!(
                matches!(&e, StateError::TtlMismatch { name, .. } if name == "sessions"),
                "{e}"
            );
            let (bytes, handle) = snapshot_of(&mut store);
            for to in &backends {
                let what = format!("{} -> {}, written with TTL: {write_ttl}", from.name(), to.name());
                let (mut restored, _clock) = clocked(to, full());
                let mut error = None;
                for block in handle.blocks(&bytes) {
                    if let Err(e) = restored.restore_block(block.unwrap()) {
                        error = Some(e);
                    }
                }
                assert!(error.is_none(), "{what}: {error:?}");
                let key = restored.key(1);
                let e = restored.value(r, &key).err().unwrap();
                assert!(
                    matches!(&e, StateError::TtlMismatch { name, stored_with_ttl } if name == "sessions" && *stored_with_ttl == write_ttl),
                    "{what}: {e}"
                );
                assert!(e.to_string().contains("'sessions'"), "{e}");
                let e = restored.list(lr, &key).err().unwrap();
                assert!(
                    e.to_string().contains("'events'") && e.to_string().contains("time-to-live"),
                    "{e}"
                );
                // The descriptor it was written with still works.
                assert_eq!(restored.value(w, &key).unwrap().get().unwrap(), Some(5), "{what}");
            }
        }
    }
}

#[test]
fn incremental_snapshots_carry_ttl_states() {
    let (dir, backends) = backends();
    let files = DirFiles(dir.path().join("shared-ttl"));
    std::fs::create_dir_all(&files.0).unwrap();
    let value = ValueStateDescriptor::<u64>::new("value").with_ttl(ttl());
    let list = ListStateDescriptor::<u64>::new("list").with_ttl(ttl());
    let map = MapStateDescriptor::<u8, u64>::new("map").with_ttl(ttl());
    let (mut store, clock) = clocked(&backends[2], full());
    fill(&mut store, &clock, &value, &list, &map);
    let (handle, section) = incremental(&mut store, &files);
    let native = handle.native.clone().unwrap();
    let mut ttl_states = native.ttl_states.clone();
    ttl_states.sort();
    assert_eq!(ttl_states, ["list", "map", "value"]);
    let snapshots = [(&native, section.as_slice())];
    // Opened as they are (same key groups), and read out of the files (halves).
    for (backend, range) in [
        (&backends[2], full()),
        (&backends[0], KeyGroupRange::new(0, 63)),
        (&backends[1], KeyGroupRange::new(64, 127)),
    ] {
        let what = format!("{} {range:?}", backend.name());
        let (mut restored, clock) = clocked(backend, range);
        restored.restore_native(&snapshots, &files).unwrap();
        clock.set(1100);
        for k in 0..200 {
            let key = restored.key(k);
            if !range.contains(key.key_group()) {
                continue;
            }
            let live = (k >= 100).then_some(k as u64);
            assert_eq!(restored.value(&value, &key).unwrap().get().unwrap(), live, "{what}");
            assert_eq!(restored.list(&list, &key).unwrap().get().unwrap(), vec![1050], "{what}");
        }
        let key = (0..200)
            .map(|k| restored.key(k))
            .find(|k| range.contains(k.key_group()))
            .unwrap();
        let e = restored
            .map(&MapStateDescriptor::<u8, u64>::new("map"), &key)
            .err()
            .unwrap();
        assert!(matches!(e, StateError::TtlMismatch { .. }), "{what}: {e}");
    }
    // A store that adopted the files compacts with the TTL filter of the descriptor.
    let (mut adopted, clock) = clocked(&backends[2], full());
    adopted.restore_native(&snapshots, &files).unwrap();
    let key = adopted.key(0);
    adopted.value(&value, &key).unwrap();
    clock.set(1150);
    adopted.compact();
    assert_eq!(
        adopted.entries(),
        400,
        "value expired; lists and map untouched until registered"
    );
}

#[test]
fn blocks_without_ttl_keep_their_old_encoding() {
    let state = |name: &str, ttl| StateBlock {
        name: name.into(),
        kind: StateKind::Value,
        entries: vec![1, 2, 3],
        ttl,
    };
    let plain = KeyGroupBlock {
        key_group: 3,
        states: vec![state("a", false), state("b", false)],
    };
    assert_eq!(plain.to_bytes().unwrap(), crate::codec::encode(&plain).unwrap());
    assert_eq!(KeyGroupBlock::from_bytes(&plain.to_bytes().unwrap()).unwrap(), plain);
    let mixed = KeyGroupBlock {
        key_group: 3,
        states: vec![state("a", false), state("b", true)],
    };
    let bytes = mixed.to_bytes().unwrap();
    assert!(bytes.len() > plain.to_bytes().unwrap().len());
    assert_eq!(KeyGroupBlock::from_bytes(&bytes).unwrap(), mixed);
    assert!(KeyGroupBlock::from_bytes(&bytes[..bytes.len() - 1]).is_err());
}
