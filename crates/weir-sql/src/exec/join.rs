//! Regular (unbounded) equi-joins: `a [INNER | LEFT | RIGHT | FULL] JOIN b ON a.k =
//! b.k [AND condition]`, and the semi and anti joins DataFusion plans for `EXISTS`,
//! `IN`, `NOT EXISTS` and `NOT IN`.
//!
//! Both inputs are partitioned by the key group of their join key, so the operator
//! ([`StreamingJoin`]) sees every row of a key on both sides in one subtask. Each
//! side's rows are kept in keyed map state (heap or RocksDB), per join key, as
//! encoded rows with their multiplicities. A row arriving on one side is added to
//! (or, for `-U`/`-D`, taken back from) its side's state and joined with every row
//! of the other side under the same key; the pairs that pass the non-equi condition
//! match. Rows with a NULL in their key never match and are not kept (unless the
//! key compares NULLs as equal, `IS NOT DISTINCT FROM`).
//!
//! - **Inner join:** the matching pairs. Over insert-only inputs the result is
//!   insert-only; over an updating input a pair is emitted as `+I` when a row is
//!   added and as `-D` when it is taken back, as Flink's inner join does.
//! - **Outer joins** (LEFT, RIGHT, FULL): as Flink's, the state of an outer side
//!   holds each row with its multiplicity and its number of matches on the other
//!   side ([`RowCounts`]). A row of an outer side without a match is emitted
//!   null-padded (`+I[row, null]`). When its first match arrives, the padded row is
//!   retracted (`-D[row, null]`) before the joined row is emitted; when its last
//!   match goes away (`-D[row, other]`), the padded row is emitted again
//!   (`+I[row, null]`). Taking back an unmatched row retracts its padded row. The
//!   result is a retract changelog, also over insert-only inputs. A row with a NULL
//!   key never matches: it is emitted (and taken back) padded, without state.
//! - **Anti join** (`NOT EXISTS`, a `NOT IN` over non-nullable columns): the left
//!   rows without a match, kept as an outer side is (a left row is emitted while it
//!   has no match, retracted when its first match arrives and emitted again when
//!   its last match goes away); a retract changelog.
//! - **Semi join** (`EXISTS`, `IN`, or an inner join DataFusion proved to match
//!   each left row at most once): the left rows with a match. Over insert-only
//!   inputs each left row is emitted once, when its first matching right row is
//!   there: a left row that matches on arrival is emitted and not kept; one that
//!   does not is kept until a right row matches it, then emitted and dropped from
//!   the state. Over an updating input the left rows are kept with their numbers
//!   of matches, as for an anti join: a left row is emitted when its first match
//!   arrives and retracted when its last match goes away.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int8Array, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, Rows};
use datafusion::physical_expr::PhysicalExpr;
use serde::{Deserialize, Serialize};
use weir_core::StreamRecord;
use weir_datastream::custom::{CoOperator, Input, OperatorState};
use weir_runtime::failure::OperatorMeta;
use weir_state::{KeyedStateStore, MapStateDescriptor, StateTtlConfig};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
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

    /// This side's columns of `batch` (without the kind column).
    pub(crate) fn data(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>, SqlError> {
        Ok(batch
            .columns()
            .get(..self.types.len())
            .ok_or_else(|| {
                SqlError::Plan(format!(
                    "a batch of {} columns, expected {}",
                    batch.num_columns(),
                    self.types.len()
                ))
            })?
            .to_vec())
    }
}

/// Which rows a regular join emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// The matching pairs.
    Inner,
    /// The matching pairs, and the rows of an outer side without a match,
    /// null-padded: LEFT (`left`), RIGHT (`right`) or FULL (both) OUTER JOIN.
    Outer {
        /// Whether unmatched left rows are emitted.
        left: bool,
        /// Whether unmatched right rows are emitted.
        right: bool,
    },
    /// The left rows with a match (left columns only).
    Semi,
    /// The left rows without a match (left columns only).
    Anti,
}

