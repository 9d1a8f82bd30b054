//! A query's result as the `weir sql` shell shows it: the changelog materialized
//! into the rows it leaves ([`ResultTable`]), and rows drawn as a bordered text
//! table ([`render`]).
//!
//! `+I` adds a row at the end, `-D` removes it, `-U` followed by its `+U` replaces
//! the row in place (a lone `+U` adds at the end). A retraction of a row that is
//! not there (it was dropped by the row limit) is counted and ignored.

use std::collections::{BTreeMap, HashMap};
use weir_sql::batch::{RowBatch, RowKind};

/// The rows a changelog leaves, in the order they came.
#[derive(Debug)]
pub struct ResultTable {
    /// Rows by position (an increasing sequence number).
    rows: BTreeMap<u64, Vec<String>>,
    /// The positions of each distinct row.
    positions: HashMap<Vec<String>, Vec<u64>>,
    next: u64,
    /// The position freed by the last change, a `-U`, for the `+U` after it.
    freed: Option<u64>,
    changes: u64,
    max_rows: usize,
    dropped: u64,
    unmatched: u64,
}

impl ResultTable {
    /// An empty table keeping at most `max_rows` rows (at least 1; the oldest go
    /// first).
    pub fn new(max_rows: usize) -> Self {
        ResultTable {
            rows: BTreeMap::new(),
            positions: HashMap::new(),
            next: 0,
            freed: None,
            changes: 0,
            max_rows: max_rows.max(1),
            dropped: 0,
            unmatched: 0,
        }
    }

    /// Applies one change.
    pub fn apply(&mut self, kind: RowKind, values: Vec<String>) {
        self.changes += 1;
        let freed = self.freed.take();
        match kind {
            RowKind::Insert | RowKind::UpdateAfter => {
                let position = match (kind, freed) {
                    (RowKind::UpdateAfter, Some(position)) => position,
                    _ => {
                        self.next += 1;
                        self.next
                    }
                };
                self.positions.entry(values.clone()).or_default().push(position);
                self.rows.insert(position, values);
                if self.rows.len() > self.max_rows {
                    if let Some((oldest, row)) = self.rows.pop_first() {
                        self.forget(&row, oldest);
                        self.dropped += 1;
                    }
                }
            }
            RowKind::UpdateBefore | RowKind::Delete => {
                let Some(position) = self.positions.get_mut(&values).and_then(Vec::pop) else {
                    self.unmatched += 1;
                    return;
                };
                if self.positions.get(&values).is_some_and(Vec::is_empty) {
                    self.positions.remove(&values);
                }
                self.rows.remove(&position);
                if kind == RowKind::UpdateBefore {
                    self.freed = Some(position);
                }
            }
        }
    }

    /// Applies the changes of a batch of a query's result.
    pub fn apply_batch(&mut self, batch: &RowBatch) -> Result<(), weir_sql::datafusion::arrow::error::ArrowError> {
        for (kind, values) in weir_sql::rows::row_values(batch)? {
            self.apply(kind, values);
        }
        Ok(())
    }

    fn forget(&mut self, row: &[String], position: u64) {
        if let Some(positions) = self.positions.get_mut(row) {
            positions.retain(|p| *p != position);
            if positions.is_empty() {
                self.positions.remove(row);
            }
        }
    }

    /// The rows, in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Vec<String>> {
        self.rows.values()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Changes applied so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Rows dropped because the table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Retractions of rows that were not there.
    pub fn unmatched(&self) -> u64 {
        self.unmatched
    }
}

/// How [`render`] draws a table.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Column titles.
    pub columns: Vec<String>,
    /// Which columns are right-aligned (numbers).
    pub right: Vec<bool>,
    /// Cut values wider than this many characters (`…` at the end).
    pub max_width: Option<usize>,
}

/// `rows` (all of them, or the first `limit`) as a bordered table, with a `… N
/// more rows` line when some were left out.
pub fn render<'a>(
    layout: &Layout,
    rows: impl ExactSizeIterator<Item = &'a Vec<String>>,
    limit: Option<usize>,
) -> Vec<String> {
    let total = rows.len();
    let shown: Vec<Vec<String>> = rows
        .take(limit.unwrap_or(usize::MAX))
        .map(|row| row.iter().map(|v| cut(v, layout.max_width)).collect())
        .collect();
    let mut widths: Vec<usize> = layout
        .columns
        .iter()
        .map(|c| width(&cut(c, layout.max_width)))
        .collect();
    for row in &shown {
        for (i, value) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(width(value));
            }
        }
    }
    let edge = border(&widths);
    let line = |values: &[String], numbers: bool| row_line(values, &widths, if numbers { &layout.right } else { &[] });
    let titles: Vec<String> = layout.columns.iter().map(|c| cut(c, layout.max_width)).collect();
    let mut lines = vec![edge.clone(), line(&titles, false), edge.clone()];
    lines.extend(shown.iter().map(|row| line(row, true)));
    if !shown.is_empty() {
        lines.push(edge);
    }
    if total > shown.len() {
        let more = total - shown.len();
        lines.push(format!("… {more} more row{}", if more == 1 { "" } else { "s" }));
    }
    lines
}

/// A table's border line for columns `widths` wide.
pub fn border(widths: &[usize]) -> String {
    format!(
        "+{}+",
        widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+")
    )
}

