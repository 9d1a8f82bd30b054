//! The integration tests of `weir-sql-connectors`, one test binary (`it`) with a
//! module per topic: the `postgres_*` ones against the PostgreSQL server of
//! `scripts/services.sh`, the `kafka*` ones against its Kafka broker (tansu), the `filesystem*` ones (sink and source) in temporary directories. One
//! test: `cargo test --release -p weir-sql-connectors --test it -- NAME`.

mod common;
mod filesystem;
mod filesystem_restart;
mod filesystem_source;
mod kafka;
mod kafka_restart;
mod postgres_errors;
mod postgres_kill;
mod postgres_upsert;
