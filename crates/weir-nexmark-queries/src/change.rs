//! Rows of updating results. Flink's SQL queries with unbounded aggregates, joins,
//! deduplication or top-N produce a changelog (insert, update-before, update-after,
//! delete); Weir's versions emit the same as inserts and deletes of whole rows, and
//! the final table is what remains when every delete cancels an earlier insert.

use serde::{Deserialize, Serialize};

/// Insert or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// The row joins the result (`+I`, `+U`).
    #[serde(rename = "+")]
    Insert,
    /// The row leaves the result (`-U`, `-D`).
    #[serde(rename = "-")]
    Delete,
}

/// One change of an updating result: `{"op": "+", "row": {...}}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change<T> {
    /// Insert or delete.
    pub op: Op,
    /// The row.
    pub row: T,
}

impl<T> Change<T> {
    /// `row` joins the result.
    pub fn insert(row: T) -> Self {
        Change { op: Op::Insert, row }
    }

    /// `row` leaves the result.
    pub fn delete(row: T) -> Self {
        Change { op: Op::Delete, row }
    }
}
