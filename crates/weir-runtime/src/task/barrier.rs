//! Barrier handling at tasks with input channels: alignment, unaligned channel
//! state, and at-least-once counting.
//!
//! The handler decides *when* a task snapshots for checkpoint *n*:
//!
//! * **Aligned** barriers: a channel that delivered barrier *n* is blocked until every
//!   channel has; then the task snapshots, forwards the barrier and unblocks. With an
//!   alignment timeout, an alignment that takes too long turns unaligned.
//! * **Unaligned** barriers: the first barrier *n* makes the task snapshot at once and
//!   forward the barrier (overtaking its output). From then on, every data buffer that
//!   belongs before barrier *n* but was not yet processed is recorded as *channel
//!   state*: the buffers the barrier overtook on its own channel, and everything other
//!   channels deliver until their barrier *n* arrives. When every channel has
//!   delivered barrier *n*, the recording is complete.
//! * **At-least-once**: nothing is blocked; the task snapshots when every channel has
//!   delivered barrier *n*, having processed whatever the early channels sent after it.
//!
//! Closed channels count as having delivered every barrier.

use crate::message::CheckpointBarrier;
use std::time::{Duration, Instant};
use weir_core::CheckpointMode;

/// Access to the gate(s) of a task, by global channel index.
pub(crate) trait Gates {
    fn block(&mut self, channel: usize);
    fn unblock_all(&mut self);
    fn is_closed(&self, channel: usize) -> bool;
}

struct Alignment {
    barrier: CheckpointBarrier,
    received: Vec<bool>,
    started: Instant,
}

struct Recording {
    checkpoint_id: u64,
    received: Vec<bool>,
    overtaken: Vec<usize>,
    entries: Vec<(usize, Vec<u8>)>,
}

impl Recording {
    fn complete(&self) -> bool {
        self.received.iter().all(|r| *r) && self.overtaken.iter().all(|o| *o == 0)
    }
}

/// Completed channel state of one checkpoint: `(global channel, encoded buffer)`.
pub(crate) type ChannelState = (u64, Vec<(usize, Vec<u8>)>);

pub(crate) struct BarrierHandler {
    channels: usize,
    block_channels: bool,
    alignment_timeout: Option<Duration>,
    alignment: Option<Alignment>,
    recordings: Vec<Recording>,
    last_snapshot: u64,
}

impl BarrierHandler {
    pub(crate) fn new(channels: usize, mode: CheckpointMode, alignment_timeout: Option<Duration>) -> Self {
        BarrierHandler {
            channels,
            block_channels: mode != CheckpointMode::AtLeastOnce,
            alignment_timeout: if mode == CheckpointMode::Aligned {
                alignment_timeout
            } else {
                None
            },
            alignment: None,
            recordings: Vec::new(),
            last_snapshot: 0,
        }
    }

    /// Whether data buffers must be offered to [`record`](Self::record).
    #[inline]
    pub(crate) fn recording(&self) -> bool {
        !self.recordings.is_empty()
    }

    /// When the current alignment times out, if it can.
    pub(crate) fn alignment_deadline(&self) -> Option<Instant> {
        let timeout = self.alignment_timeout?;
        self.alignment
            .as_ref()
            .map(|a| weir_core::time::deadline(a.started, timeout))
    }

