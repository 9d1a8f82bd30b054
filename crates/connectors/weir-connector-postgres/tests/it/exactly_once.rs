//! The exactly-once sink against a real server: two-phase commit across failures
//! (also between checkpoint completion and commit) and rescaling, compared with an
//! oracle; leftover prepared transactions rolled back at start; idempotent commits;
//! a connection lost before prepare.
//!
//! `WEIR_PG_SEED=<s>` reruns the rescale test with seed `s` (default: seeds 1..=2).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{diff, fresh_table, prepared, roll_back_prepared, rows, url, Action, Fault, FaultySink, Point};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use weir::connector_api::transactional::{TransactionContext, TransactionalSink};
use weir::core::{RestartStrategy, SubtaskInfo};
use weir::prelude::*;
use weir_connector_postgres::{PostgresSink, PostgresTransactionalSink, RowMapper};

const EVENTS: u64 = 6_000;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Event {
    id: i64,
    v: String,
}

fn event(i: u64) -> Event {
    Event {
        id: i as i64,
        v: format!("e{:05}-{}", i, i * 7919 % 1000),
    }
}

fn oracle(events: u64) -> Vec<(i64, String)> {
    (0..events).map(event).map(|e| (e.id, e.v)).collect()
}

fn sink(table: &str, prefix: &str) -> weir_connector_postgres::PostgresSinkBuilder<Event> {
    PostgresSink::builder(&url(), table)
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|e: &Event| vec![e.id.into(), e.v.clone().into()]))
        .buffer_max_rows(100)
        .transaction_prefix(prefix)
        .connection_retries(10, Duration::from_millis(100))
}

fn assert_oracle(label: &str, table: &str, events: u64) {
    let actual = rows(table);
    let expected = oracle(events);
    if actual != expected {
        let (missing, extra) = diff(&actual, &expected);
        panic!(
            "{label}: table {table} differs from the oracle: {} rows, {} expected; {} missing (first {:?}), {} \
             extra or duplicated (first {:?})",
            actual.len(),
            expected.len(),
            missing.len(),
            missing.first(),
            extra.len(),
            extra.first()
        );
    }
}

/// One run of the rescale sequence: `faults` (one per attempt) at `parallelism`;
/// unless `last`, the last fault ends the run. Returns the newest checkpoint.
fn run(
    label: &str,
    table: &str,
    parallelism: usize,
    faults: Vec<Arc<Fault>>,
    last: bool,
    restore: Option<&Path>,
    dir: &Path,
) -> Option<PathBuf> {
    let restarts = if last { 100 } else { faults.len() as u32 - 1 };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(40))
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(label.replace(' ', "-")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: restarts,
            delay: Duration::ZERO,
        });
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let plan = faults.clone();
    env.add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(8_000.0))
        .uid("ids")
        .set_parallelism(1)
        .rebalance()
        .map(event)
        .uid("events")
        .add_sink(FaultySink::new(
            sink(table, "weir-eo-rescale").exactly_once().unwrap(),
            plan,
        ))
        .uid("postgres");
    let client = env.execute_async(label).unwrap();
    let handle = client.handle();
    let result = client.wait();
    let fired: u64 = faults.iter().map(|f| f.fired.load(Ordering::SeqCst)).sum();
    match (result, last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => panic!("{label}: ended before its last fault ({fired} fired)"),
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    if !last {
        assert_eq!(fired as usize, faults.len(), "{label}: not every planned fault fired");
    }
    handle.latest_checkpoint()
}

fn faults(rng: &mut fastrand::Rng, n: usize) -> Vec<Arc<Fault>> {
    (0..n).map(|_| Fault::seeded(rng, Action::Fail, 800)).collect()
}

