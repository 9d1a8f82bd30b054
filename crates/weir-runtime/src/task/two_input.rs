//! A task whose chain head has two inputs of different types.

use super::barrier::Gates;
use super::common::TaskCommon;
use super::{earliest, InputGate, Polled, TaskBody, TaskReporter, TaskShared};
use crate::failure::{fail, OperatorMeta};
use crate::operator::TwoInput;
use crate::snapshot::{decode_channel_item, encode_buffer, encode_watermark, ChannelItem, ChannelStateEntry};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use weir_core::{Data, ExecutionConfig, Watermark, WatermarkStatus};

/// Both gates of a two-input task, addressed by global channel index (the first
/// input's channels first).
struct BothGates<'a, A, B> {
    first: &'a mut InputGate<A>,
    second: &'a mut InputGate<B>,
}

impl<A: Send + 'static, B: Send + 'static> Gates for BothGates<'_, A, B> {
    fn block(&mut self, channel: usize) {
        let n = self.first.len();
        if channel < n {
            self.first.set_blocked(channel, true);
        } else {
            self.second.set_blocked(channel - n, true);
        }
    }
    fn unblock_all(&mut self) {
        self.first.unblock_all();
        self.second.unblock_all();
    }
    fn is_closed(&self, channel: usize) -> bool {
        let n = self.first.len();
        if channel < n {
            self.first.is_closed(channel)
        } else {
            self.second.is_closed(channel - n)
        }
    }
}

/// Reads two [`InputGate`]s alternately and feeds a [`TwoInput`] head. The head sees
/// the minimum of the two inputs' watermarks.
pub struct TwoInputTask<A, B> {
    head: Box<dyn TwoInput<A, B>>,
    gate1: InputGate<A>,
    gate2: InputGate<B>,
    watermarks: [Watermark; 2],
    idle: [bool; 2],
    emitted_watermark: Watermark,
    ended: [bool; 2],
    prefer_second: bool,
    common: TaskCommon,
    restored_channel_state: Vec<ChannelStateEntry>,
}

impl<A: Data, B: Data> TwoInputTask<A, B> {
    /// A task feeding `head` from `gate1` and `gate2`.
    pub fn new(
        meta: OperatorMeta,
        head: Box<dyn TwoInput<A, B>>,
        gate1: InputGate<A>,
        gate2: InputGate<B>,
        config: &ExecutionConfig,
        reporter: Option<Arc<dyn TaskReporter>>,
        channel_state: Vec<ChannelStateEntry>,
    ) -> Self {
        let start = Watermark::new(i64::MIN);
        let channels = gate1.len() + gate2.len();
        TwoInputTask {
            head,
            gate1,
            gate2,
            watermarks: [start, start],
            idle: [false, false],
            emitted_watermark: start,
            ended: [false, false],
            prefer_second: false,
            common: TaskCommon::new(meta, reporter, channels, config),
            restored_channel_state: channel_state,
        }
    }

    fn locate(first_channels: usize) -> impl Fn(usize) -> (u8, u32) {
        move |global| {
            if global < first_channels {
                (0, global as u32)
            } else {
                (1, (global - first_channels) as u32)
            }
        }
    }

    /// Records the end of input in snapshots under `head_operator` (the id of the
    /// chain's head operator); `restored_input_ended` says the input had already
    /// ended before the checkpoint the task is restored from, so the chain only
    /// forwards the end of input (see `ChainElement::end_input_after_restore`).
    pub fn with_end_of_input_state(mut self, head_operator: String, restored_input_ended: bool) -> Self {
        self.common.track_end_of_input(head_operator, restored_input_ended);
        self
    }

    fn replay_channel_state(&mut self) {
        for entry in std::mem::take(&mut self.restored_channel_state) {
            let channel = entry.channel as usize;
            let result = if entry.input == 0 {
                decode_channel_item::<A>(&entry.buffer).map(|item| match item {
                    ChannelItem::Records(records) => records.into_iter().for_each(|r| self.head.process1(r)),
                    ChannelItem::Watermark(w) => {
                        if let Some(w) = self.gate1.replay_watermark(channel, w) {
                            self.on_watermark(0, w);
                        }
                    }
                })
            } else {
                decode_channel_item::<B>(&entry.buffer).map(|item| match item {
                    ChannelItem::Records(records) => records.into_iter().for_each(|r| self.head.process2(r)),
                    ChannelItem::Watermark(w) => {
                        if let Some(w) = self.gate2.replay_watermark(channel, w) {
                            self.on_watermark(1, w);
                        }
                    }
                })
            };
            if let Err(e) = result {
                fail(&self.common.meta, format!("cannot decode restored channel state: {e}"));
            }
        }
    }

    fn on_watermark(&mut self, input: usize, watermark: Watermark) {
        self.watermarks[input] = watermark;
        self.advance_watermark();
    }

    /// Emits the minimum watermark of the inputs that are not idle, if it advanced.
    fn advance_watermark(&mut self) {
        let min = (0..2).filter(|&i| !self.idle[i]).map(|i| self.watermarks[i]).min();
        if let Some(min) = min {
            if min > self.emitted_watermark {
                self.emitted_watermark = min;
                self.head.process_watermark(min);
            }
        }
    }

    /// Input `input` became idle or active; the task is idle only when both are.
    fn on_status(&mut self, input: usize, status: WatermarkStatus) {
        let was_idle = self.idle[0] && self.idle[1];
        self.idle[input] = status == WatermarkStatus::Idle;
        let is_idle = self.idle[0] && self.idle[1];
        if is_idle && !was_idle {
            // Both idle: event time advances to the further input, then idleness.
            let max = self.watermarks[0].max(self.watermarks[1]);
            if max > self.emitted_watermark {
                self.emitted_watermark = max;
                self.head.process_watermark(max);
            }
        }
        if is_idle != was_idle {
            self.head.process_status(status);
        }
        self.advance_watermark();
    }

