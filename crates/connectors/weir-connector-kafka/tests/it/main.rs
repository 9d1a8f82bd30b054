//! The integration tests of `weir-connector-kafka`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-connector-kafka --test it -- NAME`.

mod common;
mod factory;
mod job;
mod process_kill;
mod sink;
mod source;
mod transaction_markers;
