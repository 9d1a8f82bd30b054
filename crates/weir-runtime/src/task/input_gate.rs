//! The input side of a task: all channels of one logical input, read fairly.

use crate::channel::Channel;
use crate::message::{CheckpointBarrier, Message};
use std::sync::Arc;
use weir_core::{StreamRecord, Watermark, WatermarkStatus};

/// What [`InputGate::poll`] found.
#[derive(Debug)]
pub enum Polled<T> {
    /// A buffer of records from channel `channel`; hand it back with
    /// [`InputGate::recycle`].
    Data(usize, Vec<StreamRecord<T>>),
    /// The minimum watermark over all active channels advanced.
    Watermark(Watermark),
    /// All channels became idle, or one became active again after all were idle.
    Status(WatermarkStatus),
    /// A checkpoint barrier arrived on channel `channel`, having overtaken
    /// `overtaken` data buffers (unaligned barriers only).
    Barrier(usize, CheckpointBarrier, usize),
    /// Every channel's input has ended (end of data); barriers may still follow.
    EndOfData,
    /// Channel `channel` has ended for good (end of partition).
    ChannelClosed(usize),
    /// Every channel has ended for good.
    Finished,
}

struct InputChannel<T> {
    channel: Arc<Channel<T>>,
    ended_data: bool,
    closed: bool,
    blocked: bool,
    idle: bool,
    watermark: Watermark,
}

/// All channels feeding one input of a task (one per upstream subtask, across every
/// upstream operator when streams were unioned). Reads them round-robin, skipping
/// channels blocked by checkpoint alignment; tracks each channel's watermark and
/// forwards their minimum when it advances.
pub struct InputGate<T> {
    channels: Vec<InputChannel<T>>,
    next: usize,
    open_channels: usize,
    data_channels: usize,
    watermark: Watermark,
    status: WatermarkStatus,
    pending_status: Option<WatermarkStatus>,
    end_of_data_reported: bool,
    finished_reported: bool,
    /// Whether watermark messages are kept for channel state (while recording).
    recording: bool,
    recorded_watermarks: Vec<(usize, Watermark)>,
}