    /// A barrier arrived on `channel`. Returns the barrier to snapshot for (as it is
    /// to be forwarded), if the task must snapshot now.
    pub(crate) fn on_barrier(
        &mut self,
        channel: usize,
        barrier: CheckpointBarrier,
        overtaken: usize,
        gates: &mut dyn Gates,
    ) -> Option<CheckpointBarrier> {
        let id = barrier.checkpoint_id;
        if let Some(recording) = self.recordings.iter_mut().find(|r| r.checkpoint_id == id) {
            recording.received[channel] = true;
            recording.overtaken[channel] = overtaken;
            return None;
        }
        if id <= self.last_snapshot {
            return None; // stale (aborted or subsumed)
        }
        if barrier.unaligned {
            let received = match self.alignment.take() {
                Some(a) if a.barrier.checkpoint_id == id => {
                    gates.unblock_all();
                    a.received
                }
                Some(_) => {
                    gates.unblock_all();
                    vec![false; self.channels]
                }
                None => vec![false; self.channels],
            };
            return Some(self.start_recording(barrier, received, Some((channel, overtaken)), gates));
        }
        match &mut self.alignment {
            Some(a) if a.barrier.checkpoint_id == id => {}
            Some(a) if a.barrier.checkpoint_id > id => return None,
            _ => {
                // A newer checkpoint replaces an unfinished older alignment.
                gates.unblock_all();
                self.alignment = Some(Alignment {
                    barrier,
                    received: vec![false; self.channels],
                    started: Instant::now(),
                });
            }
        }
        let alignment = self.alignment.as_mut()?;
        alignment.received[channel] = true;
        if self.block_channels {
            gates.block(channel);
        }
        self.try_complete_alignment(gates)
    }

    fn try_complete_alignment(&mut self, gates: &mut dyn Gates) -> Option<CheckpointBarrier> {
        let alignment = self.alignment.as_ref()?;
        let done = alignment
            .received
            .iter()
            .enumerate()
            .all(|(c, r)| *r || gates.is_closed(c));
        if !done {
            return None;
        }
        let barrier = alignment.barrier;
        self.alignment = None;
        gates.unblock_all();
        self.last_snapshot = barrier.checkpoint_id;
        Some(barrier)
    }

    fn start_recording(
        &mut self,
        barrier: CheckpointBarrier,
        mut received: Vec<bool>,
        arrival: Option<(usize, usize)>,
        gates: &mut dyn Gates,
    ) -> CheckpointBarrier {
        let mut overtaken = vec![0; self.channels];
        if let Some((channel, count)) = arrival {
            received[channel] = true;
            overtaken[channel] = count;
        }
        for (c, r) in received.iter_mut().enumerate() {
            if gates.is_closed(c) {
                *r = true;
            }
        }
        self.recordings.push(Recording {
            checkpoint_id: barrier.checkpoint_id,
            received,
            overtaken,
            entries: Vec::new(),
        });
        self.last_snapshot = barrier.checkpoint_id;
        barrier.as_unaligned()
    }

    /// Turns an alignment that has waited past the timeout into an unaligned
    /// checkpoint; returns the barrier to snapshot for.
    pub(crate) fn check_timeout(&mut self, now: Instant, gates: &mut dyn Gates) -> Option<CheckpointBarrier> {
        let deadline = self.alignment_deadline()?;
        if now < deadline {
            return None;
        }
        let alignment = self.alignment.take()?;
        gates.unblock_all();
        tracing::debug!(
            checkpoint = alignment.barrier.checkpoint_id,
            "alignment timed out; switching to an unaligned checkpoint"
        );
        Some(self.start_recording(alignment.barrier, alignment.received, None, gates))
    }

    /// Channel `channel` closed: it delivers no more barriers.
    pub(crate) fn on_channel_closed(&mut self, channel: usize, gates: &mut dyn Gates) -> Option<CheckpointBarrier> {
        for recording in &mut self.recordings {
            recording.received[channel] = true;
            recording.overtaken[channel] = 0;
        }
        self.try_complete_alignment(gates)
    }

    /// Offers a data buffer from `channel`, before it is processed; `encode` is called
    /// once if some recording needs the buffer.
    pub(crate) fn record(&mut self, channel: usize, encode: impl FnOnce() -> Vec<u8>) {
        let mut encoded: Option<Vec<u8>> = None;
        let mut encode = Some(encode);
        for recording in &mut self.recordings {
            let wanted = if !recording.received[channel] {
                true
            } else if recording.overtaken[channel] > 0 {
                recording.overtaken[channel] -= 1;
                true
            } else {
                false
            };
            if wanted {
                if encoded.is_none() {
                    if let Some(f) = encode.take() {
                        encoded = Some(f());
                    }
                }
                if let Some(bytes) = &encoded {
                    recording.entries.push((channel, bytes.clone()));
                }
            }
        }
    }

