//! Which stream sequence numbers the reader has emitted, to drop redeliveries.
//!
//! A sequence leaves the set only when the consumer's *ack floor* passes it, never
//! when the acknowledgement of one delivery is confirmed: the server may have sent
//! another delivery of the same message (its `ack_wait` expired) before it
//! processed the acknowledgement, and that delivery can still be on its way. Any
//! delivery at or below the ack floor is dropped: the floor moves only over
//! messages acknowledged, and the reader acknowledges only messages that a
//! completed checkpoint covers, so each was emitted before.

use weir_connector_api::dedup::{Dedup, StoredId};

/// Acknowledgements are valid across reconnects: one generation for the [`Dedup`].
const GENERATION: u64 = 1;

/// The emitted sequences above the ack floor.
#[derive(Debug)]
pub(crate) struct Sequences {
    emitted: Dedup<u64>,
    floor: u64,
}

impl Sequences {
    /// The set stored with a checkpoint (of every subtask); the floor is learnt
    /// from the server when the consumer is bound.
    pub(crate) fn restore(stored: impl IntoIterator<Item = StoredId<u64>>) -> Self {
        Sequences {
            emitted: Dedup::restore(stored).without_staleness(),
            floor: 0,
        }
    }

    /// A delivery of `sequence`: `true` if it must be emitted, `false` if it was
    /// emitted before (a redelivery).
    pub(crate) fn deliver(&mut self, sequence: u64) -> bool {
        sequence > self.floor && self.emitted.deliver(sequence, GENERATION)
    }

    /// The server reports every message up to `floor` acknowledged.
    pub(crate) fn ack_floor(&mut self, floor: u64) {
        if floor > self.floor {
            self.floor = floor;
            self.emitted.forget(|sequence| *sequence <= floor);
        }
    }

    /// What to store with checkpoint `checkpoint_id`.
    pub(crate) fn snapshot(&mut self, checkpoint_id: u64) -> Vec<StoredId<u64>> {
        self.emitted.snapshot(checkpoint_id)
    }

    /// Sequences kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.emitted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_sent_before_the_ack_was_processed_is_dropped() {
        // The run killed after checkpoint 1 completed, before its acks: restored
        // from it, the reader gets 499 again after ack_wait and drops it.
        let mut before = Sequences::restore([]);
        before.ack_floor(0);
        assert!(before.deliver(499));
        let stored = before.snapshot(1);
        let mut after = Sequences::restore(stored);
        after.ack_floor(0);
        assert!(!after.deliver(499));
        after.snapshot(2);
        // Checkpoint 2 completes and its acks are confirmed, but the server had
        // already sent a third delivery of 499 (ack_wait expired again) before it
        // processed the ack. The floor moves past 499 first...
        after.ack_floor(500);
        assert_eq!(after.len(), 0);
        // ...and the late delivery is still a redelivery.
        assert!(!after.deliver(499));
        assert!(after.deliver(501));
    }

    #[test]
    fn a_confirmed_ack_above_the_floor_does_not_forget() {
        let mut sequences = Sequences::restore([]);
        for sequence in 1..=4 {
            assert!(sequences.deliver(sequence));
        }
        sequences.snapshot(1);
        // 1 is still unacknowledged (the floor stays at 0): 2..4 stay too.
        sequences.ack_floor(0);
        assert!(!sequences.deliver(3));
        sequences.ack_floor(2);
        assert_eq!(sequences.len(), 2);
        assert!(!sequences.deliver(2), "at or below the floor");
        assert!(!sequences.deliver(4));
        assert!(sequences.deliver(5));
    }

    #[test]
    fn the_floor_never_moves_back() {
        let mut sequences = Sequences::restore([]);
        sequences.ack_floor(10);
        sequences.ack_floor(3);
        assert!(!sequences.deliver(7));
        assert!(sequences.deliver(11));
    }
}
