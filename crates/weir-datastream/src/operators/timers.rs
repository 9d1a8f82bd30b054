//! Timers of keyed operators: per key (and namespace, e.g. a window), in event time
//! or processing time, deduplicated per key, namespace and time.
//!
//! Each key's timers are keyed state (so they are checkpointed by key group and
//! restored with the key); an in-memory index ordered by time finds the due ones and
//! is rebuilt from the state after a restore.

use smallvec::{smallvec, SmallVec};
use std::collections::BTreeMap;
use std::hash::Hash;
use weir_core::{Data, Timestamp};
use weir_state::{CurrentKey, KeyedStateStore, StateError, ValueStateDescriptor};

/// Which clock a timer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeDomain {
    /// Fires when the watermark passes its time.
    EventTime,
    /// Fires when the wall clock passes its time.
    ProcessingTime,
}

type Index<K, N> = BTreeMap<Timestamp, Vec<(K, N)>>;

/// A key's timers as kept in keyed state: mostly one or two, kept inline in the
/// state entry (no allocation, no second cache miss).
type KeyTimers<N> = SmallVec<[(Timestamp, N); 2]>;
type Stored<N> = ValueStateDescriptor<KeyTimers<N>>;

/// The timers of one keyed operator subtask, of keys `K` with a namespace `N` (a
/// window, or `()`), kept in the operator's keyed state.
pub struct Timers<K, N> {
    event_state: Stored<N>,
    processing_state: Stored<N>,
    event: Index<K, N>,
    processing: Index<K, N>,
}

impl<K: Data + Hash + Eq, N: Data + PartialEq> Timers<K, N> {
    /// Timers stored under state names derived from `name` (unique per operator).
    pub fn new(name: &str) -> Self {
        Timers {
            event_state: ValueStateDescriptor::new(format!("__timers/{name}/event")),
            processing_state: ValueStateDescriptor::new(format!("__timers/{name}/processing")),
            event: BTreeMap::new(),
            processing: BTreeMap::new(),
        }
    }

    fn parts(&mut self, domain: TimeDomain) -> (&Stored<N>, &mut Index<K, N>) {
        match domain {
            TimeDomain::EventTime => (&self.event_state, &mut self.event),
            TimeDomain::ProcessingTime => (&self.processing_state, &mut self.processing),
        }
    }

    /// Rebuilds the index from restored state.
    pub fn restore(&mut self, store: &mut KeyedStateStore<K>) -> Result<(), StateError> {
        for domain in [TimeDomain::EventTime, TimeDomain::ProcessingTime] {
            let (descriptor, index) = self.parts(domain);
            for (key, timers) in store.value_entries(descriptor)? {
                for (time, namespace) in timers {
                    index.entry(time).or_default().push((key.key().clone(), namespace));
                }
            }
        }
        Ok(())
    }

    /// Registers a timer; returns false when the same timer already existed.
    pub fn register(
        &mut self,
        store: &mut KeyedStateStore<K>,
        key: &CurrentKey<K>,
        domain: TimeDomain,
        namespace: N,
        time: Timestamp,
    ) -> Result<bool, StateError> {
        let (descriptor, index) = self.parts(domain);
        let mut state = store.value(descriptor, key)?;
        if let Some(timers) = state.get_ref()? {
            if timers.iter().any(|(t, n)| *t == time && *n == namespace) {
                return Ok(false);
            }
        }
        let entry = (time, namespace.clone());
        state.modify(|timers| match timers {
            Some(timers) => {
                timers.push(entry);
                None
            }
            None => Some(smallvec![entry]),
        })?;
        index.entry(time).or_default().push((key.key().clone(), namespace));
        Ok(true)
    }

    /// Deletes a timer (nothing happens if it does not exist).
    pub fn delete(
        &mut self,
        store: &mut KeyedStateStore<K>,
        key: &CurrentKey<K>,
        domain: TimeDomain,
        namespace: &N,
        time: Timestamp,
    ) -> Result<(), StateError> {
        let (descriptor, index) = self.parts(domain);
        let mut state = store.value(descriptor, key)?;
        let Some(mut timers) = state.get()? else {
            return Ok(());
        };
        let before = timers.len();
        timers.retain(|(t, n)| !(*t == time && n == namespace));
        if timers.len() == before {
            return Ok(());
        }
        if timers.is_empty() {
            state.clear()?;
        } else {
            state.set(timers)?;
        }
        if let Some(entries) = index.get_mut(&time) {
            if let Some(position) = entries.iter().position(|(k, n)| k == key.key() && n == namespace) {
                entries.swap_remove(position);
            }
            if entries.is_empty() {
                index.remove(&time);
            }
        }
        Ok(())
    }

