//! The ids of messages emitted but not yet known to be acknowledged, kept in the
//! reader's checkpointed state so that a redelivered message already emitted
//! before the restored checkpoint is dropped.
//!
//! Every entry remembers the checkpoint (epoch) that covers its latest delivery
//! and the generation it was delivered in. An entry leaves the set only
//! when the broker has processed the acknowledgement of that delivery (the ack is
//! followed by a round trip on the same channel), or, for entries of an older
//! channel or of a restored checkpoint that were never delivered again,
//! [`STALE_CHECKPOINTS`] confirmed checkpoints later (unless
//! [`Dedup::without_staleness`]).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;

/// Entries of an older channel (or restored) that no redelivery refreshed are
/// forgotten after this many confirmed checkpoints.
pub const STALE_CHECKPOINTS: u64 = 10;

/// Epoch of entries not yet covered by a checkpoint.
const OPEN: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    epoch: u64,
    generation: u64,
}

/// One id with the checkpoint covering its latest delivery, as stored in a
/// checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredId<K> {
    /// The message id.
    pub id: K,
    /// The checkpoint that covers its latest delivery.
    pub epoch: u64,
}

/// The set of emitted, unconfirmed message ids.
#[derive(Debug)]
pub struct Dedup<K> {
    entries: HashMap<K, Entry>,
    open: Vec<K>,
    stale_after: Option<u64>,
}

impl<K> Default for Dedup<K> {
    fn default() -> Self {
        Dedup {
            entries: HashMap::new(),
            open: Vec::new(),
            stale_after: Some(STALE_CHECKPOINTS),
        }
    }
}

impl<K: Clone + Eq + Hash> Dedup<K> {
    /// A set restored from checkpointed entries (generation 0: no live channel).
    pub fn restore(stored: impl IntoIterator<Item = StoredId<K>>) -> Self {
        let mut dedup = Dedup::default();
        for StoredId { id, epoch } in stored {
            let entry = dedup.entries.entry(id).or_insert(Entry { epoch, generation: 0 });
            entry.epoch = entry.epoch.max(epoch);
        }
        dedup
    }

    /// Never forgets entries by age: they leave only when confirmed or
    /// [`forget`](Dedup::forget)ten (JetStream redelivers after `ack_wait`, which
    /// may be many checkpoints; its ack floor tells what can never come back).
    pub fn without_staleness(mut self) -> Self {
        self.stale_after = None;
        self
    }

    /// Forgets the ids for which `gone` holds (e.g. at or below the consumer's ack
    /// floor: acknowledged, never delivered again).
    pub fn forget(&mut self, gone: impl Fn(&K) -> bool) {
        self.entries.retain(|id, _| !gone(id));
    }

    /// A delivery of `id` on channel `generation`: `true` if it must be emitted,
    /// `false` if it was emitted before (a redelivery). Either way the entry now
    /// waits for the acknowledgement of this delivery.
    pub fn deliver(&mut self, id: K, generation: u64) -> bool {
        let fresh = !self.entries.contains_key(&id);
        self.entries.insert(
            id.clone(),
            Entry {
                epoch: OPEN,
                generation,
            },
        );
        self.open.push(id);
        fresh
    }

    /// Checkpoint `checkpoint_id` covers every delivery so far; returns the
    /// entries to store in it.
    pub fn snapshot(&mut self, checkpoint_id: u64) -> Vec<StoredId<K>> {
        for id in self.open.drain(..) {
            if let Some(entry) = self.entries.get_mut(&id) {
                if entry.epoch == OPEN {
                    entry.epoch = checkpoint_id;
                }
            }
        }
        self.entries
            .iter()
            .map(|(id, entry)| StoredId {
                id: id.clone(),
                epoch: entry.epoch,
            })
            .collect()
    }

    /// The broker processed the acknowledgement of every delivery on channel
    /// `generation` covered by checkpoint `checkpoint_id`: those ids cannot come
    /// back.
    pub fn confirmed(&mut self, checkpoint_id: u64, generation: u64) {
        self.entries.retain(|_, entry| {
            let covered = entry.epoch != OPEN && entry.epoch <= checkpoint_id;
            let acked = covered && entry.generation == generation;
            let stale = covered
                && self
                    .stale_after
                    .is_some_and(|after| entry.epoch.saturating_add(after) <= checkpoint_id);
            !(acked || stale)
        });
    }

    /// Ids kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no id is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeliveries_are_dropped_until_their_ack_is_confirmed() {
        let mut dedup = Dedup::default();
        assert!(dedup.deliver("a", 1));
        assert!(dedup.deliver("b", 1));
        let stored = dedup.snapshot(1);
        assert_eq!(stored.len(), 2);
        assert!(dedup.deliver("c", 1));
        // Checkpoint 1 is acknowledged: a and b cannot come back, c can.
        dedup.confirmed(1, 1);
        assert_eq!(dedup.len(), 1);
        assert!(!dedup.deliver("c", 1));
    }

    #[test]
    fn a_restored_set_drops_what_the_checkpoint_emitted() {
        let mut before = Dedup::default();
        for id in ["a", "b"] {
            before.deliver(id.to_string(), 1);
        }
        let stored = before.snapshot(4);
        let mut after = Dedup::restore(stored);
        // The broker redelivers a, b (emitted before the checkpoint) and c (after).
        assert!(!after.deliver("a".to_string(), 1));
        assert!(!after.deliver("b".to_string(), 1));
        assert!(after.deliver("c".to_string(), 1));
        after.snapshot(5);
        after.confirmed(5, 1);
        assert!(after.is_empty());
    }

    #[test]
    fn deliveries_of_a_lost_channel_stay_until_redelivered_or_stale() {
        let mut dedup = Dedup::default();
        dedup.deliver(1u64, 1);
        dedup.deliver(2u64, 1);
        dedup.snapshot(1);
        // The channel broke: its acknowledgements are void; the broker requeues.
        dedup.confirmed(1, 2);
        assert_eq!(dedup.len(), 2);
        assert!(!dedup.deliver(1, 2));
        dedup.snapshot(2);
        dedup.confirmed(2, 2);
        assert_eq!(dedup.len(), 1, "2 was never redelivered");
        dedup.confirmed(1 + STALE_CHECKPOINTS, 2);
        assert!(dedup.is_empty());
    }
}
