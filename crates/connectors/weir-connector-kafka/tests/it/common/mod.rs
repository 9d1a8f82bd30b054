//! Shared test support: the broker (started through `scripts/services.sh up
//! kafka`), topics, and what a topic committed, read from the raw log.
#![allow(dead_code, clippy::unwrap_used)]

pub mod log;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The brokers of the test broker: `WEIR_TEST_KAFKA_BROKERS` when set (a broker
/// started by hand), else the one `scripts/services.sh up kafka` starts. Never
/// skips: no broker is a failure.
pub fn brokers() -> String {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS
        .get_or_init(|| {
            if let Ok(brokers) = std::env::var("WEIR_TEST_KAFKA_BROKERS") {
                if !brokers.trim().is_empty() {
                    return brokers;
                }
            }
            let script = repo_root().join("scripts/services.sh");
            let status = Command::new("bash")
                .arg(&script)
                .args(["up", "kafka"])
                .status()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(status.success(), "`{} up kafka` failed: {status}", script.display());
            let env = Command::new("bash")
                .arg(&script)
                .args(["env", "kafka"])
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            let text = String::from_utf8_lossy(&env.stdout).into_owned();
            text.lines()
                .find_map(|line| {
                    line.trim_start_matches("export ")
                        .strip_prefix("WEIR_TEST_KAFKA_BROKERS=")
                        .map(|v| v.trim_matches('"').trim_matches('\'').to_string())
                })
                .unwrap_or_else(|| {
                    panic!(
                        "`{} env kafka` printed no WEIR_TEST_KAFKA_BROKERS: {text}",
                        script.display()
                    )
                })
        })
        .clone()
}

/// A topic name no other test (or earlier run against the same broker) uses.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn admin(brokers: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap()
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin = admin(brokers);
    let result = futures::executor::block_on(admin.create_topics(
        &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
    ))
    .unwrap();
    for r in result {
        r.unwrap();
    }
}

/// Grows `topic` to `partitions` partitions.
pub fn add_partitions(brokers: &str, topic: &str, partitions: usize) {
    let admin = admin(brokers);
    let result = futures::executor::block_on(admin.create_partitions(
        &[NewPartitions::new(topic, partitions)],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
    ))
    .unwrap();
    for r in result {
        r.unwrap();
    }
}

/// Writes `records` (partition, key, value, timestamp) to `topic`, non-transactionally.
///
/// One record per batch: tansu answers a ListOffsets for the latest offset with
/// the base offset of the partition's last batch plus one, so bounded reads
/// ("up to the end at assignment") see every record only with one-record batches.
pub fn produce(brokers: &str, topic: &str, records: &[(i32, String, String, i64)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1")
        .create()
        .unwrap();
    for (partition, key, value, timestamp) in records {
        let mut record = BaseRecord::to(topic)
            .partition(*partition)
            .key(key)
            .payload(value)
            .timestamp(*timestamp);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// The offset `group` committed for `topic`/`partition`, if any.
pub fn committed_offset(brokers: &str, group: &str, topic: &str, partition: i32) -> Option<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition(topic, partition);
    match consumer
        .committed_offsets(list, Duration::from_secs(10))
        .unwrap()
        .elements()[0]
        .offset()
    {
        rdkafka::Offset::Offset(offset) => Some(offset),
        _ => None,
    }
}

/// Logs of the connector on standard error (RUST_LOG), once per test binary.
pub fn logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .try_init();
    });
}

/// Asserts that `got` holds each of `0..n` exactly once; on failure says how
/// many were lost and repeated (with the first few) instead of printing them all.
#[allow(dead_code)]
pub fn assert_each_once(label: &str, got: &[u64], n: u64) {
    let mut counts = std::collections::BTreeMap::<u64, usize>::new();
    for value in got {
        *counts.entry(*value).or_default() += 1;
    }
    let lost: Vec<u64> = (0..n).filter(|v| !counts.contains_key(v)).collect();
    let repeated: Vec<(u64, usize)> = counts.iter().filter(|(_, c)| **c > 1).map(|(v, c)| (*v, *c)).collect();
    let foreign: Vec<u64> = counts.keys().copied().filter(|v| *v >= n).collect();
    assert!(
        lost.is_empty() && repeated.is_empty() && foreign.is_empty(),
        "{label}: {} records, {} lost (first {:?}), {} repeated (first {:?}), {} unexpected (first {:?})",
        got.len(),
        lost.len(),
        &lost[..lost.len().min(10)],
        repeated.len(),
        &repeated[..repeated.len().min(10)],
        foreign.len(),
        &foreign[..foreign.len().min(10)],
    );
}
