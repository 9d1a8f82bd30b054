//! Updating SQL results: aggregates without windows (retract changelogs), aggregates
//! over them, HAVING and FILTER, inner, outer and anti joins over insert-only and
//! updating inputs, UNION ALL, and what sinks are given (or refused) for each changelog mode.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::{RowBatch, RowKind, KIND_COLUMN};
use weir_sql::connector::{ChangelogMode, SqlSink};
use weir_sql::error::SqlError;
use weir_sql::front::{Statement, TableDef};
use weir_sql::job::SqlJob;

use crate::plan_stream::{bid, query, rows_in_order, setup, ROWS};

/// A changelog row: its kind and values.
type Change = (RowKind, Vec<String>);

fn changes(batches: &[RowBatch]) -> Vec<Change> {
    let mut out = Vec::new();
    for batch in batches {
        let updating = batch.batch().schema().fields().last().map(|f| f.name().as_str()) == Some(KIND_COLUMN);
        for mut values in rows_in_order(std::slice::from_ref(batch)) {
            let kind = if updating {
                let code: i8 = values.pop().unwrap().parse().unwrap();
                RowKind::from_code(code).unwrap()
            } else {
                RowKind::Insert
            };
            out.push((kind, values));
        }
    }
    out
}

/// The rows a changelog leaves, sorted; every retraction must take back a row that
/// is there.
fn materialize(changes: &[Change]) -> Vec<Vec<String>> {
    let mut present: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (kind, values) in changes {
        if kind.is_addition() {
            *present.entry(values.clone()).or_default() += 1;
        } else {
            let count = present
                .get_mut(values)
                .unwrap_or_else(|| panic!("{kind:?} of a row not present: {values:?}"));
            *count -= 1;
            if *count == 0 {
                present.remove(values);
            }
        }
    }
    present
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n))
        .collect()
}

/// Runs a query, returning its changelog (in arrival order per batch; batches
/// sorted within, see `rows`) and its mode.
fn run_changes(sql: &str, parallelism: usize) -> (Vec<Change>, ChangelogMode) {
    let (catalog, connectors) = setup("");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let handle = planned.stream.collect();
    env.execute("changelog test").unwrap();
    (changes(&handle.take()), planned.mode)
}

fn table(rows: impl IntoIterator<Item = Vec<i64>>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(i64::to_string).collect())
        .collect();
    out.sort();
    out
}

/// bidder -> (count, sum, max, min) by brute force.
fn per_bidder() -> BTreeMap<i64, (i64, i64, i64, i64)> {
    let mut acc: BTreeMap<i64, (i64, i64, i64, i64)> = BTreeMap::new();
    for b in (0..ROWS).map(bid) {
        let e = acc.entry(b.1).or_insert((0, 0, i64::MIN, i64::MAX));
        e.0 += 1;
        e.1 += b.2;
        e.2 = e.2.max(b.2);
        e.3 = e.3.min(b.2);
    }
    acc
}

#[test]
fn group_aggregate_emits_a_retract_changelog_ending_in_the_totals() {
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT bidder, COUNT(*), SUM(price), MAX(price), MIN(price) FROM bid GROUP BY bidder",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        let expected = table(
            per_bidder()
                .into_iter()
                .map(|(k, (c, s, mx, mn))| vec![k, c, s, mx, mn]),
        );
        assert_eq!(materialize(&log), expected, "parallelism {parallelism}");
        // Several batches per bidder: updates, each retracting the previous result.
        assert!(log.iter().any(|(k, _)| *k == RowKind::UpdateBefore));
        assert_eq!(
            log.iter().filter(|(k, _)| *k == RowKind::UpdateBefore).count(),
            log.iter().filter(|(k, _)| *k == RowKind::UpdateAfter).count()
        );
        assert_eq!(log.iter().filter(|(k, _)| *k == RowKind::Insert).count(), 3);
    }
}