impl JoinKind {
    /// Whether the rows of `side` without a match are emitted (padded).
    pub(crate) fn pads(self, side: Side) -> bool {
        match self {
            JoinKind::Outer { left, right } => match side {
                Side::Left => left,
                Side::Right => right,
            },
            JoinKind::Anti => side == Side::Left,
            JoinKind::Inner | JoinKind::Semi => false,
        }
    }

    /// Whether the state of `side` counts each row's matches (`updating`: the
    /// result carries row kinds).
    fn tracks(self, side: Side, updating: bool) -> bool {
        self.pads(side) || (self == JoinKind::Semi && updating && side == Side::Left)
    }

    /// Whether the result has the right side's columns.
    pub(crate) fn has_right_columns(self) -> bool {
        matches!(self, JoinKind::Inner | JoinKind::Outer { .. })
    }

    /// Whether the result is a retract changelog whatever the inputs are.
    pub fn always_updating(self) -> bool {
        matches!(self, JoinKind::Outer { .. } | JoinKind::Anti)
    }

    /// The operator's name in job graphs.
    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "Join",
            JoinKind::Outer {
                left: true,
                right: false,
            } => "Left outer join",
            JoinKind::Outer {
                left: false,
                right: true,
            } => "Right outer join",
            JoinKind::Outer { .. } => "Full outer join",
            JoinKind::Semi => "Semi join",
            JoinKind::Anti => "Anti join",
        }
    }
}

/// What a regular join computes.
#[derive(Debug, Clone)]
pub struct JoinSpec {
    /// The left input.
    pub left: JoinSide,
    /// The right input.
    pub right: JoinSide,
    /// Which rows it emits.
    pub kind: JoinKind,
    /// The non-equi condition over the joined columns (left then right).
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// Whether rows whose keys hold NULLs match each other (`IS NOT DISTINCT FROM`).
    pub nulls_match: bool,
    /// Output schema: left columns, right columns (not for a semi or anti join),
    /// and the kind column when `updating`.
    pub schema: SchemaRef,
    /// The columns of a pair: left then right, without the kind column.
    pub pair_schema: SchemaRef,
    /// Whether the output carries row kinds (an input is updating, or the join
    /// retracts rows itself).
    pub updating: bool,
}

/// A row kept in the state of a side whose unmatched rows matter (an outer side,
/// the left side of an anti join): its multiplicity and how many rows of the other
/// side it matches (each counted with its multiplicity), as Flink's outer join
/// state keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// How often the row is there.
    pub count: i64,
    /// The number of rows of the other side it matches.
    pub matches: i64,
}

/// The state of one side's rows per join key.
#[derive(Clone)]
enum SideRows {
    /// Encoded row → multiplicity.
    Plain(MapStateDescriptor<Vec<u8>, i64>),
    /// Encoded row → multiplicity and number of matches.
    Tracked(MapStateDescriptor<Vec<u8>, RowCounts>),
}

impl SideRows {
    /// The same rows with a state TTL.
    fn with_ttl(self, ttl: &Option<StateTtlConfig>) -> Self {
        let Some(ttl) = ttl else {
            return self;
        };
        match self {
            SideRows::Plain(d) => SideRows::Plain(d.with_ttl(ttl.clone())),
            SideRows::Tracked(d) => SideRows::Tracked(d.with_ttl(ttl.clone())),
        }
    }

    fn new(side: &str, tracked: bool) -> Self {
        if tracked {
            SideRows::Tracked(MapStateDescriptor::new(format!("{side} outer rows")))
        } else {
            SideRows::Plain(MapStateDescriptor::new(format!("{side} rows")))
        }
    }

    /// The rows under the current key `current`, with their counts.
    fn entries(
        &self,
        store: &mut KeyedStateStore<Vec<u8>>,
        current: &weir_state::CurrentKey<Vec<u8>>,
    ) -> Result<Vec<(Vec<u8>, RowCounts)>, SqlError> {
        Ok(match self {
            SideRows::Plain(d) => store
                .map(d, current)
                .and_then(|m| m.entries())
                .map_err(state_error)?
                .into_iter()
                .map(|(row, count)| (row, RowCounts { count, matches: 0 }))
                .collect(),
            SideRows::Tracked(d) => store.map(d, current).and_then(|m| m.entries()).map_err(state_error)?,
        })
    }

