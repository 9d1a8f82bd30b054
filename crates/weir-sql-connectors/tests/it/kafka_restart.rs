//! Exactly once across a failure, with Kafka: the job fails once (the
//! `FailOnce` gate of the filesystem tests, at the first batch after a
//! checkpoint with rows completed) and restarts from its latest checkpoint.
//!
//! * The `exactly-once` `kafka` sink: a rate-limited Nexmark source's bids
//!   through the gate into a topic; the committed messages (read from the raw
//!   log with the transaction markers, as a `read_committed` consumer of Kafka
//!   sees them) are every bid once, the aborted ones are the first attempt's
//!   open transactions.
//! * The `kafka` source: a topic's messages read (bounded) through a slowed-down
//!   gate into the exactly-once `filesystem` sink; the restored source reads on
//!   from its checkpointed offsets, so the files hold every message once.
//! * The `upsert-kafka` source: keyed rows and tombstones read (bounded) into a
//!   `changelog-json` file; the restored job reads on from its offsets with the
//!   normalizing step's last row per key restored, so the changes written are
//!   exactly the updates and deletes of the topic's rows.
#![allow(clippy::unwrap_used)]

use crate::common::kafka::{committed, produce, produce_records, topic, Message};
use crate::common::part_files::read;
use crate::common::{bids, nexmark};
use crate::filesystem_restart::{failing, run_with_failure, run_with_failure_in, Gate, Gated};
use crate::kafka::{history, kafka_options, materialized, row_json};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use weir_datastream::DataStream;
use weir_sql::batch::RowBatch;
use weir_sql_connectors::{FilesystemSqlSink, KafkaSqlSink};

fn check_exactly_once_sink(parallelism: usize) {
    const EVENTS: u64 = 40_000;
    let out = topic("exactly-once", 2);
    let script = format!(
        "{}CREATE TABLE out (auction BIGINT, bidder BIGINT, price BIGINT) WITH ({}, 'format' = 'json',
            'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = '{out}');
        INSERT INTO out SELECT auction, bidder, price FROM bid;",
        nexmark(EVENTS, ", 'rate-limit' = '40000'"),
        kafka_options("kafka", &out)
    );
    let armed = Arc::new(AtomicBool::new(true));
    run_with_failure(
        script,
        parallelism,
        &armed,
        failing(Arc::new(KafkaSqlSink::kafka()), armed.clone()),
    );
    let mut got: Vec<String> = committed(&out, 2)
        .into_iter()
        .map(|(_, key, value)| {
            assert_eq!(key, None);
            value.unwrap()
        })
        .collect();
    got.sort();
    let mut expected: Vec<String> = bids(EVENTS)
        .into_iter()
        .map(|(auction, bidder, price)| format!(r#"{{"auction":{auction},"bidder":{bidder},"price":{price}}}"#))
        .collect();
    expected.sort();
    assert_eq!(got.len(), expected.len(), "messages lost or written twice");
    assert!(got == expected, "the committed messages are not the generated bids");
}

#[test]
fn the_exactly_once_sink_writes_each_row_once_across_a_failure_at_parallelism_1() {
    check_exactly_once_sink(1);
}

#[test]
fn the_exactly_once_sink_writes_each_row_once_across_a_failure_at_parallelism_2() {
    check_exactly_once_sink(2);
}

/// The `filesystem` sink behind a [`FailOnce`](crate::filesystem_restart) gate
/// (the job fails once, while `armed`), slowed down (5 ms a batch), so that
/// checkpoints complete while the source is still reading.
fn slow_failing_files(armed: &Arc<AtomicBool>) -> Gated {
    let slow: Gate = Arc::new(|input: DataStream<RowBatch>| {
        input
            .map(|batch: RowBatch| {
                std::thread::sleep(Duration::from_millis(5));
                batch
            })
            .uid("slow")
    });
    Gated {
        sink: Arc::new(failing(Arc::new(FilesystemSqlSink), armed.clone())),
        gate: slow,
    }
}

#[test]
fn a_restored_source_reads_on_from_its_checkpointed_offsets() {
    const MESSAGES: i64 = 20_000;
    let input = topic("restore", 3);
    let records: Vec<(i32, String)> = (0..MESSAGES)
        .map(|i| ((i % 3) as i32, format!(r#"{{"id":{i},"name":"n{i}"}}"#)))
        .collect();
    produce(&input, &records);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "CREATE TABLE src (id BIGINT, name STRING) WITH ({}, 'format' = 'json',
            'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
        INSERT INTO out SELECT id, name FROM src;",
        kafka_options("kafka", &input),
        out.display()
    );
    let armed = Arc::new(AtomicBool::new(true));
    let sink = slow_failing_files(&armed);
    run_with_failure(script, 2, &armed, sink);
    let files = read(&out, "json");
    assert!(files.leftovers.is_empty(), "hidden files left: {:?}", files.leftovers);
    // Rows were read before the failure and after the restore.
    let attempts: std::collections::BTreeSet<u64> = files.committed.iter().map(|(part, _)| part.attempt).collect();
    assert!(
        attempts.contains(&0) && attempts.iter().any(|a| *a > 0),
        "committed files of the first attempt and of the restarted one expected, got attempts {attempts:?}"
    );
    let mut ids: Vec<i64> = files
        .lines()
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = value["id"].as_i64().unwrap();
            assert_eq!(line, &format!(r#"{{"id":{id},"name":"n{id}"}}"#));
            id
        })
        .collect();
    ids.sort_unstable();
    let repeated = ids.windows(2).filter(|w| w[0] == w[1]).count();
    ids.dedup();
    assert_eq!(repeated, 0, "messages read twice");
    assert_eq!(ids, (0..MESSAGES).collect::<Vec<_>>(), "messages lost");
}

#[test]
fn a_restored_upsert_source_keeps_the_last_row_of_each_key() {
    const SEED: u64 = 17;
    let (changes, expected) = history(SEED, 20_000, 1_000);
    let input = topic("upsert-restore", 3);
    let records: Vec<Message> = changes
        .iter()
        .map(|(bidder, row)| {
            let value = row.map(|row| row_json(*bidder, row));
            ((bidder % 3) as i32, Some(format!(r#"{{"bidder":{bidder}}}"#)), value)
        })
        .collect();
    produce_records(&input, &records);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "CREATE TABLE src (bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
            WITH ({}, 'key.format' = 'json', 'value.format' = 'json',
            'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE out (bidder BIGINT, bids BIGINT, total BIGINT)
            WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'changelog-json');
        INSERT INTO out SELECT * FROM src;",
        kafka_options("upsert-kafka", &input),
        out.display()
    );
    let armed = Arc::new(AtomicBool::new(true));
    let sink = slow_failing_files(&armed);
    // Channels of two single-batch buffers: the slow sink holds the source back,
    // so that checkpoints complete while it still has changes to read (and the
    // normalizing step's state matters after the restore).
    run_with_failure_in(script, 2, &armed, sink, |env| {
        env.set_buffer_size(1).set_channel_capacity(2);
    });
    let files = read(&out, "changelog-json");
    let attempts: std::collections::BTreeSet<u64> = files.committed.iter().map(|(part, _)| part.attempt).collect();
    assert!(
        attempts.contains(&0) && attempts.iter().any(|a| *a > 0),
        "seed {SEED}: committed files of the first attempt and of the restarted one expected, got {attempts:?}"
    );
    // Every -U and -D takes back a row that is there, and what is left is the
    // topic's last row of each key: none lost, none twice.
    assert_eq!(materialized(&out), expected, "seed {SEED}");
}
