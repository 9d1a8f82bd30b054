//! OVER aggregates: `agg(x) OVER (PARTITION BY k ORDER BY t [, ties...] ROWS|RANGE
//! BETWEEN ... PRECEDING AND CURRENT ROW)`, ordered by an event-time column.
//!
//! As in Flink, a row is answered once the watermark passes its time `t`: rows are
//! partitioned by the key group of their partition key and the operator
//! ([`OverAggregate`]) keeps, per partition key in keyed state, the rows waiting
//! for the watermark (ordered by `t`, then the further `ORDER BY` keys, then
//! arrival) with an event-time timer at each waiting time. When the watermark
//! passes, the waiting rows are taken in that order, each added to the frame's
//! accumulators (and the rows that fell out of a bounded frame taken back), and
//! each is emitted with its aggregates appended: an insert-only result.
//!
//! - `ROWS BETWEEN n PRECEDING AND CURRENT ROW`: the row and the `n` rows before it.
//! - `RANGE BETWEEN INTERVAL 'd' PRECEDING AND CURRENT ROW`: the rows whose time is
//!   within `d` of the row's, all rows of the same time (its peers) included, so
//!   peers get the same aggregates.
//! - `UNBOUNDED PRECEDING`: every earlier row of the partition.
//!
//! Weir takes an updating input too (Flink refuses it): a `-U`/`-D` takes back a
//! waiting row equal to it, so a row is final once the watermark passes its time.
//! A change arriving after that (time at or before the watermark) is late and
//! dropped, as are rows whose time is NULL.

use std::collections::{BTreeMap, VecDeque};

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::PhysicalExpr;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::failure::{fail, OperatorMeta};
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::accumulator::{Acc, AggCall, Value};
use crate::exec::eval::evaluate;
use crate::exec::keys::GroupKeys;
use crate::exec::output;
use crate::exec::top_n::{sort_converter, SortKey};

/// Which rows before the current one a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// `ROWS BETWEEN n PRECEDING AND CURRENT ROW` (`None`: UNBOUNDED PRECEDING).
    Rows(Option<u64>),
    /// `RANGE BETWEEN d PRECEDING AND CURRENT ROW`, `d` in milliseconds (`None`:
    /// UNBOUNDED PRECEDING).
    Range(Option<i64>),
}

impl Frame {
    pub(crate) fn bounded(self) -> bool {
        matches!(self, Frame::Rows(Some(_)) | Frame::Range(Some(_)))
    }
}

/// What an OVER aggregate computes.
#[derive(Debug, Clone)]
pub struct OverSpec {
    /// `PARTITION BY`.
    pub partition: GroupKeys,
    /// The first `ORDER BY` expression: the event time.
    pub time: Arc<dyn PhysicalExpr>,
    /// Further `ORDER BY` expressions, ordering rows of the same time.
    pub ties: Vec<SortKey>,
    /// The frame.
    pub frame: Frame,
    /// The aggregates.
    pub aggs: Vec<AggCall>,
    /// The input's column types (without the kind column).
    pub types: Vec<DataType>,
    /// Output schema: the input columns, then one column per aggregate.
    pub schema: SchemaRef,
}

/// A row waiting for the watermark: its encoding and its aggregates' arguments.
type Waiting = (Vec<u8>, Vec<Option<Value>>);

/// One partition key's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Partition {
    /// Rows waiting for the watermark, by (time, further order keys), in arrival
    /// order.
    pending: BTreeMap<(i64, Vec<u8>), Vec<Waiting>>,
    /// The accumulators of the frame of the last row answered.
    accs: Vec<Acc>,
    /// The rows of that frame (bounded frames only): time and arguments.
    frame: VecDeque<(i64, Vec<Option<Value>>)>,
}

/// The OVER aggregate operator.
pub struct OverAggregate {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// What to compute.
    pub spec: OverSpec,
    /// Encodings: partition keys, further order keys, rows.
    converters: [RowConverter; 3],
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// A timer per partition key and waiting time.
    pub timers: Timers<Vec<u8>, ()>,
    /// The partitions.
    pub partitions: ValueStateDescriptor<Partition>,
    /// The last watermark.
    pub watermark: i64,
    /// Changes dropped as late (or without a time).
    pub late: u64,
    /// A new partition's state.
    empty: Partition,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("OVER aggregate state: {e}"))
}