    /// The counts of `row` under `current` (zero when it is not there).
    fn get(
        &self,
        store: &mut KeyedStateStore<Vec<u8>>,
        current: &weir_state::CurrentKey<Vec<u8>>,
        row: &Vec<u8>,
    ) -> Result<RowCounts, SqlError> {
        Ok(match self {
            SideRows::Plain(d) => RowCounts {
                count: store
                    .map(d, current)
                    .and_then(|m| m.get(row))
                    .map_err(state_error)?
                    .unwrap_or(0),
                matches: 0,
            },
            SideRows::Tracked(d) => store
                .map(d, current)
                .and_then(|m| m.get(row))
                .map_err(state_error)?
                .unwrap_or_default(),
        })
    }

    /// Sets the counts of `row` under `current`; a row whose count is zero leaves.
    fn set(
        &self,
        store: &mut KeyedStateStore<Vec<u8>>,
        current: &weir_state::CurrentKey<Vec<u8>>,
        row: Vec<u8>,
        counts: RowCounts,
    ) -> Result<(), SqlError> {
        let done = match self {
            SideRows::Plain(d) => store.map(d, current).and_then(|mut m| {
                if counts.count > 0 {
                    m.put(row, counts.count)
                } else {
                    m.remove(&row).map(|_| ())
                }
            }),
            SideRows::Tracked(d) => store.map(d, current).and_then(|mut m| {
                if counts.count > 0 {
                    m.put(row, counts)
                } else {
                    m.remove(&row).map(|_| ())
                }
            }),
        };
        done.map_err(state_error)
    }
}

/// The regular join operator.
pub struct StreamingJoin {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// What it computes.
    pub spec: JoinSpec,
    /// Keyed state (by encoded join key).
    pub store: KeyedStateStore<Vec<u8>>,
    /// Encodings: join keys, left rows, right rows.
    converters: JoinConverters,
    /// Left rows per join key.
    left_rows: SideRows,
    /// Right rows per join key.
    right_rows: SideRows,
}

/// The row encodings a join uses.
pub struct JoinConverters {
    pub(crate) keys: RowConverter,
    pub(crate) left: RowConverter,
    pub(crate) right: RowConverter,
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

    /// The encoding of `side`'s rows.
    pub(crate) fn rows(&self, side: Side) -> &RowConverter {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }
}

pub(crate) fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("join state: {e}"))
}

/// An input of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The first (left) input.
    Left,
    /// The second (right) input.
    Right,
}

impl Side {
    /// The other input.
    pub(crate) fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// What became of a row of an input batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowStatus {
    /// A retraction of a row that is not in the state (nothing to take back).
    Skipped,
    /// A row with a NULL key: it never matches and is not kept.
    Unkeyed,
    /// A row added to (or taken from) the state under its key.
    Keyed,
}

/// The pairs an input batch forms with the other side's rows, before the
/// condition: each pair once, with the other row's multiplicity.
struct Candidates {
    /// Left then right columns of each pair.
    joined: RecordBatch,
    /// Per pair: the row of the batch.
    this_index: Vec<u32>,
    /// Per pair: the other side's encoded row and its multiplicity.
    other: Vec<(Vec<u8>, i64)>,
    /// Per row of the batch: what became of it and its pairs.
    rows: Vec<(RowStatus, Range<usize>)>,
    /// The batch's encoded rows.
    encoded: Rows,
    /// The batch's encoded join keys.
    keys: Rows,
}

/// The rows of a join's result batch, before they are built: each a kind, a row of
/// the input batch (`this`) and a row of the other side (the pair it was taken
/// from); `None` pads with NULLs.
#[derive(Default)]
pub(crate) struct OutRows {
    kinds: Vec<RowKind>,
    this: Vec<Option<u32>>,
    other: Vec<Option<u32>>,
}

impl OutRows {
    /// Adds `times` rows.
    pub(crate) fn push(&mut self, kind: RowKind, this: Option<u32>, other: Option<u32>, times: i64) {
        for _ in 0..times {
            self.kinds.push(kind);
            self.this.push(this);
            self.other.push(other);
        }
    }

