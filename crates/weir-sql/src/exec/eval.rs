//! Vectorized expression evaluation on [`RowBatch`]es: projections, filters and
//! computed columns with DataFusion physical expressions.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};

use crate::batch::RowBatch;
use crate::error::SqlError;

/// A physical expression of `expr` over rows of `schema`.
pub fn physical(expr: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>, SqlError> {
    Ok(create_physical_expr(
        expr,
        schema,
        &ExecutionProps::new(),
        &Default::default(),
    )?)
}

/// Evaluates `expr` on every row of `batch`.
pub fn evaluate(expr: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<ArrayRef, SqlError> {
    Ok(expr.evaluate(batch)?.into_array(batch.num_rows())?)
}

/// Computes `exprs` on `batch` into a batch of `schema`.
pub fn project(
    exprs: &[Arc<dyn PhysicalExpr>],
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch, SqlError> {
    let columns = exprs
        .iter()
        .map(|e| evaluate(e, batch))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// The rows of `batch` where `predicate` is true.
pub fn filter(predicate: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<RecordBatch, SqlError> {
    let mask = evaluate(predicate, batch)?;
    let Some(mask) = mask.as_any().downcast_ref::<BooleanArray>() else {
        return Err(SqlError::Plan(format!(
            "filter predicate is {}, not boolean",
            mask.data_type()
        )));
    };
    Ok(filter_record_batch(batch, mask)?)
}

/// Runs `f` on a batch; failures are logged and the batch dropped (an operator
/// cannot fail a record yet), empty results are dropped.
pub fn run(what: &str, f: impl FnOnce() -> Result<RecordBatch, SqlError>) -> Option<RowBatch> {
    match f() {
        Ok(batch) if batch.num_rows() > 0 => Some(RowBatch(batch)),
        Ok(_) => None,
        Err(e) => {
            tracing::error!("{what}: {e}; batch dropped");
            None
        }
    }
}
