//! The input side of a task: all channels of one logical input, read fairly.

use crate::channel::Channel;
use crate::message::{CheckpointBarrier, Message};
use std::sync::Arc;
use weir_core::{StreamRecord, Watermark};

/// What [`InputGate::poll`] found.
#[derive(Debug)]
pub enum Polled<T> {
    /// A buffer of records from channel `channel`; hand it back with
    /// [`InputGate::recycle`].
    Data(usize, Vec<StreamRecord<T>>),
    /// The minimum watermark over all channels advanced.
    Watermark(Watermark),
    /// A checkpoint barrier arrived on channel `channel`.
    Barrier(usize, CheckpointBarrier),
    /// Every channel has ended.
    Finished,
}

struct InputChannel<T> {
    channel: Arc<Channel<T>>,
    finished: bool,
    watermark: Watermark,
}

/// All channels feeding one input of a task (one per upstream subtask, across every
/// upstream operator when streams were unioned). Reads them round-robin, tracks
/// each channel's watermark and forwards their minimum when it advances.
pub struct InputGate<T> {
    channels: Vec<InputChannel<T>>,
    next: usize,
    open_channels: usize,
    watermark: Watermark,
    finished_reported: bool,
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
                    finished: false,
                    watermark: Watermark::new(i64::MIN),
                })
                .collect(),
            next: 0,
            open_channels,
            watermark: Watermark::new(i64::MIN),
            finished_reported: false,
        }
    }

    /// Whether every channel has ended.
    pub fn is_finished(&self) -> bool {
        self.open_channels == 0
    }

    /// Takes the next message from the channels in round-robin order. Returns `None`
    /// when no channel has anything to deliver right now.
    pub fn poll(&mut self) -> Option<Polled<T>> {
        let n = self.channels.len();
        if self.open_channels == 0 {
            if self.finished_reported {
                return None;
            }
            self.finished_reported = true;
            return Some(Polled::Finished);
        }
        for step in 0..n {
            let index = (self.next + step) % n;
            let input = &mut self.channels[index];
            if input.finished {
                continue;
            }
            let Some(message) = input.channel.try_recv() else {
                continue;
            };
            self.next = (index + 1) % n;
            match message {
                Message::Data(buffer) => return Some(Polled::Data(index, buffer)),
                Message::Barrier(barrier) => return Some(Polled::Barrier(index, barrier)),
                Message::Watermark(watermark) => {
                    if watermark > input.watermark {
                        input.watermark = watermark;
                        if let Some(w) = self.advance_watermark() {
                            return Some(Polled::Watermark(w));
                        }
                    }
                    return self.poll();
                }
                Message::EndOfPartition => {
                    input.finished = true;
                    input.watermark = Watermark::MAX;
                    self.open_channels -= 1;
                    if self.open_channels > 0 {
                        if let Some(w) = self.advance_watermark() {
                            return Some(Polled::Watermark(w));
                        }
                    }
                    return self.poll();
                }
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
        let min = self
            .channels
            .iter()
            .map(|c| c.watermark)
            .min()
            .unwrap_or(Watermark::MAX);
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
        b.send_event(Message::EndOfPartition);
        assert!(matches!(gate.poll(), Some(Polled::Watermark(w)) if w.timestamp == 10));
        a.send_event(Message::EndOfPartition);
        assert!(matches!(gate.poll(), Some(Polled::Finished)));
        assert!(gate.poll().is_none());
    }

    #[test]
    fn channels_are_read_round_robin() {
        let (a, b) = (chan(), chan());
        let never = || false;
        for i in 0..2 {
            a.send_data(vec![StreamRecord::new(i)], &never).unwrap();
            b.send_data(vec![StreamRecord::new(10 + i)], &never)
                .unwrap();
        }
        let mut gate = InputGate::new(vec![a, b]);
        let mut order = Vec::new();
        while let Some(Polled::Data(c, _)) = gate.poll() {
            order.push(c);
        }
        assert_eq!(order, vec![0, 1, 0, 1]);
    }
}
