//! Outer and interval joins restarted from a checkpoint after a failure: their
//! keyed state (rows with their numbers of matches, kept rows by time) and timers
//! are restored, and the exactly-once output (a write-ahead-log sink, one batch per
//! checkpoint) is the changelog of the right result: nothing lost, nothing twice.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use weir_sql::connector::ChangelogMode;

use crate::plan_restart::{add_wal_sink, row, run_failing_once, Written, BATCHES, PER_BATCH};

const ROWS: i64 = BATCHES as i64 * PER_BATCH;

/// Runs `sql` over the failing source (see [`run_failing_once`]) into a
/// write-ahead-log sink; returns the rows the written changelog leaves (each with
/// how often it is there), the query's changelog mode and its job graph.
fn run(sql: &'static str) -> (BTreeMap<Vec<String>, i64>, ChangelogMode, String) {
    run_failing_once(sql, |env, planned| {
        let written = Written::default();
        add_wal_sink(planned.stream, &written);
        let graph = env.explain("join restore").unwrap();
        env.execute("join restore").unwrap();
        let mut rows: BTreeMap<Vec<String>, i64> = BTreeMap::new();
        for batch in written.lock().unwrap().values().flatten() {
            for (kind, values) in weir_sql::rows::row_values(batch).unwrap() {
                *rows.entry(values).or_default() += if kind.is_addition() { 1 } else { -1 };
            }
        }
        (rows, planned.mode, graph)
    })
}

/// `rows` as a multiset, checking that no row was retracted more often than added.
fn present(rows: BTreeMap<Vec<String>, i64>) -> BTreeMap<Vec<String>, i64> {
    assert!(rows.values().all(|n| *n >= 0), "rows retracted more often than added");
    rows.into_iter().filter(|(_, n)| *n > 0).collect()
}

fn expected(rows: impl IntoIterator<Item = (i64, Option<i64>)>) -> BTreeMap<Vec<String>, i64> {
    let mut out = BTreeMap::new();
    for (a, b) in rows {
        *out.entry(vec![a.to_string(), b.map_or("NULL".into(), |b| b.to_string())])
            .or_default() += 1;
    }
    out
}

#[test]
fn an_outer_join_is_restored_after_a_failure() {
    let (rows, mode, graph) = run("SELECT a.auction, b.auction FROM bid a LEFT JOIN bid b \
         ON a.auction = b.auction + 1 AND a.price > b.price");
    assert_eq!(mode, ChangelogMode::Retract);
    assert!(graph.contains("Left outer join [retract]"), "{graph}");
    let want = expected((0..ROWS).map(|j| {
        let matched = j >= 1 && row(j).2 > row(j - 1).2;
        (j, matched.then_some(j - 1))
    }));
    assert_eq!(present(rows), want);
}

#[test]
fn an_interval_join_is_restored_after_a_failure() {
    // Bid j meets bid j - 50, 500 ms earlier; the first 50 bids are padded when
    // the watermark passes them.
    let (rows, mode, graph) = run("SELECT a.auction, b.auction FROM bid a LEFT JOIN bid b \
         ON a.auction = b.auction + 50 AND a.dateTime BETWEEN b.dateTime AND b.dateTime + INTERVAL '1' SECOND");
    assert_eq!(mode, ChangelogMode::InsertOnly);
    assert!(graph.contains("Left outer interval join [insert-only]"), "{graph}");
    let want = expected((0..ROWS).map(|j| (j, (j >= 50).then_some(j - 50))));
    assert_eq!(present(rows), want);
}