    fn on_barrier(&mut self, global: usize, barrier: crate::message::CheckpointBarrier, overtaken: usize) {
        let first = self.gate1.len();
        let mut gates = BothGates {
            first: &mut self.gate1,
            second: &mut self.gate2,
        };
        if let Some(barrier) = self.common.handler.on_barrier(global, barrier, overtaken, &mut gates) {
            self.common.snapshot(barrier, &mut *self.head);
        }
        self.common.submit_recorded(Self::locate(first));
    }

    fn on_closed(&mut self, global: usize) {
        let first = self.gate1.len();
        let mut gates = BothGates {
            first: &mut self.gate1,
            second: &mut self.gate2,
        };
        if let Some(barrier) = self.common.handler.on_channel_closed(global, &mut gates) {
            self.common.snapshot(barrier, &mut *self.head);
        }
        self.common.submit_recorded(Self::locate(first));
    }

    fn on_end_of_data(&mut self, input: usize) {
        self.ended[input] = true;
        if self.ended[0] && self.ended[1] {
            self.common.end_of_data(&mut *self.head);
        }
    }

    /// Handles one message of input `input` (0 or 1); returns whether there was one.
    fn step(&mut self, input: usize, shared: &TaskShared) -> bool {
        if input == 0 {
            self.step1(shared)
        } else {
            self.step2(shared)
        }
    }

    fn record(&mut self, global: usize, encoded: impl FnOnce() -> Result<Vec<u8>, String>) {
        if self.common.handler.recording() {
            let meta = &self.common.meta;
            self.common.handler.record(global, || {
                encoded().unwrap_or_else(|e| fail(meta, format!("cannot encode channel state: {e}")))
            });
            self.common.submit_recorded(Self::locate(self.gate1.len()));
        }
    }

    /// Records the watermark messages a poll of input `input` consumed.
    fn record_watermarks(&mut self, input: usize) {
        let (watermarks, offset) = if input == 0 {
            (self.gate1.take_recorded_watermarks(), 0)
        } else {
            (self.gate2.take_recorded_watermarks(), self.gate1.len())
        };
        for (channel, watermark) in watermarks {
            self.record(offset + channel, || Ok(encode_watermark(watermark)));
        }
    }

    fn step1(&mut self, shared: &TaskShared) -> bool {
        self.gate1.set_recording(self.common.handler.recording());
        let polled = self.gate1.poll();
        self.record_watermarks(0);
        let Some(polled) = polled else {
            return false;
        };
        match polled {
            Polled::Data(channel, mut buffer) => {
                shared
                    .metrics
                    .records_in
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                self.record(channel, || encode_buffer(&buffer));
                for record in buffer.drain(..) {
                    self.head.process1(record);
                }
                self.gate1.recycle(channel, buffer);
            }
            Polled::Watermark(w) => self.on_watermark(0, w),
            Polled::Status(s) => self.on_status(0, s),
            Polled::Barrier(channel, barrier, overtaken) => self.on_barrier(channel, barrier, overtaken),
            Polled::EndOfData => self.on_end_of_data(0),
            Polled::ChannelClosed(channel) => self.on_closed(channel),
            Polled::Finished => {}
        }
        true
    }

    fn step2(&mut self, shared: &TaskShared) -> bool {
        self.gate2.set_recording(self.common.handler.recording());
        let polled = self.gate2.poll();
        self.record_watermarks(1);
        let Some(polled) = polled else {
            return false;
        };
        let first = self.gate1.len();
        match polled {
            Polled::Data(channel, mut buffer) => {
                shared
                    .metrics
                    .records_in
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                self.record(first + channel, || encode_buffer(&buffer));
                for record in buffer.drain(..) {
                    self.head.process2(record);
                }
                self.gate2.recycle(channel, buffer);
            }
            Polled::Watermark(w) => self.on_watermark(1, w),
            Polled::Status(s) => self.on_status(1, s),
            Polled::Barrier(channel, barrier, overtaken) => self.on_barrier(first + channel, barrier, overtaken),
            Polled::EndOfData => self.on_end_of_data(1),
            Polled::ChannelClosed(channel) => self.on_closed(first + channel),
            Polled::Finished => {}
        }
        true
    }
}

impl<A: Data, B: Data> TaskBody for TwoInputTask<A, B> {
    fn run(&mut self, shared: &TaskShared) {
        self.head.open();
        self.replay_channel_state();
        loop {
            let token = shared.signal().token();
            {
                let mut gates = BothGates {
                    first: &mut self.gate1,
                    second: &mut self.gate2,
                };
                self.common.handle_mail(shared, &mut *self.head, &mut gates);
                if let Some(barrier) = self.common.handler.check_timeout(Instant::now(), &mut gates) {
                    self.common.snapshot(barrier, &mut *self.head);
                }
            }
            if let Some(now) = shared.take_due_timer() {
                self.head.on_processing_time(now);
            }
            let inputs_closed = self.gate1.is_finished() && self.gate2.is_finished() && self.ended == [true, true];
            if self.common.may_exit(inputs_closed) {
                break;
            }
            self.prefer_second = !self.prefer_second;
            let first = usize::from(self.prefer_second);
            let progressed = self.step(first, shared) || self.step(1 - first, shared);
            if progressed {
                if self.common.flush.due() {
                    self.head.flush();
                }
            } else {
                self.head.flush();
                self.common.flush.flushed();
                shared
                    .signal()
                    .wait(token, earliest(self.common.deadline(), shared.timer_deadline()));
            }
        }
        self.head.close();
    }
}
