//! Result batches of keyed SQL operators: key columns, computed values and, for an
//! updating result, the kind of each row.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int8Array, RecordBatch, RecordBatchOptions};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;

use arrow::row::{RowConverter, SortField};
use weir_core::StreamRecord;
use weir_datastream::custom::{Input, OperatorState};
use weir_runtime::failure::{fail, OperatorMeta};
use weir_state::KeyedStateStore;

use crate::batch::{kind_field, RowBatch, RowKind};
use crate::error::SqlError;

/// `schema` with the kind column appended.
pub fn with_kind(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(kind_field());
    Arc::new(Schema::new(fields))
}

/// A column of `field`'s type from scalar values (cast from what the accumulators
/// produce).
pub fn column(field: &Field, values: Vec<ScalarValue>) -> Result<ArrayRef, SqlError> {
    if values.iter().all(ScalarValue::is_null) {
        return Ok(arrow::array::new_null_array(field.data_type(), values.len()));
    }
    let first = values
        .iter()
        .find(|v| !v.is_null())
        .map(ScalarValue::data_type)
        .unwrap_or(DataType::Null);
    let values = values
        .into_iter()
        .map(|v| {
            if v.is_null() {
                ScalarValue::try_from(&first)
            } else {
                Ok(v)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let array = ScalarValue::iter_to_array(values)?;
    Ok(cast(&array, field.data_type())?)
}

/// A batch of `schema` from key columns followed by one column per entry of
/// `values`, and the kind column when `kinds` is given (then `schema` ends with it).
pub fn batch(
    schema: &SchemaRef,
    mut columns: Vec<ArrayRef>,
    values: Vec<Vec<ScalarValue>>,
    kinds: Option<Vec<RowKind>>,
    rows: usize,
) -> Result<RecordBatch, SqlError> {
    for values in values {
        let field = schema.field(columns.len());
        columns.push(column(field, values)?);
    }
    if let Some(kinds) = kinds {
        columns.push(Arc::new(Int8Array::from_iter_values(
            kinds.into_iter().map(|k| k as i8),
        )));
    }
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// A row encoding of columns of `types` (Arrow's row format).
pub fn row_converter(types: &[DataType]) -> Result<RowConverter, SqlError> {
    Ok(RowConverter::new(
        types.iter().map(|t| SortField::new(t.clone())).collect(),
    )?)
}

/// Sends what an operator computed from one input batch downstream; an error fails
/// the job naming the operator (`what`).
pub fn send(
    meta: &OperatorMeta,
    what: &str,
    result: Result<Option<RecordBatch>, SqlError>,
    out: &mut dyn Input<RowBatch>,
) {
    match result {
        Ok(Some(batch)) => out.process(StreamRecord::new(RowBatch(batch))),
        Ok(None) => {}
        Err(e) => fail(meta, format!("{what}: {e}")),
    }
}

/// The snapshot of an operator whose only state is keyed.
pub fn keyed_snapshot(store: &mut KeyedStateStore<Vec<u8>>) -> OperatorState {
    OperatorState {
        keyed: Some(store.snapshot()),
        operator: None,
    }
}

/// Applies `update` to the value of `state` in place (no copy on the heap backend),
/// first creating it with `new` when there is none, and returns what `update`
/// returned.
pub fn update_state<V: weir_state::StateData, T>(
    state: &mut weir_state::ValueState<'_, Vec<u8>, V>,
    new: impl FnOnce() -> V,
    update: impl FnOnce(&mut V) -> Result<T, SqlError>,
) -> Result<Result<T, SqlError>, weir_state::StateError> {
    let mut outcome = None;
    state.modify(|current| match current {
        Some(value) => {
            outcome = Some(update(value));
            None
        }
        None => {
            let mut value = new();
            outcome = Some(update(&mut value));
            Some(value)
        }
    })?;
    Ok(outcome.unwrap_or_else(|| Err(SqlError::Plan("state update did not run".into()))))
}
