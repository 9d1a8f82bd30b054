//! The integration tests of `weir-rest`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-rest --test it -- NAME`.

mod api;
mod common;
mod errors;
mod operations;
mod security;
