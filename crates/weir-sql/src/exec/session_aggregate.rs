//! Keyed session window aggregates: `GROUP BY window_start, window_end, keys...`
//! over `SESSION(...)` (or the legacy `GROUP BY SESSION(t, gap)`), insert-only input.
//!
//! Sessions merge: a row can join two sessions into one, so accumulators cannot be
//! kept per final window as [`super::window_aggregate`] does. Per key (the group
//! columns without the window columns) the operator keeps the rows' times and
//! aggregate arguments in keyed state (heap or RocksDB) and one event-time timer at
//! the earliest `time + gap - 1` of its open sessions. When the watermark passes
//! it, the key's rows are sorted
//! by time and split where two rows are more than `gap` apart; every session whose
//! end (`last time + gap`) the watermark has passed is emitted, insert-only, with
//! `window_start` = its first row's time and `window_end` = its end, as Flink's
//! session windows; its rows leave the state. Rows whose session end the watermark
//! already passed are dropped as late.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::row::RowConverter;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::failure::{fail, OperatorMeta};
use weir_state::{KeyedStateStore, ListStateDescriptor, ValueStateDescriptor};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::accumulator::{Acc, AggArgs, AggCall, Value};
use crate::exec::keys::GroupKeys;
use crate::exec::output;

/// One row waiting for its session to close: its time and aggregate arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Event time, ms.
    pub time: i64,
    /// Each aggregate's argument (`None` for NULL or filtered out).
    pub values: Vec<Option<Value>>,
}

/// The keyed session aggregate operator.
pub struct SessionAggregate {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// The group columns without the window columns.
    pub keys: GroupKeys,
    /// Expression of the rows' time (the provisional `window_start`).
    pub time: GroupKeys,
    /// Positions of `window_start` and `window_end` among the output's group columns.
    pub window_columns: (usize, usize),
    /// Inactivity gap, ms.
    pub gap_ms: i64,
    /// Aggregates.
    pub aggs: Vec<AggCall>,
    /// Output schema: group columns then aggregates.
    pub schema: SchemaRef,
    /// Row encoding of `keys`.
    pub converter: RowConverter,
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// Session-end timers.
    pub timers: Timers<Vec<u8>, ()>,
    /// Rows per key.
    pub rows: ListStateDescriptor<SessionRow>,
    /// Per key, the earliest timer set: a row whose session ends later sets none
    /// (that timer looks at the key again and sets the next one).
    pub next_timer: ValueStateDescriptor<i64>,
    /// The last watermark.
    pub watermark: i64,
    /// Late rows dropped.
    pub late: u64,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("session aggregate state: {e}"))
}

/// A closed session: its key, start, end and aggregate results.
struct Closed {
    key: Vec<u8>,
    start: i64,
    end: i64,
    results: Vec<ScalarValue>,
}

