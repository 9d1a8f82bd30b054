//! The integration tests of `weir-connector-postgres`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-connector-postgres --test it -- NAME`.

mod common;
mod errors;
mod exactly_once;
mod lookup;
mod no_prepared_transactions;
mod process_kill;
mod restart;
mod upsert;