#[test]
fn aggregates_over_an_updating_aggregate_retract_exactly() {
    // How many bidders have each count, and the largest/smallest per-bidder sum over
    // two groups of bidders: both inputs are retract changelogs.
    let (log, _) = run_changes(
        "SELECT c, COUNT(*) AS bidders FROM (SELECT bidder, COUNT(*) AS c FROM bid GROUP BY bidder) GROUP BY c",
        2,
    );
    assert_eq!(materialize(&log), table([vec![ROWS / 3, 3]]));
    let (log, _) = run_changes(
        "SELECT MAX(s), MIN(s), COUNT(DISTINCT s), SUM(s) FROM \
         (SELECT bidder, SUM(price) AS s FROM bid GROUP BY bidder)",
        2,
    );
    let sums: Vec<i64> = per_bidder().values().map(|v| v.1).collect();
    let distinct = sums.iter().collect::<std::collections::BTreeSet<_>>().len() as i64;
    assert_eq!(
        materialize(&log),
        table([vec![
            *sums.iter().max().unwrap(),
            *sums.iter().min().unwrap(),
            distinct,
            sums.iter().sum(),
        ]])
    );
}

#[test]
fn having_and_filter_clauses() {
    let (log, _) = run_changes(
        "SELECT bidder, COUNT(*) FILTER (WHERE price > 20) AS dear, \
         COUNT(DISTINCT price) FILTER (WHERE price < 30) AS cheap_prices \
         FROM bid GROUP BY bidder HAVING SUM(price) > 0",
        2,
    );
    let mut expected = Vec::new();
    for bidder in 0..3 {
        let bids: Vec<_> = (0..ROWS).map(bid).filter(|b| b.1 == bidder).collect();
        let dear = bids.iter().filter(|b| b.2 > 20).count() as i64;
        let cheap: std::collections::BTreeSet<_> = bids.iter().filter(|b| b.2 < 30).map(|b| b.2).collect();
        expected.push(vec![bidder, dear, cheap.len() as i64]);
    }
    assert_eq!(materialize(&log), table(expected));
    // HAVING turns updates into deletions when a group stops qualifying: the final
    // result has no group with fewer than 15 rows, though each passed through.
    let (log, _) = run_changes(
        "SELECT bidder, COUNT(*) AS c FROM bid GROUP BY bidder HAVING COUNT(*) >= 15",
        1,
    );
    assert_eq!(materialize(&log), table((0..3).map(|b| vec![b, ROWS / 3])));
}

#[test]
fn inner_join_of_insert_only_inputs_is_insert_only() {
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT a.auction, b.auction FROM bid a JOIN bid b ON a.bidder = b.bidder AND a.price + 40 < b.price",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::InsertOnly);
        let all: Vec<_> = (0..ROWS).map(bid).collect();
        let expected = table(
            all.iter()
                .flat_map(|a| {
                    all.iter()
                        .filter(move |b| a.1 == b.1 && a.2 + 40 < b.2)
                        .map(move |b| vec![a.0, b.0])
                })
                .collect::<Vec<_>>(),
        );
        assert!(!expected.is_empty());
        assert!(log.iter().all(|(k, _)| *k == RowKind::Insert));
        assert_eq!(materialize(&log), expected, "parallelism {parallelism}");
    }
}

#[test]
fn inner_join_with_an_updating_side_retracts_old_pairs() {
    let (log, mode) = run_changes(
        "SELECT b.auction, c.n FROM bid b JOIN (SELECT bidder, COUNT(*) AS n FROM bid GROUP BY bidder) c \
         ON b.bidder = c.bidder WHERE b.price < 10",
        2,
    );
    assert_eq!(mode, ChangelogMode::Retract);
    assert!(log.iter().any(|(k, _)| *k == RowKind::Delete));
    let expected = table((0..ROWS).map(bid).filter(|b| b.2 < 10).map(|b| vec![b.0, ROWS / 3]));
    assert_eq!(materialize(&log), expected);
}

/// Rows of optional values (`None` as `NULL`), sorted.
fn table_opt(rows: impl IntoIterator<Item = Vec<Option<i64>>>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|v| v.map_or("NULL".into(), |v| v.to_string())).collect())
        .collect();
    out.sort();
    out
}

/// Whether bid `b` matches bid `a` in the outer join tests below.
fn pairs(a: &(i64, i64, i64, i64), b: &(i64, i64, i64, i64)) -> bool {
    a.1 == b.1 && a.2 + 40 < b.2
}

