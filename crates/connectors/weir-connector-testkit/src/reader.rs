//! A source reader driven by hand the way the runtime drives it, and a format of
//! decimal numbers.

use std::sync::mpsc;
use std::time::Duration;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::{
    CollectingOutput, PollStatus, ReaderContext, SourceOutput, SourceReader, SourceWaker,
};
use weir_connector_api::SubtaskInfo;

/// Messages are decimal numbers.
pub struct Numbers;

impl Deserializer<u64> for Numbers {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<u64>) -> Result<(), FormatError> {
        let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
        let n = text
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
        out.push(n);
        Ok(())
    }
}

impl Serializer<u64> for Numbers {
    fn serialize(&mut self, value: &u64, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(value.to_string().as_bytes());
        Ok(())
    }
}

/// A reader context for subtask 0 of 1 whose waker signals `woken`.
pub fn context(restored: Option<Vec<Vec<u8>>>) -> (ReaderContext, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let waker = SourceWaker::new(move || {
        let _ = tx.send(());
    });
    let context = ReaderContext {
        info: SubtaskInfo::new("queue-source", 0, 1, 128),
        waker,
        restored,
    };
    (context, rx)
}

/// Polls `reader` until `done` says so about what it emitted, waiting on its waker
/// between polls; panics after `limit` without progress (a hang, not a timing
/// assertion).
pub fn read_until<T: 'static>(
    reader: &mut dyn SourceReader<T>,
    woken: &mpsc::Receiver<()>,
    out: &mut Vec<T>,
    done: impl Fn(&[T]) -> bool,
) -> Result<(), weir_connector_api::BoxError> {
    let limit = Duration::from_secs(120);
    while !done(out) {
        let mut collected = CollectingOutput::default();
        let status = reader.poll_next(&mut SourceOutput::new(&mut collected))?;
        out.extend(collected.records.into_iter().map(|r| r.value));
        if let PollStatus::Pending { .. } = status {
            if !done(out) && woken.recv_timeout(limit).is_err() {
                panic!("no progress for {limit:?}; read so far: {} records", out.len());
            }
        }
    }
    Ok(())
}

/// Polls until the reader fails, returning its error.
pub fn read_until_error<T: 'static>(reader: &mut dyn SourceReader<T>, woken: &mpsc::Receiver<()>) -> String {
    let mut out: Vec<T> = Vec::new();
    match read_until(reader, woken, &mut out, |_| false) {
        Err(e) => e.to_string(),
        Ok(()) => unreachable!(),
    }
}

/// Polls `reader` for `duration`, waiting on its waker between polls.
pub fn read_for<T: 'static>(
    reader: &mut dyn SourceReader<T>,
    woken: &mpsc::Receiver<()>,
    out: &mut Vec<T>,
    duration: Duration,
) -> Result<(), weir_connector_api::BoxError> {
    let until = std::time::Instant::now() + duration;
    while std::time::Instant::now() < until {
        let mut collected = CollectingOutput::default();
        let status = reader.poll_next(&mut SourceOutput::new(&mut collected))?;
        out.extend(collected.records.into_iter().map(|r| r.value));
        if let PollStatus::Pending { .. } = status {
            let _ = woken.recv_timeout(until.saturating_duration_since(std::time::Instant::now()));
        }
    }
    Ok(())
}

/// Writes `values` through a writer of `sink` (subtask 0 of 1, with
/// checkpointing) and returns once the broker has confirmed them (the writer's
/// checkpoint barrier waits for every confirm).
pub fn write_all<T: 'static>(sink: &dyn Sink<T>, values: impl IntoIterator<Item = T>) {
    let context = SinkContext {
        info: SubtaskInfo::new("sink", 0, 1, 128),
        checkpointing: true,
        restored: None,
    };
    let mut writer = sink.create_writer(&context).expect("sink writer");
    for value in values {
        writer.write(value, None).expect("write");
    }
    writer.snapshot_state(1).expect("confirms");
}
