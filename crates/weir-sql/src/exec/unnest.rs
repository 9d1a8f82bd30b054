//! `Unnest` plan nodes as a stateless per-batch operator: table functions
//! (`LATERAL TABLE`, see `plan/lateral.rs`), `CROSS JOIN UNNEST(array)` and
//! `unnest(...)` in a select list.
//!
//! A list column becomes one row per element, the row's other columns repeated
//! (an empty or NULL list gives no row, or one row with NULL as the node's
//! [`NullHandling`] says); a struct column becomes one column per field. An
//! updating input's kind column is repeated with its row, so each produced row
//! keeps the change its input row was.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::kernels::nullif::nullif;
use arrow::compute::{cast, is_null, take};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::NullHandling;

use crate::error::SqlError;

/// What an unnest computes.
#[derive(Debug, Clone)]
pub struct UnnestSpec {
    /// The input column unnested as a list (one level), if any.
    pub list: Option<usize>,
    /// The input columns unnested as structs.
    pub structs: Vec<usize>,
    /// Rows whose list is empty or NULL.
    pub null_handling: NullHandling,
    /// The input's columns (without the kind column).
    pub input_width: usize,
    /// The output's schema (the kind column last when the input is updating).
    pub schema: SchemaRef,
}

impl UnnestSpec {
    /// The output schema for the node's `schema`, every unnested column nullable
    /// (a NULL struct makes its fields NULL).
    pub fn output_schema(fields: &[Field]) -> SchemaRef {
        Arc::new(Schema::new(
            fields.iter().map(|f| f.clone().with_nullable(true)).collect::<Vec<_>>(),
        ))
    }

