//! The Kafka broker of `scripts/services.sh` (started once per test binary by
//! the first test that asks for it; a test never skips), topics of unique
//! names, records produced into them, and what they committed.

use super::kafka_log::{read_settled, LogRecord};
use super::services;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::sync::OnceLock;
use std::time::Duration;

/// The brokers: `WEIR_TEST_KAFKA_BROKERS` when set (a broker started by hand),
/// else the one `scripts/services.sh up kafka` starts.
pub fn brokers() -> String {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS
        .get_or_init(|| {
            let given = std::env::var("WEIR_TEST_KAFKA_BROKERS").unwrap_or_default();
            if !given.trim().is_empty() {
                return given;
            }
            services(&["up", "kafka"]);
            let env = services(&["env", "kafka"]);
            env.lines()
                .find_map(|line| {
                    line.trim_start_matches("export ")
                        .strip_prefix("WEIR_TEST_KAFKA_BROKERS=")
                        .map(|v| v.trim_matches('"').trim_matches('\'').to_string())
                })
                .unwrap_or_else(|| panic!("`services.sh env kafka` printed no WEIR_TEST_KAFKA_BROKERS: {env}"))
        })
        .clone()
}

/// A new topic of `partitions` partitions, named after `name` and unique (tests
/// run in parallel, and against a broker that keeps earlier runs' topics).
pub fn topic(name: &str, partitions: i32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("sql-{name}-{}-{nanos}", std::process::id());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let result = futures::executor::block_on(admin.create_topics(
        &[NewTopic::new(&topic, partitions, TopicReplication::Fixed(1))],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
    ))
    .unwrap();
    for r in result {
        r.unwrap();
    }
    topic
}

/// Writes `values` to `topic` (partition, value), non-transactionally, one
/// record per batch (tansu's end offsets count batches: bounded reads see
/// every record only so). At most 100 000 values (the producer's queue).
pub fn produce(topic: &str, values: &[(i32, String)]) {
    let keyed: Vec<(i32, Option<String>, String)> = values.iter().map(|(p, v)| (*p, None, v.clone())).collect();
    produce_keyed(topic, &keyed);
}

/// As [`produce`], with keys: (partition, key, value).
pub fn produce_keyed(topic: &str, values: &[(i32, Option<String>, String)]) {
    let records: Vec<Message> = values
        .iter()
        .map(|(p, k, v)| (*p, k.clone(), Some(v.clone())))
        .collect();
    produce_records(topic, &records);
}

/// As [`produce_keyed`], a `None` value a tombstone.
pub fn produce_records(topic: &str, records: &[Message]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("batch.num.messages", "1")
        .set("linger.ms", "0")
        .set("queue.buffering.max.messages", "100000")
        .create()
        .unwrap();
    for (partition, key, value) in records {
        let mut record: BaseRecord<'_, String, String> = BaseRecord::to(topic).partition(*partition);
        if let Some(value) = value {
            record = record.payload(value);
        }
        if let Some(key) = key {
            record = record.key(key);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// A committed record as text: `(partition, key, value)` (`None` for no key,
/// a tombstone).
pub type Message = (i32, Option<String>, Option<String>);

fn text(bytes: &Option<Vec<u8>>) -> Option<String> {
    bytes.as_ref().map(|b| String::from_utf8(b.clone()).unwrap())
}

/// The records `topic` (of `partitions` partitions) committed, per partition in
/// offset order, once its transactions are settled; none aborted may be left open.
pub fn committed(topic: &str, partitions: i32) -> Vec<Message> {
    let log = read_settled(&brokers(), topic, partitions);
    assert!(log.open.is_empty(), "{} records of open transactions", log.open.len());
    log.committed
        .iter()
        .map(|r: &LogRecord| (r.partition, text(&r.key), text(&r.value)))
        .collect()
}
