//! Temporal joins fed rows and watermarks in a given order.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Int64Array, Int8Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::physical_expr::expressions::Column;
use weir_core::keygroup::KeyGroupRange;
use weir_datastream::custom::Timers;
use weir_runtime::failure::OperatorMeta;
use weir_state::KeyedStateStore;

use super::*;
use crate::batch::{kind_field, RowBatch, RowKind};
use crate::exec::interval_join::tests::{side, side_schema};
use crate::exec::join::tests::{int_key, pair_schema};

/// (kind, key, value, time in seconds).
type Row<'a> = (RowKind, Option<i64>, &'a str, Option<i64>);

/// A temporal join of (kv, v, tv) with the versions of (kw, w, tw) on kv = kw,
/// AS OF tv; `updating`: the left input carries kinds.
fn join(left_outer: bool, updating: bool) -> TemporalJoin {
    let pair: SchemaRef = Arc::new(pair_schema(&side_schema("v"), &side_schema("w")));
    let schema = if updating {
        output::with_kind(&pair)
    } else {
        pair.clone()
    };
    let spec = TemporalSpec {
        left: side(),
        right: side(),
        left_outer,
        filter: None,
        left_time: Arc::new(Column::new("t", 2)),
        right_time: Arc::new(Column::new("t", 2)),
        schema,
        pair_schema: pair,
    };
    TemporalJoin::new(
        OperatorMeta::new("temporal join", 0, 1),
        spec,
        KeyedStateStore::new(128, KeyGroupRange::new(0, 127)),
        Timers::new("temporal join"),
    )
    .unwrap()
}

fn batch(rows: &[Row<'_>]) -> RowBatch {
    let mut fields = side_schema("x").fields().to_vec();
    fields.push(Arc::new(kind_field()));
    RowBatch(
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(TimestampMillisecondArray::from(
                    rows.iter().map(|r| r.3.map(|s| s * 1_000)).collect::<Vec<_>>(),
                )),
                Arc::new(Int8Array::from(rows.iter().map(|r| r.0 as i8).collect::<Vec<_>>())),
            ],
        )
        .unwrap(),
    )
}

fn lines(batch: Option<RecordBatch>) -> Vec<String> {
    batch
        .map(|b| {
            crate::rows::format_rows(&RowBatch(b))
                .unwrap()
                .into_iter()
                .map(|l| l.replace("1970-01-01T00:00:", ""))
                .collect()
        })
        .unwrap_or_default()
}

