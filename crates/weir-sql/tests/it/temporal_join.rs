//! Event-time temporal joins (`JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r`) with a
//! versioned table (a DataStream table with a PRIMARY KEY and a watermark) and a
//! versioned view (a deduplication on event time), against brute force at
//! parallelism 1 and 2; the plan and the planning errors.
#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};
use weir_datastream::{StreamExecutionEnvironment, WatermarkStrategy};
use weir_sql::bridge::StreamSchema;
use weir_sql::connectors::builtin;
use weir_sql::script::SqlSession;

/// An order in a currency at `at` (epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: i64,
    currency: String,
    amount: i64,
    at: i64,
}

/// A currency's rate from `at` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rate {
    currency: String,
    rate: i64,
    at: i64,
}

/// An order with the rate current at its time (none for a LEFT join without one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Converted {
    id: i64,
    rate: Option<i64>,
    rate_time: Option<i64>,
}

const CURRENCIES: [&str; 4] = ["EUR", "USD", "JPY", "CHF"];

/// Orders at times ending in 0 ms, rates at times ending in 5 ms, each rate later
/// than the one before (no ties), both in time order; seeded.
fn data(seed: u64) -> (Vec<Order>, Vec<Rate>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let orders = (0..2_000)
        .map(|i| Order {
            id: i,
            currency: CURRENCIES[rng.usize(..CURRENCIES.len())].to_string(),
            amount: rng.i64(1..100),
            at: i * 10,
        })
        .collect();
    let mut at = 5;
    let rates = (0..300)
        .map(|_| {
            at += 10 * rng.i64(1..12);
            Rate {
                // CHF has no rate at all.
                currency: CURRENCIES[rng.usize(..3)].to_string(),
                rate: rng.i64(1..1_000),
                at,
            }
        })
        .collect();
    (orders, rates)
}

/// What the join must give: each order with the rate of its currency of the
/// largest time at or before the order's.
fn expected(orders: &[Order], rates: &[Rate], left: bool) -> Vec<Converted> {
    let mut out: Vec<Converted> = orders
        .iter()
        .filter_map(|o| {
            let current = rates
                .iter()
                .filter(|r| r.currency == o.currency && r.at <= o.at)
                .max_by_key(|r| r.at);
            match current {
                Some(r) => Some(Converted {
                    id: o.id,
                    rate: Some(r.rate),
                    rate_time: Some(r.at),
                }),
                None if left => Some(Converted {
                    id: o.id,
                    rate: None,
                    rate_time: None,
                }),
                None => None,
            }
        })
        .collect();
    out.sort();
    out
}

/// A session with `orders` and `rates_log` (insert-only, event time `ot` / `rt`),
/// `rates` (the same rows, a versioned table keyed by currency) and the view
/// `versioned_rates` (the last rate per currency, by event time).
fn session(env: &StreamExecutionEnvironment, orders: Vec<Order>, rates: Vec<Rate>) -> SqlSession {
    let mut session = SqlSession::new(builtin());
    let orders = env
        .from_collection(orders)
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|o: &Order, _| o.at),
        );
    let rates = env
        .from_collection(rates)
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|r: &Rate, _| r.at),
        );
    let timed = |column: &str| {
        StreamSchema::new()
            .column_by_expression(column, "TO_TIMESTAMP_LTZ(at, 3)")
            .watermark(column, column)
    };
    session.from_data_stream_with("orders", &orders, timed("ot")).unwrap();
    session
        .from_data_stream_with("rates", &rates, timed("rt").primary_key(&["currency"]))
        .unwrap();
    session.from_data_stream_with("rates_log", &rates, timed("rt")).unwrap();
    session
        .run_script(
            env,
            "CREATE VIEW versioned_rates AS SELECT currency, rate, at, rt FROM (
               SELECT *, ROW_NUMBER() OVER (PARTITION BY currency ORDER BY rt DESC) AS rn FROM rates_log
             ) WHERE rn = 1;",
        )
        .unwrap();
    session
}

