//! Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY k ORDER BY s) AS rn`
//! filtered by `rn <= N` (or `rn = 1`), and `ORDER BY s LIMIT N [OFFSET M]`.
//!
//! Rows are partitioned by the key group of their partition key; the operator
//! ([`TopN`]) keeps, per partition key in keyed state, rows in `ORDER BY` order
//! (sort keys encoded with Arrow's row format, whose byte order is the SQL order,
//! DESC and NULLS FIRST/LAST included). A row that ranks within the N enters:
//! `+I` with its rank; every row it pushes down is updated (`-U` old rank, `+U`
//! new rank) and the row pushed out of the N is deleted (`-D`). Without a rank
//! column (`LIMIT`) only entering and leaving rows are emitted. Ties keep arrival
//! order. Deduplication (`rn = 1` ordered by time) is the case N = 1: keep-first
//! costs one comparison per row.
//!
//! Over an insert-only input only the first N rows are kept: a row ranking below
//! them can never come back. Over an updating input (Flink's retract rank) every
//! row is kept: a row taken back (`-U`, `-D`) leaves, rows below it move up, and
//! the first row below the N comes into view. That state grows with the input
//! (bound it with `table.exec.state.ttl`).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use datafusion::common::DFSchema;
use datafusion::logical_expr::expr::Sort;
use datafusion::logical_expr::ExprSchemable;
use datafusion::physical_expr::PhysicalExpr;
use weir_core::StreamRecord;
use weir_datastream::custom::{Input, Operator, OperatorState};
use weir_runtime::failure::OperatorMeta;
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::eval::{evaluate, physical};
use crate::exec::keys::{self, GroupKeys};
use crate::exec::output;

/// One `ORDER BY` expression.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The expression.
    pub expr: Arc<dyn PhysicalExpr>,
    /// Its type.
    pub data_type: DataType,
    /// Descending.
    pub descending: bool,
    /// NULLs first.
    pub nulls_first: bool,
}

impl SortKey {
    /// The keys of `order_by`, sort expressions over rows of `schema`.
    pub fn plan(order_by: &[Sort], schema: &DFSchema) -> Result<Vec<SortKey>, SqlError> {
        order_by
            .iter()
            .map(|s| {
                Ok(SortKey {
                    expr: physical(&s.expr, schema)?,
                    data_type: s.expr.get_type(schema)?,
                    descending: !s.asc,
                    nulls_first: s.nulls_first,
                })
            })
            .collect()
    }
}

/// What a Top-N ranks and keeps.
#[derive(Debug, Clone)]
pub struct TopNSpec {
    /// The partition key.
    pub partition: GroupKeys,
    /// The order.
    pub order: Vec<SortKey>,
    /// How many rows per partition are kept: the ranks up to `limit`.
    pub limit: usize,
    /// How many of the first ranks are kept but not shown (`OFFSET`); only without
    /// a rank column.
    pub skip: usize,
    /// Whether the output has the rank column (`ROW_NUMBER()`); without it
    /// (`ORDER BY ... LIMIT`) a row moving to another shown rank changes nothing.
    pub with_rank: bool,
    /// Whether the input takes rows back: then every row is kept, not only the
    /// first `limit` (a row below them comes into view when one above is taken
    /// back), as in Flink's retract rank.
    pub retracting: bool,
    /// The input's column types.
    pub types: Vec<DataType>,
    /// Output schema: input columns, the rank (when `with_rank`), the kind column
    /// (absent when [`insert_only`](Self::insert_only)).
    pub schema: SchemaRef,
}

/// A row encoding of `keys` whose byte order is their SQL order (DESC and NULLS
/// FIRST/LAST included).
pub fn sort_converter(keys: &[SortKey]) -> Result<RowConverter, SqlError> {
    if keys.is_empty() {
        // No order: one constant (NULL) key, every row tied.
        return Ok(RowConverter::new(vec![SortField::new(DataType::Null)])?);
    }
    Ok(RowConverter::new(
        keys.iter()
            .map(|k| {
                SortField::new_with_options(
                    k.data_type.clone(),
                    arrow::compute::SortOptions {
                        descending: k.descending,
                        nulls_first: k.nulls_first,
                    },
                )
            })
            .collect(),
    )?)
}

