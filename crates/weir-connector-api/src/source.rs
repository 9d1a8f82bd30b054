//! The source interface: how records enter a job.
//!
//! A [`Source`] describes where data comes from and creates one [`SourceReader`] per
//! parallel subtask. The source task polls its reader in its mailbox loop: each
//! [`poll_next`](SourceReader::poll_next) emits a bounded batch of records and says
//! whether more are available, none are available yet, or the input has ended.
//! Because the reader never blocks the task, checkpoints and stop requests are handled
//! between polls.

use crate::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy, DeadLetter};
use crate::watermark::SplitWatermarks;
use std::sync::Arc;
use std::time::Instant;
use weir_core::{BoxError, StreamRecord, SubtaskInfo, Timestamp, Watermark, WatermarkStatus, NO_TIMESTAMP};

/// Whether a source ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Boundedness {
    /// The input is finite: the job finishes when it is consumed.
    Bounded,
    /// The input never ends by itself: the job runs until stopped or cancelled.
    Unbounded,
}

/// What a poll of a reader found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    /// More records are available now: poll again soon.
    MoreAvailable,
    /// Nothing is available now. The task polls again at `retry_at`, or when the
    /// reader's [`SourceWaker`] is woken, whichever comes first.
    Pending {
        /// When to poll again; `None` waits for a wake-up only.
        retry_at: Option<Instant>,
    },
    /// The input has ended; the reader is not polled again.
    Finished,
}

/// Wakes a source task whose reader returned [`PollStatus::Pending`], e.g. from a
/// network client thread that received data.
#[derive(Clone)]
pub struct SourceWaker {
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for SourceWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceWaker")
    }
}

impl SourceWaker {
    /// A waker calling `wake` (the runtime passes one that notifies the task's
    /// signal).
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        SourceWaker { wake: Arc::new(wake) }
    }

    /// A waker that does nothing (for readers driven by hand, e.g. in tests).
    pub fn noop() -> Self {
        SourceWaker::new(|| {})
    }

    /// Makes the task poll its reader again.
    pub fn wake(&self) {
        (self.wake)();
    }
}

/// Where a [`SourceOutput`] delivers: the runtime implements it for the head of
/// the source task's operator chain; tests implement it to collect what a reader
/// emits.
pub trait RecordOutput<T> {
    /// Delivers one record.
    fn emit_record(&mut self, record: StreamRecord<T>);
    /// Delivers a watermark.
    fn emit_watermark(&mut self, watermark: Watermark);
    /// Reports that the stream became idle or active.
    fn emit_status(&mut self, status: WatermarkStatus);
    /// Emits a record that could not be decoded to the source's dead-letter side
    /// output; false when the job does not consume that output.
    fn emit_dead_letter(&mut self, _letter: DeadLetter) -> bool {
        false
    }
}

/// A [`RecordOutput`] that keeps everything in memory (for tests and examples).
#[derive(Debug)]
pub struct CollectingOutput<T> {
    /// The records, in emission order.
    pub records: Vec<StreamRecord<T>>,
    /// The watermarks, in emission order.
    pub watermarks: Vec<Watermark>,
    /// The dead letters, in emission order.
    pub dead_letters: Vec<DeadLetter>,
}

impl<T> Default for CollectingOutput<T> {
    fn default() -> Self {
        CollectingOutput {
            records: Vec::new(),
            watermarks: Vec::new(),
            dead_letters: Vec::new(),
        }
    }
}

impl<T> RecordOutput<T> for CollectingOutput<T> {
    fn emit_record(&mut self, record: StreamRecord<T>) {
        self.records.push(record);
    }
    fn emit_watermark(&mut self, watermark: Watermark) {
        self.watermarks.push(watermark);
    }
    fn emit_status(&mut self, _status: WatermarkStatus) {}
    fn emit_dead_letter(&mut self, letter: DeadLetter) -> bool {
        self.dead_letters.push(letter);
        true
    }
}

/// How a source's checkpointed split states are handed to readers on restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitStateDistribution {
    /// The states are split evenly across the new subtasks.
    EvenSplit,
    /// Every new subtask gets every state (split-based sources, whose enumerator
    /// then decides who reads what).
    Union,
}

/// What a reader is given when it is created.
#[derive(Debug, Clone)]
pub struct ReaderContext {
    /// Which subtask the reader serves; `info.is_cancelled()` tells code that
    /// blocks or loops (a network client) that the task was cancelled.
    pub info: SubtaskInfo,
    /// Wakes the task when the reader has new data after returning `Pending`.
    pub waker: SourceWaker,
    /// After a restore: the split states this reader must resume from (what
    /// [`SourceReader::snapshot_state`] returned, possibly redistributed across
    /// subtasks). `None` on a fresh start.
    pub restored: Option<Vec<Vec<u8>>>,
}

/// Where a reader emits its records.
///
/// Readers with several splits (partitions, files) tell which split a record comes
/// from (`collect_in`), so that a watermark strategy can follow each split on its
/// own; readers with one split use `collect`.
pub struct SourceOutput<'a, T> {
    out: &'a mut dyn RecordOutput<T>,
    emitted: u64,
    watermarks: Option<&'a mut SplitWatermarks<T>>,
}

