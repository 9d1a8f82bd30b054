//! A task whose chain head is a source reader.

use super::{earliest, FlushTimer, TaskBody, TaskCommand, TaskReporter, TaskShared};
use crate::failure::{cancelled, check, guard, OperatorMeta};
use crate::message::CheckpointBarrier;
use crate::operator::Input;
use crate::snapshot::{OperatorSnapshot, TaskSnapshot};
use crate::source::{PollStatus, RecordOutput, SourceOutput, SourceReader, SplitStateDistribution};
use crate::watermark::{SplitWatermarks, WatermarkStrategy};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_connector_api::bad_record::{DeadLetter, DEAD_LETTER_OUTPUT};
use weir_core::{ExecutionConfig, StreamRecord, Watermark, WatermarkStatus, NO_TIMESTAMP};
use weir_state::{OperatorList, OperatorStateSnapshot, Redistribution};

/// Name of the operator-state list holding a source reader's split states.
pub const SPLITS_STATE: &str = "splits";

/// Polls a [`SourceReader`] and feeds its chain.
pub struct SourceTask<T> {
    meta: OperatorMeta,
    operator_id: String,
    reader: Box<dyn SourceReader<T>>,
    output: Box<dyn Input<T>>,
    flush: FlushTimer,
    reporter: Option<Arc<dyn TaskReporter>>,
    watermarks: Option<SplitWatermarks<T>>,
    watermark_interval: Duration,
    /// The input has ended (the reader finished, or the task was stopped) and the
    /// chain emitted what it held.
    input_ended: bool,
    /// The input had ended before the checkpoint the task was restored from.
    restored_input_ended: bool,
    /// How the reader's split states are handed out on restore.
    split_mode: Redistribution,
}

/// The head of the chain as the reader's [`RecordOutput`].
struct ChainOutput<'a, T>(&'a mut dyn Input<T>);

impl<T> RecordOutput<T> for ChainOutput<'_, T> {
    #[inline]
    fn emit_record(&mut self, record: StreamRecord<T>) {
        self.0.process(record);
    }
    fn emit_watermark(&mut self, watermark: Watermark) {
        self.0.process_watermark(watermark);
    }
    fn emit_status(&mut self, status: WatermarkStatus) {
        self.0.process_status(status);
    }
    fn emit_dead_letter(&mut self, letter: DeadLetter) -> bool {
        match self.0.side_outputs() {
            Some(side) => side.emit(
                DEAD_LETTER_OUTPUT,
                StreamRecord {
                    value: letter,
                    timestamp: NO_TIMESTAMP,
                },
            ),
            None => false,
        }
    }
}

impl<T: Send + 'static> SourceTask<T> {
    /// A task polling `reader` into `output`; `meta` names the source for errors,
    /// `operator_id` keys its state; `reporter` is set when checkpoints are enabled.
    pub fn new(
        meta: OperatorMeta,
        operator_id: String,
        reader: Box<dyn SourceReader<T>>,
        output: Box<dyn Input<T>>,
        config: &ExecutionConfig,
        reporter: Option<Arc<dyn TaskReporter>>,
    ) -> Self {
        SourceTask {
            meta,
            operator_id,
            reader,
            output,
            flush: FlushTimer::new(config),
            reporter,
            watermarks: None,
            watermark_interval: config.auto_watermark_interval,
            input_ended: false,
            restored_input_ended: false,
            split_mode: Redistribution::EvenSplit,
        }
    }

    /// Starts the task as restored from a checkpoint taken after its input had
    /// ended: it reads nothing, and its chain only forwards the end of input (see
    /// `ChainElement::end_input_after_restore`).
    pub fn with_restored_input_ended(mut self, ended: bool) -> Self {
        self.restored_input_ended = ended;
        self
    }

    /// Hands the reader's checkpointed split states out on restore as `mode` says.
    pub fn with_state_distribution(mut self, mode: SplitStateDistribution) -> Self {
        self.split_mode = match mode {
            SplitStateDistribution::Union => Redistribution::Union,
            _ => Redistribution::EvenSplit,
        };
        self
    }

    /// Assigns timestamps and generates watermarks per split with `strategy`.
    pub fn with_watermarks(mut self, strategy: WatermarkStrategy<T>) -> Self {
        self.watermarks = Some(SplitWatermarks::new(strategy));
        self
    }

    /// Emits watermark and idleness changes of the splits.
    fn emit_watermark_change(&mut self) {
        let Some(watermarks) = &mut self.watermarks else {
            return;
        };
        let change = watermarks.take_change();
        if let Some(status) = change.status {
            self.output.process_status(status);
        }
        if let Some(watermark) = change.watermark {
            self.output.process_watermark(Watermark::new(watermark));
        }
    }

    fn schedule_periodic_watermark(&self, shared: &TaskShared) {
        if self.watermarks.is_some() {
            let interval = weir_core::time::millis(self.watermark_interval).max(1);
            shared.register_processing_timer(weir_core::processing_time_now().saturating_add(interval));
        }
    }

    fn checkpoint(&mut self, barrier: CheckpointBarrier) {
        let started = Instant::now();
        let reader = &mut self.reader;
        let splits = guard(&self.meta, || reader.snapshot_state(barrier.checkpoint_id));
        let splits = check(&self.meta, splits);
        let mut snapshot = TaskSnapshot::new(barrier.checkpoint_id);
        snapshot.add(OperatorSnapshot {
            operator_id: self.operator_id.clone(),
            keyed: None,
            operator_state: Some(OperatorStateSnapshot {
                lists: vec![OperatorList {
                    name: SPLITS_STATE.to_string(),
                    mode: self.split_mode,
                    elements: splits.into_iter().map(serde_bytes::ByteBuf::from).collect(),
                }],
            }),
        });
        self.output.checkpoint(&barrier, &mut snapshot);
        if self.input_ended {
            snapshot.mark_input_ended(&self.operator_id, self.meta.subtask, self.meta.parallelism);
        }
        if let Some(reporter) = &self.reporter {
            reporter.snapshot_taken(snapshot, None, started.elapsed());
        }
    }
}