    /// Recordings that are complete, removed from the handler.
    pub(crate) fn take_completed(&mut self) -> Vec<ChannelState> {
        let mut done = Vec::new();
        let mut index = 0;
        while index < self.recordings.len() {
            if self.recordings[index].complete() {
                let r = self.recordings.remove(index);
                done.push((r.checkpoint_id, r.entries));
            } else {
                index += 1;
            }
        }
        done
    }

    /// Checkpoint `checkpoint_id` was aborted: stop aligning or recording for it.
    pub(crate) fn abort(&mut self, checkpoint_id: u64, gates: &mut dyn Gates) {
        if self
            .alignment
            .as_ref()
            .is_some_and(|a| a.barrier.checkpoint_id <= checkpoint_id)
        {
            self.alignment = None;
            gates.unblock_all();
        }
        self.recordings.retain(|r| r.checkpoint_id != checkpoint_id);
        self.last_snapshot = self.last_snapshot.max(checkpoint_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct FakeGates {
        blocked: Vec<bool>,
        closed: Vec<bool>,
    }

    impl FakeGates {
        fn new(n: usize) -> Self {
            FakeGates {
                blocked: vec![false; n],
                closed: vec![false; n],
            }
        }
    }

    impl Gates for FakeGates {
        fn block(&mut self, channel: usize) {
            self.blocked[channel] = true;
        }
        fn unblock_all(&mut self) {
            self.blocked.iter_mut().for_each(|b| *b = false);
        }
        fn is_closed(&self, channel: usize) -> bool {
            self.closed[channel]
        }
    }

    fn barrier(id: u64, unaligned: bool) -> CheckpointBarrier {
        CheckpointBarrier {
            checkpoint_id: id,
            timestamp_ms: 0,
            unaligned,
        }
    }

    #[test]
    fn aligned_blocks_until_every_channel_delivered() {
        let mut gates = FakeGates::new(3);
        let mut h = BarrierHandler::new(3, CheckpointMode::Aligned, None);
        assert!(h.on_barrier(0, barrier(1, false), 0, &mut gates).is_none());
        assert_eq!(gates.blocked, vec![true, false, false]);
        assert!(h.on_barrier(2, barrier(1, false), 0, &mut gates).is_none());
        assert_eq!(gates.blocked, vec![true, false, true]);
        let snap = h.on_barrier(1, barrier(1, false), 0, &mut gates).unwrap();
        assert_eq!(snap.checkpoint_id, 1);
        assert!(!snap.unaligned);
        assert_eq!(gates.blocked, vec![false, false, false]);
        // A late duplicate is ignored.
        assert!(h.on_barrier(1, barrier(1, false), 0, &mut gates).is_none());
    }

    #[test]
    fn closed_channels_count_as_aligned() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::Aligned, None);
        assert!(h.on_barrier(0, barrier(4, false), 0, &mut gates).is_none());
        gates.closed[1] = true;
        assert_eq!(h.on_channel_closed(1, &mut gates).unwrap().checkpoint_id, 4);
    }

