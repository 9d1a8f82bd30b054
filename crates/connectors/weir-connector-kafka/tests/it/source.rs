//! The Kafka source against a real broker, driven through the connector API's
//! split-source harness: several partitions read exactly once across a
//! checkpoint, a failure and a restore at another parallelism; start-up modes;
//! partition discovery; record timestamps; bad records; clear errors.
#![allow(clippy::unwrap_used)]

use crate::common;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{FormatError, FormatErrorKind, Utf8Text};
use weir_connector_api::source::PollStatus;
use weir_connector_api::split::testing::Harness;
use weir_connector_api::split::SplitSourceAdapter;
use weir_connector_kafka::{FnDeserializer, KafkaRecord, KafkaSource, StartupMode};

/// Fails the test if `condition` does not hold within a minute (a hang guard, not
/// a timing assertion).
fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn records(partitions: i32, per_partition: usize) -> Vec<(i32, String, String, i64)> {
    (0..partitions)
        .flat_map(|p| (0..per_partition).map(move |i| (p, format!("k{i}"), format!("{p}-{i}"), 1_000 + i as i64)))
        .collect()
}

type Adapter = Arc<SplitSourceAdapter<String, KafkaSource<String>>>;

fn text_source(brokers: &str, topic: &str, bounded: bool, startup: StartupMode) -> Adapter {
    Arc::new(
        KafkaSource::<String>::builder(brokers, topic)
            .value_format(|| Utf8Text)
            .startup_mode(startup)
            .bounded(bounded)
            .build()
            .unwrap()
            .into_source(format!("kafka {topic}")),
    )
}

/// Polls every reader until `done` says so.
fn poll_until(
    harness: &mut Harness<String, KafkaSource<String>>,
    got: &mut Vec<String>,
    mut done: impl FnMut(&[String]) -> bool,
) {
    until("records", || {
        for index in 0..harness.parallelism() {
            harness.poll(index).unwrap();
        }
        got.extend(harness.take_records());
        done(got) || harness.all_finished()
    });
}

#[test]
fn partitions_are_read_exactly_once_across_a_failure_and_a_restore_at_another_parallelism() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-restore");
    common::create_topic(&brokers, &topic, 4);
    let input = records(4, 500);
    common::produce(&brokers, &topic, &input);
    let adapter = text_source(&brokers, &topic, true, StartupMode::Earliest);

    // First run, 2 readers: read some, checkpoint, read on, then "fail".
    let mut first = Harness::start(adapter.clone(), 2, 0, None).unwrap();
    let mut before = Vec::new();
    poll_until(&mut first, &mut before, |got| got.len() >= 700);
    let state = first.checkpoint(1).unwrap();
    first.complete(1).unwrap();
    let mut lost = Vec::new();
    poll_until(&mut first, &mut lost, |got| got.len() >= 300);
    drop(first);

    // Second run, 3 readers, from checkpoint 1: the records read after it again.
    let mut second = Harness::start(adapter, 3, 1, Some(state)).unwrap();
    let mut after = Vec::new();
    poll_until(&mut second, &mut after, |_| false);
    assert!(second.all_finished());

    let mut got: Vec<String> = before.into_iter().chain(after).collect();
    got.sort();
    let mut want: Vec<String> = input.iter().map(|r| r.2.clone()).collect();
    want.sort();
    assert_eq!(got.len(), want.len(), "records lost or repeated");
    assert_eq!(got, want);
}

#[test]
fn startup_modes_pick_the_first_offset() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-startup");
    common::create_topic(&brokers, &topic, 1);
    common::produce(&brokers, &topic, &records(1, 10));
    let read = |mode: StartupMode| {
        let mut h = Harness::start(text_source(&brokers, &topic, true, mode), 1, 0, None).unwrap();
        let mut got = Vec::new();
        poll_until(&mut h, &mut got, |_| false);
        got
    };
    assert_eq!(read(StartupMode::Earliest).len(), 10);
    assert_eq!(read(StartupMode::Latest), Vec::<String>::new());
    // tansu answers every timestamp lookup with the first offset, so only the
    // call is exercised here (against Kafka this starts at "0-7").
    assert!(!read(StartupMode::Timestamp(1_007)).is_empty());
    // No group offsets yet: from the earliest.
    assert_eq!(read(StartupMode::GroupOffsets).len(), 10);
}

