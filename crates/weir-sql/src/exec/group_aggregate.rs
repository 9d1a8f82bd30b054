//! Updating aggregates: `GROUP BY keys` without a window, over an insert-only or
//! an updating input, producing a retract changelog.
//!
//! Each group keeps its accumulators and its number of rows in keyed state. A batch
//! is applied group by group: rows that add (`+I`, `+U`) are accumulated, rows that
//! take back (`-U`, `-D`) are retracted. For every group the batch changed, the
//! operator emits `+I new` (a new group), `-U old` `+U new` (a changed result) or
//! `-D old` (a group whose rows were all taken back); an unchanged result emits
//! nothing. The result rows are keyed by the group columns (the upsert key).
//! Emitting once per batch rather than once per row is Flink's mini-batch: fewer
//! intermediate updates, the same final result.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};
use weir_core::StreamRecord;
use weir_datastream::custom::{Input, Operator, OperatorState};
use weir_runtime::failure::OperatorMeta;
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::accumulator::{Acc, AggCall, Value};
use crate::exec::keys::GroupKeys;
use crate::exec::output;

/// The state of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Rows added minus rows taken back.
    pub rows: i64,
    /// One accumulator per aggregate.
    pub accs: Vec<Acc>,
}

/// The updating aggregate operator.
pub struct GroupAggregate {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// Group keys.
    pub keys: GroupKeys,
    /// Aggregates.
    pub aggs: Vec<AggCall>,
    /// Whether the input may take rows back (retracting accumulators).
    pub retracting: bool,
    /// Output schema: group columns, aggregates, the kind column.
    pub schema: SchemaRef,
    /// Row encoding of the group columns.
    pub converter: RowConverter,
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// The state of each group.
    pub groups: ValueStateDescriptor<Group>,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("aggregate state: {e}"))
}

/// A group's results before and after a batch (`None`: the group has no rows).
type Update = (Option<Vec<ScalarValue>>, Option<Vec<ScalarValue>>);

fn results(aggs: &[AggCall], group: &Group) -> Result<Vec<ScalarValue>, SqlError> {
    aggs.iter().zip(&group.accs).map(|(agg, acc)| agg.result(acc)).collect()
}

/// The rows an aggregate emits.
#[derive(Default)]
struct Changes {
    keys: Vec<Vec<u8>>,
    values: Vec<Vec<ScalarValue>>,
    kinds: Vec<RowKind>,
}

impl Changes {
    fn push(&mut self, key: &[u8], values: Vec<ScalarValue>, kind: RowKind) {
        self.keys.push(key.to_vec());
        for (column, value) in self.values.iter_mut().zip(values) {
            column.push(value);
        }
        self.kinds.push(kind);
    }
}

impl GroupAggregate {
    fn apply(&mut self, batch: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let rows = batch.batch();
        let keys = self.keys.encode(&self.converter, rows)?;
        let args = self.aggs.iter().map(|a| a.args(rows)).collect::<Result<Vec<_>, _>>()?;
        let udafs = self.aggs.iter().any(|a| a.udaf.is_some());
        let aggs = &self.aggs;
        let mut changes = Changes {
            values: vec![Vec::new(); self.aggs.len()],
            ..Changes::default()
        };
        for (key, group_rows) in keys.rows_by_key() {
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.groups, &current).map_err(state_error)?;
            // The group's rows applied in place (no copy of its state): the results
            // before and after, and the rows left.
            let update = |group: &mut Group| -> Result<Update, SqlError> {
                let before = (group.rows > 0).then(|| results(aggs, group)).transpose()?;
                // UDAFs take the group's rows in runs of additions and retractions.
                let mut runs: Vec<(bool, Vec<usize>)> = Vec::new();
                for &row in &group_rows {
                    let sign = if batch.kind(row).is_addition() { 1 } else { -1 };
                    if sign < 0 && group.rows <= 0 {
                        // Taking back a row this group never had (state expired): ignored.
                        continue;
                    }
                    group.rows += sign;
                    for (acc, arg) in group.accs.iter_mut().zip(&args) {
                        if let Some(arg) = arg.value() {
                            let value = ScalarValue::try_from_array(arg, row)?;
                            acc.apply(Value::from_scalar(&value), sign);
                        }
                    }
                    if udafs {
                        match runs.last_mut() {
                            Some((add, rows)) if *add == (sign > 0) => rows.push(row),
                            _ => runs.push((sign > 0, vec![row])),
                        }
                    }
                }
                if udafs {
                    for ((agg, acc), arg) in aggs.iter().zip(group.accs.iter_mut()).zip(&args) {
                        agg.update_udaf(acc, arg, &runs)?;
                    }
                }
                let after = (group.rows > 0).then(|| results(aggs, group)).transpose()?;
                Ok((before, after))
            };
            let outcome = output::update_state(
                &mut state,
                || Group {
                    rows: 0,
                    accs: aggs.iter().map(|a| a.new_acc(self.retracting)).collect(),
                },
                update,
            )
            .map_err(state_error)?;
            let (before, after) = outcome?;
            if after.is_none() {
                state.clear().map_err(state_error)?;
            }
            match (before, after) {
                (None, Some(after)) => changes.push(key, after, RowKind::Insert),
                (Some(before), None) => changes.push(key, before, RowKind::Delete),
                (Some(before), Some(after)) if before != after => {
                    changes.push(key, before, RowKind::UpdateBefore);
                    changes.push(key, after, RowKind::UpdateAfter);
                }
                _ => {}
            }
        }
        if changes.keys.is_empty() {
            return Ok(None);
        }
        let columns = self.keys.decode(&self.converter, &changes.keys)?;
        let rows = changes.keys.len();
        Ok(Some(output::batch(
            &self.schema,
            columns,
            changes.values,
            Some(changes.kinds),
            rows,
        )?))
    }
}

