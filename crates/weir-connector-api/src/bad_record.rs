//! What a source does with a record it cannot decode.
//!
//! Every source that decodes bytes takes a [`BadRecordPolicy`]:
//!
//! * [`Fail`](BadRecordPolicy::Fail) (the default): the job fails with an error
//!   naming the source, the split, the position (offset or line) and a snippet.
//! * [`Skip`](BadRecordPolicy::Skip): the record is dropped, counted
//!   ([`BadRecordHandler::skipped`]) and logged (the first ten, then every
//!   thousandth).
//! * [`SideOutput`](BadRecordPolicy::SideOutput) (`dead-letter` as an option
//!   string): the record and its error become a [`DeadLetter`] on the source's
//!   dead-letter side output ([`DEAD_LETTER_OUTPUT`]; `stream.dead_letters()` in the
//!   DataStream API), which any sink can consume, exactly once with the job's
//!   checkpoints since it travels with the source's records. If the job does not
//!   consume that output, the bad record fails the job rather than vanish.
//! * [`DeadLetter`](BadRecordPolicy::DeadLetter): the record and its error go to a
//!   [`DeadLetterQueue`] of your own (outside the job's checkpoints), and are counted.
//!
//! Nothing is ever dropped silently.
//!
//! ```
//! use std::sync::Arc;
//! use weir_connector_api::bad_record::*;
//! use weir_connector_api::format::{FormatError, FormatErrorKind};
//!
//! let queue = Arc::new(MemoryDeadLetterQueue::default());
//! let handler = BadRecordHandler::new("orders", BadRecordPolicy::DeadLetter(queue.clone()));
//! let error = FormatError::new(FormatErrorKind::Syntax, "expected ':' at column 7");
//! handler.handle(BadRecord { split: "orders.json", position: "line 3", bytes: b"{\"id\" 1}", error: &error }).unwrap();
//! assert_eq!(queue.take()[0].position, "line 3");
//! assert_eq!(handler.dead_lettered(), 1);
//!
//! let strict = BadRecordHandler::new("orders", BadRecordPolicy::Fail);
//! let failure = strict.handle(BadRecord { split: "orders.json", position: "line 3", bytes: b"{\"id\" 1}", error: &error });
//! assert!(failure.unwrap_err().to_string().contains("orders.json, line 3"));
//! ```

use crate::format::FormatError;
use parking_lot::Mutex;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir_core::BoxError;

/// How many bytes of a bad record an error message or log line shows.
pub const SNIPPET_BYTES: usize = 120;

/// The name of a source's side output carrying its [`DeadLetter`]s.
pub const DEAD_LETTER_OUTPUT: &str = "dead-letters";

/// A record that could not be decoded, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// The source's name.
    pub source: String,
    /// The split (partition, file) the record came from.
    pub split: String,
    /// Its position in the split (`offset 42`, `line 7`).
    pub position: String,
    /// The undecodable bytes.
    pub payload: Vec<u8>,
    /// Why they could not be decoded.
    pub error: String,
}

/// Where dead letters go: a side output of the source, or any sink.
pub trait DeadLetterQueue: Send + Sync {
    /// Takes one dead letter. An error fails the job (the record must not be lost).
    fn send(&self, letter: DeadLetter) -> Result<(), BoxError>;
}

/// A dead-letter queue kept in memory (tests, examples, or a side output drained by
/// an operator).
#[derive(Debug, Default)]
pub struct MemoryDeadLetterQueue {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDeadLetterQueue {
    /// Removes and returns the letters received so far.
    pub fn take(&self) -> Vec<DeadLetter> {
        std::mem::take(&mut *self.letters.lock())
    }
}

impl DeadLetterQueue for MemoryDeadLetterQueue {
    fn send(&self, letter: DeadLetter) -> Result<(), BoxError> {
        self.letters.lock().push(letter);
        Ok(())
    }
}

/// What to do with records that cannot be decoded.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum BadRecordPolicy {
    /// Fail the job, naming the source, split, position and a snippet.
    #[default]
    Fail,
    /// Drop the record; count and log it.
    Skip,
    /// Send the record to a dead-letter queue; count it.
    DeadLetter(Arc<dyn DeadLetterQueue>),
    /// Emit the record to the source's dead-letter side output
    /// ([`DEAD_LETTER_OUTPUT`]); count it.
    SideOutput,
}