impl SessionAggregate {
    fn add(&mut self, batch: &RecordBatch) -> Result<(), SqlError> {
        let (_, keys) = self.keys.keys(&self.converter, batch)?;
        let times = self.time.columns(batch)?;
        let times = times
            .first()
            .ok_or_else(|| SqlError::Plan("session aggregate without a time column".into()))?;
        let times = cast(
            &cast(times, &DataType::Timestamp(TimeUnit::Millisecond, None))?,
            &DataType::Int64,
        )?;
        let times = times
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| SqlError::Plan("session time is not a timestamp".into()))?;
        let args = self.aggs.iter().map(|a| a.args(batch)).collect::<Result<Vec<_>, _>>()?;
        // A UDAF's arguments are kept encoded (`Value::Encoded`).
        let mut encoded = self
            .aggs
            .iter()
            .zip(&args)
            .map(|(agg, arg)| match (&agg.udaf, arg) {
                (Some(udaf), AggArgs::Udaf(args)) => udaf.encode_arguments(args).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (row, key) in keys.into_iter().enumerate() {
            if times.is_null(row) {
                continue;
            }
            let time = times.value(row);
            let fire = time.saturating_add(self.gap_ms - 1);
            if fire <= self.watermark {
                self.late += 1;
                continue;
            }
            let values = args
                .iter()
                .zip(encoded.iter_mut())
                .map(|(arg, encoded)| match (arg.value(), encoded) {
                    (Some(arg), _) => ScalarValue::try_from_array(arg, row).map(|v| Value::from_scalar(&v)),
                    (None, Some(encoded)) => Ok(encoded.get_mut(row).and_then(Option::take).map(Value::Encoded)),
                    (None, None) => Ok(None),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let current = self.store.key(key);
            self.store
                .list(&self.rows, &current)
                .map_err(state_error)?
                .add(SessionRow { time, values })
                .map_err(state_error)?;
            self.schedule(&current, fire)?;
        }
        Ok(())
    }

    /// Sets a timer for `key` at `fire` unless one is set at or before it.
    fn schedule(&mut self, key: &weir_state::CurrentKey<Vec<u8>>, fire: i64) -> Result<(), SqlError> {
        let mut next = self.store.value(&self.next_timer, key).map_err(state_error)?;
        if next.get().map_err(state_error)?.is_some_and(|at| at <= fire) {
            return Ok(());
        }
        next.set(fire).map_err(state_error)?;
        self.timers
            .register(&mut self.store, key, TimeDomain::EventTime, (), fire)
            .map_err(state_error)?;
        Ok(())
    }

    /// Emits the sessions of `key` that ended at or before `until`; keeps the rest.
    fn close(&mut self, key: &[u8], until: i64, closed: &mut Vec<Closed>) -> Result<(), SqlError> {
        let current = self.store.key(key.to_vec());
        let mut state = self.store.list(&self.rows, &current).map_err(state_error)?;
        let mut rows = state.get().map_err(state_error)?;
        if rows.is_empty() {
            return Ok(());
        }
        rows.sort_by_key(|r| r.time);
        let mut kept = Vec::new();
        let mut session: Vec<SessionRow> = Vec::new();
        let aggs = &self.aggs;
        let gap_ms = self.gap_ms;
        let flush = |session: &mut Vec<SessionRow>, kept: &mut Vec<SessionRow>, closed: &mut Vec<Closed>| {
            let (Some(first), Some(last)) = (session.first(), session.last()) else {
                return Ok(());
            };
            let (start, end) = (first.time, last.time.saturating_add(gap_ms));
            if end - 1 > until {
                kept.append(session);
                return Ok(());
            }
            // UDAFs first, over the rows' encoded arguments.
            let udaf_results = aggs
                .iter()
                .enumerate()
                .map(|(i, agg)| {
                    agg.udaf
                        .as_ref()
                        .map(|udaf| {
                            udaf.result_of_rows(session.iter().filter_map(|row| match row.values.get(i) {
                                Some(Some(Value::Encoded(bytes))) => Some(bytes.as_slice()),
                                _ => None,
                            }))
                        })
                        .transpose()
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            let mut accs: Vec<Acc> = aggs.iter().map(|a| a.new_acc(false)).collect();
            for row in session.drain(..) {
                for (acc, value) in accs.iter_mut().zip(row.values) {
                    acc.apply(value, 1);
                }
            }
            let results = accs
                .iter()
                .zip(udaf_results)
                .map(|(acc, udaf)| udaf.unwrap_or_else(|| acc.result()))
                .collect();
            closed.push(Closed {
                key: key.to_vec(),
                start,
                end,
                results,
            });
            Ok::<(), SqlError>(())
        };
        for row in rows {
            // Touching sessions merge, as Flink's (a row at `last + gap` joins).
            let joins = session
                .last()
                .is_none_or(|last| row.time <= last.time.saturating_add(self.gap_ms));
            if !joins {
                flush(&mut session, &mut kept, closed)?;
            }
            session.push(row);
        }
        flush(&mut session, &mut kept, closed)?;
        let next = kept
            .iter()
            .map(|r| r.time)
            .min()
            .map(|t| t.saturating_add(self.gap_ms - 1));
        if kept.is_empty() {
            state.clear().map_err(state_error)?;
        } else {
            state.update(kept).map_err(state_error)?;
        }
        self.store
            .value(&self.next_timer, &current)
            .map_err(state_error)?
            .clear()
            .map_err(state_error)?;
        match next {
            Some(fire) => self.schedule(&current, fire),
            None => Ok(()),
        }
    }

    fn fire(&mut self, until: i64) -> Result<Option<RecordBatch>, SqlError> {
        let mut due = Vec::new();
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            due.push(current.key().clone());
        }
        due.sort();
        due.dedup();
        let mut closed = Vec::new();
        for key in &due {
            self.close(key, until, &mut closed)?;
        }
        if closed.is_empty() {
            return Ok(None);
        }
        let keys: Vec<Vec<u8>> = closed.iter().map(|c| c.key.clone()).collect();
        let mut columns = self.keys.decode(&self.converter, &keys)?;
        let starts: ArrayRef = Arc::new(TimestampMillisecondArray::from(
            closed.iter().map(|c| c.start).collect::<Vec<_>>(),
        ));
        let ends: ArrayRef = Arc::new(TimestampMillisecondArray::from(
            closed.iter().map(|c| c.end).collect::<Vec<_>>(),
        ));
        let (start_at, end_at) = self.window_columns;
        let mut windows = [(start_at, starts), (end_at, ends)];
        windows.sort_by_key(|(at, _)| *at);
        for (at, column) in windows {
            let ty = self.schema.field(at).data_type();
            columns.insert(at.min(columns.len()), cast(&column, ty)?);
        }
        let mut results: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(closed.len()); self.aggs.len()];
        for session in closed {
            for (out, value) in results.iter_mut().zip(session.results) {
                out.push(value);
            }
        }
        Ok(Some(output::batch(&self.schema, columns, results, None, keys.len())?))
    }
}

impl Operator<RowBatch, RowBatch> for SessionAggregate {
    fn process(&mut self, record: StreamRecord<RowBatch>, _: &mut dyn Input<RowBatch>) {
        if let Err(e) = self.add(record.value.batch()) {
            fail(&self.meta, format!("session aggregate: {e}"));
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        let fired = self.fire(watermark.timestamp);
        output::send(&self.meta, "session aggregate", fired, out);
        out.process_watermark(watermark);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}
