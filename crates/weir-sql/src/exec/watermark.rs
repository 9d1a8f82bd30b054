//! The watermark of a table with `WATERMARK FOR col AS expr`: evaluates the
//! expression on every batch and emits the largest value seen when it advances.
//! Upstream watermarks are swallowed except the final `Watermark::MAX`.
//!
//! The common `col - INTERVAL '...'` (a fixed delay) is computed as the largest
//! `col` of the batch minus the delay, not row by row.

use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use arrow::compute::{cast, max};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator as BinaryOperator};
use datafusion::physical_expr::PhysicalExpr;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::eval::{evaluate, physical};
use weir_runtime::failure::{fail, OperatorMeta};

/// How the watermark is computed from a batch.
#[derive(Clone)]
pub enum WatermarkExpr {
    /// Any expression, evaluated on every row.
    Rows(Arc<dyn PhysicalExpr>),
    /// A time column (by index) minus a fixed delay in milliseconds.
    Delayed {
        /// The column's index in the batch.
        column: usize,
        /// The delay.
        delay_ms: i64,
    },
}

impl WatermarkExpr {
    /// `expr` over the columns of `schema`, as a fixed delay when it is one.
    pub fn plan(expr: &Expr, schema: &DFSchema) -> Result<WatermarkExpr, SqlError> {
        if let Expr::BinaryExpr(BinaryExpr {
            left,
            op: BinaryOperator::Minus,
            right,
        }) = expr
        {
            if let (Expr::Column(column), Expr::Literal(delay, _)) = (left.as_ref(), right.as_ref()) {
                if let (Some(delay_ms), Ok(column)) = (delay_ms(delay), schema.index_of_column(column)) {
                    return Ok(WatermarkExpr::Delayed { column, delay_ms });
                }
            }
        }
        Ok(WatermarkExpr::Rows(physical(expr, schema)?))
    }
}

/// A fixed interval in milliseconds (none for months, which vary).
fn delay_ms(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::IntervalDayTime(Some(v)) => Some(i64::from(v.days) * 86_400_000 + i64::from(v.milliseconds)),
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 && v.nanoseconds % 1_000_000 == 0 => {
            Some(i64::from(v.days) * 86_400_000 + v.nanoseconds / 1_000_000)
        }
        _ => None,
    }
}

/// Emits watermarks from a column expression.
pub struct WatermarkOperator {
    meta: OperatorMeta,
    expr: WatermarkExpr,
    current: i64,
}

impl WatermarkOperator {
    /// From the watermark expression over the table's columns.
    pub fn new(meta: OperatorMeta, expr: WatermarkExpr) -> Self {
        WatermarkOperator {
            meta,
            expr,
            current: i64::MIN,
        }
    }

    fn max_of(&self, batch: &RowBatch) -> Result<Option<i64>, SqlError> {
        let (values, delay) = match &self.expr {
            WatermarkExpr::Rows(expr) => (evaluate(expr, batch.batch())?, 0),
            WatermarkExpr::Delayed { column, delay_ms } => {
                let Some(values) = batch.batch().columns().get(*column) else {
                    return Err(SqlError::Plan(format!(
                        "the watermark's column {column} is missing from a batch of {} columns",
                        batch.batch().num_columns()
                    )));
                };
                (values.clone(), *delay_ms)
            }
        };
        let millis = cast(&values, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
        let millis = cast(&millis, &DataType::Int64)?;
        Ok(millis
            .as_any()
            .downcast_ref::<Int64Array>()
            .and_then(max)
            .map(|m| m.saturating_sub(delay)))
    }
}

impl Operator<RowBatch, RowBatch> for WatermarkOperator {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let next = match self.max_of(&record.value) {
            Ok(next) => next,
            Err(e) => fail(&self.meta, format!("watermark expression: {e}")),
        };
        out.process(record);
        if let Some(next) = next {
            if next > self.current {
                self.current = next;
                out.process_watermark(Watermark::new(next));
            }
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark == Watermark::MAX && self.current < i64::MAX {
            self.current = i64::MAX;
            out.process_watermark(watermark);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::{col, lit};

    fn schema() -> DFSchema {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]);
        DFSchema::try_from(schema).unwrap()
    }

    #[test]
    fn a_column_minus_a_fixed_interval_is_a_delay() {
        let interval = ScalarValue::new_interval_mdn(0, 0, 4_000_000_000);
        let expr = col("ts") - lit(interval);
        match WatermarkExpr::plan(&expr, &schema()).unwrap() {
            WatermarkExpr::Delayed { column, delay_ms } => assert_eq!((column, delay_ms), (1, 4_000)),
            WatermarkExpr::Rows(_) => panic!("not recognised as a delay"),
        }
        let interval = ScalarValue::new_interval_dt(1, 500);
        let expr = col("ts") - lit(interval);
        assert!(matches!(
            WatermarkExpr::plan(&expr, &schema()).unwrap(),
            WatermarkExpr::Delayed {
                column: 1,
                delay_ms: 86_400_500
            }
        ));
    }

    #[test]
    fn months_and_other_expressions_are_evaluated_per_row() {
        let months = col("ts") - lit(ScalarValue::new_interval_mdn(1, 0, 0));
        assert!(matches!(
            WatermarkExpr::plan(&months, &schema()).unwrap(),
            WatermarkExpr::Rows(_)
        ));
        assert!(matches!(
            WatermarkExpr::plan(&col("ts"), &schema()).unwrap(),
            WatermarkExpr::Rows(_)
        ));
    }
}
