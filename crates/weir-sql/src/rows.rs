//! Rows as text, the way Flink prints changelogs: `+I[1001, Alice]`, `-U[...]`.

use crate::batch::{RowBatch, RowKind, KIND_COLUMN};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Each row of `batch`: its kind and its values as Arrow displays them (NULL as
/// `NULL`; the kind column itself is not among the values).
pub fn row_values(batch: &RowBatch) -> Result<Vec<(RowKind, Vec<String>)>, ArrowError> {
    let rows = &batch.0;
    let options = FormatOptions::default().with_null("NULL");
    let formatters = rows
        .schema_ref()
        .fields()
        .iter()
        .zip(rows.columns())
        .filter(|(field, _)| field.name() != KIND_COLUMN)
        .map(|(_, column)| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    (0..rows.num_rows())
        .map(|row| {
            let values = formatters
                .iter()
                .map(|f| f.value(row).try_to_string())
                .collect::<Result<Vec<_>, _>>()?;
            Ok((batch.kind(row), values))
        })
        .collect()
}

/// Each row of `batch` as `KIND[v1, v2, ...]`.
pub fn format_rows(batch: &RowBatch) -> Result<Vec<String>, ArrowError> {
    Ok(row_values(batch)?
        .into_iter()
        .map(|(kind, values)| format!("{}[{}]", kind.short(), values.join(", ")))
        .collect())
}
