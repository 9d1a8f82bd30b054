//! Window TVF assignment: every row gets the window(s) its time falls into, as
//! `window_start`, `window_end` and `window_time` (`window_end - 1 ms`) columns;
//! a row of a HOP or CUMULATE window is repeated once per window.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, TimestampMillisecondArray, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};

use crate::error::SqlError;
use crate::front::WindowKind;

/// Assigns windows of one kind.
#[derive(Debug, Clone)]
pub struct WindowAssigner {
    /// The window kind (for `Session`, each row gets the provisional window
    /// `[t, t + gap)`, which [`super::session_aggregate`] merges).
    pub kind: WindowKind,
    /// Window offset.
    pub offset_ms: i64,
    /// Index of the time column in the input.
    pub time_index: usize,
    /// The output columns, in order (only those the query reads).
    pub columns: Vec<WindowColumn>,
    /// The output schema.
    pub schema: SchemaRef,
}

/// One output column of a window TVF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowColumn {
    /// The input's column at this index, repeated per window of its row.
    Input(usize),
    /// `window_start`.
    Start,
    /// `window_end`.
    End,
    /// `window_time` (`window_end - 1 ms`).
    Time,
}

impl WindowColumn {
    /// The window column named `name`.
    pub fn named(name: &str) -> Option<WindowColumn> {
        match name {
            "window_start" => Some(WindowColumn::Start),
            "window_end" => Some(WindowColumn::End),
            "window_time" => Some(WindowColumn::Time),
            _ => None,
        }
    }
}

impl WindowAssigner {
    /// The `(start, end)` windows containing `t`.
    pub fn windows(&self, t: i64, out: &mut Vec<(i64, i64)>) {
        let offset = self.offset_ms;
        match self.kind {
            WindowKind::Tumble { size_ms } => {
                let start = t - (t - offset).rem_euclid(size_ms);
                out.push((start, start + size_ms));
            }
            WindowKind::Hop { slide_ms, size_ms } => {
                let last = t - (t - offset).rem_euclid(slide_ms);
                let mut start = last;
                while start > t - size_ms {
                    out.push((start, start + size_ms));
                    start -= slide_ms;
                }
                out.reverse();
            }
            WindowKind::Cumulate { step_ms, max_size_ms } => {
                let base = t - (t - offset).rem_euclid(max_size_ms);
                let mut end = base + step_ms;
                while end <= base + max_size_ms {
                    if t < end {
                        out.push((base, end));
                    }
                    end += step_ms;
                }
            }
            // Provisional: the session aggregate merges these into sessions.
            WindowKind::Session { gap_ms, .. } => out.push((t, t.saturating_add(gap_ms))),
        }
    }

    /// The batch with its rows' windows.
    pub fn assign(&self, batch: &RecordBatch) -> Result<RecordBatch, SqlError> {
        let Some(times) = batch.columns().get(self.time_index) else {
            return Err(SqlError::Plan(format!(
                "window time column {} is missing from a batch of {}",
                self.time_index,
                batch.num_columns()
            )));
        };
        let times = cast(times, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
        let times = cast(&times, &DataType::Int64)?;
        let Some(times) = times.as_any().downcast_ref::<Int64Array>() else {
            return Err(SqlError::Plan("window time column is not a timestamp".into()));
        };
        let mut indices = Vec::with_capacity(batch.num_rows());
        let mut starts = Vec::with_capacity(batch.num_rows());
        let mut ends = Vec::with_capacity(batch.num_rows());
        let mut windows = Vec::new();
        for row in 0..batch.num_rows() {
            if times.is_null(row) {
                continue;
            }
            windows.clear();
            self.windows(times.value(row), &mut windows);
            for &(start, end) in &windows {
                indices.push(row as u32);
                starts.push(start);
                ends.push(end);
            }
        }
        let rows = indices.len();
        let indices = UInt32Array::from(indices);
        let columns = self
            .columns
            .iter()
            .map(|column| -> Result<ArrayRef, SqlError> {
                Ok(match column {
                    WindowColumn::Input(i) => {
                        let Some(input) = batch.columns().get(*i) else {
                            return Err(SqlError::Plan(format!(
                                "window input column {i} is missing from a batch of {}",
                                batch.num_columns()
                            )));
                        };
                        take(input, &indices, None)?
                    }
                    WindowColumn::Start => Arc::new(TimestampMillisecondArray::from(starts.clone())),
                    WindowColumn::End => Arc::new(TimestampMillisecondArray::from(ends.clone())),
                    WindowColumn::Time => {
                        Arc::new(TimestampMillisecondArray::from_iter_values(ends.iter().map(|e| e - 1)))
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Schema;

    fn assigner(kind: WindowKind) -> WindowAssigner {
        WindowAssigner {
            kind,
            offset_ms: 0,
            time_index: 0,
            columns: Vec::new(),
            schema: Arc::new(Schema::empty()),
        }
    }

    #[test]
    fn windows_of_each_kind() {
        let mut out = Vec::new();
        assigner(WindowKind::Tumble { size_ms: 10 }).windows(-3, &mut out);
        assert_eq!(out, [(-10, 0)]);
        out.clear();
        assigner(WindowKind::Hop {
            slide_ms: 5,
            size_ms: 10,
        })
        .windows(12, &mut out);
        assert_eq!(out, [(5, 15), (10, 20)]);
        out.clear();
        assigner(WindowKind::Cumulate {
            step_ms: 5,
            max_size_ms: 15,
        })
        .windows(17, &mut out);
        assert_eq!(out, [(15, 20), (15, 25), (15, 30)]);
    }
}
