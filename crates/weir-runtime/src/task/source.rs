//! A task whose chain head is a source reader.

use super::{FlushTimer, TaskBody, TaskCommand, TaskShared};
use crate::failure::{cancelled, check, guard, OperatorMeta};
use crate::operator::Input;
use crate::source::{PollStatus, SourceOutput, SourceReader};
use std::sync::atomic::Ordering;
use weir_core::{ExecutionConfig, Watermark};

/// Polls a [`SourceReader`] and feeds its chain.
pub struct SourceTask<T> {
    meta: OperatorMeta,
    reader: Box<dyn SourceReader<T>>,
    output: Box<dyn Input<T>>,
    flush: FlushTimer,
}

impl<T: Send + 'static> SourceTask<T> {
    /// A task polling `reader` into `output`; `meta` names the source for errors.
    pub fn new(
        meta: OperatorMeta,
        reader: Box<dyn SourceReader<T>>,
        output: Box<dyn Input<T>>,
        config: &ExecutionConfig,
    ) -> Self {
        SourceTask {
            meta,
            reader,
            output,
            flush: FlushTimer::new(config),
        }
    }
}

impl<T: Send + 'static> TaskBody for SourceTask<T> {
    fn run(&mut self, shared: &TaskShared) {
        self.output.open();
        'run: loop {
            let token = shared.signal().token();
            if shared.is_cancelled() {
                cancelled(&self.meta);
            }
            if shared.has_mail() && shared.take_mail().contains(&TaskCommand::Stop) {
                break 'run;
            }
            let mut output = SourceOutput::new(&mut *self.output);
            let reader = &mut self.reader;
            let status = guard(&self.meta, || reader.poll_next(&mut output));
            let emitted = output.emitted();
            shared
                .metrics
                .records_in
                .fetch_add(emitted, Ordering::Relaxed);
            match check(&self.meta, status) {
                PollStatus::MoreAvailable => {
                    if self.flush.due() {
                        self.output.flush();
                    }
                }
                PollStatus::Pending { retry_at } => {
                    self.output.flush();
                    self.flush.flushed();
                    shared.signal().wait(token, retry_at);
                }
                PollStatus::Finished => break,
            }
        }
        // The input is over: event time ends, so every pending event-time result fires.
        self.output.process_watermark(Watermark::MAX);
        self.output.end_input();
    }
}
