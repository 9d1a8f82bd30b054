//! Tables from DataStreams and DataStreams from query results (`SqlSession::
//! from_data_stream`, `from_changelog_stream`, `sql_query` and `Table::
//! to_data_stream` / `to_changelog_stream`): rows, event time from the stream's
//! timestamps and watermarks, updating results, errors.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weir_datastream::{StreamExecutionEnvironment, WatermarkStrategy};
use weir_sql::batch::RowKind;
use weir_sql::bridge::{Change, StreamSchema};
use weir_sql::connectors::builtin;
use weir_sql::script::SqlSession;

use crate::script::{drain, Collect};

/// An order: the type of the input stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    customer: String,
    amount: i64,
    note: Option<String>,
    at: i64,
}

/// A customer's total: the type of an updating result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Total {
    customer: String,
    total: i64,
}

const ORDERS: u32 = 5_000;
const CUSTOMERS: u32 = 7;

fn orders() -> Vec<Order> {
    (0..ORDERS)
        .map(|i| Order {
            id: i,
            customer: format!("c{}", (i * 31 + 3) % CUSTOMERS),
            amount: i64::from(i % 97) - 20,
            note: (i % 3 == 0).then(|| format!("n{i}")),
            at: i64::from(i) * 10,
        })
        .collect()
}

fn session() -> SqlSession {
    SqlSession::new(builtin())
}

fn env(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    env
}

/// The final row of each key of a changelog.
fn apply<K: Ord, T: Clone>(changes: &[Change<T>], key: impl Fn(&T) -> K) -> BTreeMap<K, T> {
    let mut rows = BTreeMap::new();
    for change in changes {
        if change.kind.is_addition() {
            rows.insert(key(&change.row), change.row.clone());
        } else {
            rows.remove(&key(&change.row));
        }
    }
    rows
}

fn expected_totals(orders: &[Order]) -> BTreeMap<String, Total> {
    let mut totals: BTreeMap<String, Total> = BTreeMap::new();
    for o in orders {
        totals
            .entry(o.customer.clone())
            .or_insert_with(|| Total {
                customer: o.customer.clone(),
                total: 0,
            })
            .total += o.amount;
    }
    totals
}

#[test]
fn a_filtered_stream_comes_back_as_the_same_rust_values() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Picked {
        id: u32,
        note: Option<String>,
        doubled: i64,
    }
    let env = env(2);
    let mut session = session();
    session
        .from_data_stream("orders", &env.from_collection(orders()))
        .unwrap();
    let table = session
        .sql_query(
            &env,
            "SELECT amount * 2 AS doubled, id, note FROM orders WHERE amount > 50 AND customer <> 'c1'",
        )
        .unwrap();
    let handle = table.to_data_stream::<Picked>().unwrap().collect();
    env.execute("filter").unwrap();
    let mut got = handle.take();
    got.sort_by_key(|p| p.id);
    let expected: Vec<Picked> = orders()
        .into_iter()
        .filter(|o| o.amount > 50 && o.customer != "c1")
        .map(|o| Picked {
            id: o.id,
            note: o.note,
            doubled: o.amount * 2,
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[test]
fn an_updating_result_is_a_changelog_of_rust_values() {
    let env = env(2);
    let mut session = session();
    session
        .from_data_stream("orders", &env.from_collection(orders()))
        .unwrap();
    let table = session
        .sql_query(
            &env,
            "SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer",
        )
        .unwrap();
    assert!(table.to_data_stream::<Total>().is_err());
    let handle = table.to_changelog_stream::<Total>().unwrap().collect();
    env.execute("totals").unwrap();
    let changes = handle.take();
    assert!(
        changes.iter().any(|c| c.kind == RowKind::UpdateBefore),
        "an updating aggregate retracts"
    );
    assert_eq!(apply(&changes, |t| t.customer.clone()), expected_totals(&orders()));
}

#[test]
fn a_changelog_stream_is_an_updating_table() {
    // Each order inserted, then every fifth one corrected (-U old, +U new), every
    // seventh deleted: each customer's changes in order in one subtask, as a
    // changelog must come.
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    for o in orders() {
        changes.push(Change::insert(o.clone()));
        let mut last = o.clone();
        if o.id % 5 == 0 {
            let corrected = Order {
                amount: o.amount + 1000,
                ..o.clone()
            };
            changes.push(Change::new(RowKind::UpdateBefore, o.clone()));
            changes.push(Change::new(RowKind::UpdateAfter, corrected.clone()));
            last = corrected;
        }
        if o.id % 7 == 0 {
            changes.push(Change::new(RowKind::Delete, last));
        } else {
            kept.push(last);
        }
    }
    let env = env(2);
    let mut session = session();
    session
        .from_changelog_stream(
            "orders",
            &env.from_collection(changes)
                .set_parallelism(1)
                .key_by(|c: &Change<Order>| c.row.customer.clone())
                .process_fn(|c, _, out| {
                    out.collect(c);
                    Ok(())
                }),
            StreamSchema::new(),
        )
        .unwrap();
    let table = session
        .sql_query(
            &env,
            "SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer",
        )
        .unwrap();
    let handle = table.to_changelog_stream::<Total>().unwrap().collect();
    env.execute("changelog in").unwrap();
    assert_eq!(apply(&handle.take(), |t| t.customer.clone()), expected_totals(&kept));
}

/// A window count: `window_end` read back as epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WindowCount {
    window_end: i64,
    orders: i64,
}

fn windowed(schema: StreamSchema) -> Vec<WindowCount> {
    let env = env(2);
    env.set_auto_watermark_interval(Duration::from_millis(1));
    let stream = env
        .from_collection(orders())
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|o: &Order, _| o.at),
        );
    let mut session = session();
    session.from_data_stream_with("orders", &stream, schema).unwrap();
    let table = session
        .sql_query(
            &env,
            "SELECT window_end, COUNT(*) AS orders
             FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(rowtime), INTERVAL '10' SECOND))
             GROUP BY window_start, window_end",
        )
        .unwrap();
    let handle = table.to_data_stream::<WindowCount>().unwrap().collect();
    env.execute("windows").unwrap();
    let mut got = handle.take();
    got.sort_by_key(|w| w.window_end);
    got
}

