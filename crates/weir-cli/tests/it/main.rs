//! The integration tests of `weir-cli`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-cli --test it -- NAME`.

mod common;
mod control_reliability;
mod demo_restore;
mod nexmark_cli;
mod nexmark_sql;
mod options_checked;
mod rest_control;
mod rest_security;
mod restarts;
mod sql_shell;
