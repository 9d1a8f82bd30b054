//! Keyed window aggregates: `GROUP BY window_start, window_end, keys...` over an
//! insert-only input.
//!
//! Rows are partitioned by the key group of their whole group row (window columns
//! included, see [`GroupKeys`]); the operator ([`WindowAggregate`]) keeps one list of
//! accumulators per group row in keyed state (heap or RocksDB, checkpointed and
//! restored with the key groups) and an event-time timer at `window_end - 1`; when
//! the watermark passes it the group's row is emitted (insert-only) and its state
//! cleared. Rows of windows the watermark already passed are dropped as late.

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::failure::{fail, OperatorMeta};
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::accumulator::{Acc, AggCall, Value};
use crate::exec::keys::GroupKeys;
use crate::exec::output;

/// The keyed window aggregate operator.
pub struct WindowAggregate {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// Group keys.
    pub keys: GroupKeys,
    /// Index of `window_end` among the group columns.
    pub window_end: usize,
    /// Aggregates.
    pub aggs: Vec<AggCall>,
    /// Output schema: group columns then aggregates.
    pub schema: SchemaRef,
    /// Row encoding of the group columns.
    pub converter: RowConverter,
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// Window-end timers.
    pub timers: Timers<Vec<u8>, ()>,
    /// Accumulators per group.
    pub accs: ValueStateDescriptor<Vec<Acc>>,
    /// The last watermark.
    pub watermark: i64,
    /// Late rows dropped.
    pub late: u64,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("window aggregate state: {e}"))
}

impl WindowAggregate {
    fn add(&mut self, batch: &RecordBatch) -> Result<(), SqlError> {
        let keys = self.keys.encode(&self.converter, batch)?;
        let Some(ends) = keys.columns.get(self.window_end) else {
            return Err(SqlError::Plan("window_end is not a group column".into()));
        };
        let ends = cast(ends, &DataType::Int64)?;
        let ends = ends
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| SqlError::Plan("window_end is not a timestamp".into()))?;
        let args = self.aggs.iter().map(|a| a.args(batch)).collect::<Result<Vec<_>, _>>()?;
        let aggs = &self.aggs;
        // One state access and one timer per group of the batch, not per row.
        for (key, rows) in keys.rows_by_key() {
            let Some(&first) = rows.first() else {
                continue;
            };
            let fire = ends.value(first) - 1;
            if fire <= self.watermark {
                self.late += rows.len() as u64;
                continue;
            }
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.accs, &current).map_err(state_error)?;
            // Applied in place, without copying the state.
            let update = |accs: &mut Vec<Acc>| -> Result<(), SqlError> {
                for ((agg, acc), arg) in aggs.iter().zip(accs.iter_mut()).zip(&args) {
                    match arg.value() {
                        Some(arg) => {
                            for &row in &rows {
                                let value = ScalarValue::try_from_array(arg, row)?;
                                acc.apply(Value::from_scalar(&value), 1);
                            }
                        }
                        None => agg.update_udaf(acc, arg, &[(true, rows.clone())])?,
                    }
                }
                Ok(())
            };
            let outcome = output::update_state(&mut state, || aggs.iter().map(|a| a.new_acc(false)).collect(), update)
                .map_err(state_error)?;
            outcome?;
            self.timers
                .register(&mut self.store, &current, TimeDomain::EventTime, (), fire)
                .map_err(state_error)?;
        }
        Ok(())
    }

    fn fire(&mut self, until: i64) -> Result<Option<RecordBatch>, SqlError> {
        let mut keys = Vec::new();
        let mut results: Vec<Vec<ScalarValue>> = vec![Vec::new(); self.aggs.len()];
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            let mut state = self.store.value(&self.accs, &current).map_err(state_error)?;
            let Some(accs) = state.take().map_err(state_error)? else {
                continue;
            };
            for ((out, acc), agg) in results.iter_mut().zip(&accs).zip(&self.aggs) {
                out.push(agg.result(acc)?);
            }
            keys.push(current.key().clone());
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let columns = self.keys.decode(&self.converter, &keys)?;
        Ok(Some(output::batch(&self.schema, columns, results, None, keys.len())?))
    }
}

impl Operator<RowBatch, RowBatch> for WindowAggregate {
    fn process(&mut self, record: StreamRecord<RowBatch>, _: &mut dyn Input<RowBatch>) {
        if let Err(e) = self.add(record.value.batch()) {
            fail(&self.meta, format!("window aggregate: {e}"));
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        let fired = self.fire(watermark.timestamp);
        output::send(&self.meta, "window aggregate", fired, out);
        out.process_watermark(watermark);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}
