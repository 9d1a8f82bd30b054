//! The watermark of a table with `WATERMARK FOR col AS expr`: evaluates the
//! expression on every batch and emits the largest value seen when it advances.
//! Upstream watermarks are swallowed except the final `Watermark::MAX`.

use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use arrow::compute::{cast, max};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::physical_expr::PhysicalExpr;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use weir_runtime::failure::{fail, OperatorMeta};

/// Emits watermarks from a column expression.
pub struct WatermarkOperator {
    meta: OperatorMeta,
    expr: Arc<dyn PhysicalExpr>,
    current: i64,
}

impl WatermarkOperator {
    /// From the watermark expression over the table's columns.
    pub fn new(meta: OperatorMeta, expr: Arc<dyn PhysicalExpr>) -> Self {
        WatermarkOperator {
            meta,
            expr,
            current: i64::MIN,
        }
    }

    fn max_of(&self, batch: &RowBatch) -> Result<Option<i64>, SqlError> {
        let values = evaluate(&self.expr, batch.batch())?;
        let millis = cast(&values, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
        let millis = cast(&millis, &DataType::Int64)?;
        Ok(millis.as_any().downcast_ref::<Int64Array>().and_then(max))
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
