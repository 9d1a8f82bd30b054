//! Lookup joins: `JOIN t FOR SYSTEM_TIME AS OF b.proc_time AS s ON b.k = s.k`.
//!
//! As Flink's lookup join over a filesystem table, every task of the join loads
//! the whole table when it starts ([`SqlLookupSource`](crate::connector::SqlLookupSource))
//! and indexes its rows by the join key; each input row is joined with the rows of
//! its key as they are at that moment (the table is read once: later changes to its
//! files are not seen). The operator keeps no state: a restored job loads the table
//! again. INNER and LEFT joins; a non-equi condition is evaluated on the joined
//! rows (a LEFT join pads a row none of whose candidates pass it). The input's
//! changelog passes through: `-U`/`-D` rows join as their `+I` did.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;
use arrow::row::RowConverter;
use datafusion::physical_expr::PhysicalExpr;
use weir_core::StreamRecord;
use weir_datastream::custom::{Input, Operator, OperatorState};
use weir_runtime::failure::OperatorMeta;

use crate::batch::RowBatch;
use crate::connector::LookupLoad;
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use crate::exec::keys::GroupKeys;
use crate::exec::output;

/// What a lookup join reads and computes.
#[derive(Clone)]
pub struct LookupSpec {
    /// The table (for errors).
    pub table: String,
    /// The join keys over the input's rows.
    pub left_keys: GroupKeys,
    /// The join keys over the table's rows (as projected).
    pub right_keys: GroupKeys,
    /// The input's data columns (without the kind column).
    pub left_width: usize,
    /// The table's physical columns the join reads, in the join's order.
    pub right_columns: Vec<usize>,
    /// Filters and projections over the table's rows (the join's right side above
    /// the scan: conditions on the table alone that DataFusion pushed down).
    pub steps: Vec<TableStep>,
    /// A further condition over the joined row (input then table columns).
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// A LEFT join (unmatched input rows padded with NULLs).
    pub left_outer: bool,
    /// Input then table columns, for the filter.
    pub pair_schema: SchemaRef,
    /// The output: input then table columns, then the kind column when updating.
    pub schema: SchemaRef,
    /// Loads the table.
    pub load: LookupLoad,
}

/// A step computing the join's right side from the table's rows.
#[derive(Clone)]
pub enum TableStep {
    /// Keeps the rows where the condition is true.
    Filter(Arc<dyn PhysicalExpr>),
    /// Computes these columns of the schema.
    Project(Vec<Arc<dyn PhysicalExpr>>, SchemaRef),
}

impl TableStep {
    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch, SqlError> {
        match self {
            TableStep::Filter(condition) => {
                let mask = evaluate(condition, &batch)?;
                let mask = mask
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| SqlError::Plan(format!("condition is {}, not boolean", mask.data_type())))?;
                Ok(arrow::compute::filter_record_batch(&batch, mask)?)
            }
            TableStep::Project(exprs, schema) => crate::exec::eval::project(exprs, schema, &batch),
        }
    }
}

/// The lookup join operator.
pub struct LookupJoin {
    /// For failure reports.
    pub meta: OperatorMeta,
    spec: LookupSpec,
    converter: RowConverter,
    /// The table's columns the join reads.
    table: Vec<ArrayRef>,
    /// Table rows by encoded key (rows with a NULL key left out: they never match).
    index: HashMap<Vec<u8>, Vec<u32>>,
}

impl LookupJoin {
    /// Loads the table and indexes it.
    pub fn new(meta: OperatorMeta, spec: LookupSpec) -> Result<Self, SqlError> {
        let batches = (spec.load)()?;
        let converter = spec.right_keys.converter()?;
        let Some(first) = batches.first() else {
            return Ok(LookupJoin {
                meta,
                converter,
                table: Vec::new(),
                index: HashMap::new(),
                spec,
            });
        };
        let whole = concat_batches(&first.schema(), &batches)?;
        let mut projected = whole.project(&spec.right_columns).map_err(|e| {
            SqlError::Plan(format!(
                "lookup table '{}' has other columns than declared: {e}",
                spec.table
            ))
        })?;
        for step in &spec.steps {
            projected = step.apply(projected)?;
        }
        let keys = spec.right_keys.columns(&projected)?;
        let encoded = converter.convert_columns(&keys)?;
        let mut index: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for row in 0..projected.num_rows() {
            if keys.iter().any(|k| k.is_null(row)) {
                continue;
            }
            let at = u32::try_from(row)
                .map_err(|_| SqlError::Plan(format!("lookup table '{}' has more than 2^32 rows", spec.table)))?;
            index.entry(encoded.row(row).as_ref().to_vec()).or_default().push(at);
        }
        Ok(LookupJoin {
            meta,
            converter,
            table: projected.columns().to_vec(),
            index,
            spec,
        })
    }

