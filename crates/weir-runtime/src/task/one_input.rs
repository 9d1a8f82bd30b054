//! A task whose chain head has one input.

use super::barrier::Gates;
use super::common::TaskCommon;
use super::{earliest, InputGate, Polled, TaskBody, TaskReporter, TaskShared};
use crate::failure::{fail, OperatorMeta};
use crate::operator::Input;
use crate::snapshot::{decode_channel_item, encode_buffer, encode_watermark, ChannelItem, ChannelStateEntry};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use weir_core::{Data, ExecutionConfig};

impl<T: Send + 'static> Gates for InputGate<T> {
    fn block(&mut self, channel: usize) {
        self.set_blocked(channel, true);
    }
    fn unblock_all(&mut self) {
        InputGate::unblock_all(self);
    }
    fn is_closed(&self, channel: usize) -> bool {
        InputGate::is_closed(self, channel)
    }
}

/// Reads an [`InputGate`] and feeds its chain.
pub struct OneInputTask<T> {
    head: Box<dyn Input<T>>,
    gate: InputGate<T>,
    common: TaskCommon,
    restored_channel_state: Vec<ChannelStateEntry>,
}

impl<T: Data> OneInputTask<T> {
    /// A task feeding `head` from `gate`; `meta` names the chain for error reports.
    /// `reporter` is set when checkpoints are enabled; `channel_state` is the
    /// in-flight input to replay first after a restore.
    pub fn new(
        meta: OperatorMeta,
        head: Box<dyn Input<T>>,
        gate: InputGate<T>,
        config: &ExecutionConfig,
        reporter: Option<Arc<dyn TaskReporter>>,
        channel_state: Vec<ChannelStateEntry>,
    ) -> Self {
        let channels = gate.len();
        OneInputTask {
            head,
            gate,
            common: TaskCommon::new(meta, reporter, channels, config),
            restored_channel_state: channel_state,
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
            match decode_channel_item::<T>(&entry.buffer) {
                Ok(ChannelItem::Records(records)) => records.into_iter().for_each(|r| self.head.process(r)),
                Ok(ChannelItem::Watermark(watermark)) => {
                    if let Some(w) = self.gate.replay_watermark(entry.channel as usize, watermark) {
                        self.head.process_watermark(w);
                    }
                }
                Err(e) => fail(&self.common.meta, format!("cannot decode restored channel state: {e}")),
            }
        }
    }
}

impl<T: Data> TaskBody for OneInputTask<T> {
    fn run(&mut self, shared: &TaskShared) {
        self.head.open();
        self.replay_channel_state();
        let mut inputs_closed = false;
        loop {
            let token = shared.signal().token();
            self.common.handle_mail(shared, &mut *self.head, &mut self.gate);
            if self.common.may_exit(inputs_closed) {
                break;
            }
            if let Some(barrier) = self.common.handler.check_timeout(Instant::now(), &mut self.gate) {
                self.common.snapshot(barrier, &mut *self.head);
            }
            if let Some(now) = shared.take_due_timer() {
                self.head.on_processing_time(now);
            }
            self.gate.set_recording(self.common.handler.recording());
            let polled = self.gate.poll();
            let watermarks = self.gate.take_recorded_watermarks();
            if !watermarks.is_empty() {
                for (channel, watermark) in watermarks {
                    self.common.handler.record(channel, || encode_watermark(watermark));
                }
                self.common.submit_recorded(|c| (0, c as u32));
            }
            match polled {
                Some(Polled::Data(channel, mut buffer)) => {
                    shared
                        .metrics
                        .records_in
                        .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                    if self.common.handler.recording() {
                        let meta = &self.common.meta;
                        self.common.handler.record(channel, || {
                            encode_buffer(&buffer)
                                .unwrap_or_else(|e| fail(meta, format!("cannot encode channel state: {e}")))
                        });
                        self.common.submit_recorded(|c| (0, c as u32));
                    }
                    for record in buffer.drain(..) {
                        self.head.process(record);
                    }
                    self.gate.recycle(channel, buffer);
                    if self.common.flush.due() {
                        self.head.flush();
                    }
                }
                Some(Polled::Watermark(watermark)) => self.head.process_watermark(watermark),
                Some(Polled::Status(status)) => self.head.process_status(status),
                Some(Polled::Barrier(channel, barrier, overtaken)) => {
                    if let Some(barrier) = self
                        .common
                        .handler
                        .on_barrier(channel, barrier, overtaken, &mut self.gate)
                    {
                        self.common.snapshot(barrier, &mut *self.head);
                    }
                    self.common.submit_recorded(|c| (0, c as u32));
                }
                Some(Polled::EndOfData) => self.common.end_of_data(&mut *self.head),
                Some(Polled::ChannelClosed(channel)) => {
                    if let Some(barrier) = self.common.handler.on_channel_closed(channel, &mut self.gate) {
                        self.common.snapshot(barrier, &mut *self.head);
                    }
                    self.common.submit_recorded(|c| (0, c as u32));
                }
                Some(Polled::Finished) => inputs_closed = true,
                None => {
                    self.head.flush();
                    self.common.flush.flushed();
                    shared
                        .signal()
                        .wait(token, earliest(self.common.deadline(), shared.timer_deadline()));
                }
            }
        }
        self.head.close();
    }
}