/// Event times as milliseconds.
pub(crate) fn millis(times: &ArrayRef) -> Result<Int64Array, SqlError> {
    let as_millis = match times.data_type() {
        DataType::Timestamp(_, tz) => cast(times, &DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))?,
        other => {
            return Err(SqlError::Plan(format!(
                "an event time of type {other}, not a timestamp"
            )))
        }
    };
    let ints = cast(&as_millis, &DataType::Int64)?;
    ints.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .ok_or_else(|| SqlError::Plan("event times are not integers".into()))
}

impl OverAggregate {
    /// The operator over `store` and `timers` (restored by the caller).
    pub fn new(
        meta: OperatorMeta,
        spec: OverSpec,
        store: KeyedStateStore<Vec<u8>>,
        timers: Timers<Vec<u8>, ()>,
    ) -> Result<Self, SqlError> {
        let retracting = spec.frame.bounded();
        let empty = Partition {
            accs: spec.aggs.iter().map(|a| a.new_acc(retracting)).collect(),
            ..Partition::default()
        };
        Ok(OverAggregate {
            empty,
            meta,
            converters: [
                spec.partition.converter()?,
                sort_converter(&spec.ties)?,
                output::row_converter(&spec.types)?,
            ],
            spec,
            store,
            timers,
            partitions: ValueStateDescriptor::new("over partitions"),
            watermark: i64::MIN,
            late: 0,
        })
    }

