//! Event-time temporal joins: `o JOIN r FOR SYSTEM_TIME AS OF o.t AS s ON o.k = s.k`
//! with `r` a versioned table (a `PRIMARY KEY` and a watermark) or a versioned view
//! (an event-time column and an upsert key, such as a deduplication keeping each
//! key's last row), as Flink's row-time temporal join.
//!
//! Each left row is joined with the version of its key's right row that was current
//! at the left row's time: the right row of the largest version time at or before
//! it. Both inputs are partitioned by the join key (which includes the right side's
//! primary key), and the operator ([`TemporalJoin`]) keeps, per key, the left rows
//! that wait for the watermark and the right versions by time. The left rows are
//! joined when the watermark (the smaller of both inputs') passes their time, since
//! only then is every version up to it known; so the result comes with the
//! watermark, as in Flink.
//!
//! - A right `+I`/`+U` row is a new version at its time (a later row at the same
//!   time replaces it), a `-D` row says that from its time there is no row; `-U`
//!   rows are ignored (the `+U` after them is the new version), as Flink's temporal
//!   join reads only the upserts of its right side.
//! - INNER joins emit the pairs whose version exists and passes the further
//!   condition; LEFT joins pad the other left rows with NULLs.
//! - The result is insert-only over an insert-only left input; over an updating one
//!   each left row keeps its kind (the right side never retracts an emitted row).
//! - When the watermark passes, a key's versions older than the last one at or
//!   before it are dropped (no left row can need them any more); one event-time
//!   timer per key, at its earliest waiting left row or next version, does it.
//! - Rows whose key or time is NULL never match: a LEFT join pads such left rows
//!   at once; right rows without a key or time are dropped.
//! - Late left rows (at or before the watermark when they arrive) are joined at the
//!   next watermark with the versions kept then.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int8Array, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{CoOperator, Input, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::failure::OperatorMeta;
use weir_state::{CurrentKey, KeyedStateStore, MapStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use crate::exec::join::{condition_mask, passes, state_error, JoinConverters, JoinSide, Side};
use crate::exec::key_timer::KeyTimer;
use crate::exec::output;
use crate::exec::over_aggregate::millis;

/// What a temporal join computes.
#[derive(Debug, Clone)]
pub struct TemporalSpec {
    /// The left input (keys: the join key).
    pub left: JoinSide,
    /// The right input, the versioned side (keys: the join key).
    pub right: JoinSide,
    /// A LEFT join (left rows without a current version padded with NULLs).
    pub left_outer: bool,
    /// The further condition over a pair (left then right columns).
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// The `AS OF` time of the left rows.
    pub left_time: Arc<dyn PhysicalExpr>,
    /// The version time of the right rows.
    pub right_time: Arc<dyn PhysicalExpr>,
    /// Left then right columns, then the kind column when the left input is
    /// updating.
    pub schema: SchemaRef,
    /// Left then right columns (all nullable: a left row without a version is
    /// paired with NULLs before the condition is evaluated).
    pub pair_schema: SchemaRef,
}

impl TemporalSpec {
    fn updating(&self) -> bool {
        self.schema.fields().len() > self.pair_schema.fields().len()
    }
}

/// Left rows of one key at one time: encoded row and kind code.
type Waiting = Vec<(Vec<u8>, i8)>;
/// A right version: encoded row, and whether it is a delete.
type Version = (Vec<u8>, bool);

/// A left row ready to be joined: its encoded row, kind and current version.
struct Ready {
    row: Vec<u8>,
    kind: RowKind,
    version: Option<Vec<u8>>,
}

/// The temporal join operator.
pub struct TemporalJoin {
    /// For failure reports.
    pub meta: OperatorMeta,
    spec: TemporalSpec,
    converters: JoinConverters,
    /// Keyed state (by encoded join key).
    pub store: KeyedStateStore<Vec<u8>>,
    /// One timer per key.
    pub timers: Timers<Vec<u8>, ()>,
    waiting: MapStateDescriptor<i64, Waiting>,
    versions: MapStateDescriptor<i64, Version>,
    timer: KeyTimer,
    watermark: i64,
}

/// A row's encoded join key and its time.
type KeyAndTime = (Vec<u8>, i64);

/// The key and time of each row (`None` where either is NULL).
fn keyed(
    side: &JoinSide,
    time: &Arc<dyn PhysicalExpr>,
    converters: &JoinConverters,
    batch: &RecordBatch,
) -> Result<Vec<Option<KeyAndTime>>, SqlError> {
    let times = millis(&evaluate(time, batch)?)?;
    let key_columns = side.keys.columns(batch)?;
    let keys = converters.keys.convert_columns(&key_columns)?;
    Ok((0..batch.num_rows())
        .map(|row| {
            (!times.is_null(row) && key_columns.iter().all(|c| c.is_valid(row)))
                .then(|| (keys.row(row).as_ref().to_vec(), times.value(row)))
        })
        .collect())
}

impl TemporalJoin {
    /// The operator over `store` and `timers` (restored by the caller).
    pub fn new(
        meta: OperatorMeta,
        spec: TemporalSpec,
        store: KeyedStateStore<Vec<u8>>,
        timers: Timers<Vec<u8>, ()>,
    ) -> Result<Self, SqlError> {
        Ok(TemporalJoin {
            meta,
            converters: JoinConverters::new(&spec.left, &spec.right)?,
            spec,
            store,
            timers,
            waiting: MapStateDescriptor::new("temporal join left rows"),
            versions: MapStateDescriptor::new("temporal join versions"),
            timer: KeyTimer::new("temporal join timer"),
            watermark: i64::MIN,
        })
    }

    /// Keeps the left rows until the watermark passes them (pads those that can
    /// never match, for a LEFT join).
    fn left(&mut self, input: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let batch = input.batch();
        let data = self.spec.left.data(batch)?;
        let encoded = self.converters.left.convert_columns(&data)?;
        let keyed = keyed(&self.spec.left, &self.spec.left_time, &self.converters, batch)?;
        let mut unmatched = Vec::new();
        for (row, k) in keyed.into_iter().enumerate() {
            let kind = input.kind(row);
            let bytes = encoded.row(row).as_ref().to_vec();
            let Some((key, time)) = k else {
                if self.spec.left_outer {
                    unmatched.push(Ready {
                        row: bytes,
                        kind,
                        version: None,
                    });
                }
                continue;
            };
            let current = self.store.key(key);
            let mut rows = self.store.map(&self.waiting, &current).map_err(state_error)?;
            let mut at_time = rows.get(&time).map_err(state_error)?.unwrap_or_default();
            at_time.push((bytes, kind as i8));
            rows.put(time, at_time).map_err(state_error)?;
            self.wake_at(&current, time)?;
        }
        self.joined(unmatched)
    }

    /// Keeps the right rows as versions.
    fn right(&mut self, input: &RowBatch) -> Result<(), SqlError> {
        let batch = input.batch();
        let data = self.spec.right.data(batch)?;
        let encoded = self.converters.right.convert_columns(&data)?;
        let keyed = keyed(&self.spec.right, &self.spec.right_time, &self.converters, batch)?;
        for (row, k) in keyed.into_iter().enumerate() {
            let kind = input.kind(row);
            let Some((key, time)) = k.filter(|_| kind != RowKind::UpdateBefore) else {
                continue;
            };
            let current = self.store.key(key);
            let version = (encoded.row(row).as_ref().to_vec(), kind == RowKind::Delete);
            self.store
                .map(&self.versions, &current)
                .and_then(|mut versions| versions.put(time, version))
                .map_err(state_error)?;
            self.wake_at(&current, time)?;
        }
        Ok(())
    }

    /// Makes sure the key's timer fires by `time`.
    fn wake_at(&mut self, current: &CurrentKey<Vec<u8>>, time: i64) -> Result<(), SqlError> {
        self.timer.wake_by(&mut self.store, &mut self.timers, current, time)
    }

    /// Joins the left rows the watermark `until` passed, drops the versions no
    /// row can need any more and sets each key's next timer.
    fn fire(&mut self, until: i64) -> Result<Vec<Ready>, SqlError> {
        let mut ready = Vec::new();
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            let mut versions = self
                .store
                .map(&self.versions, &current)
                .and_then(|m| m.entries())
                .map_err(state_error)?;
            versions.sort_unstable_by_key(|(time, _)| *time);
            let mut waiting = self
                .store
                .map(&self.waiting, &current)
                .and_then(|m| m.entries())
                .map_err(state_error)?;
            waiting.sort_unstable_by_key(|(time, _)| *time);
            let mut next: Option<i64> = None;
            let mut rows = self.store.map(&self.waiting, &current).map_err(state_error)?;
            for (time, at_time) in waiting {
                if time > until {
                    next = Some(next.map_or(time, |n| n.min(time)));
                    continue;
                }
                let current_version = versions.partition_point(|(v, _)| *v <= time);
                let version = current_version
                    .checked_sub(1)
                    .and_then(|at| versions.get(at))
                    .filter(|(_, (_, deleted))| !deleted)
                    .map(|(_, (row, _))| row.clone());
                for (row, kind) in at_time {
                    ready.push(Ready {
                        row,
                        kind: RowKind::from_code(kind).unwrap_or(RowKind::Insert),
                        version: version.clone(),
                    });
                }
                rows.remove(&time).map_err(state_error)?;
            }
            // The last version at or before the watermark is the oldest any later
            // row can need; a delete needs no keeping at all.
            let passed = versions.partition_point(|(v, _)| *v <= until);
            let mut kept = self.store.map(&self.versions, &current).map_err(state_error)?;
            for (at, (time, (_, deleted))) in versions.iter().enumerate().take(passed) {
                if at + 1 < passed || *deleted {
                    kept.remove(time).map_err(state_error)?;
                }
            }
            if let Some((time, _)) = versions.get(passed) {
                next = Some(next.map_or(*time, |n| n.min(*time)));
            }
            self.timer.fired(&mut self.store, &mut self.timers, &current, next)?;
        }
        Ok(ready)
    }

    /// The result rows of `ready`: each left row with its version where that
    /// passes the condition, padded (LEFT join) or dropped (INNER join) otherwise.
    fn joined(&self, ready: Vec<Ready>) -> Result<Option<RecordBatch>, SqlError> {
        if ready.is_empty() {
            return Ok(None);
        }
        let decode = |side: Side, rows: &[&[u8]]| -> Result<Vec<ArrayRef>, SqlError> {
            let converter = self.converters.rows(side);
            let parser = converter.parser();
            Ok(converter.convert_rows(rows.iter().map(|r| parser.parse(r)))?)
        };
        let lefts: Vec<&[u8]> = ready.iter().map(|r| r.row.as_slice()).collect();
        let left = decode(Side::Left, &lefts)?;
        let mut rights: Vec<&[u8]> = Vec::new();
        let mut right_at: Vec<Option<u32>> = Vec::with_capacity(ready.len());
        for r in &ready {
            right_at.push(r.version.as_ref().map(|v| {
                rights.push(v.as_slice());
                (rights.len() - 1) as u32
            }));
        }
        let right = decode(Side::Right, &rights)?;
        let right_columns = |at: &[Option<u32>]| -> Result<Vec<ArrayRef>, SqlError> {
            let indices = UInt32Array::from(at.to_vec());
            right
                .iter()
                .zip(&self.spec.right.types)
                .map(|(column, data_type)| {
                    if column.is_empty() {
                        Ok(arrow::array::new_null_array(data_type, at.len()))
                    } else {
                        Ok(take(column.as_ref(), &indices, None)?)
                    }
                })
                .collect()
        };
        let rows = ready.len();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let pairs = RecordBatch::try_new_with_options(
            self.spec.pair_schema.clone(),
            [left.clone(), right_columns(&right_at)?].concat(),
            &options,
        )?;
        let mask = condition_mask(self.spec.filter.as_ref(), &pairs)?;
        let mut keep: Vec<u32> = Vec::with_capacity(rows);
        let mut versions: Vec<Option<u32>> = Vec::with_capacity(rows);
        for (row, at) in right_at.iter().enumerate() {
            let matched = at.filter(|_| passes(mask.as_ref(), row));
            if matched.is_some() || self.spec.left_outer {
                keep.push(row as u32);
                versions.push(matched);
            }
        }
        if keep.is_empty() {
            return Ok(None);
        }
        let kept = UInt32Array::from(keep.clone());
        let mut columns = left
            .iter()
            .map(|c| take(c.as_ref(), &kept, None))
            .collect::<Result<Vec<_>, _>>()?;
        columns.extend(right_columns(&versions)?);
        if self.spec.updating() {
            columns.push(Arc::new(Int8Array::from_iter_values(
                keep.iter().map(|&row| ready[row as usize].kind as i8),
            )));
        }
        Ok(Some(RecordBatch::try_new_with_options(
            self.spec.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(keep.len())),
        )?))
    }
}

impl CoOperator<RowBatch, RowBatch, RowBatch> for TemporalJoin {
    fn process1(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.left(&record.value);
        output::send(&self.meta, "temporal join", result, out);
    }

    fn process2(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.right(&record.value).map(|()| None);
        output::send(&self.meta, "temporal join", result, out);
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        let result = self.fire(watermark.timestamp).and_then(|ready| self.joined(ready));
        output::send(&self.meta, "temporal join", result, out);
        out.process_watermark(watermark);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}

#[cfg(test)]
mod tests;
