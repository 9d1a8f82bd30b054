//! The integration tests of `weir-connector-nats`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-connector-nats --test it -- NAME`.

mod common;
mod factory;
mod job;
mod nats;
mod server_restart;