impl fmt::Debug for BadRecordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadRecordPolicy::Fail => "Fail",
            BadRecordPolicy::Skip => "Skip",
            BadRecordPolicy::DeadLetter(_) => "DeadLetter",
            BadRecordPolicy::SideOutput => "SideOutput",
        })
    }
}

impl FromStr for BadRecordPolicy {
    type Err = String;

    /// `fail`, `skip` or `dead-letter` (the source's dead-letter side output; a
    /// queue of your own is given in code).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" => Ok(BadRecordPolicy::Fail),
            "skip" => Ok(BadRecordPolicy::Skip),
            "dead-letter" | "side-output" => Ok(BadRecordPolicy::SideOutput),
            other => Err(format!("expected 'fail', 'skip' or 'dead-letter', got '{other}'")),
        }
    }
}

/// A record that failed to decode, as a reader reports it.
#[derive(Debug, Clone, Copy)]
pub struct BadRecord<'a> {
    /// The split it came from (a file path, `topic/partition`).
    pub split: &'a str,
    /// Its position in the split (`line 7`, `offset 42`).
    pub position: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Why it could not be decoded.
    pub error: &'a FormatError,
}

/// A printable beginning of `bytes` (lossy UTF-8, at most [`SNIPPET_BYTES`]).
pub fn snippet(bytes: &[u8]) -> String {
    let cut = bytes.len().min(SNIPPET_BYTES);
    let mut text = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        text.push('…');
    }
    text
}

#[derive(Debug, Default)]
struct Counters {
    skipped: AtomicU64,
    dead_lettered: AtomicU64,
}

/// Applies a [`BadRecordPolicy`] for one source; clones share their counters, so
/// all readers of a source count together.
#[derive(Debug, Clone)]
pub struct BadRecordHandler {
    source: Arc<str>,
    policy: BadRecordPolicy,
    counters: Arc<Counters>,
}

impl BadRecordHandler {
    /// A handler for source `source` applying `policy`.
    pub fn new(source: impl Into<String>, policy: BadRecordPolicy) -> Self {
        BadRecordHandler {
            source: Arc::from(source.into()),
            policy,
            counters: Arc::default(),
        }
    }

    /// The policy applied.
    pub fn policy(&self) -> &BadRecordPolicy {
        &self.policy
    }

    /// Records skipped so far.
    pub fn skipped(&self) -> u64 {
        self.counters.skipped.load(Ordering::Relaxed)
    }

    /// Records sent to the dead-letter queue so far.
    pub fn dead_lettered(&self) -> u64 {
        self.counters.dead_lettered.load(Ordering::Relaxed)
    }

    /// The source's name.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The dead letter of `bad`.
    pub fn letter(&self, bad: BadRecord<'_>) -> DeadLetter {
        DeadLetter {
            source: self.source.to_string(),
            split: bad.split.to_string(),
            position: bad.position.to_string(),
            payload: bad.bytes.to_vec(),
            error: bad.error.to_string(),
        }
    }