/// A table's line of `values` in columns `widths` wide, the columns `right` says
/// right-aligned.
pub fn row_line(values: &[String], widths: &[usize], right: &[bool]) -> String {
    let cells: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let value = values.get(i).map(String::as_str).unwrap_or("");
            let pad = " ".repeat(w.saturating_sub(width(value)));
            if right.get(i).copied().unwrap_or(false) {
                format!(" {pad}{value} ")
            } else {
                format!(" {value}{pad} ")
            }
        })
        .collect();
    format!("|{}|", cells.join("|"))
}

/// Display width of `text` (terminal columns).
pub fn width(text: &str) -> usize {
    console::measure_text_width(text)
}

/// `text` cut to `max` columns, ending with `…` when cut.
pub fn cut(text: &str, max: Option<usize>) -> String {
    match max {
        Some(max) if width(text) > max => console::truncate_str(text, max.max(1), "…").into_owned(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn rows(table: &ResultTable) -> Vec<Vec<String>> {
        table.rows().cloned().collect()
    }

    #[test]
    fn inserts_add_rows_in_order() {
        let mut table = ResultTable::new(100);
        table.apply(RowKind::Insert, row(&["b", "1"]));
        table.apply(RowKind::Insert, row(&["a", "1"]));
        table.apply(RowKind::Insert, row(&["b", "1"]));
        assert_eq!(rows(&table), [row(&["b", "1"]), row(&["a", "1"]), row(&["b", "1"])]);
        assert_eq!(table.changes(), 3);
    }

    #[test]
    fn an_update_replaces_the_row_in_place() {
        let mut table = ResultTable::new(100);
        table.apply(RowKind::Insert, row(&["a", "1"]));
        table.apply(RowKind::Insert, row(&["b", "1"]));
        table.apply(RowKind::UpdateBefore, row(&["a", "1"]));
        table.apply(RowKind::UpdateAfter, row(&["a", "2"]));
        assert_eq!(rows(&table), [row(&["a", "2"]), row(&["b", "1"])]);
        // A +U without its -U right before adds at the end.
        table.apply(RowKind::UpdateBefore, row(&["b", "1"]));
        table.apply(RowKind::Insert, row(&["c", "1"]));
        table.apply(RowKind::UpdateAfter, row(&["b", "2"]));
        assert_eq!(rows(&table), [row(&["a", "2"]), row(&["c", "1"]), row(&["b", "2"])]);
    }

    #[test]
    fn deletes_remove_one_copy() {
        let mut table = ResultTable::new(100);
        table.apply(RowKind::Insert, row(&["a"]));
        table.apply(RowKind::Insert, row(&["a"]));
        table.apply(RowKind::Insert, row(&["b"]));
        table.apply(RowKind::Delete, row(&["a"]));
        assert_eq!(rows(&table), [row(&["a"]), row(&["b"])]);
        table.apply(RowKind::Delete, row(&["a"]));
        table.apply(RowKind::Delete, row(&["b"]));
        assert_eq!(table.len(), 0);
        // A retraction of a row that is not there is counted, not applied.
        table.apply(RowKind::Delete, row(&["zz"]));
        table.apply(RowKind::UpdateBefore, row(&["zz"]));
        table.apply(RowKind::UpdateAfter, row(&["zz", "new"]));
        assert_eq!(rows(&table), [row(&["zz", "new"])]);
        assert_eq!(table.unmatched(), 2);
    }

    #[test]
    fn a_full_table_drops_its_oldest_rows() {
        let mut table = ResultTable::new(2);
        for v in ["1", "2", "3"] {
            table.apply(RowKind::Insert, row(&[v]));
        }
        assert_eq!(rows(&table), [row(&["2"]), row(&["3"])]);
        assert_eq!(table.dropped(), 1);
        // The dropped row's retraction finds nothing.
        table.apply(RowKind::Delete, row(&["1"]));
        assert_eq!(table.unmatched(), 1);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_batch_of_a_query_is_applied() {
        use std::sync::Arc;
        use weir_sql::datafusion::arrow::array::{Int64Array, Int8Array, RecordBatch, StringArray};
        use weir_sql::datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
            weir_sql::batch::kind_field(),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "a", "a", "b"])),
                Arc::new(Int64Array::from(vec![Some(1), Some(1), Some(2), None])),
                Arc::new(Int8Array::from(vec![0, 1, 2, 0])),
            ],
        )
        .unwrap();
        let mut table = ResultTable::new(10);
        table.apply_batch(&RowBatch(batch)).unwrap();
        assert_eq!(rows(&table), [row(&["a", "2"]), row(&["b", "NULL"])]);
    }

    #[test]
    fn tables_are_drawn_with_borders_and_a_row_limit() {
        let layout = Layout {
            columns: vec!["name".into(), "n".into()],
            right: vec![false, true],
            max_width: Some(6),
        };
        let data = [row(&["ann", "7"]), row(&["bartholomew", "12"]), row(&["cy", "1"])];
        assert_eq!(
            render(&layout, data.iter(), None),
            [
                "+--------+----+",
                "| name   | n  |",
                "+--------+----+",
                "| ann    |  7 |",
                "| barth… | 12 |",
                "| cy     |  1 |",
                "+--------+----+",
            ]
        );
        assert_eq!(
            render(&layout, data.iter(), Some(1)),
            [
                "+------+---+",
                "| name | n |",
                "+------+---+",
                "| ann  | 7 |",
                "+------+---+",
                "… 2 more rows",
            ]
        );
        let empty: [Vec<String>; 0] = [];
        assert_eq!(
            render(&layout, empty.iter(), None),
            ["+------+---+", "| name | n |", "+------+---+"]
        );
    }
}