fn left(j: &mut TemporalJoin, rows: &[Row<'_>]) -> Vec<String> {
    lines(j.left(&batch(rows)).unwrap())
}

fn right(j: &mut TemporalJoin, rows: &[Row<'_>]) {
    j.right(&batch(rows)).unwrap();
}

/// Advances the watermark to `seconds`: the rows joined then.
fn watermark(j: &mut TemporalJoin, seconds: i64) -> Vec<String> {
    j.watermark = seconds * 1_000;
    let ready = j.fire(seconds * 1_000).unwrap();
    lines(j.joined(ready).unwrap())
}

/// The version times and the number of waiting left rows kept under key `k`.
fn kept(j: &mut TemporalJoin, k: i64) -> (Vec<i64>, usize) {
    let current = j.store.key(int_key(&j.converters, k));
    let mut versions: Vec<i64> = j
        .store
        .map(&j.versions, &current)
        .unwrap()
        .entries()
        .unwrap()
        .into_iter()
        .map(|(t, _)| t / 1_000)
        .collect();
    versions.sort_unstable();
    let waiting = j.store.map(&j.waiting, &current).unwrap().entries().unwrap();
    (versions, waiting.iter().map(|(_, rows)| rows.len()).sum())
}

use RowKind::{Delete, Insert, UpdateAfter, UpdateBefore};

#[test]
fn each_left_row_meets_the_version_current_at_its_time_when_the_watermark_passes() {
    let mut j = join(false, false);
    right(
        &mut j,
        &[(Insert, Some(1), "a", Some(5)), (Insert, Some(1), "c", Some(20))],
    );
    // Versions may arrive out of order: b (10 s) comes after c (20 s).
    right(&mut j, &[(Insert, Some(1), "b", Some(10))]);
    let early = left(
        &mut j,
        &[
            (Insert, Some(1), "x3", Some(3)),
            (Insert, Some(1), "x5", Some(5)),
            (Insert, Some(1), "x12", Some(12)),
            (Insert, Some(2), "y12", Some(12)),
            (Insert, Some(1), "x25", Some(25)),
        ],
    );
    assert!(early.is_empty(), "{early:?}");
    assert_eq!(
        watermark(&mut j, 12),
        ["+I[1, x5, 05, 1, a, 05]", "+I[1, x12, 12, 1, b, 10]"]
    );
    // Version a can no longer be needed; b is the current one at 12 s.
    assert_eq!(kept(&mut j, 1), (vec![10, 20], 1));
    assert_eq!(watermark(&mut j, 30), ["+I[1, x25, 25, 1, c, 20]"]);
    assert_eq!(kept(&mut j, 1), (vec![20], 0));
    assert_eq!(kept(&mut j, 2), (vec![], 0));
}

#[test]
fn a_left_join_pads_rows_without_a_current_version_and_rows_that_cannot_match() {
    let mut j = join(true, false);
    right(&mut j, &[(Insert, Some(1), "a", Some(5))]);
    // A NULL key or time never matches: padded at once.
    assert_eq!(
        left(
            &mut j,
            &[
                (Insert, None, "n", Some(6)),
                (Insert, Some(1), "x4", Some(4)),
                (Insert, Some(1), "x6", Some(6)),
                (Insert, Some(1), "nt", None),
            ]
        ),
        ["+I[NULL, n, 06, NULL, NULL, NULL]", "+I[1, nt, NULL, NULL, NULL, NULL]"]
    );
    assert_eq!(
        watermark(&mut j, 10),
        ["+I[1, x4, 04, NULL, NULL, NULL]", "+I[1, x6, 06, 1, a, 05]"]
    );
}

#[test]
fn updates_make_versions_and_deletes_end_them() {
    let mut j = join(true, false);
    right(
        &mut j,
        &[
            (Insert, Some(1), "a", Some(5)),
            (UpdateBefore, Some(1), "a", Some(5)),
            (UpdateAfter, Some(1), "b", Some(10)),
            (Delete, Some(1), "b", Some(15)),
            (Insert, Some(1), "c", Some(20)),
        ],
    );
    left(
        &mut j,
        &[
            (Insert, Some(1), "x7", Some(7)),
            (Insert, Some(1), "x12", Some(12)),
            (Insert, Some(1), "x16", Some(16)),
            (Insert, Some(1), "x21", Some(21)),
        ],
    );
    assert_eq!(
        watermark(&mut j, 16),
        [
            "+I[1, x7, 07, 1, a, 05]",
            "+I[1, x12, 12, 1, b, 10]",
            "+I[1, x16, 16, NULL, NULL, NULL]"
        ]
    );
    // The delete was the last version at 16 s: nothing before c is kept.
    assert_eq!(kept(&mut j, 1), (vec![20], 1));
    assert_eq!(watermark(&mut j, 21), ["+I[1, x21, 21, 1, c, 20]"]);
}

#[test]
fn late_left_rows_join_at_the_next_watermark_and_keep_their_kinds() {
    let mut j = join(false, true);
    right(
        &mut j,
        &[(Insert, Some(1), "a", Some(5)), (Insert, Some(1), "b", Some(10))],
    );
    assert!(watermark(&mut j, 12).is_empty());
    assert_eq!(kept(&mut j, 1), (vec![10], 0));
    // 11 s is late (the watermark is at 12 s): joined at the next watermark with
    // the version kept; a row older than every kept version finds none.
    left(
        &mut j,
        &[
            (Insert, Some(1), "x11", Some(11)),
            (Delete, Some(1), "x11", Some(11)),
            (Insert, Some(1), "x6", Some(6)),
        ],
    );
    assert_eq!(
        watermark(&mut j, 13),
        ["+I[1, x11, 11, 1, b, 10]", "-D[1, x11, 11, 1, b, 10]"]
    );
    assert_eq!(kept(&mut j, 1), (vec![10], 0));
}
