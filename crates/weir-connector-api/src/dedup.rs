//! Exactly-once reading of an acknowledging queue (RabbitMQ, NATS JetStream):
//! the ids of the messages emitted and not yet known to be acknowledged (message
//! ids, stream sequence numbers) are kept in the reader's checkpointed state, so
//! that a message the broker redelivers after a restore, but which was emitted
//! before the restored checkpoint, is dropped.
//!
//! A reader acknowledges messages only when a checkpoint that covers them
//! completes. Then:
//!
//! * [`Dedup::deliver`] for each delivery says whether to emit it;
//! * [`Dedup::snapshot`] at a barrier returns the [`StoredId`]s to store with the
//!   checkpoint ([`Dedup::restore`] takes them back, from every subtask's state);
//! * [`Dedup::confirmed`] once the broker has processed the acknowledgements of a
//!   completed checkpoint forgets the ids that cannot come back.
//!
//! Every entry remembers the checkpoint (epoch) that covers its latest delivery
//! and the *generation* it was delivered in (a channel or connection whose
//! acknowledgements are valid; a broken channel's are void, and the broker
//! redelivers). An entry leaves the set only when the acknowledgement of that
//! delivery was confirmed in the same generation, or, for entries of an older
//! generation or of a restored checkpoint that were never delivered again,
//! [`STALE_CHECKPOINTS`] confirmed checkpoints later (unless
//! [`Dedup::without_staleness`]: then only [`Dedup::forget`] removes them, e.g.
//! at JetStream's ack floor).
//!
//! Exactly-once needs one reader per queue (a redelivery may go to any consumer)
//! and ids that a publisher never reuses within the kept window.
//!
//! ```
//! use weir_connector_api::dedup::Dedup;
//!
//! let mut dedup = Dedup::default();
//! assert!(dedup.deliver("m-1", 1));
//! assert!(dedup.deliver("m-2", 1));
//! let stored = dedup.snapshot(7); // stored with checkpoint 7
//! // The job fails before checkpoint 7's acks reach the broker and is restored
//! // from it: the broker redelivers m-1 and m-2, which were emitted.
//! let mut restored = Dedup::restore(stored);
//! assert!(!restored.deliver("m-1", 1));
//! assert!(!restored.deliver("m-2", 1));
//! assert!(restored.deliver("m-3", 1));
//! restored.snapshot(8);
//! restored.confirmed(8, 1); // checkpoint 8's acks were processed
//! assert!(restored.is_empty());
//! ```

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
    fn without_staleness_entries_stay_until_forgotten() {
        let mut dedup = Dedup::default().without_staleness();
        for sequence in 1..=4u64 {
            dedup.deliver(sequence, 1);
        }
        dedup.snapshot(1);
        // Another generation's confirmations never remove them, however late.
        dedup.confirmed(1 + 10 * STALE_CHECKPOINTS, 2);
        assert_eq!(dedup.len(), 4);
        // The ack floor: 1 and 2 can never come back.
        dedup.forget(|sequence| *sequence <= 2);
        assert_eq!(dedup.len(), 2);
        assert!(!dedup.deliver(3, 2));
        assert!(dedup.deliver(5, 2));
    }

    #[test]
    fn restored_states_of_several_subtasks_merge_to_the_latest_epoch() {
        let stored = vec![
            StoredId { id: 9u64, epoch: 3 },
            StoredId { id: 9u64, epoch: 5 },
            StoredId { id: 8u64, epoch: 2 },
        ];
        let mut dedup = Dedup::restore(stored);
        assert_eq!(dedup.len(), 2);
        // 8 (epoch 2) is stale ten checkpoints after 2; 9 (epoch 5) not yet.
        dedup.confirmed(2 + STALE_CHECKPOINTS, 1);
        assert_eq!(dedup.len(), 1);
        assert!(!dedup.deliver(9, 1));
    }

    #[test]
    fn an_open_entry_is_never_forgotten_by_a_confirmation() {
        let mut dedup = Dedup::default();
        dedup.deliver("a", 1);
        dedup.snapshot(1);
        dedup.deliver("a", 1); // redelivered after checkpoint 1: open again
        dedup.confirmed(1 + STALE_CHECKPOINTS, 1);
        assert_eq!(dedup.len(), 1, "its latest delivery is covered by no checkpoint yet");
        dedup.snapshot(20);
        dedup.confirmed(20, 1);
        assert!(dedup.is_empty());
    }

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
