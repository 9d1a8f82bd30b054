//! The counting aggregate of the windowed queries (`COUNT(*)`).

use weir::prelude::*;

/// Counts records (`COUNT(*)` of a window).
pub(crate) struct Count;

impl AggregateFunction<i64, i64, i64> for Count {
    fn create_accumulator(&self) -> i64 {
        0
    }
    fn add(&self, accumulator: &mut i64, _: i64) {
        *accumulator += 1;
    }
    fn get_result(&self, accumulator: &i64) -> i64 {
        *accumulator
    }
    fn merge(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}