#[test]
fn outer_joins_pad_unmatched_rows_and_retract_them_on_a_match() {
    let all: Vec<_> = (0..ROWS).map(bid).collect();
    let matched: Vec<Vec<Option<i64>>> = all
        .iter()
        .flat_map(|a| {
            all.iter()
                .filter(move |b| pairs(a, b))
                .map(move |b| vec![Some(a.0), Some(b.0)])
        })
        .collect();
    let left_only: Vec<Vec<Option<i64>>> = all
        .iter()
        .filter(|a| !all.iter().any(|b| pairs(a, b)))
        .map(|a| vec![Some(a.0), None])
        .collect();
    let right_only: Vec<Vec<Option<i64>>> = all
        .iter()
        .filter(|b| !all.iter().any(|a| pairs(a, b)))
        .map(|b| vec![None, Some(b.0)])
        .collect();
    assert!(!matched.is_empty() && !left_only.is_empty() && !right_only.is_empty());
    for parallelism in [1, 2] {
        for (join, pads_left, pads_right) in [
            ("LEFT", true, false),
            ("RIGHT", false, true),
            ("FULL OUTER", true, true),
        ] {
            let (log, mode) = run_changes(
                &format!(
                    "SELECT a.auction, b.auction FROM bid a {join} JOIN bid b \
                     ON a.bidder = b.bidder AND a.price + 40 < b.price"
                ),
                parallelism,
            );
            assert_eq!(mode, ChangelogMode::Retract, "{join}");
            let mut expected = matched.clone();
            if pads_left {
                // Which padded rows are emitted and retracted on the way depends on
                // the order the two inputs arrive in (the unit tests of `join` pin
                // it); `materialize` checks every retraction takes back a row.
                expected.extend(left_only.clone());
            }
            if pads_right {
                expected.extend(right_only.clone());
            }
            assert_eq!(
                materialize(&log),
                table_opt(expected),
                "{join} at parallelism {parallelism}"
            );
        }
    }
}

#[test]
fn outer_join_with_an_updating_side_pads_rows_whose_last_match_left() {
    // Every bidder's count passes 14 on the way to 20: the groups leave the right
    // side again and every bid ends up padded.
    let (log, mode) = run_changes(
        "SELECT b.auction, c.n FROM bid b LEFT JOIN \
         (SELECT bidder, COUNT(*) AS n FROM bid GROUP BY bidder HAVING COUNT(*) < 15) c ON b.bidder = c.bidder",
        2,
    );
    assert_eq!(mode, ChangelogMode::Retract);
    assert!(log.iter().any(|(k, v)| *k == RowKind::Insert && v[1] != "NULL"));
    assert_eq!(materialize(&log), table_opt((0..ROWS).map(|a| vec![Some(a), None])));
}

#[test]
fn anti_join_retracts_rows_that_find_a_match() {
    let all: Vec<_> = (0..ROWS).map(bid).collect();
    let (log, mode) = run_changes(
        "SELECT a.auction FROM bid a WHERE NOT EXISTS \
         (SELECT 1 FROM bid b WHERE b.bidder = a.bidder AND a.price + 40 < b.price)",
        2,
    );
    assert_eq!(mode, ChangelogMode::Retract);
    let expected = all
        .iter()
        .filter(|a| !all.iter().any(|b| pairs(a, b)))
        .map(|a| vec![a.0]);
    assert_eq!(materialize(&log), table(expected));
}

#[test]
fn union_all_of_insert_only_and_updating_branches() {
    let (log, mode) = run_changes(
        "SELECT bidder FROM bid WHERE price < 5 UNION ALL SELECT auction FROM bid WHERE price > 45",
        2,
    );
    assert_eq!(mode, ChangelogMode::InsertOnly);
    let mut expected: Vec<Vec<i64>> = (0..ROWS).map(bid).filter(|b| b.2 < 5).map(|b| vec![b.1]).collect();
    expected.extend((0..ROWS).map(bid).filter(|b| b.2 > 45).map(|b| vec![b.0]));
    assert_eq!(materialize(&log), table(expected));
    let (log, mode) = run_changes(
        "SELECT bidder, COUNT(*) FROM bid GROUP BY bidder UNION ALL SELECT auction, price FROM bid WHERE auction < 2",
        2,
    );
    assert_eq!(mode, ChangelogMode::Retract);
    let mut expected: Vec<Vec<i64>> = (0..3).map(|b| vec![b, ROWS / 3]).collect();
    expected.extend((0..2).map(bid).map(|b| vec![b.0, b.2]));
    assert_eq!(materialize(&log), table(expected));
}