fn expected_windows() -> Vec<WindowCount> {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for o in orders() {
        *counts.entry(o.at / 10_000 * 10_000 + 10_000).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(window_end, orders)| WindowCount { window_end, orders })
        .collect()
}

#[test]
fn the_stream_timestamps_and_watermarks_drive_windows() {
    let got = windowed(
        StreamSchema::new()
            .record_timestamp("rowtime")
            .watermark("rowtime", "SOURCE_WATERMARK()"),
    );
    assert_eq!(got, expected_windows());
}

#[test]
fn a_declared_watermark_over_a_computed_column_drives_windows() {
    let got = windowed(
        StreamSchema::new()
            .column_by_expression("rowtime", "TO_TIMESTAMP_LTZ(at, 3)")
            .watermark("rowtime", "rowtime - INTERVAL '1' SECOND"),
    );
    assert_eq!(got, expected_windows());
}

#[test]
fn a_script_inserts_from_a_stream_table_and_explains_it_without_touching_the_job() {
    let collect = Collect::default();
    let mut connectors = builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    let mut session = SqlSession::new(connectors);
    let env = env(2);
    session
        .from_data_stream("orders", &env.from_collection(orders()))
        .unwrap();
    let nodes = || env.stream_graph("count").unwrap().nodes.len();
    let before = nodes();
    let outcome = session
        .run_script(
            &env,
            "EXPLAIN SELECT customer, COUNT(*) FROM orders GROUP BY customer;
             DESCRIBE orders;",
        )
        .unwrap();
    assert_eq!(nodes(), before, "EXPLAIN planned into the job: {:?}", outcome.messages);
    assert!(
        outcome.messages.iter().any(|m| m.contains("DataStream table orders")),
        "{:?}",
        outcome.messages
    );
    assert!(
        outcome.messages.iter().any(|m| m.starts_with("id BIGINT NOT NULL")),
        "u32 is BIGINT: {:?}",
        outcome.messages
    );
    session
        .run_script(
            &env,
            "CREATE TABLE big (id BIGINT, customer STRING) WITH ('connector' = 'collect');
             INSERT INTO big SELECT id, customer FROM orders WHERE amount = 76;",
        )
        .unwrap();
    env.execute("insert").unwrap();
    let expected = orders().iter().filter(|o| o.amount == 76).count();
    assert_eq!(drain(&collect).len(), expected);
}