impl<T: Send + 'static> TaskBody for SourceTask<T> {
    fn run(&mut self, shared: &TaskShared) {
        self.output.open();
        self.schedule_periodic_watermark(shared);
        let mut reading = !self.restored_input_ended;
        let mut finish = false;
        // Stopped after a savepoint: reads nothing more, yet does not end its
        // input (no final watermark), until cancelled.
        let mut suspended = false;
        loop {
            let token = shared.signal().token();
            if shared.is_cancelled() {
                cancelled(&self.meta);
            }
            if shared.has_mail() {
                for command in shared.take_mail() {
                    match command {
                        TaskCommand::Stop => reading = false,
                        TaskCommand::TriggerCheckpoint(barrier) => self.checkpoint(barrier),
                        TaskCommand::CheckpointComplete(id) => {
                            let reader = &mut self.reader;
                            let result = guard(&self.meta, || reader.notify_checkpoint_complete(id));
                            check(&self.meta, result);
                            self.output.notify_checkpoint_complete(id);
                        }
                        TaskCommand::CheckpointAborted(id) => self.output.notify_checkpoint_aborted(id),
                        TaskCommand::Finish => finish = true,
                        TaskCommand::Suspend => {
                            reading = false;
                            suspended = true;
                            if let Some(reporter) = &self.reporter {
                                reporter.suspended();
                            }
                        }
                    }
                }
            }
            if let Some(now) = shared.take_due_timer() {
                if let Some(watermarks) = &mut self.watermarks {
                    watermarks.on_periodic(Instant::now());
                }
                self.emit_watermark_change();
                self.schedule_periodic_watermark(shared);
                self.output.on_processing_time(now);
            }
            if reading {
                let mut chain = ChainOutput(&mut *self.output);
                let mut output = SourceOutput::with_watermarks(&mut chain, self.watermarks.as_mut());
                let reader = &mut self.reader;
                let status = guard(&self.meta, || reader.poll_next(&mut output));
                let emitted = output.emitted();
                shared.metrics.records_in.fetch_add(emitted, Ordering::Relaxed);
                self.emit_watermark_change();
                match check(&self.meta, status) {
                    PollStatus::MoreAvailable => {
                        if self.flush.due() {
                            self.output.flush();
                        }
                        continue;
                    }
                    PollStatus::Pending { retry_at } => {
                        self.output.flush();
                        self.flush.flushed();
                        shared.signal().wait(token, earliest(retry_at, shared.timer_deadline()));
                        continue;
                    }
                    PollStatus::Finished => reading = false,
                }
            }
            if !self.input_ended && !suspended {
                // The input is over: event time ends, so every pending event-time
                // result fires; then the chain emits what it still holds (unless it
                // did so before the checkpoint this task was restored from).
                self.output.process_watermark(Watermark::MAX);
                if self.restored_input_ended {
                    self.output.end_input_after_restore();
                } else {
                    self.output.end_input();
                }
                self.input_ended = true;
                match &self.reporter {
                    Some(reporter) => reporter.end_of_input(),
                    None => break,
                }
            }
            if finish {
                break;
            }
            self.output.flush();
            shared.signal().wait(token, shared.timer_deadline());
        }
        self.output.close();
    }
}
