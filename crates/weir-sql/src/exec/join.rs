//! Regular (unbounded) inner equi-joins: `a JOIN b ON a.k = b.k [AND condition]`.
//!
//! Both inputs are partitioned by the key group of their join key, so the operator
//! ([`StreamingJoin`]) sees every row of a key on both sides in one subtask. Each
//! side's rows are kept in keyed map state (heap or RocksDB), per join key, as
//! encoded rows with their multiplicities. A row arriving on one side is added to
//! (or, for `-U`/`-D`, taken back from) its side's state and joined with every row
//! of the other side under the same key; the pairs that pass the non-equi condition
//! are emitted. Over insert-only inputs the result is insert-only; over an updating
//! input a pair is emitted as `+I` when a row is added and as `-D` when it is taken
//! back, as Flink's inner join does. Rows with a NULL in their key never match and
//! are not kept.
//!
//! A left semi join (`WHERE EXISTS`/`IN`, or an inner join DataFusion proved to
//! match each left row at most once) over insert-only inputs emits each left row
//! once, when its first matching right row is there: a left row that matches on
//! arrival is emitted and not kept; one that does not is kept until a right row
//! matches it, then emitted and dropped from the state.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int8Array, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{filter_record_batch, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::RowConverter;
use datafusion::physical_expr::PhysicalExpr;
use weir_core::StreamRecord;
use weir_datastream::custom::{CoOperator, Input, OperatorState};
use weir_runtime::failure::OperatorMeta;
use weir_state::{KeyedStateStore, MapStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use crate::exec::keys::GroupKeys;

/// One input of a join.
#[derive(Debug, Clone)]
pub struct JoinSide {
    /// The join key expressions over this side's rows.
    pub keys: GroupKeys,
    /// The types of this side's columns (without the kind column).
    pub types: Vec<DataType>,
}

impl JoinSide {
    fn row_converter(&self) -> Result<RowConverter, SqlError> {
        crate::exec::output::row_converter(&self.types)
    }
}

/// The inner join operator.
pub struct StreamingJoin {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// The left input.
    pub left: JoinSide,
    /// The right input.
    pub right: JoinSide,
    /// The non-equi condition over the joined columns (left then right).
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// Output schema: left columns, right columns (not for a semi join), and the
    /// kind column when `updating`.
    pub schema: SchemaRef,
    /// The columns of a pair: left then right, without the kind column.
    pub pair_schema: SchemaRef,
    /// A left semi join: only left rows, each once (insert-only inputs).
    pub semi: bool,
    /// Whether the output carries row kinds (an input is updating).
    pub updating: bool,
    /// Keyed state (by encoded join key).
    pub store: KeyedStateStore<Vec<u8>>,
    /// Encodings: join keys, left rows, right rows.
    pub converters: JoinConverters,
    /// Left rows per join key: encoded row → multiplicity.
    pub left_rows: MapStateDescriptor<Vec<u8>, i64>,
    /// Right rows per join key.
    pub right_rows: MapStateDescriptor<Vec<u8>, i64>,
}

/// The row encodings a join uses.
pub struct JoinConverters {
    keys: RowConverter,
    left: RowConverter,
    right: RowConverter,
}

impl JoinConverters {
    /// Encodings of `left`'s and `right`'s keys and rows.
    pub fn new(left: &JoinSide, right: &JoinSide) -> Result<Self, SqlError> {
        Ok(JoinConverters {
            keys: left.keys.converter()?,
            left: left.row_converter()?,
            right: right.row_converter()?,
        })
    }
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("join state: {e}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The pairs a batch formed with the other side's rows, before the condition.
struct Pairs {
    /// Left then right columns, then the kind column.
    joined: RecordBatch,
    /// Per pair: the row of the batch.
    this_index: Vec<u32>,
    /// Per pair: the other side's encoded row.
    other_encoded: Vec<Vec<u8>>,
    /// The batch's encoded rows.
    encoded: arrow::row::Rows,
    /// The batch's encoded join keys.
    keys: arrow::row::Rows,
}

impl StreamingJoin {
    fn process(&mut self, side: Side, input: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let Some(pairs) = self.pairs(side, input)? else {
            return Ok(None);
        };
        let mask = match &self.filter {
            Some(filter) => {
                let mask = evaluate(filter, &pairs.joined)?;
                let Some(mask) = mask.as_any().downcast_ref::<arrow::array::BooleanArray>() else {
                    return Err(SqlError::Plan(format!(
                        "join condition is {}, not boolean",
                        mask.data_type()
                    )));
                };
                Some(mask.clone())
            }
            None => None,
        };
        if self.semi {
            return self.semi_rows(side, &pairs, mask.as_ref());
        }
        let joined = match &mask {
            Some(mask) => filter_record_batch(&pairs.joined, mask)?,
            None => pairs.joined,
        };
        if joined.num_rows() == 0 {
            return Ok(None);
        }
        if self.updating {
            Ok(Some(joined))
        } else {
            let all: Vec<usize> = (0..joined.num_columns() - 1).collect();
            Ok(Some(joined.project(&all)?))
        }
    }

    /// A semi join's left rows matched by `pairs` (those passing `mask`): each
    /// emitted as often as it is kept, and taken out of the state.
    fn semi_rows(
        &mut self,
        side: Side,
        pairs: &Pairs,
        mask: Option<&arrow::array::BooleanArray>,
    ) -> Result<Option<RecordBatch>, SqlError> {
        let mut matched: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (pair, &row) in pairs.this_index.iter().enumerate() {
            if mask.is_some_and(|m| !m.is_valid(pair) || !m.value(pair)) {
                continue;
            }
            let key = pairs.keys.row(row as usize).as_ref().to_vec();
            let left_row = match side {
                Side::Left => pairs.encoded.row(row as usize).as_ref().to_vec(),
                Side::Right => pairs.other_encoded[pair].clone(),
            };
            matched.push((key, left_row));
        }
        matched.sort();
        matched.dedup();
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (key, left_row) in matched {
            let current = self.store.key(key);
            let mut rows = self.store.map(&self.left_rows, &current).map_err(state_error)?;
            let count = rows.get(&left_row).map_err(state_error)?.unwrap_or(0);
            if count > 0 {
                rows.remove(&left_row).map_err(state_error)?;
                for _ in 0..count {
                    out.push(left_row.clone());
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        let parser = self.converters.left.parser();
        let columns = self.converters.left.convert_rows(out.iter().map(|b| parser.parse(b)))?;
        Ok(Some(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(out.len())),
        )?))
    }

    fn pairs(&mut self, side: Side, input: &RowBatch) -> Result<Option<Pairs>, SqlError> {
        let (this, this_rows, other_rows) = match side {
            Side::Left => (&self.left, &self.converters.left, &self.converters.right),
            Side::Right => (&self.right, &self.converters.right, &self.converters.left),
        };
        let batch = input.batch();
        let data: Vec<ArrayRef> = batch
            .columns()
            .get(..this.types.len())
            .ok_or_else(|| {
                SqlError::Plan(format!(
                    "a batch of {} columns, expected {}",
                    batch.num_columns(),
                    this.types.len()
                ))
            })?
            .to_vec();
        let key_columns = this.keys.columns(batch)?;
        let keys = self.converters.keys.convert_columns(&key_columns)?;
        let encoded = this_rows.convert_columns(&data)?;
        let (own, other) = match side {
            Side::Left => (&self.left_rows, &self.right_rows),
            Side::Right => (&self.right_rows, &self.left_rows),
        };
        // Pairs: a row of this batch and an encoded row of the other side.
        let mut this_index: Vec<u32> = Vec::new();
        let mut other_encoded: Vec<Vec<u8>> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        for row in 0..batch.num_rows() {
            if key_columns.iter().any(|c| c.is_null(row)) {
                continue;
            }
            let adds = input.kind(row).is_addition();
            let current = self.store.key(keys.row(row).as_ref().to_vec());
            let row_bytes = encoded.row(row).as_ref().to_vec();
            let mut mine = self.store.map(own, &current).map_err(state_error)?;
            let count = mine.get(&row_bytes).map_err(state_error)?.unwrap_or(0);
            if adds {
                mine.put(row_bytes, count + 1).map_err(state_error)?;
            } else if count == 0 {
                // Taking back a row never seen (state expired): nothing to retract.
                continue;
            } else if count == 1 {
                mine.remove(&row_bytes).map_err(state_error)?;
            } else {
                mine.put(row_bytes, count - 1).map_err(state_error)?;
            }
            let theirs = self.store.map(other, &current).map_err(state_error)?;
            for (bytes, count) in theirs.entries().map_err(state_error)? {
                for _ in 0..count {
                    this_index.push(row as u32);
                    other_encoded.push(bytes.clone());
                    kinds.push(if adds { RowKind::Insert } else { RowKind::Delete });
                }
            }
        }
        if kinds.is_empty() {
            return Ok(None);
        }
        let indices = UInt32Array::from(this_index.clone());
        let these = data
            .iter()
            .map(|c| take(c.as_ref(), &indices, None))
            .collect::<Result<Vec<_>, _>>()?;
        let parser = other_rows.parser();
        let those = other_rows.convert_rows(other_encoded.iter().map(|b| parser.parse(b)))?;
        let mut columns = match side {
            Side::Left => [these, those].concat(),
            Side::Right => [those, these].concat(),
        };
        let rows = kinds.len();
        columns.push(Arc::new(Int8Array::from_iter_values(
            kinds.into_iter().map(|k| k as i8),
        )));
        let joined = RecordBatch::try_new_with_options(
            crate::exec::output::with_kind(&self.pair_schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        Ok(Some(Pairs {
            joined,
            this_index,
            other_encoded,
            encoded,
            keys,
        }))
    }

    fn emit(&mut self, side: Side, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.process(side, &record.value);
        crate::exec::output::send(&self.meta, "join", result, out);
    }
}

impl CoOperator<RowBatch, RowBatch, RowBatch> for StreamingJoin {
    fn process1(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        self.emit(Side::Left, record, out);
    }

    fn process2(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        self.emit(Side::Right, record, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        crate::exec::output::keyed_snapshot(&mut self.store)
    }
}
