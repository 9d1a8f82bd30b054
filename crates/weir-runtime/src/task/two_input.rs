//! A task whose chain head has two inputs of different types.

use super::{FlushTimer, InputGate, Polled, TaskBody, TaskCommand, TaskShared};
use crate::failure::{cancelled, OperatorMeta};
use crate::operator::TwoInput;
use std::sync::atomic::Ordering;
use weir_core::{ExecutionConfig, Watermark};

/// Reads two [`InputGate`]s alternately and feeds a [`TwoInput`] head. The head sees
/// the minimum of the two inputs' watermarks.
pub struct TwoInputTask<A, B> {
    meta: OperatorMeta,
    head: Box<dyn TwoInput<A, B>>,
    gate1: InputGate<A>,
    gate2: InputGate<B>,
    watermarks: [Watermark; 2],
    emitted_watermark: Watermark,
    prefer_second: bool,
    flush: FlushTimer,
}

impl<A: Send + 'static, B: Send + 'static> TwoInputTask<A, B> {
    /// A task feeding `head` from `gate1` and `gate2`.
    pub fn new(
        meta: OperatorMeta,
        head: Box<dyn TwoInput<A, B>>,
        gate1: InputGate<A>,
        gate2: InputGate<B>,
        config: &ExecutionConfig,
    ) -> Self {
        let start = Watermark::new(i64::MIN);
        TwoInputTask {
            meta,
            head,
            gate1,
            gate2,
            watermarks: [start, start],
            emitted_watermark: start,
            prefer_second: false,
            flush: FlushTimer::new(config),
        }
    }

    fn on_watermark(&mut self, input: usize, watermark: Watermark) {
        self.watermarks[input] = watermark;
        let min = self.watermarks[0].min(self.watermarks[1]);
        if min > self.emitted_watermark {
            self.emitted_watermark = min;
            self.head.process_watermark(min);
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

    /// Handles one message of input 1; returns whether there was one.
    fn step1(&mut self, shared: &TaskShared) -> bool {
        match self.gate1.poll() {
            Some(Polled::Data(channel, mut buffer)) => {
                shared
                    .metrics
                    .records_in
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                for record in buffer.drain(..) {
                    self.head.process1(record);
                }
                self.gate1.recycle(channel, buffer);
                true
            }
            Some(Polled::Watermark(w)) => {
                self.on_watermark(0, w);
                true
            }
            Some(Polled::Barrier(..)) => true,
            Some(Polled::Finished) => {
                self.on_watermark(0, Watermark::MAX);
                true
            }
            None => false,
        }
    }

    /// Handles one message of input 2; returns whether there was one.
    fn step2(&mut self, shared: &TaskShared) -> bool {
        match self.gate2.poll() {
            Some(Polled::Data(channel, mut buffer)) => {
                shared
                    .metrics
                    .records_in
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                for record in buffer.drain(..) {
                    self.head.process2(record);
                }
                self.gate2.recycle(channel, buffer);
                true
            }
            Some(Polled::Watermark(w)) => {
                self.on_watermark(1, w);
                true
            }
            Some(Polled::Barrier(..)) => true,
            Some(Polled::Finished) => {
                self.on_watermark(1, Watermark::MAX);
                true
            }
            None => false,
        }
    }
}

impl<A: Send + 'static, B: Send + 'static> TaskBody for TwoInputTask<A, B> {
    fn run(&mut self, shared: &TaskShared) {
        self.head.open();
        loop {
            let token = shared.signal().token();
            if shared.is_cancelled() {
                cancelled(&self.meta);
            }
            if shared.has_mail() {
                for command in shared.take_mail() {
                    match command {
                        TaskCommand::Stop => {}
                    }
                }
            }
            if self.gate1.is_finished() && self.gate2.is_finished() {
                // Drain the Finished notifications so watermarks reach MAX.
                while self.step1(shared) {}
                while self.step2(shared) {}
                break;
            }
            self.prefer_second = !self.prefer_second;
            let first = usize::from(self.prefer_second);
            let progressed = self.step(first, shared) || self.step(1 - first, shared);
            if progressed {
                if self.flush.due() {
                    self.head.flush();
                }
            } else {
                self.head.flush();
                self.flush.flushed();
                shared.signal().wait(token, None);
            }
        }
        self.head.end_input();
    }
}