/// Collects what is written into a table, taking the given changelog modes.
struct ModeSink {
    modes: Vec<ChangelogMode>,
    written: Arc<Mutex<Vec<(ChangelogMode, RowBatch)>>>,
}

impl SqlSink for ModeSink {
    fn name(&self) -> &'static str {
        "test"
    }

    fn accepts(&self, _: &TableDef, mode: ChangelogMode) -> bool {
        self.modes.contains(&mode)
    }

    fn create_sink(
        &self,
        _: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<weir_datastream::DataStreamSink, SqlError> {
        let written = self.written.clone();
        Ok(input
            .map(move |b: RowBatch| written.lock().unwrap().push((mode, b)))
            .discard())
    }
}

fn insert(ddl: &str, sql: &str, modes: Vec<ChangelogMode>) -> Result<Vec<(ChangelogMode, RowBatch)>, SqlError> {
    let (mut catalog, mut connectors) = setup("");
    catalog.apply_script(ddl).unwrap();
    let written = Arc::new(Mutex::new(Vec::new()));
    connectors.register_sink(Arc::new(ModeSink {
        modes,
        written: written.clone(),
    }));
    let statements = catalog.apply_script(sql).unwrap();
    let Statement::Insert(insert) = &statements[0].statement else {
        panic!("{:?}", statements[0].statement)
    };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    SqlJob::plan_insert(&env, &catalog, &connectors, insert)?;
    env.execute("insert").unwrap();
    let out = written.lock().unwrap().clone();
    Ok(out)
}

const COUNTS: &str = "INSERT INTO counts SELECT bidder, COUNT(*) FROM bid GROUP BY bidder";

#[test]
fn sinks_get_the_changelog_they_take_or_a_planning_error() {
    let keyed =
        "CREATE TABLE counts (bidder BIGINT, n BIGINT, PRIMARY KEY (bidder) NOT ENFORCED) WITH ('connector' = 'test');";
    let unkeyed = "CREATE TABLE counts (bidder BIGINT, n BIGINT) WITH ('connector' = 'test');";
    let wrong_key =
        "CREATE TABLE counts (bidder BIGINT, n BIGINT, PRIMARY KEY (n) NOT ENFORCED) WITH ('connector' = 'test');";
    // An insert-only sink refuses updates, saying why.
    let err = insert(keyed, COUNTS, vec![ChangelogMode::InsertOnly]).unwrap_err();
    assert!(matches!(err, SqlError::ChangelogMismatch { .. }), "{err}");
    assert!(err.to_string().contains("retract changelog"), "{err}");
    // A retract sink gets -U rows.
    let written = insert(keyed, COUNTS, vec![ChangelogMode::InsertOnly, ChangelogMode::Retract]).unwrap();
    assert!(written.iter().all(|(m, _)| *m == ChangelogMode::Retract));
    let log = changes(&written.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>());
    assert!(log.iter().any(|(k, _)| *k == RowKind::UpdateBefore));
    assert_eq!(materialize(&log), table((0..3).map(|b| vec![b, ROWS / 3])));
    // An upsert sink keyed by the group key gets no -U rows; the last row per key wins.
    let written = insert(keyed, COUNTS, vec![ChangelogMode::InsertOnly, ChangelogMode::Upsert]).unwrap();
    let log = changes(&written.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>());
    assert!(written.iter().all(|(m, _)| *m == ChangelogMode::Upsert));
    assert!(log.iter().all(|(k, _)| *k != RowKind::UpdateBefore));
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for (_, values) in &log {
        last.insert(values[0].clone(), values[1].clone());
    }
    assert!(last.values().all(|n| n == &(ROWS / 3).to_string()), "{last:?}");
    // Upserts need a primary key, and the query's key.
    for ddl in [unkeyed, wrong_key] {
        let err = insert(ddl, COUNTS, vec![ChangelogMode::InsertOnly, ChangelogMode::Upsert]).unwrap_err();
        assert!(matches!(err, SqlError::ChangelogMismatch { .. }), "{err}");
        assert!(
            err.to_string().contains("PRIMARY KEY") || err.to_string().contains("upsert key (bidder)"),
            "{err}"
        );
    }
}

