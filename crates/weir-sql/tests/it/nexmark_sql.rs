//! The Flink Nexmark SQL texts, as `weir nexmark run --sql` runs them (the files
//! under `crates/weir-nexmark-queries/sql/`).

use weir_nexmark_queries::{sql, Query};

/// The `datagen` table and the `person`, `auction` and `bid` views.
pub const DDL: &str = sql::DDL;

/// Each query's name and text (sink DDL + INSERT).
pub fn queries() -> Vec<(String, &'static str)> {
    Query::all().map(|q| (q.to_string(), sql::text(q))).collect()
}