    /// The result batch: `this_data`'s and `other_data`'s columns (taken at the
    /// rows' indexes) in left, right order (only the left ones without
    /// `right_columns`), and the kind column when `schema` has it.
    pub(crate) fn build(
        self,
        side: Side,
        this_data: &[ArrayRef],
        other_data: &[ArrayRef],
        right_columns: bool,
        updating: bool,
        schema: &SchemaRef,
    ) -> Result<Option<RecordBatch>, SqlError> {
        if self.kinds.is_empty() {
            return Ok(None);
        }
        let rows = self.kinds.len();
        let taken = |data: &[ArrayRef], at: Vec<Option<u32>>| -> Result<Vec<ArrayRef>, SqlError> {
            let indices = UInt32Array::from(at);
            Ok(data
                .iter()
                .map(|c| take(c.as_ref(), &indices, None))
                .collect::<Result<Vec<_>, _>>()?)
        };
        let (left, right) = match side {
            Side::Left => ((this_data, self.this), (other_data, self.other)),
            Side::Right => ((other_data, self.other), (this_data, self.this)),
        };
        let mut columns = taken(left.0, left.1)?;
        if right_columns {
            columns.extend(taken(right.0, right.1)?);
        }
        if updating {
            columns.push(Arc::new(Int8Array::from_iter_values(
                self.kinds.into_iter().map(|k| k as i8),
            )));
        }
        Ok(Some(RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?))
    }
}

/// The pairs of the rows `this_index` of `data` (`side`'s columns) with the other
/// side's encoded rows `other`: left then right columns, as `pair_schema`.
pub(crate) fn pair_batch<'a>(
    side: Side,
    data: &[ArrayRef],
    this_index: &[u32],
    other: impl Iterator<Item = &'a [u8]>,
    converters: &JoinConverters,
    pair_schema: &SchemaRef,
) -> Result<RecordBatch, SqlError> {
    let indices = UInt32Array::from(this_index.to_vec());
    let these = data
        .iter()
        .map(|c| take(c.as_ref(), &indices, None))
        .collect::<Result<Vec<_>, _>>()?;
    let other_converter = converters.rows(side.other());
    let parser = other_converter.parser();
    let those = other_converter.convert_rows(other.map(|b| parser.parse(b)))?;
    let columns = match side {
        Side::Left => [these, those].concat(),
        Side::Right => [those, these].concat(),
    };
    Ok(RecordBatch::try_new_with_options(
        pair_schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(this_index.len())),
    )?)
}

/// The kind of a result row caused by an added (`+I`) or retracted (`-D`) row.
pub(crate) fn change(adds: bool) -> RowKind {
    if adds {
        RowKind::Insert
    } else {
        RowKind::Delete
    }
}

/// Whether pair `pair` passes the condition `mask` (every pair without one).
pub(crate) fn passes(mask: Option<&BooleanArray>, pair: usize) -> bool {
    mask.is_none_or(|m| m.is_valid(pair) && m.value(pair))
}

/// The join condition on every pair of `joined` (`None` without a condition).
pub(crate) fn condition_mask(
    filter: Option<&Arc<dyn PhysicalExpr>>,
    joined: &RecordBatch,
) -> Result<Option<BooleanArray>, SqlError> {
    filter.map(|f| crate::exec::eval::mask(f, joined)).transpose()
}

impl StreamingJoin {
    /// Keeps each row `ttl` of processing time after its last write
    /// (`table.exec.state.ttl`), when given.
    pub fn with_state_ttl(mut self, ttl: &Option<StateTtlConfig>) -> Self {
        self.left_rows = self.left_rows.with_ttl(ttl);
        self.right_rows = self.right_rows.with_ttl(ttl);
        self
    }

    /// The operator computing `spec` over `store`.
    pub fn new(meta: OperatorMeta, spec: JoinSpec, store: KeyedStateStore<Vec<u8>>) -> Result<Self, SqlError> {
        Ok(StreamingJoin {
            meta,
            converters: JoinConverters::new(&spec.left, &spec.right)?,
            left_rows: SideRows::new("left", spec.kind.tracks(Side::Left, spec.updating)),
            right_rows: SideRows::new("right", spec.kind.tracks(Side::Right, spec.updating)),
            spec,
            store,
        })
    }

