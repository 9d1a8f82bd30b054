//! Tasks: one subtask of a job vertex, run on its own thread with a mailbox loop.
//!
//! A task owns an operator chain and its input channels. Its loop takes one unit of
//! work at a time (a buffer of input records, a source poll, a control message from
//! the mailbox), so control actions such as checkpoints run between records, never
//! inside them, without locks on the hot path.

mod barrier;
mod common;
mod input_gate;
mod one_input;
mod source;
mod two_input;

pub use input_gate::{InputGate, Polled};
pub use one_input::OneInputTask;
pub use source::{SourceTask, SPLITS_STATE};
pub use two_input::TwoInputTask;

use crate::signal::TaskSignal;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{CancellationFlag, ExecutionConfig};

/// A control message for a task, delivered through its mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCommand {
    /// Sources end their input as if it were exhausted, so the job drains and
    /// finishes cleanly. Other tasks ignore it.
    Stop,
    /// Sources snapshot their position and emit this barrier.
    TriggerCheckpoint(crate::message::CheckpointBarrier),
    /// A checkpoint completed: two-phase-commit sinks commit.
    CheckpointComplete(u64),
    /// A checkpoint was aborted.
    CheckpointAborted(u64),
    /// The final checkpoint completed: the task may exit once its input is closed.
    Finish,
    /// The job stops after a savepoint: sources stop reading (without ending their
    /// input), and every task reports through [`TaskReporter::suspended`] once it
    /// has handled the commands posted before this one (the savepoint's
    /// completion: sinks committed). Tasks then go on until they are cancelled.
    Suspend,
}

/// How a task reports to the job master (only when checkpoints are enabled).
pub trait TaskReporter: Send + Sync {
    /// The task's input has ended and its chain has emitted everything.
    fn end_of_input(&self);
    /// The task handled [`TaskCommand::Suspend`] and every command before it.
    fn suspended(&self) {}
    /// The synchronous part of a snapshot is done; write it (off the task thread)
    /// and acknowledge the checkpoint.
    fn snapshot_taken(
        &self,
        snapshot: crate::snapshot::TaskSnapshot,
        channel_state: Option<Vec<u8>>,
        sync_duration: Duration,
    );
}

/// Counters a task keeps while it runs.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// Records taken from input channels (or emitted by the source reader).
    pub records_in: AtomicU64,
}

/// The part of a task that other threads touch: its wake-up signal, mailbox,
/// cancellation flag and counters.
#[derive(Debug)]
pub struct TaskShared {
    signal: Arc<TaskSignal>,
    cancelled: CancellationFlag,
    has_mail: AtomicBool,
    mailbox: Mutex<Vec<TaskCommand>>,
    next_timer: AtomicI64,
    /// Counters of the task.
    pub metrics: TaskMetrics,
}

impl Default for TaskShared {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskShared {
    /// A fresh, running task state.
    pub fn new() -> Self {
        TaskShared {
            signal: Arc::new(TaskSignal::new()),
            cancelled: CancellationFlag::new(),
            has_mail: AtomicBool::new(false),
            mailbox: Mutex::new(Vec::new()),
            next_timer: AtomicI64::new(i64::MAX),
            metrics: TaskMetrics::default(),
        }
    }

    /// The signal that wakes this task.
    pub fn signal(&self) -> &Arc<TaskSignal> {
        &self.signal
    }

    /// Asks the task to stop as soon as possible, abandoning its work.
    pub fn cancel(&self) {
        self.cancelled.cancel();
        self.signal.notify();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// The task's cancellation flag, for user code ([`weir_core::SubtaskInfo`]
    /// carries it).
    pub fn cancellation(&self) -> &CancellationFlag {
        &self.cancelled
    }

    /// Posts a command to the task's mailbox and wakes it.
    pub fn post(&self, command: TaskCommand) {
        self.mailbox.lock().push(command);
        self.has_mail.store(true, Ordering::Release);
        self.signal.notify();
    }

    /// Whether commands are waiting (cheap check for the hot loop).
    #[inline]
    pub fn has_mail(&self) -> bool {
        self.has_mail.load(Ordering::Acquire)
    }

    /// Asks for `ChainElement::on_processing_time` to be called once processing time
    /// reaches `time` (ms since the epoch). Elements register their earliest timer;
    /// after each call they register their next one.
    pub fn register_processing_timer(&self, time: weir_core::Timestamp) {
        self.next_timer.fetch_min(time, Ordering::AcqRel);
    }

    /// If a processing-time timer is due, clears it and returns the current time.
    #[inline]
    pub fn take_due_timer(&self) -> Option<weir_core::Timestamp> {
        let next = self.next_timer.load(Ordering::Acquire);
        if next == i64::MAX {
            return None;
        }
        let now = weir_core::processing_time_now();
        if now < next {
            return None;
        }
        self.next_timer.store(i64::MAX, Ordering::Release);
        Some(now)
    }

    /// When the next processing-time timer is due, as a deadline for waiting.
    pub fn timer_deadline(&self) -> Option<Instant> {
        let next = self.next_timer.load(Ordering::Acquire);
        if next == i64::MAX {
            return None;
        }
        let wait = next.saturating_sub(weir_core::processing_time_now()).max(0) as u64;
        Some(weir_core::time::deadline(Instant::now(), Duration::from_millis(wait)))
    }

    /// Takes all waiting commands, oldest first.
    pub fn take_mail(&self) -> Vec<TaskCommand> {
        let mut mailbox = self.mailbox.lock();
        self.has_mail.store(false, Ordering::Release);
        std::mem::take(&mut *mailbox)
    }
}

/// The behaviour of a running task (source, one-input or two-input), with its chain.
/// Failures unwind (see [`crate::failure`]).
pub trait TaskBody: Send {
    /// Runs the task until its input ends, it is stopped, or it is cancelled.
    fn run(&mut self, shared: &TaskShared);
}

/// Sends partly filled buffers once `timeout` has passed since the last flush.
#[derive(Debug)]
pub(crate) struct FlushTimer {
    timeout: Duration,
    last: Instant,
}

impl FlushTimer {
    pub(crate) fn new(config: &ExecutionConfig) -> Self {
        FlushTimer {
            timeout: config.buffer_timeout,
            last: Instant::now(),
        }
    }

    /// Whether a flush is due now (never with a zero timeout: writers then send
    /// every record at once).
    #[inline]
    pub(crate) fn due(&mut self) -> bool {
        if self.timeout.is_zero() {
            return false;
        }
        let now = Instant::now();
        if now.duration_since(self.last) >= self.timeout {
            self.last = now;
            true
        } else {
            false
        }
    }

    /// Records that the chain was just flushed.
    pub(crate) fn flushed(&mut self) {
        self.last = Instant::now();
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
