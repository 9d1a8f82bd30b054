//! The integration tests of `weir-connector-filesystem`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-connector-filesystem --test it -- NAME`.

mod avro;
mod jobs;
mod parquet;
mod partition_time;
mod process_kill;
mod registry;
mod source_splits;
