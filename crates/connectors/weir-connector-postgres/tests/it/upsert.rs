//! The upsert sink against a real server: column types, keys merged within a
//! batch, serde rows, a job with failures compared with an oracle, and a
//! connection the server ends.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{client, diff, fresh_table, url, Action, Fault, FaultySink};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use weir::connector_api::sink::{Sink, SinkContext};
use weir::core::{RestartStrategy, SubtaskInfo};
use weir::prelude::*;
use weir_connector_postgres::{PostgresSink, RowMapper, SqlValue};

fn context() -> SinkContext {
    SinkContext {
        info: SubtaskInfo::new("postgres", 0, 1, 128),
        checkpointing: true,
        restored: None,
    }
}

#[test]
fn column_types_and_keys_merged_within_a_batch() {
    let _server = common::shared_server();
    fresh_table(
        "up_types",
        "id bigint PRIMARY KEY, qty integer, ratio real, amount numeric(10, 2), at timestamptz, \
         doc jsonb, data bytea, note varchar(20), day date, ok boolean",
    );
    type Row = (
        i64,
        i32,
        f32,
        &'static str,
        i64,
        &'static str,
        Vec<u8>,
        &'static str,
        &'static str,
        bool,
    );
    let sink = PostgresSink::builder::<Row>(&url(), "up_types")
        .unwrap()
        .columns(["id", "qty", "ratio", "amount", "at", "doc", "data", "note", "day", "ok"])
        .row(RowMapper::new(|r: &Row| {
            vec![
                r.0.into(),
                r.1.into(),
                r.2.into(),
                r.3.into(),
                SqlValue::TimestampMicros(r.4),
                r.5.into(),
                r.6.clone().into(),
                r.7.into(),
                r.8.into(),
                r.9.into(),
            ]
        }))
        .buffer_max_rows(3)
        .upsert()
        .unwrap();
    let mut writer = sink.create_writer(&context()).unwrap();
    let at = 1_764_763_200_000_000; // 2025-12-03 12:00:00 UTC
    writer
        .write(
            (
                1,
                5,
                0.5,
                "12.50",
                at,
                r#"{"a": [1, 2]}"#,
                vec![0, 255],
                "first",
                "2026-12-03",
                true,
            ),
            None,
        )
        .unwrap();
    writer
        .write(
            (2, 6, 1.5, "3", at, "null", vec![], "second", "2026-12-04", false),
            None,
        )
        .unwrap();
    // The same key again in the same batch: the last row wins.
    writer
        .write(
            (
                1,
                7,
                2.5,
                "99.99",
                at + 1_000_000,
                r#"{"b": true}"#,
                vec![1],
                "updated",
                "2026-12-05",
                false,
            ),
            None,
        )
        .unwrap();
    writer.snapshot_state(1).unwrap();
    let rows = client()
        .query(
            "SELECT id, qty, ratio, amount::text, extract(epoch from at)::bigint, doc::text, data, note, day::text, ok \
             FROM up_types ORDER BY id",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first.get::<_, i64>(0), 1);
    assert_eq!(first.get::<_, i32>(1), 7);
    assert_eq!(first.get::<_, f32>(2), 2.5);
    assert_eq!(first.get::<_, String>(3), "99.99");
    assert_eq!(first.get::<_, i64>(4), 1_764_763_201);
    assert_eq!(first.get::<_, String>(5), r#"{"b": true}"#);
    assert_eq!(first.get::<_, Vec<u8>>(6), vec![1]);
    assert_eq!(first.get::<_, String>(7), "updated");
    assert_eq!(first.get::<_, String>(8), "2026-12-05");
    assert!(!first.get::<_, bool>(9));
    assert_eq!(rows[1].get::<_, String>(3), "3.00");

    // A value the column cannot take: the error names the sink, the address and
    // the statement.
    writer
        .write(
            (3, 1, 0.0, "not a number", at, "{}", vec![], "x", "2026-12-03", true),
            None,
        )
        .unwrap();
    let error = writer.finish().unwrap_err().to_string();
    assert!(
        error.contains("postgres upsert sink 'up_types' at 127.0.0.1:15432/weir as weir")
            && error.contains("upserting 1 rows")
            && error.contains("numeric"),
        "{error}"
    );
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Total {
    customer: i64,
    amount: f64,
    name: String,
}

#[test]
fn serde_rows_fill_all_columns_by_name() {
    let _server = common::shared_server();
    fresh_table(
        "up_serde",
        "name text NOT NULL, customer bigint PRIMARY KEY, amount double precision",
    );
    let sink = PostgresSink::builder::<Total>(&url(), "up_serde")
        .unwrap()
        .row(RowMapper::serde())
        .upsert()
        .unwrap();
    let mut writer = sink.create_writer(&context()).unwrap();
    for (customer, amount) in [(1, 2.5), (2, 4.0), (1, 7.5)] {
        let name = format!("c{customer}");
        writer.write(Total { customer, amount, name }, None).unwrap();
        writer.snapshot_state(1).unwrap();
    }
    let rows: Vec<(String, i64, f64)> = client()
        .query("SELECT name, customer, amount FROM up_serde ORDER BY customer", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(rows, vec![("c1".into(), 1, 7.5), ("c2".into(), 2, 4.0)]);
}

const KEYS: u64 = 50;
const EVENTS: u64 = 5_000;

#[test]
fn a_job_with_failures_leaves_the_oracle_in_the_table() {
    let _server = common::shared_server();
    fresh_table("up_job", "id bigint PRIMARY KEY, v text NOT NULL");
    let seed = std::env::var("WEIR_PG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    println!("seed {seed} (rerun with WEIR_PG_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let plan: Vec<_> = (0..3).map(|_| Fault::seeded(&mut rng, Action::Fail, 1_500)).collect();
    println!("faults: {plan:?}");
    let dir = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3)
        .enable_checkpointing(Duration::from_millis(30))
        .set_checkpoint_dir(dir.path().join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 10,
            delay: Duration::ZERO,
        });
    let sink = PostgresSink::builder::<(u64, u64)>(&url(), "up_job")
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|&(key, i): &(u64, u64)| {
            vec![SqlValue::Int(key as i64), format!("last {i}").into()]
        }))
        .buffer_max_rows(64)
        .upsert()
        .unwrap();
    env.add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(10_000.0))
        .uid("ids")
        .set_parallelism(1)
        .map(|i| (i % KEYS, i))
        .uid("pairs")
        // One subtask per key, in order: the last write of a key is its last record.
        .key_by(|&(key, _)| key)
        .map(|pair| pair)
        .uid("keyed")
        .add_sink(FaultySink::new(sink, plan.clone()))
        .uid("postgres");
    env.execute("upsert with failures").unwrap();
    let fired: u64 = plan.iter().map(|f| f.fired.load(Ordering::SeqCst)).sum();
    assert!(fired > 0, "no fault fired");

    let mut expected: BTreeMap<i64, String> = BTreeMap::new();
    for i in 0..EVENTS {
        expected.insert((i % KEYS) as i64, format!("last {i}"));
    }
    let expected: Vec<(i64, String)> = expected.into_iter().collect();
    let actual = common::rows("up_job");
    let (missing, extra) = diff(&actual, &expected);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "seed {seed}: missing {missing:?}, extra {extra:?}"
    );
    println!("seed {seed}: {fired} fault(s) fired; {KEYS} keys hold their last values");
}

#[test]
fn a_connection_ended_by_the_server_is_replaced() {
    let _server = common::shared_server();
    fresh_table("up_reconnect", "id bigint PRIMARY KEY, v text NOT NULL");
    let sink = PostgresSink::builder::<(i64, String)>(&url(), "up_reconnect")
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|(id, v): &(i64, String)| {
            vec![(*id).into(), v.as_str().into()]
        }))
        .connection_retries(20, Duration::from_millis(50))
        .upsert()
        .unwrap();
    let mut writer = sink.create_writer(&context()).unwrap();
    writer.write((1, "a".into()), None).unwrap();
    writer.snapshot_state(1).unwrap();
    client().batch_execute(&common::terminate("up_reconnect")).unwrap();
    writer.write((2, "b".into()), None).unwrap();
    writer.write((1, "c".into()), None).unwrap();
    writer.snapshot_state(2).unwrap();
    assert_eq!(
        common::rows("up_reconnect"),
        vec![(1, "c".to_string()), (2, "b".to_string())]
    );
}