    /// Adds (or takes back) the rows of `batch` to the waiting rows.
    fn add(&mut self, batch: &RowBatch) -> Result<(), SqlError> {
        let rows = batch.batch();
        let [partitions, ties, encoder] = &self.converters;
        let keys = self.spec.partition.encode(partitions, rows)?;
        let times = millis(&evaluate(&self.spec.time, rows)?)?;
        let tie_columns = self
            .spec
            .ties
            .iter()
            .map(|k| evaluate(&k.expr, rows))
            .collect::<Result<Vec<_>, _>>()?;
        let tie_keys = (!tie_columns.is_empty())
            .then(|| ties.convert_columns(&tie_columns))
            .transpose()?;
        let data = rows.columns().get(..self.spec.types.len()).ok_or_else(|| {
            SqlError::Plan(format!(
                "a batch of {} columns, expected {}",
                rows.num_columns(),
                self.spec.types.len()
            ))
        })?;
        let encoded = encoder.convert_columns(data)?;
        let args = self
            .spec
            .aggs
            .iter()
            .map(|a| match &a.udaf {
                Some(udaf) => Ok(RowArgs::Encoded(
                    udaf.encode_arguments(&udaf.arguments(rows, a.filter.as_ref())?)?,
                )),
                None => Ok(RowArgs::Values(a.arguments(rows)?)),
            })
            .collect::<Result<Vec<_>, SqlError>>()?;
        let watermark = self.watermark;
        for (key, key_rows) in keys.rows_by_key() {
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.partitions, &current).map_err(state_error)?;
            let mut late = 0;
            let mut times_added = Vec::new();
            let update = |partition: &mut Partition| -> Result<(), SqlError> {
                for &row in &key_rows {
                    if times.is_null(row) || times.value(row) <= watermark {
                        late += 1;
                        continue;
                    }
                    let time = times.value(row);
                    let tie = tie_keys
                        .as_ref()
                        .map(|t| t.row(row).as_ref().to_vec())
                        .unwrap_or_default();
                    let encoded_row = encoded.row(row);
                    let bytes = encoded_row.as_ref();
                    if batch.kind(row).is_addition() {
                        let values = args
                            .iter()
                            .map(|arg| match arg {
                                RowArgs::Values(values) => {
                                    Ok(Value::from_scalar(&ScalarValue::try_from_array(values, row)?))
                                }
                                RowArgs::Encoded(rows) => Ok(rows.get(row).cloned().flatten().map(Value::Encoded)),
                            })
                            .collect::<Result<Vec<_>, SqlError>>()?;
                        partition
                            .pending
                            .entry((time, tie))
                            .or_default()
                            .push((bytes.to_vec(), values));
                        times_added.push(time);
                    } else {
                        let slot = (time, tie);
                        let Some(waiting) = partition.pending.get_mut(&slot) else {
                            late += 1;
                            continue;
                        };
                        match waiting.iter().position(|(r, _)| r.as_slice() == bytes) {
                            Some(at) => {
                                waiting.remove(at);
                            }
                            None => late += 1,
                        }
                        if waiting.is_empty() {
                            partition.pending.remove(&slot);
                        }
                    }
                }
                Ok(())
            };
            let outcome = output::update_state(&mut state, || self.empty.clone(), update).map_err(state_error)?;
            outcome?;
            self.late += late;
            times_added.sort_unstable();
            times_added.dedup();
            for time in times_added {
                self.timers
                    .register(&mut self.store, &current, TimeDomain::EventTime, (), time)
                    .map_err(state_error)?;
            }
        }
        Ok(())
    }

    /// Answers the waiting rows of every partition whose time the watermark `until`
    /// passed.
    fn fire(&mut self, until: i64) -> Result<Option<RecordBatch>, SqlError> {
        let mut out_rows: Vec<Vec<u8>> = Vec::new();
        let mut results: Vec<Vec<ScalarValue>> = vec![Vec::new(); self.spec.aggs.len()];
        let frame = self.spec.frame;
        let aggs = &self.spec.aggs;
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            let mut state = self.store.value(&self.partitions, &current).map_err(state_error)?;
            let answer = |partition: &mut Partition| -> Result<(), SqlError> {
                // The rows at or before the watermark, in order.
                let later = partition.pending.split_off(&(until.saturating_add(1), Vec::new()));
                let due = std::mem::replace(&mut partition.pending, later);
                let mut accs = LiveAccs::restore(aggs, &partition.accs)?;
                let mut emit = |partition: &Partition, accs: &mut LiveAccs<'_>, row: Vec<u8>| -> Result<(), SqlError> {
                    out_rows.push(row);
                    for (at, (out, acc)) in results.iter_mut().zip(&partition.accs).enumerate() {
                        out.push(accs.result(at, acc)?);
                    }
                    Ok(())
                };
                let mut by_time: BTreeMap<i64, Vec<Waiting>> = BTreeMap::new();
                for ((time, _), rows) in due {
                    by_time.entry(time).or_default().extend(rows);
                }
                for (time, rows) in by_time {
                    match frame {
                        Frame::Rows(preceding) => {
                            for (row, values) in rows {
                                accs.add_row(partition, time, values, preceding.is_some())?;
                                if let Some(n) = preceding {
                                    while partition.frame.len() as u64 > n.saturating_add(1) {
                                        accs.take_back_first(partition)?;
                                    }
                                }
                                emit(partition, &mut accs, row)?;
                            }
                        }
                        Frame::Range(preceding) => {
                            let mut peers = Vec::with_capacity(rows.len());
                            for (row, values) in rows {
                                accs.add_row(partition, time, values, preceding.is_some())?;
                                peers.push(row);
                            }
                            if let Some(d) = preceding {
                                while partition
                                    .frame
                                    .front()
                                    .is_some_and(|(t, _)| *t < time.saturating_sub(d))
                                {
                                    accs.take_back_first(partition)?;
                                }
                            }
                            for row in peers {
                                emit(partition, &mut accs, row)?;
                            }
                        }
                    }
                }
                accs.save(&mut partition.accs)
            };
            let outcome = output::update_state(&mut state, || self.empty.clone(), answer).map_err(state_error)?;
            outcome?;
        }
        if out_rows.is_empty() {
            return Ok(None);
        }
        let [_, _, encoder] = &self.converters;
        let parser = encoder.parser();
        let columns = encoder.convert_rows(out_rows.iter().map(|r| parser.parse(r)))?;
        let count = out_rows.len();
        Ok(Some(output::batch(&self.spec.schema, columns, results, None, count)?))
    }
}

