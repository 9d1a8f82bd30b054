//! Wrappers that make the job report its progress as [`Marker`] lines and, in
//! interactive mode, wait for the harness at the points where a kill matters most.

use crate::markers::Marker;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use weir::core::{BoxError, Watermark};
use weir::runtime::sink::{Sink, SinkContext, SinkWriter};
use weir::runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Prints markers on standard output and, in interactive mode, waits for a reply
/// line on standard input after those that wait ([`Marker::waits`]).
#[derive(Debug)]
pub struct Control {
    interactive: bool,
    /// Serializes marker lines (and the reads of replies).
    lock: Mutex<()>,
    finished_readers: AtomicUsize,
}

impl Control {
    /// A control that waits for replies when `interactive`.
    pub fn new(interactive: bool) -> Arc<Control> {
        Arc::new(Control {
            interactive,
            lock: Mutex::new(()),
            finished_readers: AtomicUsize::new(0),
        })
    }

    /// Prints `marker`; in interactive mode, if it waits, returns once a reply
    /// arrives. Fails when standard output is closed or standard input ends (the
    /// harness went away).
    pub fn announce(&self, marker: &Marker) -> Result<(), BoxError> {
        {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            let mut out = std::io::stdout().lock();
            writeln!(out, "{marker}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot print a marker: {e}"))?;
        }
        if self.interactive && marker.waits() {
            // Each waiting thread takes one reply; the lock of stdin keeps lines whole.
            let mut reply = String::new();
            let read = std::io::stdin()
                .lock()
                .read_line(&mut reply)
                .map_err(|e| format!("cannot read the harness's reply: {e}"))?;
            if read == 0 {
                return Err("the harness closed standard input while the job waited for it".into());
            }
        }
        Ok(())
    }

    /// Notes that a reader of a source of parallelism `parallelism` finished;
    /// true for the last one.
    fn reader_finished(&self, parallelism: usize) -> bool {
        self.finished_readers.fetch_add(1, Ordering::SeqCst) + 1 == parallelism
    }
}

/// A source that announces [`Marker::SourcesFinished`] when the last of its
/// readers reaches the end of its input, before that reader reports it (so in
/// interactive mode no checkpoint can be taken after all readers finished until
/// the harness replied).
pub struct MarkedSource<S> {
    inner: S,
    control: Arc<Control>,
}

impl<S> MarkedSource<S> {
    /// `inner`, announcing through `control`.
    pub fn new(inner: S, control: Arc<Control>) -> Self {
        MarkedSource { inner, control }
    }
}

impl<T: Send + 'static, S: Source<T>> Source<T> for MarkedSource<S> {
    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }

    fn max_parallelism(&self) -> Option<usize> {
        self.inner.max_parallelism()
    }

    fn replayable(&self) -> bool {
        self.inner.replayable()
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        Ok(Box::new(MarkedReader {
            inner: self.inner.create_reader(context)?,
            control: self.control.clone(),
            parallelism: context.info.parallelism,
            finished: false,
        }))
    }
}

struct MarkedReader<T> {
    inner: Box<dyn SourceReader<T>>,
    control: Arc<Control>,
    parallelism: usize,
    finished: bool,
}

impl<T: Send> SourceReader<T> for MarkedReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let status = self.inner.poll_next(output)?;
        if status == PollStatus::Finished && !self.finished {
            self.finished = true;
            if self.control.reader_finished(self.parallelism) {
                self.control.announce(&Marker::SourcesFinished)?;
            }
        }
        Ok(status)
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
}

/// A sink that announces [`Marker::SinkOpen`] before creating each writer (and so
/// before the restored transactions are committed) and
/// [`Marker::CheckpointCompleted`] before each writer commits a checkpoint.
pub struct MarkedSink<S> {
    inner: S,
    control: Arc<Control>,
}

impl<S> MarkedSink<S> {
    /// `inner`, announcing through `control`.
    pub fn new(inner: S, control: Arc<Control>) -> Self {
        MarkedSink { inner, control }
    }
}

impl<T: Send + 'static, S: Sink<T>> Sink<T> for MarkedSink<S> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let subtask = context.info.index;
        self.control.announce(&Marker::SinkOpen {
            subtask,
            restored: context.restored.as_ref().is_some_and(|r| !r.is_empty()),
        })?;
        Ok(Box::new(MarkedWriter {
            inner: self.inner.create_writer(context)?,
            control: self.control.clone(),
            subtask,
        }))
    }
}

struct MarkedWriter<T> {
    inner: Box<dyn SinkWriter<T>>,
    control: Arc<Control>,
    subtask: usize,
}

impl<T> SinkWriter<T> for MarkedWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.inner.write(value, timestamp)
    }

    fn write_watermark(&mut self, watermark: Watermark) -> Result<(), BoxError> {
        self.inner.write_watermark(watermark)
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.inner.finish()
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.control.announce(&Marker::CheckpointCompleted {
            id: checkpoint_id,
            subtask: self.subtask,
        })?;
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }
}
