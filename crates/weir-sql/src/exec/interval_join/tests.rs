//! Interval joins fed rows and watermarks in a given order.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::physical_expr::expressions::Column;
use weir_core::keygroup::KeyGroupRange;
use weir_datastream::custom::Timers;
use weir_runtime::failure::OperatorMeta;
use weir_state::KeyedStateStore;

use super::*;
use crate::batch::RowBatch;
use crate::exec::join::tests::{int_key, pair_schema};
use crate::exec::join::{JoinKind, JoinSide, Side};
use crate::exec::keys::GroupKeys;

/// (key, value, time in seconds).
type Row<'a> = (Option<i64>, &'a str, Option<i64>);

pub(crate) fn side_schema(value: &str) -> Schema {
    Schema::new(vec![
        Field::new(format!("k{value}"), DataType::Int64, true),
        Field::new(value, DataType::Utf8, true),
        Field::new(
            format!("t{value}"),
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
    ])
}

pub(crate) fn side() -> JoinSide {
    JoinSide {
        keys: GroupKeys {
            exprs: vec![Arc::new(Column::new("k", 0))],
            types: vec![DataType::Int64],
        },
        types: side_schema("x")
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect(),
    }
}

/// A join of (kv, v, tv) with (kw, w, tw) on kv = kw and tv - tw in [-2 s, 5 s].
fn join(kind: JoinKind) -> IntervalJoin {
    let pair: SchemaRef = Arc::new(pair_schema(&side_schema("v"), &side_schema("w")));
    let spec = IntervalSpec {
        left: side(),
        right: side(),
        kind,
        filter: None,
        left_time: Arc::new(Column::new("t", 2)),
        right_time: Arc::new(Column::new("t", 2)),
        bounds: (-2_000, 5_000),
        drop_late: false,
        schema: pair.clone(),
        pair_schema: pair,
    };
    IntervalJoin::new(
        OperatorMeta::new("interval join", 0, 1),
        spec,
        KeyedStateStore::new(128, KeyGroupRange::new(0, 127)),
        Timers::new("interval join"),
    )
    .unwrap()
}

fn batch(rows: &[Row<'_>]) -> RowBatch {
    RowBatch(
        RecordBatch::try_new(
            Arc::new(side_schema("x")),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(TimestampMillisecondArray::from(
                    rows.iter().map(|r| r.2.map(|s| s * 1_000)).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap(),
    )
}

fn lines(batch: RecordBatch) -> Vec<String> {
    crate::rows::format_rows(&RowBatch(batch))
        .unwrap()
        .into_iter()
        .map(|l| l.replace("1970-01-01T00:00:", ""))
        .collect()
}

fn feed(j: &mut IntervalJoin, side: Side, rows: &[Row<'_>]) -> Vec<String> {
    j.process(side, &batch(rows)).unwrap().map(lines).unwrap_or_default()
}

/// Advances the watermark to `seconds`: the padded rows of expired ones.
fn watermark(j: &mut IntervalJoin, seconds: i64) -> Vec<String> {
    j.watermark = seconds * 1_000;
    j.expire(seconds * 1_000).unwrap().into_iter().flat_map(lines).collect()
}

/// The rows kept on both sides under key `k`.
fn kept(j: &mut IntervalJoin, k: i64) -> usize {
    let current = j.store.key(int_key(&j.converters, k));
    let mut n = 0;
    for side in [Side::Left, Side::Right] {
        let descriptor = j.rows(side).clone();
        let rows = j.store.map(&descriptor, &current).unwrap().entries().unwrap();
        n += rows.iter().map(|(_, r)| r.len()).sum::<usize>();
    }
    n
}

#[test]
fn rows_match_within_the_bounds_in_either_order_and_expire_with_the_watermark() {
    let mut j = join(JoinKind::Inner);
    assert!(feed(&mut j, Side::Left, &[(Some(1), "a", Some(10))]).is_empty());
    // 10 - 8 = 2 s: within [-2, 5].
    assert_eq!(
        feed(&mut j, Side::Right, &[(Some(1), "x", Some(8))]),
        ["+I[1, a, 10, 1, x, 08]"]
    );
    // 10 - 13 = -3 s: outside.
    assert!(feed(&mut j, Side::Right, &[(Some(1), "y", Some(13))]).is_empty());
    assert_eq!(
        feed(
            &mut j,
            Side::Left,
            &[(Some(1), "b", Some(14)), (Some(2), "b", Some(14))]
        ),
        ["+I[1, b, 14, 1, y, 13]"]
    );
    // Left row a (10 s) can match right rows up to 12 s only: it leaves at 12 s.
    assert!(watermark(&mut j, 12).is_empty());
    assert_eq!(kept(&mut j, 1), 3);
    // A late left row (9 s) still meets the right rows kept, and is not kept.
    assert_eq!(
        feed(&mut j, Side::Left, &[(Some(1), "c", Some(9))]),
        ["+I[1, c, 09, 1, x, 08]"]
    );
    assert_eq!(kept(&mut j, 1), 3);
    // Right row x (8 s) is kept until 13 s (left rows up to 8 + 5 s).
    assert!(watermark(&mut j, 13).is_empty());
    assert_eq!(kept(&mut j, 1), 2);
    assert!(watermark(&mut j, 20).is_empty());
    assert_eq!(kept(&mut j, 1), 0, "everything expired");
    assert_eq!(kept(&mut j, 2), 0, "everything expired");
    // A late right row finds nothing and is dropped.
    assert!(feed(&mut j, Side::Right, &[(Some(1), "z", Some(10))]).is_empty());
    assert_eq!(kept(&mut j, 1), 0);
    assert!(
        j.timers.drain(&mut j.store, TimeDomain::EventTime).unwrap().is_empty(),
        "no timers left"
    );
}

#[test]
fn outer_sides_are_padded_when_their_rows_expire_unmatched() {
    let mut j = join(JoinKind::Outer {
        left: true,
        right: true,
    });
    assert!(feed(
        &mut j,
        Side::Left,
        &[(Some(1), "a", Some(10)), (Some(2), "b", Some(10))]
    )
    .is_empty());
    assert_eq!(
        feed(&mut j, Side::Right, &[(Some(1), "x", Some(9)), (Some(3), "q", Some(1))]),
        ["+I[1, a, 10, 1, x, 09]"]
    );
    // q (1 s) expires at 6 s.
    assert_eq!(watermark(&mut j, 7), ["+I[NULL, NULL, NULL, 3, q, 01]"]);
    // a matched; b (10 s) expires unmatched at 12 s; x (9 s) matched.
    assert_eq!(watermark(&mut j, 14), ["+I[2, b, 10, NULL, NULL, NULL]"]);
    // A late row that cannot match any more is padded at once; so are NULL keys
    // and times.
    assert_eq!(
        feed(
            &mut j,
            Side::Left,
            &[(Some(1), "c", Some(3)), (None, "n", Some(20)), (Some(1), "t", None)]
        ),
        [
            "+I[1, c, 03, NULL, NULL, NULL]",
            "+I[NULL, n, 20, NULL, NULL, NULL]",
            "+I[1, t, NULL, NULL, NULL, NULL]"
        ]
    );
    assert!(watermark(&mut j, 30).is_empty());
    assert_eq!(kept(&mut j, 1), 0);
}

#[test]
fn a_left_outer_join_pads_only_the_left_side() {
    let mut j = join(JoinKind::Outer {
        left: true,
        right: false,
    });
    assert!(feed(&mut j, Side::Right, &[(Some(1), "x", Some(1))]).is_empty());
    assert!(feed(&mut j, Side::Left, &[(Some(2), "a", Some(1))]).is_empty());
    assert_eq!(watermark(&mut j, 10), ["+I[2, a, 01, NULL, NULL, NULL]"]);
}

#[test]
fn the_watermark_is_held_back_by_the_larger_bound() {
    let j = join(JoinKind::Inner);
    assert_eq!(j.spec.watermark_delay(), 5_000);
}
