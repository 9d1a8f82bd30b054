//! The integration tests of `weir-runtime`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-runtime --test it -- NAME`.

mod cancellation;
mod common;
mod dead_letters;
mod durations;
mod exactly_once;
mod file_sink_moved;
mod finished_sources;
mod large_records;
mod restarts;
mod restore_failover;
mod s3_storage;
mod savepoints;
mod sink_rescale;
mod split_source;
mod stop_with_savepoint;
mod windows;
