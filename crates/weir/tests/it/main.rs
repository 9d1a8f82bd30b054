//! The integration tests of `weir`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir --test it -- NAME`.

mod api;
mod backpressure;
mod chaining;
mod checkpointing;
mod common;
mod custom_operators;
mod event_time;
mod failures;
mod keys;
mod partitioning;
mod sink_watermarks;
mod windows;