#[test]
fn offsets_are_committed_to_the_group_after_a_checkpoint_and_group_offsets_resume_there() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-group");
    common::create_topic(&brokers, &topic, 1);
    common::produce(&brokers, &topic, &records(1, 10));
    let source = || {
        Arc::new(
            KafkaSource::<String>::builder(brokers.clone(), topic.clone())
                .value_format(|| Utf8Text)
                .group_id(format!("{topic}-group"))
                .startup_mode(StartupMode::GroupOffsets)
                .bounded(true)
                .build()
                .unwrap()
                .into_source("group"),
        )
    };
    let mut h = Harness::start(source(), 1, 0, None).unwrap();
    let mut got = Vec::new();
    poll_until(&mut h, &mut got, |got| got.len() >= 4);
    let upto = got.len();
    h.checkpoint(1).unwrap();
    h.complete(1).unwrap();
    // The commit is asynchronous: a new job (no checkpoint) starting from the
    // group's offsets starts there once it is done.
    let group = format!("{topic}-group");
    until("the committed group offsets", || {
        h.poll(0).unwrap();
        common::committed_offset(&brokers, &group, &topic, 0) == Some(upto as i64)
    });
    let mut probe = Harness::start(source(), 1, 0, None).unwrap();
    let mut rest = Vec::new();
    poll_until(&mut probe, &mut rest, |_| false);
    assert_eq!(rest, (upto..10).map(|i| format!("0-{i}")).collect::<Vec<_>>());
}

#[test]
fn records_carry_their_kafka_timestamp_key_and_headers() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-view");
    common::create_topic(&brokers, &topic, 2);
    common::produce(&brokers, &topic, &records(2, 3));
    let adapter = Arc::new(
        KafkaSource::<String>::builder(brokers.clone(), topic.clone())
            .deserializer(|| {
                FnDeserializer::new(|r: &KafkaRecord<'_>| {
                    Ok(format!(
                        "{}/{}@{} key={} ts={:?}",
                        r.topic,
                        r.partition,
                        r.offset,
                        String::from_utf8_lossy(r.key.unwrap_or_default()),
                        r.timestamp
                    ))
                })
            })
            .startup_mode(StartupMode::Earliest)
            .bounded(true)
            .build()
            .unwrap()
            .into_source("view"),
    );
    let mut h = Harness::start(adapter, 1, 0, None).unwrap();
    let mut got = Vec::new();
    poll_until(&mut h, &mut got, |_| false);
    got.sort();
    assert_eq!(got[0], format!("{topic}/0@0 key=k0 ts=Some(1000)"));
    assert_eq!(got.len(), 6);
}

#[test]
fn bad_records_fail_with_their_position_or_are_skipped() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-bad");
    common::create_topic(&brokers, &topic, 1);
    common::produce(
        &brokers,
        &topic,
        &[
            (0, "k".into(), "1".into(), 1),
            (0, "k".into(), "x".into(), 2),
            (0, "k".into(), "3".into(), 3),
        ],
    );
    let source = |policy: BadRecordPolicy| {
        Arc::new(
            KafkaSource::<u64>::builder(brokers.clone(), topic.clone())
                .deserializer(|| {
                    FnDeserializer::new(|r: &KafkaRecord<'_>| {
                        std::str::from_utf8(r.value.unwrap_or_default())
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .ok_or_else(|| FormatError::new(FormatErrorKind::Syntax, "not a number"))
                    })
                })
                .startup_mode(StartupMode::Earliest)
                .bounded(true)
                .bad_record_policy(policy)
                .build()
                .unwrap()
                .into_source("numbers"),
        )
    };
    let mut h = Harness::start(source(BadRecordPolicy::Skip), 1, 0, None).unwrap();
    until("the end", || {
        h.poll(0).unwrap();
        h.all_finished()
    });
    assert_eq!(h.take_records(), vec![1, 3]);

    let mut h = Harness::start(source(BadRecordPolicy::Fail), 1, 0, None).unwrap();
    let mut error = None;
    until("the failure", || match h.poll(0) {
        Err(e) => {
            error = Some(e.to_string());
            true
        }
        Ok(status) => {
            assert_ne!(status, PollStatus::Finished);
            false
        }
    });
    let error = error.unwrap();
    assert!(error.contains(&format!("{topic}/0@1")), "{error}");
    assert!(error.contains("not a number"), "{error}");
}

#[test]
fn a_missing_topic_and_unreachable_brokers_give_clear_errors() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("source-missing");
    let error = Harness::start(text_source(&brokers, &topic, false, StartupMode::Earliest), 1, 0, None)
        .and_then(|mut h| h.poll(0).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("topic '{topic}' does not exist")), "{error}");
    assert!(error.contains(&brokers), "{error}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let adapter = Arc::new(
        KafkaSource::<String>::builder(address.clone(), "t")
            .value_format(|| Utf8Text)
            .client(|c| {
                c.connect_retries(1, Duration::from_millis(50))
                    .request_timeout(Duration::from_millis(500))
            })
            .build()
            .unwrap()
            .into_source("down"),
    );
    let error = Harness::start(adapter, 1, 0, None)
        .and_then(|mut h| h.poll(0).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot reach the brokers"), "{error}");
    assert!(error.contains(&address), "{error}");
    assert!(error.contains("after 2 attempt(s)"), "{error}");
}
