//! The changelogs of regular joins for rows arriving in a given order.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Int64Array, Int8Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::physical_expr::expressions::Column;
use datafusion::prelude::{col, lit};
use weir_core::keygroup::KeyGroupRange;
use weir_runtime::failure::OperatorMeta;
use weir_state::KeyedStateStore;

use super::*;
use crate::batch::{kind_field, RowBatch, RowKind};
use crate::exec::keys::GroupKeys;
use crate::exec::output::with_kind;

type Row<'a> = (RowKind, Option<i64>, &'a str);

const I: RowKind = RowKind::Insert;
const D: RowKind = RowKind::Delete;

fn side_schema(value: &str) -> Schema {
    Schema::new(vec![
        Field::new(format!("k{value}"), DataType::Int64, true),
        Field::new(value, DataType::Utf8, true),
    ])
}

fn side() -> JoinSide {
    JoinSide {
        keys: GroupKeys {
            exprs: vec![Arc::new(Column::new("k", 0))],
            types: vec![DataType::Int64],
        },
        types: vec![DataType::Int64, DataType::Utf8],
    }
}

/// The columns of `left` then `right`.
pub(crate) fn pair_schema(left: &Schema, right: &Schema) -> Schema {
    Schema::new(
        left.fields()
            .iter()
            .chain(right.fields().iter())
            .cloned()
            .collect::<Vec<_>>(),
    )
}

/// A join of (kv, v) with (kw, w) on kv = kw, with `condition` over (kv, v, kw, w).
fn join(kind: JoinKind, updating: bool, condition: Option<datafusion::logical_expr::Expr>) -> StreamingJoin {
    let pair = pair_schema(&side_schema("v"), &side_schema("w"));
    let plain = if kind.has_right_columns() {
        pair.clone()
    } else {
        side_schema("v")
    };
    let schema: SchemaRef = if updating { with_kind(&plain) } else { Arc::new(plain) };
    let filter =
        condition.map(|c| crate::exec::eval::physical(&c, &DFSchema::try_from(pair.clone()).unwrap()).unwrap());
    let spec = JoinSpec {
        left: side(),
        right: side(),
        kind,
        filter,
        nulls_match: false,
        schema,
        pair_schema: Arc::new(pair),
        updating,
    };
    StreamingJoin::new(
        OperatorMeta::new("join", 0, 1),
        spec,
        KeyedStateStore::new(128, KeyGroupRange::new(0, 127)),
    )
    .unwrap()
}

fn batch(rows: &[Row<'_>]) -> RowBatch {
    let mut fields = side_schema("x")
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect::<Vec<_>>();
    fields.push(kind_field());
    RowBatch(
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(Int8Array::from(rows.iter().map(|r| r.0 as i8).collect::<Vec<_>>())),
            ],
        )
        .unwrap(),
    )
}

/// Feeds `rows` on `side` and returns the changes, as Flink prints them.
fn feed(join: &mut StreamingJoin, side: Side, rows: &[Row<'_>]) -> Vec<String> {
    match join.process(side, &batch(rows)).unwrap() {
        Some(out) => crate::rows::format_rows(&RowBatch(out)).unwrap(),
        None => Vec::new(),
    }
}

/// The encoded join key `k` (one BIGINT column).
pub(crate) fn int_key(converters: &JoinConverters, k: i64) -> Vec<u8> {
    let keys = converters
        .keys
        .convert_columns(&[Arc::new(Int64Array::from(vec![k]))])
        .unwrap();
    keys.row(0).as_ref().to_vec()
}

/// The rows both sides keep under key `k`.
fn kept(join: &mut StreamingJoin, k: i64) -> usize {
    let current = join.store.key(int_key(&join.converters, k));
    let (left, right) = (join.left_rows.clone(), join.right_rows.clone());
    left.entries(&mut join.store, &current).unwrap().len() + right.entries(&mut join.store, &current).unwrap().len()
}

const LEFT: JoinKind = JoinKind::Outer {
    left: true,
    right: false,
};
const RIGHT: JoinKind = JoinKind::Outer {
    left: false,
    right: true,
};
const FULL: JoinKind = JoinKind::Outer {
    left: true,
    right: true,
};

#[test]
fn left_outer_join_with_the_left_row_first() {
    let mut j = join(LEFT, true, None);
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]), ["+I[1, a, NULL, NULL]"]);
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, Some(1), "x")]),
        ["-D[1, a, NULL, NULL]", "+I[1, a, 1, x]"]
    );
    assert_eq!(feed(&mut j, Side::Right, &[(I, Some(1), "y")]), ["+I[1, a, 1, y]"]);
    assert_eq!(feed(&mut j, Side::Right, &[(D, Some(1), "x")]), ["-D[1, a, 1, x]"]);
    assert_eq!(
        feed(&mut j, Side::Right, &[(D, Some(1), "y")]),
        ["-D[1, a, 1, y]", "+I[1, a, NULL, NULL]"]
    );
    assert_eq!(feed(&mut j, Side::Left, &[(D, Some(1), "a")]), ["-D[1, a, NULL, NULL]"]);
    assert_eq!(kept(&mut j, 1), 0, "the state is empty again");
    // Taking back a row that is not there changes nothing.
    assert!(feed(&mut j, Side::Left, &[(D, Some(1), "a")]).is_empty());
}