#[test]
fn exactly_once_across_4_2_3_rescales_with_failures() {
    let _server = common::shared_server();
    let seeds: Vec<u64> = match std::env::var("WEIR_PG_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => vec![1, 2],
    };
    for seed in seeds {
        println!("seed {seed} (rerun with WEIR_PG_SEED={seed})");
        let table = "eo_rescale";
        roll_back_prepared("weir-eo-rescale-");
        fresh_table(table, "id bigint NOT NULL, v text NOT NULL");
        let dir = tempfile::tempdir().unwrap();
        let mut rng = fastrand::Rng::with_seed(seed);
        // Always also a fault between checkpoint completion and commit.
        let mut first = faults(&mut rng, 2);
        first.push(Fault::new(Point::AfterCompletion, rng.u64(1..=4), Action::Fail));
        println!("seed {seed}: faults {first:?}");
        let one = run(&format!("seed {seed} run 1"), table, 4, first, false, None, dir.path());
        assert!(one.is_some(), "seed {seed}: run 1 completed no checkpoint");
        let mut second = faults(&mut rng, 2);
        second.push(Fault::new(Point::RestoreOpen, 1, Action::Fail));
        second.push(Fault::new(Point::AfterCompletion, rng.u64(1..=4), Action::Fail));
        println!("seed {seed}: faults {second:?}");
        let two = run(
            &format!("seed {seed} run 2"),
            table,
            2,
            second,
            false,
            one.as_deref(),
            dir.path(),
        );
        let third = faults(&mut rng, 2);
        println!("seed {seed}: faults {third:?}");
        run(
            &format!("seed {seed} run 3"),
            table,
            3,
            third,
            true,
            two.as_deref(),
            dir.path(),
        );
        assert_oracle(&format!("seed {seed}: 4 -> 2 -> 3 with failures"), table, EVENTS);
        assert_eq!(
            prepared("weir-eo-rescale-"),
            Vec::<String>::new(),
            "seed {seed}: prepared transactions left"
        );
        println!("seed {seed}: {EVENTS} rows, exactly once, after 4 -> 2 -> 3");
    }
}

fn context(index: usize, parallelism: usize) -> TransactionContext {
    TransactionContext {
        info: SubtaskInfo::new("postgres", index, parallelism, 128),
        sequence: 0,
    }
}

/// Prepares a transaction by hand, as a crashed earlier run would have left it.
fn leave_prepared(table: &str, gid: &str, id: i64) {
    let mut client = common::client();
    client
        .batch_execute(&format!(
            "BEGIN; INSERT INTO {table} (id, v) VALUES ({id}, 'leftover'); PREPARE TRANSACTION '{gid}'"
        ))
        .unwrap();
}

