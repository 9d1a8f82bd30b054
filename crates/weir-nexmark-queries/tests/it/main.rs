//! The integration tests of `weir-nexmark-queries`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-nexmark-queries --test it -- NAME`.

mod common;
mod oracle;
mod oracle_a;
mod oracle_b;