    /// Removes and returns the earliest timer at or before `until`.
    pub fn pop_due(
        &mut self,
        store: &mut KeyedStateStore<K>,
        domain: TimeDomain,
        until: Timestamp,
    ) -> Result<Option<(CurrentKey<K>, N, Timestamp)>, StateError> {
        let (descriptor, index) = self.parts(domain);
        let Some(mut first) = index.first_entry() else {
            return Ok(None);
        };
        let time = *first.key();
        if time > until {
            return Ok(None);
        }
        let Some((key, namespace)) = first.get_mut().pop() else {
            first.remove();
            return Ok(None);
        };
        if first.get().is_empty() {
            first.remove();
        }
        let key = store.key(key);
        let mut state = store.value(descriptor, &key)?;
        if let Some(mut timers) = state.get()? {
            timers.retain(|(t, n)| !(*t == time && *n == namespace));
            if timers.is_empty() {
                state.clear()?;
            } else {
                state.set(timers)?;
            }
        }
        Ok(Some((key, namespace, time)))
    }

    /// Removes every timer of `domain` and returns them in time order (at the end
    /// of input, when the clock will not advance any more).
    pub fn drain(
        &mut self,
        store: &mut KeyedStateStore<K>,
        domain: TimeDomain,
    ) -> Result<Vec<(CurrentKey<K>, N, Timestamp)>, StateError> {
        let mut all = Vec::new();
        while let Some(timer) = self.pop_due(store, domain, Timestamp::MAX)? {
            all.push(timer);
        }
        Ok(all)
    }

    /// The earliest processing-time timer.
    pub fn next_processing_time(&self) -> Option<Timestamp> {
        self.processing.keys().next().copied()
    }

    /// Number of timers registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.event.values().map(Vec::len).sum::<usize>() + self.processing.values().map(Vec::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_core::keygroup::KeyGroupRange;

    #[test]
    fn timers_are_deduplicated_ordered_and_survive_restore() {
        let mut store = KeyedStateStore::<u32>::new(128, KeyGroupRange::new(0, 127));
        let mut timers = Timers::<u32, ()>::new("t");
        let a = store.key(1);
        let b = store.key(2);
        assert!(timers.register(&mut store, &a, TimeDomain::EventTime, (), 30).unwrap());
        assert!(!timers.register(&mut store, &a, TimeDomain::EventTime, (), 30).unwrap());
        timers.register(&mut store, &b, TimeDomain::EventTime, (), 10).unwrap();
        timers.register(&mut store, &b, TimeDomain::EventTime, (), 20).unwrap();
        timers.delete(&mut store, &b, TimeDomain::EventTime, &(), 20).unwrap();
        timers
            .register(&mut store, &a, TimeDomain::ProcessingTime, (), 5)
            .unwrap();
        assert_eq!(timers.len(), 3);

        // Snapshot and restore into a fresh store: the index comes back.
        let mut bytes = Vec::new();
        let handle = store.snapshot().write(&mut bytes).unwrap();
        let mut restored = KeyedStateStore::<u32>::new(128, KeyGroupRange::new(0, 127));
        for block in handle.blocks(&bytes) {
            restored.restore_block(block.unwrap()).unwrap();
        }
        let mut again = Timers::<u32, ()>::new("t");
        again.restore(&mut restored).unwrap();
        let fired: Vec<(u32, Timestamp)> = std::iter::from_fn(|| {
            again
                .pop_due(&mut restored, TimeDomain::EventTime, 100)
                .unwrap()
                .map(|(k, _, t)| (*k.key(), t))
        })
        .collect();
        assert_eq!(fired, vec![(2, 10), (1, 30)]);
        assert_eq!(again.next_processing_time(), Some(5));
        // Fired timers are gone from state too.
        let mut third = Timers::<u32, ()>::new("t");
        third.restore(&mut restored).unwrap();
        assert_eq!(third.len(), 1);
    }
}