impl<'a, T: 'static> SourceOutput<'a, T> {
    /// An output feeding `out`.
    pub fn new(out: &'a mut dyn RecordOutput<T>) -> Self {
        SourceOutput {
            out,
            emitted: 0,
            watermarks: None,
        }
    }

    /// An output feeding `out` that assigns timestamps and tracks watermarks.
    pub fn with_watermarks(out: &'a mut dyn RecordOutput<T>, watermarks: Option<&'a mut SplitWatermarks<T>>) -> Self {
        SourceOutput {
            out,
            emitted: 0,
            watermarks,
        }
    }

    #[inline]
    fn emit(&mut self, split: usize, value: T, timestamp: Timestamp) {
        self.emitted += 1;
        let timestamp = match &mut self.watermarks {
            None => timestamp,
            Some(watermarks) => {
                if watermarks.activate() {
                    self.out.emit_status(WatermarkStatus::Active);
                }
                watermarks.on_record(split, &value, timestamp)
            }
        };
        self.out.emit_record(StreamRecord { value, timestamp });
    }

    /// Emits a record (of split 0) without a timestamp.
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.emit(0, value, NO_TIMESTAMP);
    }

    /// Emits a record (of split 0) with event time `timestamp`.
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: Timestamp) {
        self.emit(0, value, timestamp);
    }

    /// Emits a record of split `split` without a timestamp.
    #[inline]
    pub fn collect_in(&mut self, split: usize, value: T) {
        self.emit(split, value, NO_TIMESTAMP);
    }

    /// Emits a record of split `split` with event time `timestamp`.
    #[inline]
    pub fn collect_with_timestamp_in(&mut self, split: usize, value: T, timestamp: Timestamp) {
        self.emit(split, value, timestamp);
    }

    /// Split `split` has no more records: it no longer holds back the watermark.
    pub fn split_finished(&mut self, split: usize) {
        if let Some(watermarks) = &mut self.watermarks {
            watermarks.split_finished(split);
        }
    }

    /// Emits a watermark.
    pub fn emit_watermark(&mut self, watermark: Watermark) {
        self.out.emit_watermark(watermark);
    }

    /// Handles a record that could not be decoded by `handler`'s policy: fail,
    /// skip, a dead-letter queue, or the source's dead-letter side output. An error
    /// fails the job (under `fail`, or when the side output is not consumed).
    pub fn bad_record(&mut self, handler: &BadRecordHandler, bad: BadRecord<'_>) -> Result<(), BoxError> {
        if !matches!(handler.policy(), BadRecordPolicy::SideOutput) {
            return handler.handle(bad);
        }
        if self.out.emit_dead_letter(handler.letter(bad)) {
            handler.count_dead_letter();
            return Ok(());
        }
        Err(format!(
            "source '{}' has the bad-record policy 'dead-letter' but the job does not consume its dead letters \
             (call `dead_letters()` on the source's stream); record at {}, {}: {}",
            handler.source(),
            bad.split,
            bad.position,
            bad.error
        )
        .into())
    }

    /// Records emitted through this output so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }
}

/// Reads one subtask's share of a source.
pub trait SourceReader<T>: Send {
    /// Emits up to a bounded batch of records (keep it to a few thousand so control
    /// messages are not delayed) and reports what is available next.
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError>;

    /// The reader's position at a checkpoint, as a list of encoded split states
    /// (handed to [`ReaderContext::restored`] on restore, split evenly across the
    /// new subtasks). Readers that cannot replay return an error when checkpoints
    /// are enabled.
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Err("this source cannot be checkpointed: it cannot replay its input after a failure".into())
    }

    /// A checkpoint completed (e.g. acknowledge messages it covers).
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A source of records of type `T`.
pub trait Source<T>: Send + Sync + 'static {
    /// Whether the input ends by itself.
    fn boundedness(&self) -> Boundedness;

    /// The largest parallelism the source supports (`Some(1)` for sources that
    /// cannot be split, such as an iterator). `None` means any.
    fn max_parallelism(&self) -> Option<usize> {
        None
    }

    /// Whether readers can store their position in checkpoints and replay from it.
    /// Jobs with checkpoints reject sources that cannot.
    fn replayable(&self) -> bool {
        true
    }

    /// How the readers' checkpointed states are handed out on restore.
    fn state_distribution(&self) -> SplitStateDistribution {
        SplitStateDistribution::EvenSplit
    }

    /// Creates the reader for one subtask.
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError>;
}

/// A shared source (e.g. one the registry built) is a source.
impl<T: 'static> Source<T> for Arc<dyn Source<T>> {
    fn boundedness(&self) -> Boundedness {
        (**self).boundedness()
    }
    fn max_parallelism(&self) -> Option<usize> {
        (**self).max_parallelism()
    }
    fn replayable(&self) -> bool {
        (**self).replayable()
    }
    fn state_distribution(&self) -> SplitStateDistribution {
        (**self).state_distribution()
    }
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        (**self).create_reader(context)
    }
}
