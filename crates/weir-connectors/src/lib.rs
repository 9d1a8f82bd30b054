//! Built-in sources and sinks.
//!
//! Sources: [`CollectionSource`] (a vector, split across subtasks),
//! [`IteratorSource`] (any iterator, parallelism 1), [`SequenceSource`] (a range of
//! integers), [`GeneratorSource`] (records computed from their index, bounded or
//! unbounded, optionally rate-limited) and [`TextFileSource`] (lines of a file or of
//! every file in a directory, split by byte ranges).
//!
//! Sinks: [`CollectSink`] (into memory, for tests and examples), [`PrintSink`]
//! (stdout), [`TextFileSink`] (one line per record) and [`DiscardingSink`].
//!
//! End-to-end exactly-once building blocks: [`FileSink`] (two-phase commit by atomic
//! renames), [`WriteAheadLogSink`] (output kept in checkpoints, written when they
//! complete) and [`IdempotentSink`] (deterministic keys into an upserting store).
//! Sources checkpoint their positions and replay from them after a failure (except
//! [`IteratorSource`]).
//!
//! Connectors to external systems live in crates of their own.

mod collect;
mod collection;
mod discard;
mod file_sink;
mod generator;
mod idempotent_sink;
mod print;
mod sequence;
mod split_state;
mod text_file_sink;
mod text_file_source;
mod wal_sink;

pub use collect::{CollectHandle, CollectSink};
pub use collection::{CollectionSource, IteratorSource};
pub use discard::DiscardingSink;
pub use file_sink::{FileSink, FileTransaction, PendingFile};
pub use generator::GeneratorSource;
pub use idempotent_sink::{IdempotentSink, KeyValueStore, MemoryKeyValueStore};
pub use print::PrintSink;
pub use sequence::SequenceSource;
pub use text_file_sink::TextFileSink;
pub use text_file_source::TextFileSource;
pub use wal_sink::{BatchId, WriteAheadLogSink};

/// How many records a reader emits per poll at most, so that control messages
/// (checkpoints, stop) are handled promptly.
pub const MAX_RECORDS_PER_POLL: usize = 1024;