    /// Unnests `batch` (its kind column, if any, repeated with its rows).
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, SqlError> {
        let (rows, elements, list_values) = match self.list {
            Some(list) => {
                let Some(column) = batch.columns().get(list) else {
                    return Err(SqlError::Plan(format!(
                        "unnest: list column {list} is missing from a batch of {}",
                        batch.num_columns()
                    )));
                };
                let (rows, elements, values) = self.list_indices(column)?;
                (Some(rows), Some(elements), Some(values))
            }
            None => (None, None, None),
        };
        let num_rows = rows.as_ref().map_or(batch.num_rows(), |r| r.len());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (i, column) in batch.columns().iter().enumerate() {
            let column = if Some(i) == self.list {
                match (&list_values, &elements) {
                    (Some(values), Some(elements)) => take(values.as_ref(), elements, None)?,
                    _ => return Err(SqlError::Plan("unnest: the list's values are missing".into())),
                }
            } else {
                match &rows {
                    Some(rows) => take(column.as_ref(), rows, None)?,
                    None => column.clone(),
                }
            };
            if i < self.input_width && self.structs.contains(&i) {
                let Some(structs) = column.as_struct_opt() else {
                    return Err(SqlError::Plan(format!(
                        "unnest: column {i} is {}, not a struct",
                        column.data_type()
                    )));
                };
                let parent_nulls = (structs.null_count() > 0).then(|| is_null(structs)).transpose()?;
                for field in structs.columns() {
                    columns.push(match &parent_nulls {
                        Some(nulls) => nullif(field.as_ref(), nulls)?,
                        None => field.clone(),
                    });
                }
            } else {
                columns.push(column);
            }
        }
        if columns.len() != self.schema.fields().len() {
            return Err(SqlError::Plan(format!(
                "unnest: {} columns, its schema has {}",
                columns.len(),
                self.schema.fields().len()
            )));
        }
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    cast(&c, f.data_type())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(num_rows)),
        )?)
    }

    /// For a list column: the input row of each output row, the index of its
    /// element among the list's values (NULL for a row kept without one) and the
    /// values.
    fn list_indices(&self, column: &ArrayRef) -> Result<(UInt32Array, UInt32Array, ArrayRef), SqlError> {
        let list = match column.data_type() {
            DataType::List(_) => column.clone(),
            DataType::LargeList(f) | DataType::FixedSizeList(f, _) => cast(column, &DataType::List(f.clone()))?,
            other => return Err(SqlError::Plan(format!("unnest of {other}, not a list"))),
        };
        let Some(list) = list.as_list_opt::<i32>() else {
            return Err(SqlError::Plan("unnest: not a list".into()));
        };
        let offsets = list.value_offsets();
        let mut rows = Vec::with_capacity(list.values().len());
        let mut elements: Vec<Option<u32>> = Vec::with_capacity(list.values().len());
        for row in 0..list.len() {
            let (start, end) = (offsets[row], offsets[row + 1]);
            if list.is_valid(row) && end > start {
                for element in start..end {
                    rows.push(row as u32);
                    elements.push(Some(element as u32));
                }
                continue;
            }
            let keep = match self.null_handling {
                NullHandling::Drop => false,
                NullHandling::Preserve => list.is_null(row),
                NullHandling::PreserveAndExpandEmpty => true,
            };
            if keep {
                rows.push(row as u32);
                elements.push(None);
            }
        }
        Ok((
            UInt32Array::from(rows),
            UInt32Array::from(elements),
            list.values().clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow::array::{Int64Array, Int8Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn lists_become_rows_with_their_kinds_and_structs_columns() {
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            None,
            Some(vec![]),
            Some(vec![Some(3)]),
        ]);
        let keys = StringArray::from(vec!["a", "b", "c", "d"]);
        let kinds = Int8Array::from(vec![0, 0, 3, 3]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("l", lists.data_type().clone(), true),
            Field::new("_weir_kind", DataType::Int8, false),
        ]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys), Arc::new(lists), Arc::new(kinds)]).unwrap();
        let out_schema = UnnestSpec::output_schema(&[
            Field::new("k", DataType::Utf8, false),
            Field::new("l", DataType::Int64, true),
            Field::new("_weir_kind", DataType::Int8, false),
        ]);
        let mut spec = UnnestSpec {
            list: Some(1),
            structs: Vec::new(),
            null_handling: NullHandling::Drop,
            input_width: 2,
            schema: out_schema,
        };
        let out = spec.apply(&batch).unwrap();
        assert_eq!(out.num_rows(), 3);
        let values: Vec<Option<i64>> = out.column(1).as_primitive::<Int64Type>().iter().collect();
        assert_eq!(values, vec![Some(1), Some(2), Some(3)]);
        let kinds: Vec<i8> = out
            .column(2)
            .as_primitive::<arrow::datatypes::Int8Type>()
            .values()
            .to_vec();
        assert_eq!(kinds, vec![0, 0, 3]);
        spec.null_handling = NullHandling::PreserveAndExpandEmpty;
        let out = spec.apply(&batch).unwrap();
        let values: Vec<Option<i64>> = out.column(1).as_primitive::<Int64Type>().iter().collect();
        assert_eq!(values, vec![Some(1), Some(2), None, None, Some(3)]);

        let structs = StructArray::from(vec![
            (
                Arc::new(Field::new("x", DataType::Int64, false)),
                Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("y", DataType::Utf8, false)),
                Arc::new(StringArray::from(vec!["p", "q"])) as ArrayRef,
            ),
        ]);
        let schema = Arc::new(Schema::new(vec![Field::new("s", structs.data_type().clone(), true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(structs)]).unwrap();
        let spec = UnnestSpec {
            list: None,
            structs: vec![0],
            null_handling: NullHandling::Drop,
            input_width: 1,
            schema: UnnestSpec::output_schema(&[
                Field::new("s.x", DataType::Int64, false),
                Field::new("s.y", DataType::Utf8, false),
            ]),
        };
        let out = spec.apply(&batch).unwrap();
        assert_eq!(out.num_columns(), 2);
        assert_eq!(out.num_rows(), 2);
    }
}