impl TopNSpec {
    fn row_converter(&self) -> Result<RowConverter, SqlError> {
        output::row_converter(&self.types)
    }

    /// Whether the output only ever inserts: without an order every row ranks
    /// after those kept (a `LIMIT` keeps the first rows), so none is pushed out.
    pub fn insert_only(&self) -> bool {
        self.order.is_empty() && !self.with_rank && !self.retracting
    }
}

/// The Top-N operator.
pub struct TopN {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// What to rank.
    pub spec: TopNSpec,
    /// Encodings: partition keys, sort keys, rows.
    converters: [RowConverter; 3],
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// The kept rows of each partition, in rank order: (sort key, row).
    pub ranked: ValueStateDescriptor<Vec<(Vec<u8>, Vec<u8>)>>,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("Top-N state: {e}"))
}

impl TopN {
    /// Keeps each key's state `ttl` of processing time after its last write
    /// (`table.exec.state.ttl`), when given.
    pub fn with_state_ttl(mut self, ttl: &Option<weir_state::StateTtlConfig>) -> Self {
        self.ranked = crate::exec::translate::with_ttl(self.ranked, ttl);
        self
    }

    /// The operator over `store`.
    pub fn new(meta: OperatorMeta, spec: TopNSpec, store: KeyedStateStore<Vec<u8>>) -> Result<Self, SqlError> {
        Ok(TopN {
            meta,
            converters: [
                spec.partition.converter()?,
                sort_converter(&spec.order)?,
                spec.row_converter()?,
            ],
            spec,
            store,
            ranked: ValueStateDescriptor::new("ranked"),
        })
    }