    fn side(&self, side: Side) -> (&JoinSide, &SideRows) {
        match side {
            Side::Left => (&self.spec.left, &self.left_rows),
            Side::Right => (&self.spec.right, &self.right_rows),
        }
    }

    fn process(&mut self, side: Side, input: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let data = self.side(side).0.data(input.batch())?;
        let Some(candidates) = self.candidates(side, input, &data)? else {
            return Ok(None);
        };
        let mask = condition_mask(self.spec.filter.as_ref(), &candidates.joined)?;
        if self.spec.kind == JoinKind::Semi && !self.spec.updating {
            return self.semi_rows(side, &candidates, mask.as_ref());
        }
        let out = self.matched(side, input, &candidates, mask.as_ref())?;
        let other_columns = match side {
            Side::Left => &candidates.joined.columns()[self.spec.left.types.len()..],
            Side::Right => &candidates.joined.columns()[..self.spec.left.types.len()],
        };
        out.build(
            side,
            &data,
            other_columns,
            self.spec.kind.has_right_columns(),
            self.spec.updating,
            &self.spec.schema,
        )
    }

    /// The result rows of a batch whose pairs passing the condition are `mask`'s;
    /// keeps the numbers of matches of the sides that count them.
    fn matched(
        &mut self,
        side: Side,
        input: &RowBatch,
        candidates: &Candidates,
        mask: Option<&BooleanArray>,
    ) -> Result<OutRows, SqlError> {
        let kind = self.spec.kind;
        let this_pads = kind.pads(side);
        let this_tracks = kind.tracks(side, self.spec.updating);
        let other_tracks = kind.tracks(side.other(), self.spec.updating);
        let semi = kind == JoinKind::Semi;
        let pairs_out = kind.has_right_columns();
        let mut out = OutRows::default();
        for (row, (status, range)) in candidates.rows.iter().enumerate() {
            let adds = input.kind(row).is_addition();
            let this = Some(row as u32);
            match status {
                RowStatus::Skipped => continue,
                RowStatus::Unkeyed => {
                    if this_pads {
                        out.push(change(adds), this, None, 1);
                    }
                    continue;
                }
                RowStatus::Keyed => {}
            }
            let passing: Vec<usize> = range.clone().filter(|&p| passes(mask, p)).collect();
            let matches: i64 = passing.iter().map(|&p| candidates.other[p].1).sum();
            let current = self.store.key(candidates.keys.row(row).as_ref().to_vec());
            // The other side's rows whose first match arrives or last match leaves.
            let mut transitions = OutRows::default();
            if other_tracks {
                let (_, other_rows) = self.side(side.other());
                let other_rows = other_rows.clone();
                for &p in &passing {
                    let (other, count) = &candidates.other[p];
                    let mut counts = other_rows.get(&mut self.store, &current, other)?;
                    let before = counts.matches;
                    counts.matches += if adds { 1 } else { -1 };
                    if (before == 0) != (counts.matches == 0) {
                        // Matched now (padded row out, semi row in) or unmatched
                        // now (padded row in, semi row out).
                        let shows = (counts.matches == 0) != semi;
                        transitions.push(change(shows), None, Some(p as u32), *count);
                    }
                    other_rows.set(&mut self.store, &current, other.clone(), counts)?;
                }
            }
            if adds {
                append(&mut out, std::mem::take(&mut transitions));
            }
            if pairs_out {
                for &p in &passing {
                    out.push(change(adds), this, Some(p as u32), candidates.other[p].1);
                }
            }
            if (this_pads && matches == 0) || (semi && this_tracks && matches > 0) {
                out.push(change(adds), this, None, 1);
            }
            if !adds {
                append(&mut out, transitions);
            }
            if this_tracks {
                // The row's number of matches (its count was set by `candidates`).
                let (_, own) = self.side(side);
                let own = own.clone();
                let bytes = candidates.encoded.row(row).as_ref().to_vec();
                let mut counts = own.get(&mut self.store, &current, &bytes)?;
                if counts.count > 0 {
                    counts.matches = matches;
                    own.set(&mut self.store, &current, bytes, counts)?;
                }
            }
        }
        Ok(out)
    }

