//! Rows as text, the way Flink prints changelogs: `+I[1001, Alice]`, `-U[...]`.

use crate::batch::{RowBatch, KIND_COLUMN};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Each row of `batch` as `KIND[v1, v2, ...]` (the kind column itself is not
/// printed; NULL values as `NULL`).
pub fn format_rows(batch: &RowBatch) -> Result<Vec<String>, ArrowError> {
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
    let mut lines = Vec::with_capacity(rows.num_rows());
    for row in 0..rows.num_rows() {
        let mut line = String::from(batch.kind(row).short());
        line.push('[');
        for (i, formatter) in formatters.iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            line.push_str(&formatter.value(row).try_to_string()?);
        }
        line.push(']');
        lines.push(line);
    }
    Ok(lines)
}