    fn apply(&mut self, input: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let batch = input.batch();
        let [partitions, sorts, rows] = &self.converters;
        let (_, keys) = self.spec.partition.keys(partitions, batch)?;
        let mut order = self
            .spec
            .order
            .iter()
            .map(|k| evaluate(&k.expr, batch))
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        if order.is_empty() {
            // Without an order every row ties: a constant key keeps arrival order.
            order.push(Arc::new(arrow::array::NullArray::new(batch.num_rows())));
        }
        let sort_keys = sorts.convert_columns(&order)?;
        let data: Vec<ArrayRef> = batch
            .columns()
            .get(..self.spec.types.len())
            .ok_or_else(|| {
                SqlError::Plan(format!(
                    "a batch of {} columns, expected {}",
                    batch.num_columns(),
                    self.spec.types.len()
                ))
            })?
            .to_vec();
        let encoded = rows.convert_columns(&data)?;
        let by_key = keys::rows_by_key(keys.iter().map(Vec::as_slice));
        let kind = |row: usize| input.kind(row);
        let (limit, skip, with_rank) = (self.spec.limit, self.spec.skip, self.spec.with_rank);
        let mut out_rows: Vec<Vec<u8>> = Vec::new();
        let mut ranks: Vec<u64> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        let mut emit = |row: &[u8], rank: usize, kind: RowKind| {
            out_rows.push(row.to_vec());
            ranks.push(rank as u64);
            kinds.push(kind);
        };
        let retracting = self.spec.retracting;
        for (key, key_rows) in by_key {
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.ranked, &current).map_err(state_error)?;
            let mut ranked = state.get().map_err(state_error)?.unwrap_or_default();
            let mut changed = false;
            for row in key_rows {
                let sort_key = sort_keys.row(row);
                let encoded_row = encoded.row(row);
                let bytes = encoded_row.as_ref();
                if !kind(row).is_addition() {
                    // A row taken back: out of the kept rows, and out of view.
                    let first = ranked.partition_point(|(k, _)| k.as_slice() < sort_key.as_ref());
                    let Some(at) = ranked[first..]
                        .iter()
                        .take_while(|(k, _)| k.as_slice() == sort_key.as_ref())
                        .position(|(_, r)| r.as_slice() == bytes)
                        .map(|i| first + i)
                    else {
                        continue; // never kept (or expired): nothing shown changes
                    };
                    changed = true;
                    let (_, removed) = ranked.remove(at);
                    if at >= limit {
                        continue;
                    }
                    if with_rank {
                        emit(&removed, at + 1, RowKind::Delete);
                        // Rows below it move up a rank.
                        for (i, (_, moved)) in ranked.iter().enumerate().take(limit - 1).skip(at) {
                            emit(moved, i + 2, RowKind::UpdateBefore);
                            emit(moved, i + 1, RowKind::UpdateAfter);
                        }
                    } else if at >= skip {
                        emit(&removed, at + 1, RowKind::Delete);
                    } else if let Some((_, hidden)) = ranked.get(skip - 1) {
                        // The first shown row moves into the hidden ranks.
                        emit(hidden, skip + 1, RowKind::Delete);
                    }
                    // The first row below the shown ones comes into view.
                    if let Some((_, entering)) = ranked.get(limit - 1) {
                        emit(entering, limit, RowKind::Insert);
                    }
                    continue;
                }
                // Ties keep arrival order.
                let at = ranked.partition_point(|(k, _)| k.as_slice() <= sort_key.as_ref());
                if at >= limit {
                    if retracting {
                        // Kept: it comes into view when rows above it are taken back.
                        ranked.insert(at, (sort_key.as_ref().to_vec(), bytes.to_vec()));
                        changed = true;
                    }
                    continue;
                }
                changed = true;
                // A deduplication (one row per key) replacing its row updates it
                // (`-U` old, `+U` new, as Flink's deduplication: a versioned view
                // read by a temporal join takes the `+U` as the key's new version).
                let replaced = limit == 1 && skip == 0 && !ranked.is_empty();
                let (out_kind, in_kind) = if replaced {
                    (RowKind::UpdateBefore, RowKind::UpdateAfter)
                } else {
                    (RowKind::Delete, RowKind::Insert)
                };
                // The last shown row is pushed out of view (and, when nothing is
                // ever taken back, out of the kept rows).
                if let Some((_, pushed)) = ranked.get(limit - 1) {
                    emit(pushed, limit, out_kind);
                    if !retracting {
                        ranked.truncate(limit - 1);
                    }
                }
                if with_rank {
                    // Rows below the new one move down a rank.
                    for (i, (_, moved)) in ranked.iter().enumerate().take(limit - 1).skip(at).rev() {
                        emit(moved, i + 1, RowKind::UpdateBefore);
                        emit(moved, i + 2, RowKind::UpdateAfter);
                    }
                    emit(bytes, at + 1, in_kind);
                } else if at >= skip {
                    emit(bytes, at + 1, in_kind);
                } else if let Some((_, shown)) = ranked.get(skip - 1) {
                    // A row entering the hidden ranks pushes the last hidden one
                    // into view.
                    emit(shown, skip + 1, RowKind::Insert);
                }
                ranked.insert(at, (sort_key.as_ref().to_vec(), bytes.to_vec()));
            }
            if changed {
                state.set(ranked).map_err(state_error)?;
            }
        }
        if kinds.is_empty() {
            return Ok(None);
        }
        let parser = rows.parser();
        let mut columns = rows.convert_rows(out_rows.iter().map(|r| parser.parse(r)))?;
        if with_rank {
            let rank_type = self.spec.schema.field(columns.len()).data_type().clone();
            columns.push(cast(&(Arc::new(UInt64Array::from(ranks)) as ArrayRef), &rank_type)?);
        }
        let count = kinds.len();
        let kinds = (!self.spec.insert_only()).then_some(kinds);
        Ok(Some(output::batch(
            &self.spec.schema,
            columns,
            Vec::new(),
            kinds,
            count,
        )?))
    }
}