    /// The joined rows of `batch`.
    fn join(&self, batch: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let rows = batch.batch();
        let keys = self.spec.left_keys.columns(rows)?;
        let encoded = self.converter.convert_columns(&keys)?;
        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
        for row in 0..rows.num_rows() {
            if keys.iter().any(|k| k.is_null(row)) {
                continue;
            }
            if let Some(matches) = self.index.get(encoded.row(row).as_ref()) {
                for &m in matches {
                    lefts.push(row as u32);
                    rights.push(Some(m));
                }
            }
        }
        let data = rows.columns().get(..self.spec.left_width).ok_or_else(|| {
            SqlError::Plan(format!(
                "a batch of {} columns, expected {}",
                rows.num_columns(),
                self.spec.left_width
            ))
        })?;
        if let Some(filter) = &self.spec.filter {
            let pairs = self.pairs(data, &lefts, &rights, &self.spec.pair_schema)?;
            let mask = evaluate(filter, &pairs)?;
            let mask = mask
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| SqlError::Plan(format!("join condition is {}, not boolean", mask.data_type())))?;
            let keep: Vec<bool> = (0..mask.len()).map(|i| mask.is_valid(i) && mask.value(i)).collect();
            let mut kept = keep.iter();
            lefts.retain(|_| kept.next().copied().unwrap_or(false));
            let mut kept = keep.iter();
            rights.retain(|_| kept.next().copied().unwrap_or(false));
        }
        if self.spec.left_outer {
            let mut matched = vec![false; rows.num_rows()];
            for &l in &lefts {
                matched[l as usize] = true;
            }
            let mut pairs: Vec<(u32, Option<u32>)> = lefts.into_iter().zip(rights).collect();
            pairs.extend(
                matched
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| !**m)
                    .map(|(row, _)| (row as u32, None)),
            );
            // Input order (stable: a row's matches stay in table order).
            pairs.sort_by_key(|(l, _)| *l);
            (lefts, rights) = pairs.into_iter().unzip();
        }
        if lefts.is_empty() {
            return Ok(None);
        }
        let mut columns = self
            .pairs(data, &lefts, &rights, &self.spec.pair_schema)?
            .columns()
            .to_vec();
        if let Some(kinds) = batch.kinds() {
            columns.push(take(kinds, &UInt32Array::from(lefts.clone()), None)?);
        }
        Ok(Some(RecordBatch::try_new_with_options(
            self.spec.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(lefts.len())),
        )?))
    }

    /// The joined rows `lefts[i]` ⋈ `rights[i]` (NULLs for a missing right row).
    fn pairs(
        &self,
        left: &[ArrayRef],
        lefts: &[u32],
        rights: &[Option<u32>],
        schema: &SchemaRef,
    ) -> Result<RecordBatch, SqlError> {
        let left_index = UInt32Array::from(lefts.to_vec());
        let right_index = UInt32Array::from(rights.to_vec());
        let mut columns = Vec::with_capacity(schema.fields().len());
        for column in left {
            columns.push(take(column, &left_index, None)?);
        }
        for column in &self.table {
            columns.push(take(column, &right_index, None)?);
        }
        if self.table.is_empty() {
            // An empty table: NULL columns of the declared types.
            for field in schema.fields().iter().skip(left.len()) {
                columns.push(arrow::array::new_null_array(field.data_type(), lefts.len()));
            }
        }
        Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(lefts.len())),
        )?)
    }
}

impl Operator<RowBatch, RowBatch> for LookupJoin {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.join(&record.value);
        output::send(&self.meta, "lookup join", result, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        OperatorState::default()
    }
}