fn run(sql: &str, parallelism: usize, seed: u64) -> (Vec<Converted>, (Vec<Order>, Vec<Rate>)) {
    let (orders, rates) = data(seed);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let mut session = session(&env, orders.clone(), rates.clone());
    let table = session.sql_query(&env, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let handle = table.to_data_stream::<Converted>().unwrap().collect();
    env.execute("temporal join").unwrap();
    let mut got = handle.take();
    got.sort();
    (got, (orders, rates))
}

/// Compares without printing thousands of rows.
fn assert_same(got: &[Converted], want: &[Converted], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row counts");
    if let Some((g, w)) = got.iter().zip(want).find(|(g, w)| g != w) {
        panic!("{what}: first difference: got {g:?}, want {w:?}");
    }
}

#[test]
fn an_inner_temporal_join_takes_the_version_current_at_each_order() {
    for (parallelism, seed) in [(1, 7), (2, 8)] {
        let (got, (orders, rates)) = run(
            "SELECT o.id, r.rate, r.at AS rate_time FROM orders AS o \
             JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency",
            parallelism,
            seed,
        );
        let want = expected(&orders, &rates, false);
        assert!(want.len() > 1_000 && want.len() < orders.len());
        assert_same(&got, &want, &format!("p={parallelism} seed={seed}"));
    }
}

#[test]
fn a_left_temporal_join_with_a_versioned_view_pads_orders_without_a_rate() {
    // A deduplication's versions are a key's rows in arrival order (a row older
    // than one already seen is no version, as in Flink): at parallelism 1 the
    // rates arrive in time order.
    for (parallelism, seed) in [(1, 11), (1, 12)] {
        let (got, (orders, rates)) = run(
            "SELECT o.id, r.rate, r.at AS rate_time FROM orders AS o \
             LEFT JOIN versioned_rates FOR SYSTEM_TIME AS OF o.ot AS r ON r.currency = o.currency",
            parallelism,
            seed,
        );
        assert_same(
            &got,
            &expected(&orders, &rates, true),
            &format!("p={parallelism} seed={seed}"),
        );
    }
}

#[test]
fn a_condition_on_the_versioned_side_alone_filters_its_versions() {
    // DataFusion pushes `r.rate < 500` into the versioned side: an order whose
    // current rate is not below 500 gets the last one that is.
    let (got, (orders, rates)) = run(
        "SELECT o.id, r.rate, r.at AS rate_time FROM orders AS o \
         LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency AND r.rate < 500",
        2,
        21,
    );
    let cheap: Vec<Rate> = rates.into_iter().filter(|r| r.rate < 500).collect();
    assert_same(&got, &expected(&orders, &cheap, true), "rate < 500");
}

#[test]
fn a_self_join_with_a_versioned_view_of_its_own_table_sees_each_rows_own_version() {
    // Each bid with its bidder's latest bid on an even auction at or before it
    // (at parallelism 1, where a bidder's bids reach the deduplication in order).
    let parallelism = 1;
    {
        let got = crate::plan_stream::run(
            "SELECT b.auction, e.price FROM bid AS b \
             JOIN even FOR SYSTEM_TIME AS OF b.dateTime AS e ON b.bidder = e.bidder",
            "CREATE VIEW even AS SELECT bidder, price, dateTime FROM (SELECT bidder, price, dateTime, \
             ROW_NUMBER() OVER (PARTITION BY bidder ORDER BY dateTime DESC) AS rn FROM bid \
             WHERE MOD(auction, 2) = 0) WHERE rn = 1;",
            parallelism,
        );
        let mut want: Vec<Vec<String>> = (0..crate::plan_stream::ROWS)
            .filter_map(|j| {
                let current = (0..=j).rev().find(|k| k % 2 == 0 && k % 3 == j % 3)?;
                Some(vec![j.to_string(), crate::plan_stream::bid(current).2.to_string()])
            })
            .collect();
        want.sort();
        assert_eq!(got, want, "p={parallelism}");
    }
}

fn plan_error(sql: &str) -> String {
    let (orders, rates) = data(1);
    let env = StreamExecutionEnvironment::new();
    let mut session = session(&env, orders, rates);
    match session.sql_query(&env, sql) {
        Ok(_) => panic!("planned: {sql}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_plan_shows_the_temporal_join_and_its_changelog() {
    let (orders, rates) = data(1);
    let env = StreamExecutionEnvironment::new();
    let mut session = session(&env, orders, rates);
    let outcome = session
        .run_script(
            &env,
            "EXPLAIN SELECT o.id, r.rate FROM orders AS o \
             JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency;",
        )
        .unwrap();
    let plan = outcome.messages.join("\n");
    assert!(plan.contains("Temporal join rates [insert-only]"), "{plan}");
}

#[test]
fn temporal_joins_the_engine_cannot_run_are_refused_by_name() {
    let message = plan_error(
        "SELECT o.id, r.rate FROM orders AS o \
         JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.amount = r.rate",
    );
    assert!(message.contains("must equate its key column 'currency'"), "{message}");
    let message = plan_error(
        "SELECT o.id, r.rate FROM (SELECT *, PROCTIME() AS p FROM orders) AS o \
         JOIN rates FOR SYSTEM_TIME AS OF o.p AS r ON o.currency = r.currency",
    );
    assert!(
        message.contains("must be an event-time column of the left input"),
        "{message}"
    );
    let message = plan_error(
        "SELECT o.id, r.rate FROM orders AS o \
         RIGHT JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency",
    );
    assert!(message.contains("other than [INNER] JOIN or LEFT JOIN"), "{message}");
    let message = plan_error(
        "SELECT o.id, r.rate FROM orders AS o \
         JOIN rates_view FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency",
    );
    assert!(message.contains("neither a table nor a view"), "{message}");
    let message = plan_error("SELECT * FROM rates FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01 00:00:00'");
    assert!(message.contains("a temporal join"), "{message}");
}