    #[test]
    fn at_least_once_never_blocks() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::AtLeastOnce, None);
        assert!(h.on_barrier(0, barrier(1, false), 0, &mut gates).is_none());
        assert_eq!(gates.blocked, vec![false, false]);
        assert!(h.on_barrier(1, barrier(1, false), 0, &mut gates).is_some());
    }

    #[test]
    fn unaligned_snapshots_at_first_barrier_and_records_in_flight_data() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::Unaligned, None);
        // Barrier 1 overtook two buffers on channel 0.
        let snap = h.on_barrier(0, barrier(1, true), 2, &mut gates).unwrap();
        assert!(snap.unaligned);
        assert!(h.recording());
        h.record(0, || b"a".to_vec()); // overtaken #1
        h.record(1, || b"b".to_vec()); // channel 1: before its barrier
        h.record(0, || b"c".to_vec()); // overtaken #2
        h.record(0, || b"d".to_vec()); // after the barrier on channel 0: not recorded
        assert!(h.take_completed().is_empty(), "channel 1 has not delivered barrier 1");
        assert!(h.on_barrier(1, barrier(1, true), 0, &mut gates).is_none());
        h.record(1, || b"e".to_vec()); // after barrier on channel 1
        let done = h.take_completed();
        assert_eq!(done.len(), 1);
        let (id, entries) = &done[0];
        assert_eq!(*id, 1);
        let got: Vec<(usize, &[u8])> = entries.iter().map(|(c, b)| (*c, b.as_slice())).collect();
        assert_eq!(got, vec![(0, &b"a"[..]), (1, &b"b"[..]), (0, &b"c"[..])]);
        assert!(!h.recording());
        assert_eq!(gates.blocked, vec![false, false]);
    }

    #[test]
    fn concurrent_unaligned_checkpoints_record_independently() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::Unaligned, None);
        assert!(h.on_barrier(0, barrier(1, true), 0, &mut gates).is_some());
        h.record(1, || b"x".to_vec()); // before barrier 1 on channel 1
        assert!(h.on_barrier(0, barrier(2, true), 0, &mut gates).is_some());
        h.record(1, || b"y".to_vec()); // before barriers 1 and 2 on channel 1
        assert!(h.on_barrier(1, barrier(1, true), 0, &mut gates).is_none());
        h.record(1, || b"z".to_vec()); // before barrier 2 only
        assert!(h.on_barrier(1, barrier(2, true), 0, &mut gates).is_none());
        let done = h.take_completed();
        let sizes: Vec<(u64, usize)> = done.iter().map(|(id, e)| (*id, e.len())).collect();
        // x was processed before snapshot 2, so only y and z are in flight for it.
        assert_eq!(sizes, vec![(1, 2), (2, 2)]);
    }

    #[test]
    fn alignment_timeout_switches_to_unaligned() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::Aligned, Some(Duration::from_millis(10)));
        assert!(h.on_barrier(0, barrier(3, false), 0, &mut gates).is_none());
        assert!(gates.blocked[0]);
        let deadline = h.alignment_deadline().unwrap();
        assert!(h
            .check_timeout(deadline - Duration::from_millis(5), &mut gates)
            .is_none());
        let snap = h.check_timeout(deadline, &mut gates).unwrap();
        assert!(snap.unaligned);
        assert_eq!(gates.blocked, vec![false, false]);
        // Channel 1's data before its (aligned) barrier is channel state.
        h.record(0, || b"after".to_vec());
        h.record(1, || b"before".to_vec());
        assert!(h.on_barrier(1, barrier(3, false), 0, &mut gates).is_none());
        let done = h.take_completed();
        assert_eq!(done[0].1, vec![(1, b"before".to_vec())]);
    }

    #[test]
    fn abort_releases_blocked_channels() {
        let mut gates = FakeGates::new(2);
        let mut h = BarrierHandler::new(2, CheckpointMode::Aligned, None);
        h.on_barrier(0, barrier(5, false), 0, &mut gates);
        assert!(gates.blocked[0]);
        h.abort(5, &mut gates);
        assert!(!gates.blocked[0]);
        assert!(h.on_barrier(1, barrier(5, false), 0, &mut gates).is_none());
        // The next checkpoint aligns normally.
        h.on_barrier(0, barrier(6, false), 0, &mut gates);
        assert!(h.on_barrier(1, barrier(6, false), 0, &mut gates).is_some());
    }
}
