//! Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY k ORDER BY s) AS rn`
//! filtered by `rn <= N` (or `rn = 1`), over an insert-only input.
//!
//! Rows are partitioned by the key group of their partition key; the operator
//! ([`TopN`]) keeps, per partition key in keyed state, the first N rows in `ORDER
//! BY` order (sort keys encoded with Arrow's row format, whose byte order is the
//! SQL order, DESC and NULLS FIRST/LAST included). A row that ranks within the N
//! enters: `+I` with its rank; every row it pushes down is updated (`-U` old rank,
//! `+U` new rank) and the row pushed out of the N is deleted (`-D`). A row ranking
//! below the N changes nothing and is not kept: with an insert-only input it can
//! never come back. Ties keep arrival order. Deduplication (`rn = 1` ordered by
//! time) is the case N = 1: keep-first costs one comparison per row.

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
    /// How many rows per partition.
    pub limit: usize,
    /// The input's column types.
    pub types: Vec<DataType>,
    /// Output schema: input columns, the rank, the kind column.
    pub schema: SchemaRef,
}

/// A row encoding of `keys` whose byte order is their SQL order (DESC and NULLS
/// FIRST/LAST included).
pub fn sort_converter(keys: &[SortKey]) -> Result<RowConverter, SqlError> {
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

    fn apply(&mut self, batch: &RecordBatch) -> Result<Option<RecordBatch>, SqlError> {
        let [partitions, sorts, rows] = &self.converters;
        let (_, keys) = self.spec.partition.keys(partitions, batch)?;
        let order = self
            .spec
            .order
            .iter()
            .map(|k| evaluate(&k.expr, batch))
            .collect::<Result<Vec<ArrayRef>, _>>()?;
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
        let limit = self.spec.limit;
        let mut out_rows: Vec<Vec<u8>> = Vec::new();
        let mut ranks: Vec<u64> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        let mut emit = |row: &[u8], rank: usize, kind: RowKind| {
            out_rows.push(row.to_vec());
            ranks.push(rank as u64);
            kinds.push(kind);
        };
        for (key, key_rows) in by_key {
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.ranked, &current).map_err(state_error)?;
            let mut ranked = state.get().map_err(state_error)?.unwrap_or_default();
            let mut changed = false;
            for row in key_rows {
                let sort_key = sort_keys.row(row);
                let at = ranked.partition_point(|(k, _)| k.as_slice() <= sort_key.as_ref());
                if at >= limit {
                    continue;
                }
                changed = true;
                if ranked.len() == limit {
                    if let Some((_, evicted)) = ranked.pop() {
                        emit(&evicted, limit, RowKind::Delete);
                    }
                }
                // Rows below the new one move down a rank.
                for (i, (_, moved)) in ranked.iter().enumerate().skip(at).rev() {
                    emit(moved, i + 1, RowKind::UpdateBefore);
                    emit(moved, i + 2, RowKind::UpdateAfter);
                }
                let bytes = encoded.row(row).as_ref().to_vec();
                emit(&bytes, at + 1, RowKind::Insert);
                ranked.insert(at, (sort_key.as_ref().to_vec(), bytes));
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
        let rank_type = self.spec.schema.field(columns.len()).data_type().clone();
        columns.push(cast(&(Arc::new(UInt64Array::from(ranks)) as ArrayRef), &rank_type)?);
        let count = kinds.len();
        Ok(Some(output::batch(
            &self.spec.schema,
            columns,
            Vec::new(),
            Some(kinds),
            count,
        )?))
    }
}

impl Operator<RowBatch, RowBatch> for TopN {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.apply(record.value.batch());
        output::send(&self.meta, "Top-N", result, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}
