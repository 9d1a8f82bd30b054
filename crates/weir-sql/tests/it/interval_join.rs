//! Interval joins over the in-test `bid` table (event time `dateTime`, watermark one
//! second behind): which joins become interval joins, and their results against
//! brute force at parallelism 1 and 2.

#![allow(clippy::unwrap_used)]

use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connector::ChangelogMode;
use weir_sql::job::SqlJob;

use crate::plan_stream::{bid, query, run, setup, ROWS};

/// The job graph and changelog mode of `sql` (with `extra_ddl`).
fn plan(sql: &str, extra_ddl: &str) -> (String, ChangelogMode) {
    let (catalog, connectors) = setup(extra_ddl);
    let env = StreamExecutionEnvironment::new();
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    (env.explain("plan").unwrap(), planned.mode)
}

#[test]
fn time_bounds_on_event_time_columns_make_an_interval_join() {
    let (graph, mode) = plan(
        "SELECT a.auction, b.auction FROM bid a JOIN bid b ON a.bidder = b.bidder \
         AND a.dateTime BETWEEN b.dateTime - INTERVAL '2' SECOND AND b.dateTime",
        "",
    );
    assert!(graph.contains("Interval join [insert-only]"), "{graph}");
    assert_eq!(mode, ChangelogMode::InsertOnly);
    // Through a view's projection and filter, bounds written the other way round.
    let (graph, mode) = plan(
        "SELECT a.auction, b.t FROM bid a RIGHT JOIN cheap b ON a.bidder = b.bidder \
         AND b.t > a.dateTime AND b.t <= a.dateTime + INTERVAL '1' MINUTE",
        "CREATE VIEW cheap AS SELECT bidder, dateTime AS t FROM bid WHERE price < 10;",
    );
    assert!(graph.contains("Right outer interval join [insert-only]"), "{graph}");
    assert_eq!(mode, ChangelogMode::InsertOnly);
}

#[test]
fn time_bounds_on_other_columns_make_a_regular_join() {
    // `later` is computed, not the table's event time: Flink's ordinary join.
    let (graph, mode) = plan(
        "SELECT a.auction, b.auction FROM bid a LEFT JOIN shifted b ON a.bidder = b.bidder \
         AND a.dateTime BETWEEN b.later - INTERVAL '2' SECOND AND b.later",
        "CREATE VIEW shifted AS SELECT auction, bidder, dateTime + INTERVAL '1' SECOND AS later FROM bid;",
    );
    assert!(graph.contains("Left outer join [retract]"), "{graph}");
    assert!(!graph.contains("nterval"), "{graph}");
    assert_eq!(mode, ChangelogMode::Retract);
    // An updating side has no event time either.
    let (graph, _) = plan(
        "SELECT a.auction, m.bidder FROM bid a JOIN \
         (SELECT bidder, MAX(dateTime) AS t FROM bid GROUP BY bidder) m ON a.bidder = m.bidder \
         AND a.dateTime BETWEEN m.t - INTERVAL '2' SECOND AND m.t",
        "",
    );
    assert!(graph.contains("Join [retract]"), "{graph}");
    // One bound is not an interval.
    let (graph, _) = plan(
        "SELECT a.auction FROM bid a JOIN bid b ON a.bidder = b.bidder AND a.dateTime >= b.dateTime",
        "",
    );
    assert!(
        graph.contains("Join [insert-only]") && !graph.contains("nterval"),
        "{graph}"
    );
}

#[test]
fn interval_joins_agree_with_brute_force() {
    // Bids are 500 ms apart, bidder i % 3: a bid meets the same bidder's bids
    // from 2 s before to 1 s after it, cheaper ones only.
    let all: Vec<_> = (0..ROWS).map(bid).collect();
    let matches = |a: &(i64, i64, i64, i64), b: &(i64, i64, i64, i64)| {
        a.1 == b.1 && a.3 - b.3 >= -1_000 && a.3 - b.3 <= 2_000 && b.2 < a.2
    };
    let mut inner: Vec<Vec<String>> = Vec::new();
    for a in &all {
        for b in all.iter().filter(|b| matches(a, b)) {
            inner.push(vec![a.0.to_string(), b.0.to_string()]);
        }
    }
    let mut full = inner.clone();
    for a in all.iter().filter(|a| !all.iter().any(|b| matches(a, b))) {
        full.push(vec![a.0.to_string(), "NULL".into()]);
    }
    for b in all.iter().filter(|b| !all.iter().any(|a| matches(a, b))) {
        full.push(vec!["NULL".into(), b.0.to_string()]);
    }
    inner.sort();
    full.sort();
    assert!(!inner.is_empty() && full.len() > inner.len());
    for parallelism in [1, 2] {
        for (join, expected) in [("JOIN", &inner), ("FULL JOIN", &full)] {
            let got = run(
                &format!(
                    "SELECT a.auction, b.auction FROM bid a {join} bid b ON a.bidder = b.bidder \
                     AND a.dateTime BETWEEN b.dateTime - INTERVAL '1' SECOND AND b.dateTime + INTERVAL '2' SECOND \
                     AND b.price < a.price"
                ),
                "",
                parallelism,
            );
            assert_eq!(&got, expected, "{join} at parallelism {parallelism}");
        }
    }
}

#[test]
fn joins_on_equal_windows_are_window_joins() {
    let view = |name: &str, value: &str| {
        format!(
            "CREATE VIEW {name} AS SELECT bidder, window_start, window_end, {value} AS x \
             FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
             GROUP BY bidder, window_start, window_end;"
        )
    };
    let ddl = format!("{}{}", view("counts", "COUNT(*)"), view("tops", "MAX(price)"));
    let sql = "SELECT c.bidder, c.window_start, c.x, t.x FROM counts c LEFT JOIN tops t \
               ON c.bidder = t.bidder AND c.window_start = t.window_start AND c.window_end = t.window_end";
    let (graph, mode) = plan(sql, &ddl);
    assert!(graph.contains("Left outer window join [insert-only]"), "{graph}");
    assert_eq!(mode, ChangelogMode::InsertOnly);
    let mut expected: std::collections::BTreeMap<(i64, i64), (i64, i64)> = Default::default();
    for b in (0..ROWS).map(bid) {
        let e = expected.entry((b.1, b.3 - b.3 % 10_000)).or_insert((0, i64::MIN));
        e.0 += 1;
        e.1 = e.1.max(b.2);
    }
    let expected: Vec<Vec<String>> = expected
        .into_iter()
        .map(|((k, s), (c, m))| [k, s, c, m].iter().map(i64::to_string).collect())
        .collect();
    for parallelism in [1, 2] {
        assert_eq!(run(sql, &ddl, parallelism), expected, "parallelism {parallelism}");
    }
}
