//! A task whose chain head has one input.

use super::{FlushTimer, InputGate, Polled, TaskBody, TaskCommand, TaskShared};
use crate::failure::{cancelled, OperatorMeta};
use crate::operator::Input;
use std::sync::atomic::Ordering;
use weir_core::ExecutionConfig;

/// Reads an [`InputGate`] and feeds its chain.
pub struct OneInputTask<T> {
    meta: OperatorMeta,
    head: Box<dyn Input<T>>,
    gate: InputGate<T>,
    flush: FlushTimer,
}

impl<T: Send + 'static> OneInputTask<T> {
    /// A task feeding `head` from `gate`; `meta` names the chain for error reports.
    pub fn new(
        meta: OperatorMeta,
        head: Box<dyn Input<T>>,
        gate: InputGate<T>,
        config: &ExecutionConfig,
    ) -> Self {
        OneInputTask {
            meta,
            head,
            gate,
            flush: FlushTimer::new(config),
        }
    }
}

impl<T: Send + 'static> TaskBody for OneInputTask<T> {
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
                        TaskCommand::Stop => {} // only sources act on stop
                    }
                }
            }
            match self.gate.poll() {
                Some(Polled::Data(channel, mut buffer)) => {
                    shared
                        .metrics
                        .records_in
                        .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                    for record in buffer.drain(..) {
                        self.head.process(record);
                    }
                    self.gate.recycle(channel, buffer);
                    if self.flush.due() {
                        self.head.flush();
                    }
                }
                Some(Polled::Watermark(watermark)) => self.head.process_watermark(watermark),
                Some(Polled::Barrier(..)) => {}
                Some(Polled::Finished) => break,
                None => {
                    self.head.flush();
                    self.flush.flushed();
                    shared.signal().wait(token, None);
                }
            }
        }
        self.head.end_input();
    }
}