impl<T: Send + 'static> InputGate<T> {
    /// A gate over `channels`.
    pub fn new(channels: Vec<Arc<Channel<T>>>) -> Self {
        let open_channels = channels.len();
        InputGate {
            channels: channels
                .into_iter()
                .map(|channel| InputChannel {
                    channel,
                    ended_data: false,
                    closed: false,
                    blocked: false,
                    idle: false,
                    watermark: Watermark::new(i64::MIN),
                })
                .collect(),
            next: 0,
            open_channels,
            data_channels: open_channels,
            watermark: Watermark::new(i64::MIN),
            status: WatermarkStatus::Active,
            pending_status: None,
            end_of_data_reported: false,
            finished_reported: false,
            recording: false,
            recorded_watermarks: Vec::new(),
        }
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether the gate has no channel.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Whether every channel has ended for good.
    pub fn is_finished(&self) -> bool {
        self.open_channels == 0
    }

    /// Whether channel `channel` has ended for good.
    pub fn is_closed(&self, channel: usize) -> bool {
        self.channels.get(channel).is_none_or(|c| c.closed)
    }

    /// Stops (or resumes) reading channel `channel` (checkpoint alignment).
    pub fn set_blocked(&mut self, channel: usize, blocked: bool) {
        if let Some(c) = self.channels.get_mut(channel) {
            c.blocked = blocked;
        }
    }

    /// Resumes reading every channel.
    pub fn unblock_all(&mut self) {
        self.channels.iter_mut().for_each(|c| c.blocked = false);
    }

    /// Takes the next message from the channels in round-robin order. Returns `None`
    /// when no channel has anything to deliver right now.
    pub fn poll(&mut self) -> Option<Polled<T>> {
        if let Some(status) = self.pending_status.take() {
            return Some(Polled::Status(status));
        }
        loop {
            if self.data_channels == 0 && !self.end_of_data_reported {
                self.end_of_data_reported = true;
                return Some(Polled::EndOfData);
            }
            if self.open_channels == 0 {
                if self.finished_reported {
                    return None;
                }
                self.finished_reported = true;
                return Some(Polled::Finished);
            }
            let (index, message) = self.next_message()?;
            let input = &mut self.channels[index];
            match message {
                Message::Data(buffer) => return Some(Polled::Data(index, buffer)),
                Message::Barrier { barrier, overtaken } => return Some(Polled::Barrier(index, barrier, overtaken)),
                Message::Watermark(watermark) => {
                    if self.recording {
                        self.recorded_watermarks.push((index, watermark));
                    }
                    let input = &mut self.channels[index];
                    if watermark > input.watermark {
                        input.watermark = watermark;
                        if let Some(w) = self.advance_watermark() {
                            return Some(Polled::Watermark(w));
                        }
                    }
                }
                Message::Status(status) => {
                    input.idle = status == WatermarkStatus::Idle;
                    let all_idle = self.channels.iter().all(|c| c.idle);
                    let gate_status = if all_idle {
                        WatermarkStatus::Idle
                    } else {
                        WatermarkStatus::Active
                    };
                    if gate_status != self.status {
                        self.status = gate_status;
                        if gate_status == WatermarkStatus::Idle {
                            // All idle: event time advances to the furthest channel
                            // first, then the gate reports idleness.
                            let max = self.channels.iter().map(|c| c.watermark).max();
                            if let Some(max) = max.filter(|m| *m > self.watermark) {
                                self.watermark = max;
                                self.pending_status = Some(gate_status);
                                return Some(Polled::Watermark(max));
                            }
                        }
                        return Some(Polled::Status(gate_status));
                    }
                    if let Some(w) = self.advance_watermark() {
                        return Some(Polled::Watermark(w));
                    }
                }
                Message::EndOfData => {
                    input.idle = false;
                    if !input.ended_data {
                        input.ended_data = true;
                        self.data_channels -= 1;
                    }
                    input.watermark = Watermark::MAX;
                    if self.data_channels > 0 {
                        if let Some(w) = self.advance_watermark() {
                            return Some(Polled::Watermark(w));
                        }
                    }
                }
                Message::EndOfPartition => {
                    input.idle = false;
                    if !input.ended_data {
                        input.ended_data = true;
                        self.data_channels -= 1;
                    }
                    input.closed = true;
                    input.blocked = false;
                    input.watermark = Watermark::MAX;
                    self.open_channels -= 1;
                    return Some(Polled::ChannelClosed(index));
                }
            }
        }
    }

    /// Keeps every watermark message from now on (or stops), for unaligned
    /// checkpoints that record in-flight input as channel state.
    pub fn set_recording(&mut self, recording: bool) {
        self.recording = recording;
    }

    /// The watermark messages kept since the last call, with their channels, in
    /// arrival order; each arrived before whatever the last `poll` returned.
    pub fn take_recorded_watermarks(&mut self) -> Vec<(usize, Watermark)> {
        std::mem::take(&mut self.recorded_watermarks)
    }

    /// Applies a watermark of `channel` restored from channel state; returns the
    /// gate's watermark if it advanced.
    pub fn replay_watermark(&mut self, channel: usize, watermark: Watermark) -> Option<Watermark> {
        let input = self.channels.get_mut(channel)?;
        if watermark > input.watermark {
            input.watermark = watermark;
            return self.advance_watermark();
        }
        None
    }

    fn next_message(&mut self) -> Option<(usize, Message<T>)> {
        let n = self.channels.len();
        for step in 0..n {
            let index = (self.next + step) % n;
            let input = &self.channels[index];
            if input.closed || input.blocked {
                continue;
            }
            if let Some(message) = input.channel.try_recv() {
                self.next = (index + 1) % n;
                return Some((index, message));
            }
        }
        None
    }

    /// Returns an emptied buffer to the channel it came from.
    pub fn recycle(&mut self, channel: usize, buffer: Vec<StreamRecord<T>>) {
        if let Some(input) = self.channels.get(channel) {
            input.channel.recycle(buffer);
        }
    }

    fn advance_watermark(&mut self) -> Option<Watermark> {
        // Idle channels do not hold the watermark back; when all are idle it stays.
        let min = self.channels.iter().filter(|c| !c.idle).map(|c| c.watermark).min()?;
        if min > self.watermark {
            self.watermark = min;
            Some(min)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::TaskSignal;

    fn chan() -> Arc<Channel<u32>> {
        Arc::new(Channel::new(
            4,
            8,
            Arc::new(TaskSignal::new()),
            Arc::new(TaskSignal::new()),
        ))
    }

    #[test]
    fn watermark_is_minimum_over_channels() {
        let (a, b) = (chan(), chan());
        let mut gate = InputGate::new(vec![a.clone(), b.clone()]);
        a.send_event(Message::Watermark(Watermark::new(10)));
        assert!(gate.poll().is_none(), "b still holds the watermark back");
        b.send_event(Message::Watermark(Watermark::new(5)));
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 5));
        b.send_event(Message::EndOfData);
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 10));
        b.send_event(Message::EndOfPartition);
        assert!(matches!(gate.poll(), Some(Polled::ChannelClosed(1))));
        a.send_event(Message::EndOfData);
        assert!(matches!(gate.poll(), Some(Polled::EndOfData)));
        a.send_event(Message::EndOfPartition);
        assert!(matches!(gate.poll(), Some(Polled::ChannelClosed(0))));
        assert!(matches!(gate.poll(), Some(Polled::Finished)));
        assert!(gate.poll().is_none());
    }

    #[test]
    fn idle_channels_do_not_hold_the_watermark_back() {
        let (a, b) = (chan(), chan());
        let mut gate = InputGate::new(vec![a.clone(), b.clone()]);
        a.send_event(Message::Watermark(Watermark::new(100)));
        assert!(gate.poll().is_none());
        b.send_event(Message::Status(WatermarkStatus::Idle));
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 100));
        a.send_event(Message::Watermark(Watermark::new(120)));
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 120));
        a.send_event(Message::Status(WatermarkStatus::Idle));
        assert!(matches!(gate.poll(), Some(Polled::Status(WatermarkStatus::Idle))));
        // b comes back behind the gate's watermark: the output never goes back.
        b.send_event(Message::Status(WatermarkStatus::Active));
        assert!(matches!(gate.poll(), Some(Polled::Status(WatermarkStatus::Active))));
        b.send_event(Message::Watermark(Watermark::new(50)));
        assert!(gate.poll().is_none());
        b.send_event(Message::Watermark(Watermark::new(150)));
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 150));
        // a is active again at 120: the minimum is behind, nothing is emitted.
        a.send_event(Message::Status(WatermarkStatus::Active));
        assert!(gate.poll().is_none());
    }

    #[test]
    fn when_all_channels_go_idle_the_furthest_watermark_is_emitted_first() {
        let (a, b) = (chan(), chan());
        let mut gate = InputGate::new(vec![a.clone(), b.clone()]);
        a.send_event(Message::Watermark(Watermark::new(98)));
        a.send_event(Message::Status(WatermarkStatus::Idle));
        b.send_event(Message::Status(WatermarkStatus::Idle));
        let mut seen = Vec::new();
        while let Some(p) = gate.poll() {
            seen.push(format!("{p:?}"));
        }
        assert_eq!(seen.last().map(String::as_str), Some("Status(Idle)"), "{seen:?}");
        assert!(seen.iter().any(|s| s.contains("timestamp: 98")), "{seen:?}");
    }

    #[test]
    fn channels_are_read_round_robin_and_blocked_ones_skipped() {
        let (a, b) = (chan(), chan());
        let never = || false;
        for i in 0..2 {
            a.send_data(vec![StreamRecord::new(i)], 8, &never).unwrap();
            b.send_data(vec![StreamRecord::new(10 + i)], 8, &never).unwrap();
        }
        let mut gate = InputGate::new(vec![a, b]);
        let mut order = Vec::new();
        while let Some(Polled::Data(c, _)) = gate.poll() {
            order.push(c);
            if order.len() == 2 {
                gate.set_blocked(0, true);
            }
        }
        assert_eq!(order, vec![0, 1, 1]);
        gate.unblock_all();
        assert!(matches!(gate.poll(), Some(Polled::Data(0, _))));
    }

    use proptest::prelude::*;

    /// What one channel sends in a generated run.
    #[derive(Debug, Clone)]
    enum Sent {
        Watermark(i64),
        Idle,
        Active,
        End,
    }

    fn sent() -> impl Strategy<Value = Sent> {
        prop_oneof![
            6 => (-1_000i64..1_000).prop_map(Sent::Watermark),
            1 => Just(Sent::Idle),
            1 => Just(Sent::Active),
            1 => Just(Sent::End),
        ]
    }

    proptest! {
        /// Whatever the channels send, in whatever interleaving: the gate's
        /// watermark only ever increases, never passes what some channel sent, and
        /// reaches the end of time once every channel ended.
        #[test]
        fn the_gate_watermark_is_monotonic(
            script in proptest::collection::vec((0usize..3, sent()), 0..60),
        ) {
            let channels = [chan(), chan(), chan()];
            let mut gate = InputGate::new(channels.to_vec());
            let mut emitted = Vec::new();
            let mut highest_sent = i64::MIN;
            let drain = |gate: &mut InputGate<u32>, emitted: &mut Vec<i64>| {
                while let Some(polled) = gate.poll() {
                    if let Polled::Watermark(w) = polled {
                        emitted.push(w.timestamp);
                    }
                }
            };
            let mut ended = [false; 3];
            for (channel, message) in script {
                if ended[channel] {
                    continue;
                }
                let message = match message {
                    Sent::Watermark(w) => {
                        highest_sent = highest_sent.max(w);
                        Message::Watermark(Watermark::new(w))
                    }
                    Sent::Idle => Message::Status(WatermarkStatus::Idle),
                    Sent::Active => Message::Status(WatermarkStatus::Active),
                    Sent::End => {
                        // Senders end event time before their data (as tasks do).
                        ended[channel] = true;
                        channels[channel].send_event(Message::Watermark(Watermark::MAX));
                        Message::EndOfData
                    }
                };
                channels[channel].send_event(message);
                drain(&mut gate, &mut emitted);
                for pair in emitted.windows(2) {
                    prop_assert!(pair[0] < pair[1], "watermark went from {} to {}", pair[0], pair[1]);
                }
                if !ended.iter().any(|e| *e) {
                    prop_assert!(emitted.iter().all(|w| *w <= highest_sent));
                }
            }
            for (channel, done) in ended.iter().enumerate() {
                if !done {
                    channels[channel].send_event(Message::Watermark(Watermark::MAX));
                    channels[channel].send_event(Message::EndOfData);
                }
            }
            drain(&mut gate, &mut emitted);
            for pair in emitted.windows(2) {
                prop_assert!(pair[0] < pair[1]);
            }
            prop_assert_eq!(emitted.last().copied(), Some(i64::MAX));
        }
    }
}