#[test]
fn left_outer_join_with_the_right_row_first() {
    let mut j = join(LEFT, true, None);
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "x")]).is_empty());
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]), ["+I[1, a, 1, x]"]);
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]), ["+I[1, a, 1, x]"]);
    assert_eq!(
        feed(&mut j, Side::Right, &[(D, Some(1), "x")]),
        [
            "-D[1, a, 1, x]",
            "-D[1, a, 1, x]",
            "+I[1, a, NULL, NULL]",
            "+I[1, a, NULL, NULL]"
        ]
    );
    assert_eq!(
        feed(
            &mut j,
            Side::Left,
            &[
                (RowKind::UpdateBefore, Some(1), "a"),
                (RowKind::UpdateAfter, Some(1), "b")
            ]
        ),
        ["-D[1, a, NULL, NULL]", "+I[1, b, NULL, NULL]"]
    );
}

#[test]
fn right_outer_join_of_a_batch_of_left_rows() {
    let mut j = join(RIGHT, true, None);
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, Some(1), "x")]),
        ["+I[NULL, NULL, 1, x]"]
    );
    assert_eq!(
        feed(&mut j, Side::Left, &[(I, Some(1), "a"), (I, Some(1), "b")]),
        ["-D[NULL, NULL, 1, x]", "+I[1, a, 1, x]", "+I[1, b, 1, x]"]
    );
    assert_eq!(
        feed(&mut j, Side::Left, &[(D, Some(1), "a"), (D, Some(1), "b")]),
        ["-D[1, a, 1, x]", "-D[1, b, 1, x]", "+I[NULL, NULL, 1, x]"]
    );
    // A row added and taken back in one batch.
    assert_eq!(
        feed(&mut j, Side::Left, &[(I, Some(1), "c"), (D, Some(1), "c")]),
        [
            "-D[NULL, NULL, 1, x]",
            "+I[1, c, 1, x]",
            "-D[1, c, 1, x]",
            "+I[NULL, NULL, 1, x]"
        ]
    );
    assert_eq!(kept(&mut j, 1), 1, "only the right row is kept");
}

#[test]
fn full_outer_join_and_null_keys() {
    let mut j = join(FULL, true, None);
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, Some(2), "z")]),
        ["+I[NULL, NULL, 2, z]"]
    );
    assert_eq!(
        feed(&mut j, Side::Left, &[(I, Some(2), "b")]),
        ["-D[NULL, NULL, 2, z]", "+I[2, b, 2, z]"]
    );
    assert_eq!(
        feed(&mut j, Side::Left, &[(D, Some(2), "b")]),
        ["-D[2, b, 2, z]", "+I[NULL, NULL, 2, z]"]
    );
    // NULL keys never match and are not kept.
    assert_eq!(feed(&mut j, Side::Left, &[(I, None, "n")]), ["+I[NULL, n, NULL, NULL]"]);
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, None, "m")]),
        ["+I[NULL, NULL, NULL, m]"]
    );
    assert_eq!(feed(&mut j, Side::Left, &[(D, None, "n")]), ["-D[NULL, n, NULL, NULL]"]);
}

#[test]
fn the_condition_decides_what_matches() {
    let mut j = join(LEFT, true, Some(col("w").not_eq(lit("no"))));
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]), ["+I[1, a, NULL, NULL]"]);
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "no")]).is_empty());
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, Some(1), "yes")]),
        ["-D[1, a, NULL, NULL]", "+I[1, a, 1, yes]"]
    );
    assert!(feed(&mut j, Side::Right, &[(D, Some(1), "no")]).is_empty());
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "b")]), ["+I[1, b, 1, yes]"]);
}