#[test]
fn leftover_prepared_transactions_are_rolled_back_at_start() {
    let _server = common::shared_server();
    let table = "eo_leftovers";
    roll_back_prepared("weir-leftovers-");
    roll_back_prepared("weir-other-");
    fresh_table(table, "id bigint NOT NULL, v text NOT NULL");
    for (writer, checkpoint) in [(0, 7), (1, 8), (3, 9)] {
        leave_prepared(table, &format!("weir-leftovers-{writer}-{checkpoint}"), -1 - writer);
    }
    leave_prepared(table, "weir-other-0-1", -100);
    assert_eq!(prepared("weir-leftovers-").len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(dir.path().join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env.add_source(GeneratorSource::new(|i| i).with_count(500))
        .uid("ids")
        .map(event)
        .uid("events")
        .add_sink(sink(table, "weir-leftovers").exactly_once().unwrap())
        .uid("postgres");
    env.execute("leftovers").unwrap();

    // Writers 0, 1 and 3 (3 % 2 == 1) were rolled back by subtasks 0 and 1; the
    // other sink's transaction is untouched.
    assert_eq!(prepared("weir-leftovers-"), Vec::<String>::new());
    assert_eq!(prepared("weir-other-"), vec!["weir-other-0-1".to_string()]);
    roll_back_prepared("weir-other-");
    assert_oracle("leftovers", table, 500);
}

fn transactional(table: &str, prefix: &str, max_rows: usize) -> PostgresTransactionalSink<Event> {
    sink(table, prefix).buffer_max_rows(max_rows).transactional().unwrap()
}

#[test]
fn commits_are_idempotent_and_a_lost_transaction_is_an_error() {
    let _server = common::shared_server();
    let table = "eo_commits";
    roll_back_prepared("weir-commits-");
    fresh_table(table, "id bigint NOT NULL, v text NOT NULL");
    let sink = transactional(table, "weir-commits", 10);
    let ctx = context(0, 1);
    sink.clean_up(&ctx).unwrap();

    let mut txn = sink.begin(&ctx).unwrap();
    for i in 0..25 {
        sink.write(&ctx, &mut txn, event(i), None).unwrap();
    }
    let pending = sink.pre_commit(&ctx, txn, 5).unwrap().unwrap();
    assert_eq!(pending.gid, "weir-commits-0-5");
    assert_eq!(pending.rows, 25);
    assert_eq!(prepared("weir-commits-"), vec!["weir-commits-0-5".to_string()]);
    assert!(rows(table).is_empty(), "prepared rows are not visible");

    sink.commit(&ctx, &pending).unwrap();
    assert_eq!(rows(table).len(), 25);
    // Again, as after a restore of checkpoint 5 (another subtask may commit it).
    sink.commit(&context(1, 2), &pending).unwrap();
    assert_oracle("committed once", table, 25);

    // An empty interval prepares nothing.
    let txn = sink.begin(&ctx).unwrap();
    assert!(sink.pre_commit(&ctx, txn, 6).unwrap().is_none());

    // A transaction rolled back behind the sink's back: its rows are lost, and
    // the commit says so.
    let mut txn = sink.begin(&ctx).unwrap();
    sink.write(&ctx, &mut txn, event(99), None).unwrap();
    let pending = sink.pre_commit(&ctx, txn, 7).unwrap().unwrap();
    common::client()
        .batch_execute("ROLLBACK PREPARED 'weir-commits-0-7'")
        .unwrap();
    let error = sink.commit(&ctx, &pending).unwrap_err().to_string();
    assert!(
        error.contains("weir-commits-0-7") && error.contains("lost") && error.contains("127.0.0.1:15432"),
        "{error}"
    );
    assert!(!error.contains("password"), "{error}");
}

#[test]
fn a_connection_lost_before_prepare_fails_and_loses_nothing_committed() {
    let _server = common::shared_server();
    let table = "eo_lost";
    roll_back_prepared("weir-lost-");
    fresh_table(table, "id bigint NOT NULL, v text NOT NULL");
    let sink = transactional(table, "weir-lost", 5);
    let ctx = context(0, 1);
    sink.clean_up(&ctx).unwrap();
    let mut txn = sink.begin(&ctx).unwrap();
    for i in 0..12 {
        sink.write(&ctx, &mut txn, event(i), None).unwrap();
    }
    // The server ends the transaction's connection (as a restart would).
    common::client().batch_execute(&common::terminate("eo_lost")).unwrap();
    let error = sink.pre_commit(&ctx, txn, 1).unwrap_err().to_string();
    assert!(
        error.contains("postgres exactly-once sink 'eo_lost'") && error.contains("nothing is lost"),
        "{error}"
    );
    assert!(prepared("weir-lost-").is_empty());
    assert!(rows(table).is_empty());
    // The restarted job's next transaction works on a new connection.
    let mut txn = sink.begin(&ctx).unwrap();
    for i in 0..12 {
        sink.write(&ctx, &mut txn, event(i), None).unwrap();
    }
    let pending = sink.pre_commit(&ctx, txn, 2).unwrap().unwrap();
    sink.commit(&ctx, &pending).unwrap();
    assert_oracle("after the lost connection", table, 12);
}

const KEYS: u64 = 40;

/// A keyed job upserting exactly once: `(key, last record)` rows; runs at
/// `parallelism` with one fault per attempt, restored from `restore`.
fn upsert_run(
    label: &str,
    parallelism: usize,
    faults: Vec<Arc<Fault>>,
    last: bool,
    restore: Option<&Path>,
    dir: &Path,
) -> Option<PathBuf> {
    let restarts = if last { 100 } else { faults.len() as u32 - 1 };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(20))
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(label.replace(' ', "-")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: restarts,
            delay: Duration::ZERO,
        });
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let sink = PostgresSink::builder::<(u64, u64)>(&url(), "eo_upsert")
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|&(key, i): &(u64, u64)| {
            vec![(key as i64).into(), format!("last {i}").into()]
        }))
        // Small batches: rows are written while the previous transaction may
        // still be prepared (the writer must not wait for its own locks).
        .buffer_max_rows(5)
        .transaction_prefix("weir-eo-upsert")
        .lock_timeout(Duration::from_secs(20))
        .exactly_once()
        .unwrap();
    env.add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(8_000.0))
        .uid("ids")
        .set_parallelism(1)
        .map(|i| (i % KEYS, i))
        .uid("pairs")
        .key_by(|&(key, _)| key)
        .map(|pair| pair)
        .uid("keyed")
        .add_sink(FaultySink::new(sink, faults.clone()))
        .uid("postgres");
    let client = env.execute_async(label).unwrap();
    let handle = client.handle();
    let result = client.wait();
    match (result, last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => panic!("{label}: ended before its last fault"),
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    handle.latest_checkpoint()
}

