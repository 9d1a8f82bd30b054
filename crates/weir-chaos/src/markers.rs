//! The marker lines the job prints on standard output, and the reply the harness
//! gives on standard input.
//!
//! One marker per line, a word in capitals followed by its fields:
//!
//! | line | meaning | waits for a reply (interactive) |
//! | --- | --- | --- |
//! | `STARTED <parallelism> <0\|1>` | the job starts, fresh (0) or restored (1) | no |
//! | `CHECKPOINT_DIR <path>` | where this run's checkpoints go | no |
//! | `SINK_OPEN <subtask> <0\|1>` | a sink subtask is created, before it commits the transactions restored for it (1: it has some) | yes |
//! | `CHECKPOINT_COMPLETED <id> <subtask>` | a sink subtask learned that checkpoint `id` completed, before it commits | yes |
//! | `SOURCES_FINISHED` | the last source reader of the run reached the end of its input | yes |
//! | `JOB_FINISHED` | the job finished; everything is committed | no |
//!
//! In interactive mode the job waits after each marker that needs a reply until a
//! line ([`REPLY`]) arrives on its standard input, so the harness can kill it at
//! exactly that point: a sink held at `CHECKPOINT_COMPLETED` has not committed the
//! checkpoint's transaction, a sink held at `SINK_OPEN` has not committed the
//! restored ones.

use std::fmt;
use std::path::PathBuf;

/// What the harness answers to a marker that waits (any line will do).
pub const REPLY: &str = "go";

/// A line the job prints for the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Marker {
    /// The job is starting.
    Started {
        /// Parallelism of every operator.
        parallelism: usize,
        /// Whether it starts from a checkpoint.
        restored: bool,
    },
    /// Where this run's checkpoints go (its job directory).
    CheckpointDir(PathBuf),
    /// A sink subtask is being created; after a restore, before it commits the
    /// restored pre-committed transactions.
    SinkOpen {
        /// The sink subtask.
        subtask: usize,
        /// Whether transactions were restored for it.
        restored: bool,
    },
    /// A sink subtask learned that a checkpoint completed and has not committed it.
    CheckpointCompleted {
        /// The checkpoint.
        id: u64,
        /// The sink subtask.
        subtask: usize,
    },
    /// The last source reader of this run reached the end of its input.
    SourcesFinished,
    /// The job finished: all its output is committed.
    JobFinished,
}

impl Marker {
    /// Whether the job waits for a reply after printing this marker (in
    /// interactive mode).
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Marker::SinkOpen { .. } | Marker::CheckpointCompleted { .. } | Marker::SourcesFinished
        )
    }

    /// Parses a marker line; `None` for any other line.
    pub fn parse(line: &str) -> Option<Marker> {
        let line = line.trim_end_matches(['\r', '\n']);
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut fields = rest.split_whitespace();
        let mut number = || fields.next().and_then(|f| f.parse::<u64>().ok());
        match word {
            "STARTED" => {
                let parallelism = usize::try_from(number()?).ok()?;
                let restored = flag(number()?)?;
                Some(Marker::Started { parallelism, restored })
            }
            "CHECKPOINT_DIR" if !rest.is_empty() => Some(Marker::CheckpointDir(PathBuf::from(rest))),
            "SINK_OPEN" => {
                let subtask = usize::try_from(number()?).ok()?;
                let restored = flag(number()?)?;
                Some(Marker::SinkOpen { subtask, restored })
            }
            "CHECKPOINT_COMPLETED" => {
                let id = number()?;
                let subtask = usize::try_from(number()?).ok()?;
                Some(Marker::CheckpointCompleted { id, subtask })
            }
            "SOURCES_FINISHED" if rest.is_empty() => Some(Marker::SourcesFinished),
            "JOB_FINISHED" if rest.is_empty() => Some(Marker::JobFinished),
            _ => None,
        }
    }
}

fn flag(n: u64) -> Option<bool> {
    match n {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Marker::Started { parallelism, restored } => write!(f, "STARTED {parallelism} {}", u8::from(*restored)),
            Marker::CheckpointDir(path) => write!(f, "CHECKPOINT_DIR {}", path.display()),
            Marker::SinkOpen { subtask, restored } => write!(f, "SINK_OPEN {subtask} {}", u8::from(*restored)),
            Marker::CheckpointCompleted { id, subtask } => write!(f, "CHECKPOINT_COMPLETED {id} {subtask}"),
            Marker::SourcesFinished => f.write_str("SOURCES_FINISHED"),
            Marker::JobFinished => f.write_str("JOB_FINISHED"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_parses_back_from_its_line() {
        let markers = [
            Marker::Started {
                parallelism: 3,
                restored: true,
            },
            Marker::CheckpointDir(PathBuf::from("/tmp/a dir/chaos-17")),
            Marker::SinkOpen {
                subtask: 2,
                restored: false,
            },
            Marker::CheckpointCompleted { id: 41, subtask: 1 },
            Marker::SourcesFinished,
            Marker::JobFinished,
        ];
        for marker in markers {
            assert_eq!(Marker::parse(&format!("{marker}\n")), Some(marker));
        }
    }

    #[test]
    fn other_lines_are_not_markers() {
        for line in [
            "",
            "hello",
            "STARTED",
            "STARTED x 1",
            "STARTED 2 7",
            "CHECKPOINT_DIR",
            "CHECKPOINT_COMPLETED 4",
            "JOB_FINISHED now",
        ] {
            assert_eq!(Marker::parse(line), None, "{line}");
        }
    }
}
