//! Interval joins: `a [LEFT | RIGHT | FULL] JOIN b ON a.k = b.k AND a.t BETWEEN
//! b.t - INTERVAL '5' SECOND AND b.t + INTERVAL '5' SECOND`, both `t` event-time
//! columns of insert-only inputs, as Flink's (row-time) interval join.
//!
//! The time condition bounds `a.t - b.t` to `[lower, upper]` (milliseconds; see
//! [`IntervalSpec::bounds`]). Both inputs are partitioned by the join key (all rows
//! to one subtask without one), and the operator ([`IntervalJoin`]) keeps each
//! side's rows per join key in keyed map state, by event time, each with whether it
//! has matched. A row arriving on one side is joined with the other side's kept rows
//! whose times its bounds allow; the pairs passing the whole join condition are
//! emitted at once (`+I`). It is kept as long as a row of the other side that is not
//! late (whose time is after the watermark) could still match it: a left row at `t`
//! until the watermark reaches `t - lower`, a right row until it reaches `t +
//! upper`. One event-time timer per key, at the earliest such time, drops the rows
//! the watermark made useless; an unmatched row of an outer side is then emitted
//! null-padded. The result is insert-only.
//!
//! Late rows are treated as Flink treats them: a row the watermark has passed is
//! still joined with the rows kept, but not kept itself once no later row can
//! match it (an unmatched row of an outer side is then padded at once). Rows whose
//! time or key is NULL never match (outer sides emit them padded at once).
//!
//! A window join (`L.window_start = R.window_start AND L.window_end =
//! R.window_end`, see `translate_interval`) runs on this operator with both times
//! `window_end` less a millisecond and bounds `[0, 0]`: rows are kept until the
//! watermark passes their window's end, and late rows are dropped
//! ([`IntervalSpec::drop_late`]), as Flink's window join drops them.
//!
//! Output rows can be older than the input watermark (a kept row matched by a new
//! one), so the watermark is passed on held back by the larger of `upper` and
//! `-lower`, as Flink delays the watermark of an interval join.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::physical_expr::PhysicalExpr;
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{CoOperator, Input, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::failure::OperatorMeta;
use weir_state::{CurrentKey, KeyedStateStore, MapStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use crate::exec::join::{
    condition_mask, pair_batch, passes, state_error, JoinConverters, JoinKind, JoinSide, OutRows, Side,
};
use crate::exec::key_timer::KeyTimer;
use crate::exec::output;
use crate::exec::over_aggregate::millis;

/// What an interval join computes.
#[derive(Debug, Clone)]
pub struct IntervalSpec {
    /// The left input.
    pub left: JoinSide,
    /// The right input.
    pub right: JoinSide,
    /// Inner or outer ([`JoinKind::Inner`] or [`JoinKind::Outer`]).
    pub kind: JoinKind,
    /// The whole join condition besides the key (time bounds included) over the
    /// joined columns.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// The left rows' event time.
    pub left_time: Arc<dyn PhysicalExpr>,
    /// The right rows' event time.
    pub right_time: Arc<dyn PhysicalExpr>,
    /// `left.t - right.t` of a match lies in `[lower, upper]` (milliseconds).
    pub bounds: (i64, i64),
    /// Whether rows that can no longer be kept (late rows) are dropped rather than
    /// joined with the rows still kept (a window join, whose late rows Flink drops).
    pub drop_late: bool,
    /// Output schema: left then right columns (insert-only).
    pub schema: arrow::datatypes::SchemaRef,
    /// The columns of a pair: left then right (the inputs' types).
    pub pair_schema: arrow::datatypes::SchemaRef,
}

impl IntervalSpec {
    /// How long after the watermark reaches a row's time it can still be matched.
    fn keep_for(&self, side: Side) -> i64 {
        match side {
            Side::Left => self.bounds.0.saturating_neg(),
            Side::Right => self.bounds.1,
        }
    }

    /// The times of the other side's rows a row of `side` at `time` may match.
    fn other_times(&self, side: Side, time: i64) -> (i64, i64) {
        let (lower, upper) = self.bounds;
        match side {
            Side::Left => (time.saturating_sub(upper), time.saturating_sub(lower)),
            Side::Right => (time.saturating_add(lower), time.saturating_add(upper)),
        }
    }

    /// How far the output watermark is held back.
    pub fn watermark_delay(&self) -> i64 {
        self.keep_for(Side::Left).max(self.keep_for(Side::Right)).max(0)
    }
}

/// Rows of one side under one key at one time: encoded row, and whether it matched.
type Kept = Vec<(Vec<u8>, bool)>;

/// The interval join operator.
pub struct IntervalJoin {
    /// For failure reports.
    pub meta: OperatorMeta,
    spec: IntervalSpec,
    converters: JoinConverters,
    /// Keyed state (by encoded join key).
    pub store: KeyedStateStore<Vec<u8>>,
    /// One timer per key: when its earliest kept row expires.
    pub timers: Timers<Vec<u8>, ()>,
    left_rows: MapStateDescriptor<i64, Kept>,
    right_rows: MapStateDescriptor<i64, Kept>,
    /// Each key's timer.
    timer: KeyTimer,
    /// The last watermark.
    pub watermark: i64,
}

/// A row of an input batch that can match: its key and time.
struct Keyed {
    key: Vec<u8>,
    time: i64,
}

impl IntervalJoin {
    /// The operator over `store` and `timers` (restored by the caller).
    pub fn new(
        meta: OperatorMeta,
        spec: IntervalSpec,
        store: KeyedStateStore<Vec<u8>>,
        timers: Timers<Vec<u8>, ()>,
    ) -> Result<Self, SqlError> {
        Ok(IntervalJoin {
            meta,
            converters: JoinConverters::new(&spec.left, &spec.right)?,
            spec,
            store,
            timers,
            left_rows: MapStateDescriptor::new("left interval rows"),
            right_rows: MapStateDescriptor::new("right interval rows"),
            timer: KeyTimer::new("interval timer"),
            watermark: i64::MIN,
        })
    }

    fn rows(&self, side: Side) -> &MapStateDescriptor<i64, Kept> {
        match side {
            Side::Left => &self.left_rows,
            Side::Right => &self.right_rows,
        }
    }

    fn side(&self, side: Side) -> &JoinSide {
        match side {
            Side::Left => &self.spec.left,
            Side::Right => &self.spec.right,
        }
    }

    /// The key (empty without key columns) and time of each row, `None` for rows
    /// that cannot match (a NULL in either).
    fn keyed(&self, side: Side, batch: &RecordBatch) -> Result<Vec<Option<Keyed>>, SqlError> {
        let time = match side {
            Side::Left => &self.spec.left_time,
            Side::Right => &self.spec.right_time,
        };
        let times = millis(&evaluate(time, batch)?)?;
        let this = self.side(side);
        let key_columns = this.keys.columns(batch)?;
        let keys = (!key_columns.is_empty())
            .then(|| self.converters.keys.convert_columns(&key_columns))
            .transpose()?;
        Ok((0..batch.num_rows())
            .map(|row| {
                if times.is_null(row) || key_columns.iter().any(|c| c.is_null(row)) {
                    return None;
                }
                Some(Keyed {
                    key: keys.as_ref().map(|k| k.row(row).as_ref().to_vec()).unwrap_or_default(),
                    time: times.value(row),
                })
            })
            .collect())
    }

    fn process(&mut self, side: Side, input: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let batch = input.batch();
        let data = self.side(side).data(batch)?;
        let encoded = self.converters.rows(side).convert_columns(&data)?;
        let keyed = self.keyed(side, batch)?;
        // The other side's kept rows each row may match: (row, time, position).
        let other = side.other();
        let mut kept: HashMap<Vec<u8>, Vec<(i64, Kept)>> = HashMap::new();
        let mut this_index: Vec<u32> = Vec::new();
        let mut candidates: Vec<(i64, usize, Vec<u8>)> = Vec::new();
        let (watermark, keep_for) = (self.watermark, self.spec.keep_for(side));
        let late = |k: &Keyed| k.time.saturating_add(keep_for) <= watermark;
        for (row, k) in keyed.iter().enumerate() {
            let Some(k) = k else { continue };
            if self.spec.drop_late && late(k) {
                continue;
            }
            if !kept.contains_key(&k.key) {
                let current = self.store.key(k.key.clone());
                let descriptor = self.rows(other).clone();
                let entries = self
                    .store
                    .map(&descriptor, &current)
                    .and_then(|m| m.entries())
                    .map_err(state_error)?;
                kept.insert(k.key.clone(), entries);
            }
            let (from, to) = self.spec.other_times(side, k.time);
            for (time, rows) in kept.get(&k.key).into_iter().flatten() {
                if *time < from || *time > to {
                    continue;
                }
                for (at, (bytes, _)) in rows.iter().enumerate() {
                    this_index.push(row as u32);
                    candidates.push((*time, at, bytes.clone()));
                }
            }
        }
        let joined = pair_batch(
            side,
            &data,
            &this_index,
            candidates.iter().map(|(_, _, b)| b.as_slice()),
            &self.converters,
            &self.spec.pair_schema,
        )?;
        let mask = condition_mask(self.spec.filter.as_ref(), &joined)?;
        let pads = |s: Side| self.spec.kind.pads(s);
        let (this_pads, other_pads) = (pads(side), pads(other));
        let mut out = OutRows::default();
        let mut matched = vec![false; batch.num_rows()];
        for (pair, &row) in this_index.iter().enumerate() {
            if !passes(mask.as_ref(), pair) {
                continue;
            }
            out.push(RowKind::Insert, Some(row), Some(pair as u32), 1);
            matched[row as usize] = true;
            if other_pads {
                let (time, at, _) = &candidates[pair];
                if let Some(k) = &keyed[row as usize] {
                    self.mark_matched(other, &k.key, *time, *at)?;
                }
            }
        }
        for (row, k) in keyed.iter().enumerate() {
            if self.spec.drop_late && k.as_ref().is_some_and(late) {
                continue;
            }
            let keep = k.as_ref().filter(|k| !late(k));
            match keep {
                Some(k) => {
                    let expires = k.time.saturating_add(keep_for);
                    let current = self.store.key(k.key.clone());
                    let bytes = encoded.row(row).as_ref().to_vec();
                    let descriptor = self.rows(side).clone();
                    let mut rows = self.store.map(&descriptor, &current).map_err(state_error)?;
                    let mut at_time = rows.get(&k.time).map_err(state_error)?.unwrap_or_default();
                    at_time.push((bytes, matched[row]));
                    rows.put(k.time, at_time).map_err(state_error)?;
                    self.expire_at(&current, expires)?;
                }
                None if this_pads && !matched[row] => out.push(RowKind::Insert, Some(row as u32), None, 1),
                None => {}
            }
        }
        let other_columns = match side {
            Side::Left => &joined.columns()[self.spec.left.types.len()..],
            Side::Right => &joined.columns()[..self.spec.left.types.len()],
        };
        out.build(side, &data, other_columns, true, false, &self.spec.schema)
    }

    /// Notes that the `at`-th row kept at `time` under `key` on `side` matched.
    fn mark_matched(&mut self, side: Side, key: &[u8], time: i64, at: usize) -> Result<(), SqlError> {
        let current = self.store.key(key.to_vec());
        let descriptor = self.rows(side).clone();
        let mut rows = self.store.map(&descriptor, &current).map_err(state_error)?;
        if let Some(mut at_time) = rows.get(&time).map_err(state_error)? {
            if let Some(entry) = at_time.get_mut(at) {
                if !entry.1 {
                    entry.1 = true;
                    rows.put(time, at_time).map_err(state_error)?;
                }
            }
        }
        Ok(())
    }

    /// Makes sure the key's timer fires by `expires`.
    fn expire_at(&mut self, current: &CurrentKey<Vec<u8>>, expires: i64) -> Result<(), SqlError> {
        self.timer.wake_by(&mut self.store, &mut self.timers, current, expires)
    }

    /// Drops the rows the watermark `until` made useless, emitting the unmatched
    /// rows of outer sides padded, and sets each key's next timer.
    fn expire(&mut self, until: i64) -> Result<Vec<RecordBatch>, SqlError> {
        let mut padded: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            let mut next: Option<i64> = None;
            for (slot, side) in [Side::Left, Side::Right].into_iter().enumerate() {
                let keep_for = self.spec.keep_for(side);
                let pads = self.spec.kind.pads(side);
                let descriptor = self.rows(side).clone();
                let mut rows = self.store.map(&descriptor, &current).map_err(state_error)?;
                for (time, at_time) in rows.entries().map_err(state_error)? {
                    let expires = time.saturating_add(keep_for);
                    if expires > until {
                        next = Some(next.map_or(expires, |n| n.min(expires)));
                        continue;
                    }
                    rows.remove(&time).map_err(state_error)?;
                    if pads {
                        padded[slot].extend(at_time.into_iter().filter(|(_, m)| !m).map(|(b, _)| b));
                    }
                }
            }
            self.timer.fired(&mut self.store, &mut self.timers, &current, next)?;
        }
        let [left, right] = padded;
        let mut out = Vec::new();
        for (side, rows) in [(Side::Left, left), (Side::Right, right)] {
            if !rows.is_empty() {
                out.push(self.padded(side, &rows)?);
            }
        }
        Ok(out)
    }

    /// The encoded rows `rows` of `side`, null-padded.
    fn padded(&self, side: Side, rows: &[Vec<u8>]) -> Result<RecordBatch, SqlError> {
        let converter = self.converters.rows(side);
        let parser = converter.parser();
        let these = converter.convert_rows(rows.iter().map(|r| parser.parse(r)))?;
        let nulls = |s: &JoinSide| -> Vec<ArrayRef> {
            s.types
                .iter()
                .map(|t| arrow::array::new_null_array(t, rows.len()))
                .collect()
        };
        let columns = match side {
            Side::Left => [these, nulls(&self.spec.right)].concat(),
            Side::Right => [nulls(&self.spec.left), these].concat(),
        };
        Ok(RecordBatch::try_new_with_options(
            self.spec.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?)
    }

    fn emit(&mut self, side: Side, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.process(side, &record.value);
        output::send(&self.meta, "interval join", result, out);
    }
}

impl CoOperator<RowBatch, RowBatch, RowBatch> for IntervalJoin {
    fn process1(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        self.emit(Side::Left, record, out);
    }

    fn process2(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        self.emit(Side::Right, record, out);
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        match self.expire(watermark.timestamp) {
            Ok(batches) => {
                for batch in batches {
                    output::send(&self.meta, "interval join", Ok(Some(batch)), out);
                }
            }
            Err(e) => output::send(&self.meta, "interval join", Err(e), out),
        }
        let held = if watermark.timestamp == i64::MAX {
            i64::MAX
        } else {
            watermark.timestamp.saturating_sub(self.spec.watermark_delay())
        };
        out.process_watermark(Watermark { timestamp: held });
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}

#[cfg(test)]
pub(crate) mod tests;