#[test]
fn exactly_once_upserts_of_a_keyed_stream_with_failures_and_a_rescale() {
    let _server = common::shared_server();
    let seed = std::env::var("WEIR_PG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("seed {seed} (rerun with WEIR_PG_SEED={seed})");
    roll_back_prepared("weir-eo-upsert-");
    fresh_table("eo_upsert", "id bigint PRIMARY KEY, v text NOT NULL");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut first = faults(&mut rng, 2);
    first.push(Fault::new(Point::AfterCompletion, rng.u64(1..=4), Action::Fail));
    let one = upsert_run("upsert run 1", 3, first, false, None, dir.path());
    let second = faults(&mut rng, 2);
    upsert_run("upsert run 2", 2, second, true, one.as_deref(), dir.path());
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..EVENTS {
        expected.insert((i % KEYS) as i64, format!("last {i}"));
    }
    let expected: Vec<(i64, String)> = expected.into_iter().collect();
    let actual = rows("eo_upsert");
    let (missing, extra) = diff(&actual, &expected);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "seed {seed}: missing {missing:?}, extra {extra:?}"
    );
    assert!(prepared("weir-eo-upsert-").is_empty());
}

#[test]
fn an_aborted_checkpoint_does_not_lock_the_writer_out_of_its_keys() {
    let _server = common::shared_server();
    roll_back_prepared("weir-eo-aborted-");
    fresh_table("eo_aborted", "id bigint PRIMARY KEY, v text NOT NULL");
    let sink = sink("eo_aborted", "weir-eo-aborted")
        .buffer_max_rows(2)
        .lock_timeout(Duration::from_secs(5))
        .transactional()
        .unwrap();
    let ctx = context(0, 1);
    sink.clean_up(&ctx).unwrap();
    let write = |checkpoint: u64, tag: &str| {
        let mut txn = sink.begin(&ctx).unwrap();
        for id in 0..6 {
            let v = format!("{tag} {id}");
            sink.write(&ctx, &mut txn, Event { id, v }, None).unwrap();
        }
        sink.pre_commit(&ctx, txn, checkpoint).unwrap().unwrap()
    };
    // Checkpoint 1 is aborted: its transaction stays prepared, holding its rows.
    let first = write(1, "one");
    // The same keys at checkpoint 2's barrier: without committing the first
    // transaction ahead, this would wait for its locks until the lock timeout.
    let second = write(2, "two");
    assert_eq!(prepared("weir-eo-aborted-"), vec!["weir-eo-aborted-0-2".to_string()]);
    // Checkpoint 2 completes: both are committed (the first one already was).
    sink.commit(&ctx, &first).unwrap();
    sink.commit(&ctx, &second).unwrap();
    let expected: Vec<(i64, String)> = (0..6).map(|id| (id, format!("two {id}"))).collect();
    assert_eq!(rows("eo_aborted"), expected);
}
