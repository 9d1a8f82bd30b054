//! The integration tests of `weir-connector-rabbitmq`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-connector-rabbitmq --test it -- NAME`.

mod broker_restart;
mod common;
mod factory;
mod job;
mod rabbitmq;