#[test]
fn top_n_keeps_the_first_rows_of_each_partition() {
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT bidder, auction, price, rn FROM (SELECT *, ROW_NUMBER() OVER \
             (PARTITION BY bidder ORDER BY price DESC, auction ASC) AS rn FROM bid) WHERE rn <= 3",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        let mut expected = Vec::new();
        for bidder in 0..3 {
            let mut bids: Vec<_> = (0..ROWS).map(bid).filter(|b| b.1 == bidder).collect();
            bids.sort_by_key(|b| (-b.2, b.0));
            for (rank, b) in bids.iter().take(3).enumerate() {
                expected.push(vec![bidder, b.0, b.2, rank as i64 + 1]);
            }
        }
        assert_eq!(materialize(&log), table(expected), "parallelism {parallelism}");
        // Rows were pushed out of the top 3 on the way.
        assert!(log.iter().any(|(k, _)| *k == RowKind::Delete));
    }
}

#[test]
fn deduplication_keeps_the_first_row_per_key() {
    for parallelism in [1, 2] {
        let (log, _) = run_changes(
            "SELECT bidder, auction FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder ORDER BY dateTime) AS rn \
             FROM bid) WHERE rn = 1",
            parallelism,
        );
        if parallelism == 1 {
            // Rows arrive in time order: the first row of each bidder is never replaced.
            assert!(log.iter().all(|(k, _)| *k == RowKind::Insert), "{log:?}");
        }
        // Two source subtasks interleave: a later row may come first and be replaced.
        assert_eq!(materialize(&log), table((0..3).map(|b| vec![b, b])));
    }
    // Keep-last: each newer row replaces the previous one.
    let (log, _) = run_changes(
        "SELECT bidder, auction FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder ORDER BY dateTime DESC) AS rn \
         FROM bid) WHERE rn = 1",
        2,
    );
    assert_eq!(materialize(&log), table((0..3).map(|b| vec![b, ROWS - 3 + b])));
}

#[test]
fn order_by_with_limit_keeps_the_first_rows_in_that_order() {
    let mut bids: Vec<_> = (0..ROWS).map(bid).collect();
    bids.sort_by_key(|b| (-b.2, b.0));
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT auction, price FROM bid ORDER BY price DESC, auction LIMIT 4",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        assert_eq!(
            materialize(&log),
            table(bids.iter().take(4).map(|b| vec![b.0, b.2])),
            "parallelism {parallelism}"
        );
        // Rows were pushed out of the first 4 on the way.
        assert!(log.iter().any(|(k, _)| *k == RowKind::Delete));
    }
    // With OFFSET: ranks 3 to 5, ordered by a column that is not selected.
    let (log, _) = run_changes(
        "SELECT auction FROM bid ORDER BY price DESC, auction LIMIT 3 OFFSET 2",
        2,
    );
    assert_eq!(materialize(&log), table(bids.iter().skip(2).take(3).map(|b| vec![b.0])));
}