#[test]
fn mistakes_are_errors_that_say_what_to_do() {
    let env = env(1);
    let mut session = session();
    session
        .from_data_stream("orders", &env.from_collection(orders()))
        .unwrap();
    let error = |e: weir_sql::SqlError| e.to_string();

    // A field of the output type without a column.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Missing {
        customer: String,
        nowhere: i64,
    }
    let table = session.sql_query(&env, "SELECT customer FROM orders").unwrap();
    let message = error(table.to_data_stream::<Missing>().err().unwrap());
    assert!(
        message.contains("'nowhere'") && message.contains("customer"),
        "{message}"
    );

    // An updating result as a plain stream.
    let table = session
        .sql_query(&env, "SELECT customer, COUNT(*) AS n FROM orders GROUP BY customer")
        .unwrap();
    let message = error(table.to_data_stream::<Total>().err().unwrap());
    assert!(message.contains("to_changelog_stream"), "{message}");

    // A query in another job.
    let other = StreamExecutionEnvironment::new();
    let message = error(session.sql_query(&other, "SELECT id FROM orders").err().unwrap());
    assert!(message.contains("another job"), "{message}");

    // Not one query.
    let message = error(session.sql_query(&env, "SHOW TABLES").err().unwrap());
    assert!(message.contains("query"), "{message}");

    // The name taken.
    let message = error(
        session
            .from_data_stream("orders", &env.from_collection(orders()))
            .err()
            .unwrap(),
    );
    assert!(message.contains("already exists"), "{message}");

    // A type without named fields.
    let message = error(
        session
            .from_data_stream("numbers", &env.from_collection(vec![1_i64, 2]))
            .err()
            .unwrap(),
    );
    assert!(message.contains("numbers"), "{message}");

    // SOURCE_WATERMARK() on a connector table.
    let message = error(
        session
            .run_script(
                &env,
                "CREATE TABLE g (n BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS SOURCE_WATERMARK())
                 WITH ('connector' = 'datagen', 'number-of-rows' = '10');
                 CREATE TABLE out (n BIGINT) WITH ('connector' = 'print');
                 INSERT INTO out SELECT n FROM g;",
            )
            .err()
            .unwrap(),
    );
    assert!(message.contains("SOURCE_WATERMARK()"), "{message}");
}

#[test]
fn a_job_through_both_conversions_is_restored_after_a_failure() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use weir_connectors::GeneratorSource;
    use weir_core::RestartStrategy;

    const COUNT: u64 = 20_000;
    const FAIL_AT: u32 = 12_345;
    let order = |i: u64| Order {
        id: i as u32,
        customer: format!("c{}", i % 13),
        amount: (i % 101) as i64,
        note: None,
        at: i as i64,
    };
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let armed = Arc::new(AtomicBool::new(true));
    let failing = armed.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let env = env(2);
        env.enable_checkpointing(Duration::from_millis(5))
            .set_checkpoint_dir(checkpoints)
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::from_millis(1),
            });
        let orders = env
            .add_source(GeneratorSource::new(order).with_count(COUNT).with_rate_limit(100_000.0))
            .uid("orders")
            .map(move |o: Order| {
                if o.id == FAIL_AT && failing.swap(false, Ordering::SeqCst) {
                    panic!("planned failure");
                }
                o
            })
            .uid("fail once");
        let mut session = session();
        session.from_data_stream("orders", &orders).unwrap();
        let table = session
            .sql_query(
                &env,
                "SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer",
            )
            .unwrap();
        let handle = table.to_changelog_stream::<Total>().unwrap().collect();
        env.execute("bridge restart").unwrap();
        let _ = tx.send(handle.take());
    });
    let changes = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the job did not finish within 120 s (hang?)");
    assert!(!armed.load(Ordering::SeqCst), "the planned failure never happened");
    // The collect sink is at-least-once: changes after the last completed
    // checkpoint come again, identically, so the last change of each customer is
    // its total. A row held in a partial batch across a checkpoint barrier would
    // be lost by the restore (the source's offset is past it).
    let all: Vec<Order> = (0..COUNT).map(order).collect();
    assert_eq!(apply(&changes, |t| t.customer.clone()), expected_totals(&all));
}
