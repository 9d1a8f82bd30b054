//! The integration tests of `weir-sql-connectors`, one test binary (`it`) with a
//! module per topic, against the PostgreSQL server of `scripts/services.sh`. One
//! test: `cargo test --release -p weir-sql-connectors --test it -- NAME`.

mod common;
mod postgres_errors;
mod postgres_kill;
mod postgres_upsert;
