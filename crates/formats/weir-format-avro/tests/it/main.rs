//! The integration tests of `weir-format-avro`, built as one test binary (`it`) with a
//! module per topic: one executable per crate to link, not one per file (see
//! "Tests" in `docs/architecture.md`). One test:
//! `cargo test --release -p weir-format-avro --test it -- NAME`.

mod errors;
mod malformed;
/// The Nexmark rows of the benchmark, shared by `malformed` and `round_trip`.
#[allow(dead_code)]
#[path = "../../benches/nexmark_avro.rs"]
mod nexmark_avro;
mod registry;
mod round_trip;