impl Operator<RowBatch, RowBatch> for TopN {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.apply(&record.value);
        output::send(&self.meta, "Top-N", result, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use arrow::array::{Int64Array, Int8Array};
    use arrow::datatypes::{Field, Schema};
    use datafusion::prelude::col;
    use weir_core::keygroup::KeyGroupRange;

    use super::*;
    use crate::batch::kind_field;

    const I: RowKind = RowKind::Insert;
    const D: RowKind = RowKind::Delete;
    const UB: RowKind = RowKind::UpdateBefore;

    fn input() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("s", DataType::Int64, true),
        ])
    }

    /// A global Top-N of rows (id, s) by `s DESC` over an updating input.
    fn top_n(limit: usize, skip: usize, with_rank: bool) -> TopN {
        let df = DFSchema::try_from(input()).unwrap();
        let mut fields: Vec<Field> = input().fields().iter().map(|f| f.as_ref().clone()).collect();
        if with_rank {
            fields.push(Field::new("rn", DataType::Int64, false));
        }
        let spec = TopNSpec {
            partition: GroupKeys::plan(&[], &df).unwrap(),
            order: SortKey::plan(&[col("s").sort(false, false)], &df).unwrap(),
            limit,
            skip,
            with_rank,
            retracting: true,
            types: vec![DataType::Int64, DataType::Int64],
            schema: output::with_kind(&Schema::new(fields)),
        };
        TopN::new(
            OperatorMeta::new("top-n", 0, 1),
            spec,
            KeyedStateStore::new(128, KeyGroupRange::new(0, 127)),
        )
        .unwrap()
    }

    fn feed(top: &mut TopN, kind: RowKind, id: i64, s: i64) -> Vec<String> {
        let mut fields: Vec<Field> = input().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(kind_field());
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            vec![
                Arc::new(Int64Array::from(vec![id])),
                Arc::new(Int64Array::from(vec![s])),
                Arc::new(Int8Array::from(vec![kind as i8])),
            ],
        )
        .unwrap();
        match top.apply(&RowBatch(batch)).unwrap() {
            Some(out) => crate::rows::format_rows(&RowBatch(out)).unwrap(),
            None => Vec::new(),
        }
    }

    #[test]
    fn rows_taken_back_make_room_for_kept_rows() {
        let mut top = top_n(2, 0, true);
        assert_eq!(feed(&mut top, I, 1, 10), ["+I[1, 10, 1]"]);
        assert_eq!(
            feed(&mut top, I, 2, 20),
            ["-U[1, 10, 1]", "+U[1, 10, 2]", "+I[2, 20, 1]"]
        );
        // Below the first two: kept, not shown.
        assert!(feed(&mut top, I, 3, 5).is_empty());
        assert_eq!(
            feed(&mut top, D, 2, 20),
            ["-D[2, 20, 1]", "-U[1, 10, 2]", "+U[1, 10, 1]", "+I[3, 5, 2]"]
        );
        assert_eq!(
            feed(&mut top, UB, 1, 10),
            ["-D[1, 10, 1]", "-U[3, 5, 2]", "+U[3, 5, 1]"]
        );
        // A row that is not there: nothing changes.
        assert!(feed(&mut top, D, 9, 10).is_empty());
    }

    #[test]
    fn an_offset_shows_the_ranks_after_it() {
        // LIMIT 2 OFFSET 1: ranks 2 and 3.
        let mut top = top_n(3, 1, false);
        assert!(feed(&mut top, I, 1, 10).is_empty());
        assert_eq!(feed(&mut top, I, 2, 20), ["+I[1, 10]"]);
        assert_eq!(feed(&mut top, I, 3, 5), ["+I[3, 5]"]);
        assert_eq!(feed(&mut top, I, 4, 30), ["-D[3, 5]", "+I[2, 20]"]);
        assert_eq!(feed(&mut top, D, 4, 30), ["-D[2, 20]", "+I[3, 5]"]);
        assert_eq!(feed(&mut top, D, 1, 10), ["-D[1, 10]"]);
    }
}