    /// A semi join's left rows matched by `candidates` (those passing `mask`), over
    /// insert-only inputs: each emitted as often as it is kept, and taken out of
    /// the state.
    fn semi_rows(
        &mut self,
        side: Side,
        candidates: &Candidates,
        mask: Option<&BooleanArray>,
    ) -> Result<Option<RecordBatch>, SqlError> {
        let mut matched: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (pair, &row) in candidates.this_index.iter().enumerate() {
            if !passes(mask, pair) {
                continue;
            }
            let key = candidates.keys.row(row as usize).as_ref().to_vec();
            let left_row = match side {
                Side::Left => candidates.encoded.row(row as usize).as_ref().to_vec(),
                Side::Right => candidates.other[pair].0.clone(),
            };
            matched.push((key, left_row));
        }
        matched.sort();
        matched.dedup();
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (key, left_row) in matched {
            let current = self.store.key(key);
            let counts = self.left_rows.get(&mut self.store, &current, &left_row)?;
            if counts.count > 0 {
                self.left_rows
                    .set(&mut self.store, &current, left_row.clone(), RowCounts::default())?;
                for _ in 0..counts.count {
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
            self.spec.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(out.len())),
        )?))
    }

    /// Adds the rows of `input` (its columns `data`) to their side's state (or takes
    /// them back) and pairs each with the other side's rows under its key.
    fn candidates(&mut self, side: Side, input: &RowBatch, data: &[ArrayRef]) -> Result<Option<Candidates>, SqlError> {
        let (this, own) = self.side(side);
        let own = own.clone();
        let (_, other) = self.side(side.other());
        let other = other.clone();
        let batch = input.batch();
        let key_columns = this.keys.columns(batch)?;
        let keys = self.converters.keys.convert_columns(&key_columns)?;
        let encoded = self.converters.rows(side).convert_columns(data)?;
        let mut this_index: Vec<u32> = Vec::new();
        let mut other_rows: Vec<(Vec<u8>, i64)> = Vec::new();
        let mut rows = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let first = this_index.len();
            if !self.spec.nulls_match && key_columns.iter().any(|c| c.is_null(row)) {
                rows.push((RowStatus::Unkeyed, first..first));
                continue;
            }
            let adds = input.kind(row).is_addition();
            let current = self.store.key(keys.row(row).as_ref().to_vec());
            let row_bytes = encoded.row(row).as_ref().to_vec();
            let mut counts = own.get(&mut self.store, &current, &row_bytes)?;
            if !adds && counts.count == 0 {
                // Taking back a row never seen (state expired): nothing to retract.
                rows.push((RowStatus::Skipped, first..first));
                continue;
            }
            counts.count += if adds { 1 } else { -1 };
            own.set(&mut self.store, &current, row_bytes, counts)?;
            for (bytes, counts) in other.entries(&mut self.store, &current)? {
                this_index.push(row as u32);
                other_rows.push((bytes, counts.count));
            }
            rows.push((RowStatus::Keyed, first..this_index.len()));
        }
        if rows.iter().all(|(s, _)| *s == RowStatus::Skipped) {
            return Ok(None);
        }
        let joined = pair_batch(
            side,
            data,
            &this_index,
            other_rows.iter().map(|(b, _)| b.as_slice()),
            &self.converters,
            &self.spec.pair_schema,
        )?;
        Ok(Some(Candidates {
            joined,
            this_index,
            other: other_rows,
            rows,
            encoded,
            keys,
        }))
    }

    fn emit(&mut self, side: Side, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.process(side, &record.value);
        crate::exec::output::send(&self.meta, "join", result, out);
    }
}

/// Appends `more`'s rows to `out`.
fn append(out: &mut OutRows, more: OutRows) {
    out.kinds.extend(more.kinds);
    out.this.extend(more.this);
    out.other.extend(more.other);
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

#[cfg(test)]
pub(crate) mod tests;
