//! Vectorized expression evaluation on [`RowBatch`]es: projections, filters and
//! computed columns with DataFusion physical expressions.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;

use crate::batch::RowBatch;
use crate::error::SqlError;
use weir_core::BoxError;
use weir_datastream::Collector;

/// A physical expression of `expr` over rows of `schema`.
pub fn physical(expr: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>, SqlError> {
    // Type coercion first: expressions of DDL (computed columns, watermarks) come
    // straight from the SQL planner, not through the analyzer that coerces a
    // query's plan (`event_type = 0` compares INT with a BIGINT literal).
    Ok(datafusion::prelude::SessionContext::new().create_physical_expr(expr.clone(), schema)?)
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
    Ok(filter_record_batch(batch, &mask(predicate, batch)?)?)
}

/// `predicate` on every row of `batch`.
pub(crate) fn mask(predicate: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<BooleanArray, SqlError> {
    let mask = evaluate(predicate, batch)?;
    match mask.as_any().downcast_ref::<BooleanArray>() {
        Some(mask) => Ok(mask.clone()),
        None => Err(SqlError::Plan(format!(
            "filter predicate is {}, not boolean",
            mask.data_type()
        ))),
    }
}

/// `exprs` computed on the rows of `batch` where `predicate` is true (computed on
/// every row, then filtered: for expressions that only select columns).
pub fn filter_projected(
    predicate: &Arc<dyn PhysicalExpr>,
    exprs: &[Arc<dyn PhysicalExpr>],
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch, SqlError> {
    let mask = mask(predicate, batch)?;
    Ok(filter_record_batch(&project(exprs, schema, batch)?, &mask)?)
}

/// Emits the result of `f` on a batch unless it is empty; an error fails the job
/// (the runtime names the operator, `what` the step).
pub fn emit(
    what: &str,
    out: &mut Collector<'_, RowBatch>,
    f: impl FnOnce() -> Result<RecordBatch, SqlError>,
) -> Result<(), BoxError> {
    let batch = f().map_err(|e| format!("{what}: {e}"))?;
    if batch.num_rows() > 0 {
        out.collect(RowBatch(batch));
    }
    Ok(())
}