#[test]
fn top_n_over_an_updating_aggregate_brings_rows_back_into_view() {
    // (auction % 4, bidder) -> sum of prices, by brute force.
    let mut sums: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for b in (0..ROWS).map(bid) {
        *sums.entry((b.0 % 4, b.1)).or_default() += b.2;
    }
    // Each k's two largest sums (ties by bidder), with their ranks.
    let mut expected = Vec::new();
    for k in 0..4 {
        let mut of_k: Vec<_> = sums.iter().filter(|((kk, _), _)| *kk == k).collect();
        of_k.sort_by_key(|((_, bidder), s)| (-**s, *bidder));
        for (rank, ((_, bidder), s)) in of_k.iter().take(2).enumerate() {
            expected.push(vec![k, *bidder, **s, rank as i64 + 1]);
        }
    }
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT k, bidder, s, rn FROM (SELECT k, bidder, s, ROW_NUMBER() OVER \
             (PARTITION BY k ORDER BY s DESC, bidder) AS rn FROM \
             (SELECT auction % 4 AS k, bidder, SUM(price) AS s FROM bid GROUP BY auction % 4, bidder)) \
             WHERE rn <= 2",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        // Every retraction takes back a row that is there (checked by materialize).
        assert_eq!(materialize(&log), table(expected.clone()), "parallelism {parallelism}");
    }
    // ORDER BY ... LIMIT (and OFFSET) over the updating sums of each bidder.
    let mut totals: Vec<(i64, i64)> = per_bidder().into_iter().map(|(b, (_, s, _, _))| (b, s)).collect();
    totals.sort_by_key(|(b, s)| (-*s, *b));
    let (log, _) = run_changes(
        "SELECT bidder, s FROM (SELECT bidder, SUM(price) AS s FROM bid GROUP BY bidder) \
         ORDER BY s DESC, bidder LIMIT 1",
        2,
    );
    assert_eq!(
        materialize(&log),
        table(totals.iter().take(1).map(|(b, s)| vec![*b, *s]))
    );
    let (log, _) = run_changes(
        "SELECT bidder, s FROM (SELECT bidder, SUM(price) AS s FROM bid GROUP BY bidder) \
         ORDER BY s DESC, bidder LIMIT 1 OFFSET 1",
        2,
    );
    assert_eq!(
        materialize(&log),
        table(totals.iter().skip(1).take(1).map(|(b, s)| vec![*b, *s]))
    );
}

#[test]
fn order_by_time_emits_rows_in_order_as_the_watermark_passes() {
    let want: Vec<Change> = (0..ROWS)
        .map(|i| (RowKind::Insert, vec![i.to_string(), bid(i).2.to_string()]))
        .collect();
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT auction, price FROM bid ORDER BY dateTime, price DESC",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::InsertOnly);
        assert_eq!(log, want, "parallelism {parallelism}");
    }
}

#[test]
fn limit_without_order_keeps_the_first_rows_to_arrive() {
    // One source subtask: rows arrive in order.
    let (log, mode) = run_changes("SELECT auction FROM bid LIMIT 5", 1);
    assert_eq!(mode, ChangelogMode::InsertOnly);
    assert_eq!(
        log,
        (0..5)
            .map(|a| (RowKind::Insert, vec![a.to_string()]))
            .collect::<Vec<_>>()
    );
    let (log, _) = run_changes("SELECT auction FROM bid LIMIT 5 OFFSET 2", 1);
    assert_eq!(
        log,
        (2..7)
            .map(|a| (RowKind::Insert, vec![a.to_string()]))
            .collect::<Vec<_>>()
    );
    // Two interleaving subtasks: some five rows, each once.
    let (log, _) = run_changes("SELECT auction FROM bid LIMIT 5", 2);
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(log.iter().all(|(k, _)| *k == RowKind::Insert));
    assert_eq!(materialize(&log).len(), 5);
}

#[test]
fn over_windows_other_than_ranked_row_numbers_are_unsupported() {
    let (catalog, connectors) = setup("");
    let env = StreamExecutionEnvironment::new();
    for (sql, needle) in [
        (
            "SELECT bidder, ROW_NUMBER() OVER (PARTITION BY bidder ORDER BY price) FROM bid",
            "ROW_NUMBER() without a filter",
        ),
        (
            "SELECT bidder, LEAD(price) OVER (PARTITION BY bidder ORDER BY dateTime) FROM bid",
            "window function lead",
        ),
    ] {
        match SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)) {
            Err(e @ SqlError::Unsupported { .. }) => assert!(e.to_string().contains(needle), "{sql}: {e}"),
            Err(e) => panic!("{sql}: not Unsupported: {e}"),
            Ok(_) => panic!("{sql}: planned"),
        }
    }
}