impl Operator<RowBatch, RowBatch> for GroupAggregate {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.apply(&record.value);
        output::send(&self.meta, "aggregate", result, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::DFSchema;
    use datafusion::functions_aggregate::expr_fn::sum;
    use datafusion::prelude::col;
    use weir_core::keygroup::KeyGroupRange;
    use weir_state::{StateTtlConfig, TtlClock};

    use super::*;
    use crate::exec::translate::with_ttl;

    /// `SELECT k, SUM(v) ... GROUP BY k` with a state TTL of one second.
    fn sum_by_key(now: &Arc<AtomicI64>) -> GroupAggregate {
        let input = Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
        ]);
        let df = DFSchema::try_from(input).unwrap();
        let keys = GroupKeys::plan(&[col("k")], &df).unwrap();
        let output = Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("s", DataType::Int64, true),
        ]);
        let mut store = KeyedStateStore::new(128, KeyGroupRange::new(0, 127));
        let clock = Arc::clone(now);
        store.set_ttl_clock(TtlClock::from_fn(move || clock.load(Ordering::SeqCst)));
        let ttl = Some(StateTtlConfig::new(Duration::from_millis(1_000)));
        GroupAggregate {
            meta: OperatorMeta::new("aggregate", 0, 1),
            converter: keys.converter().unwrap(),
            aggs: vec![AggCall::plan(&sum(col("v")), &df, false).unwrap()],
            keys,
            retracting: false,
            schema: output::with_kind(&output),
            store,
            groups: with_ttl(ValueStateDescriptor::new("groups"), &ttl),
        }
    }

    fn feed(agg: &mut GroupAggregate, rows: &[(i64, i64)]) -> Vec<String> {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("k", DataType::Int64, true),
                Field::new("v", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        match agg.apply(&RowBatch(batch)).unwrap() {
            Some(out) => crate::rows::format_rows(&RowBatch(out)).unwrap(),
            None => Vec::new(),
        }
    }

    #[test]
    fn a_group_starts_over_after_the_state_ttl() {
        let now = Arc::new(AtomicI64::new(0));
        let mut agg = sum_by_key(&now);
        assert_eq!(feed(&mut agg, &[(1, 10), (2, 5)]), ["+I[1, 10]", "+I[2, 5]"]);
        now.store(800, Ordering::SeqCst);
        assert_eq!(feed(&mut agg, &[(1, 1)]), ["-U[1, 10]", "+U[1, 11]"]);
        // Group 2 was last written at 0, group 1 at 800: at 1500 only 2 has expired
        // and starts over with an insert, as in Flink.
        now.store(1_500, Ordering::SeqCst);
        assert_eq!(
            feed(&mut agg, &[(1, 1), (2, 7)]),
            ["-U[1, 11]", "+U[1, 12]", "+I[2, 7]"]
        );
    }
}