/// The arguments of one aggregate for every row of a batch.
enum RowArgs {
    /// A built-in aggregate's (or LAG's) argument.
    Values(ArrayRef),
    /// A UDAF's arguments, encoded per row (`None` where its filter drops the row).
    Encoded(Vec<Option<Vec<u8>>>),
}

/// A partition's accumulators while its rows are answered: UDAFs' live (restored
/// from their state once, saved once), the built-in ones in the partition.
struct LiveAccs<'a> {
    aggs: &'a [AggCall],
    live: Vec<Option<Box<dyn Accumulator>>>,
}

impl<'a> LiveAccs<'a> {
    fn restore(aggs: &'a [AggCall], accs: &[Acc]) -> Result<Self, SqlError> {
        let live = aggs
            .iter()
            .zip(accs)
            .map(|(call, acc)| match (&call.udaf, acc) {
                (Some(udaf), Acc::Udaf(state)) => udaf.restored(state).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, SqlError>>()?;
        Ok(LiveAccs { aggs, live })
    }

    /// Adds (`sign` 1) or takes back (-1) one row's arguments.
    fn apply(&mut self, accs: &mut [Acc], values: &[Option<Value>], sign: i64) -> Result<(), SqlError> {
        for (at, (acc, value)) in accs.iter_mut().zip(values).enumerate() {
            match (self.live.get_mut(at), self.aggs.get(at).and_then(|a| a.udaf.as_ref())) {
                (Some(Some(live)), Some(udaf)) => {
                    if let Some(Value::Encoded(row)) = value {
                        udaf.apply_encoded(live.as_mut(), row, sign > 0)?;
                    }
                }
                _ => acc.apply(value.clone(), sign),
            }
        }
        Ok(())
    }

    /// Adds a row's arguments to the frame (kept in it when the frame is bounded).
    fn add_row(
        &mut self,
        partition: &mut Partition,
        time: i64,
        values: Vec<Option<Value>>,
        keep: bool,
    ) -> Result<(), SqlError> {
        self.apply(&mut partition.accs, &values, 1)?;
        if keep {
            partition.frame.push_back((time, values));
        }
        Ok(())
    }

    /// Takes the oldest row of the frame back out of the accumulators.
    fn take_back_first(&mut self, partition: &mut Partition) -> Result<(), SqlError> {
        if let Some((_, values)) = partition.frame.pop_front() {
            self.apply(&mut partition.accs, &values, -1)?;
        }
        Ok(())
    }

    /// The current result of aggregate `at` (`acc`: its accumulator in the
    /// partition).
    fn result(&mut self, at: usize, acc: &Acc) -> Result<ScalarValue, SqlError> {
        match (self.live.get_mut(at), self.aggs.get(at).and_then(|a| a.udaf.as_ref())) {
            (Some(Some(live)), Some(udaf)) => udaf.evaluate_live(live.as_mut()),
            _ => Ok(acc.result()),
        }
    }

    /// Saves the live accumulators into the partition's.
    fn save(self, accs: &mut [Acc]) -> Result<(), SqlError> {
        for ((acc, live), call) in accs.iter_mut().zip(self.live).zip(self.aggs) {
            if let (Some(mut live), Some(udaf)) = (live, &call.udaf) {
                *acc = Acc::Udaf(udaf.save(live.as_mut())?);
            }
        }
        Ok(())
    }
}

impl Operator<RowBatch, RowBatch> for OverAggregate {
    fn process(&mut self, record: StreamRecord<RowBatch>, _: &mut dyn Input<RowBatch>) {
        if let Err(e) = self.add(&record.value) {
            fail(&self.meta, format!("OVER aggregate: {e}"));
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        let fired = self.fire(watermark.timestamp);
        output::send(&self.meta, "OVER aggregate", fired, out);
        out.process_watermark(watermark);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}
