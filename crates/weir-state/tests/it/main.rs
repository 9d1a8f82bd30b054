//! The integration tests of `weir-state`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-state --test it -- NAME`.

mod stale_instances;