#[test]
fn anti_join_emits_left_rows_while_they_have_no_match() {
    let mut j = join(JoinKind::Anti, true, None);
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "x")]).is_empty());
    assert!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]).is_empty());
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(2), "b")]), ["+I[2, b]"]);
    assert_eq!(feed(&mut j, Side::Right, &[(I, Some(2), "y")]), ["-D[2, b]"]);
    assert!(feed(&mut j, Side::Right, &[(I, Some(2), "z")]).is_empty());
    assert!(feed(&mut j, Side::Right, &[(D, Some(2), "y")]).is_empty());
    assert_eq!(feed(&mut j, Side::Right, &[(D, Some(2), "z")]), ["+I[2, b]"]);
    assert_eq!(feed(&mut j, Side::Left, &[(I, None, "c")]), ["+I[NULL, c]"]);
    assert_eq!(feed(&mut j, Side::Left, &[(D, Some(2), "b")]), ["-D[2, b]"]);
}

#[test]
fn semi_join_over_updating_rows_keeps_left_rows() {
    let mut j = join(JoinKind::Semi, true, None);
    assert!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]).is_empty());
    assert_eq!(feed(&mut j, Side::Right, &[(I, Some(1), "x")]), ["+I[1, a]"]);
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "y")]).is_empty());
    assert!(feed(&mut j, Side::Right, &[(D, Some(1), "x")]).is_empty());
    assert_eq!(feed(&mut j, Side::Right, &[(D, Some(1), "y")]), ["-D[1, a]"]);
    assert!(feed(&mut j, Side::Left, &[(D, Some(1), "a")]).is_empty());
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "z")]).is_empty());
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "b")]), ["+I[1, b]"]);
    assert!(feed(&mut j, Side::Left, &[(I, None, "c")]).is_empty());
}

#[test]
fn semi_join_over_insert_only_rows_emits_each_left_row_once() {
    let mut j = join(JoinKind::Semi, false, None);
    assert!(feed(&mut j, Side::Left, &[(I, Some(1), "a")]).is_empty());
    assert_eq!(feed(&mut j, Side::Right, &[(I, Some(1), "x")]), ["+I[1, a]"]);
    assert!(feed(&mut j, Side::Right, &[(I, Some(1), "y")]).is_empty());
    assert_eq!(feed(&mut j, Side::Left, &[(I, Some(1), "b")]), ["+I[1, b]"]);
    assert_eq!(kept(&mut j, 1), 2, "only the right rows are kept");
}

#[test]
fn inner_join_over_insert_only_rows() {
    let mut j = join(JoinKind::Inner, false, None);
    assert!(feed(&mut j, Side::Left, &[(I, Some(1), "a"), (I, None, "n")]).is_empty());
    assert_eq!(
        feed(&mut j, Side::Right, &[(I, Some(1), "x"), (I, Some(1), "x")]),
        ["+I[1, a, 1, x]", "+I[1, a, 1, x]"]
    );
    assert_eq!(
        feed(&mut j, Side::Left, &[(I, Some(1), "b")]),
        ["+I[1, b, 1, x]", "+I[1, b, 1, x]"]
    );
}

#[test]
fn rows_expire_after_the_state_ttl() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;
    use weir_state::{StateTtlConfig, TtlClock};

    let now = Arc::new(AtomicI64::new(0));
    let clock = Arc::clone(&now);
    let ttl = Some(StateTtlConfig::new(Duration::from_millis(1_000)));
    let mut j = join(JoinKind::Inner, false, None).with_state_ttl(&ttl);
    j.store
        .set_ttl_clock(TtlClock::from_fn(move || clock.load(Ordering::SeqCst)));
    let at = |t: i64, j: &mut StreamingJoin, side: Side, row: Row<'_>| {
        now.store(t, Ordering::SeqCst);
        // Kept rows come out in the map state's order: sorted here.
        let mut out = feed(j, side, &[row]);
        out.sort();
        out
    };
    assert!(at(0, &mut j, Side::Left, (I, Some(1), "a")).is_empty());
    assert_eq!(at(500, &mut j, Side::Right, (I, Some(1), "x")), ["+I[1, a, 1, x]"]);
    // `a` was written at 0 and is gone at 1200: `y` finds nothing.
    assert!(at(1_200, &mut j, Side::Right, (I, Some(1), "y")).is_empty());
    assert_eq!(
        at(1_300, &mut j, Side::Left, (I, Some(1), "b")),
        ["+I[1, b, 1, x]", "+I[1, b, 1, y]"]
    );
    // `x` (written at 500) has expired by 1600; `y` (1200) has not.
    assert_eq!(at(1_600, &mut j, Side::Left, (I, Some(1), "c")), ["+I[1, c, 1, y]"]);
}