    /// Counts a record sent to the dead-letter side output.
    pub fn count_dead_letter(&self) {
        self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// Handles one bad record: an error under `Fail` (or when the dead-letter queue
    /// fails), `Ok` once it is skipped or dead-lettered. Readers call it through
    /// [`SourceOutput::bad_record`](crate::source::SourceOutput::bad_record), which
    /// also serves the side-output policy.
    pub fn handle(&self, bad: BadRecord<'_>) -> Result<(), BoxError> {
        match &self.policy {
            BadRecordPolicy::SideOutput => Err(format!(
                "source '{}': the bad-record policy 'dead-letter' sends records to the source's side output, \
                 which this connector does not reach (it must hand bad records to SourceOutput::bad_record); \
                 record at {}, {}: {}",
                self.source, bad.split, bad.position, bad.error
            )
            .into()),
            BadRecordPolicy::Fail => Err(format!(
                "source '{}' cannot decode the record at {}, {}: {} (record: {:?}); set the source's bad-record policy to 'skip' or a dead-letter queue to go on past such records",
                self.source,
                bad.split,
                bad.position,
                bad.error,
                snippet(bad.bytes)
            )
            .into()),
            BadRecordPolicy::Skip => {
                let count = self.counters.skipped.fetch_add(1, Ordering::Relaxed) + 1;
                if count <= 10 || count.is_multiple_of(1000) {
                    tracing::warn!(
                        source = %self.source,
                        split = bad.split,
                        position = bad.position,
                        skipped = count,
                        "skipped a record that cannot be decoded: {} (record: {:?})",
                        bad.error,
                        snippet(bad.bytes)
                    );
                }
                Ok(())
            }
            BadRecordPolicy::DeadLetter(queue) => {
                queue
                    .send(self.letter(bad))
                    .map_err(|e| {
                        format!(
                            "source '{}': cannot send the bad record at {}, {} to the dead-letter queue: {e}",
                            self.source, bad.split, bad.position
                        )
                    })?;
                self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatErrorKind;

    fn bad<'a>(error: &'a FormatError, bytes: &'a [u8]) -> BadRecord<'a> {
        BadRecord {
            split: "part-0",
            position: "offset 9",
            bytes,
            error,
        }
    }

    #[test]
    fn fail_names_source_split_position_and_snippet() {
        let error = FormatError::new(FormatErrorKind::MissingField, "missing field 'price'");
        let handler = BadRecordHandler::new("bids", BadRecordPolicy::Fail);
        let long = vec![b'x'; 500];
        let message = handler.handle(bad(&error, &long)).unwrap_err().to_string();
        for part in ["'bids'", "part-0", "offset 9", "missing field 'price'", "xxxx…"] {
            assert!(message.contains(part), "{part} not in {message}");
        }
        assert!(message.len() < 500, "the snippet is bounded: {message}");
    }

    #[test]
    fn skip_counts_across_clones() {
        let error = FormatError::new(FormatErrorKind::Syntax, "eof");
        let handler = BadRecordHandler::new("bids", BadRecordPolicy::Skip);
        let clone = handler.clone();
        for _ in 0..3 {
            clone.handle(bad(&error, b"{")).unwrap();
        }
        handler.handle(bad(&error, b"{")).unwrap();
        assert_eq!(handler.skipped(), 4);
        assert_eq!(handler.dead_lettered(), 0);
    }

    #[test]
    fn a_failing_dead_letter_queue_fails_the_record() {
        struct Broken;
        impl DeadLetterQueue for Broken {
            fn send(&self, _: DeadLetter) -> Result<(), BoxError> {
                Err("queue full".into())
            }
        }
        let error = FormatError::new(FormatErrorKind::Syntax, "eof");
        let handler = BadRecordHandler::new("bids", BadRecordPolicy::DeadLetter(Arc::new(Broken)));
        let message = handler.handle(bad(&error, b"{")).unwrap_err().to_string();
        assert!(
            message.contains("queue full") && message.contains("offset 9"),
            "{message}"
        );
        assert_eq!(handler.dead_lettered(), 0);
    }

    #[test]
    fn policies_parse_from_options() {
        assert!(matches!("skip".parse(), Ok(BadRecordPolicy::Skip)));
        assert!(matches!(" FAIL ".parse(), Ok(BadRecordPolicy::Fail)));
        assert!(matches!("dead-letter".parse(), Ok(BadRecordPolicy::SideOutput)));
        assert!("ignore".parse::<BadRecordPolicy>().is_err());
    }
}
