//! What the exactly-once sink's commit check relies on, against the test broker,
//! next to a minimal reproduction of why it no longer uses group offsets.
//!
//! Three transactional producers write one partition: B opens a transaction
//! with a record; A writes a record, commits a group offset in its transaction
//! (`send_offsets_to_transaction`) and commits; B aborts; C writes a record and
//! commits. The log must show A and C committed and B aborted, by the control
//! batches that close them (what the sink reads after a failure). The group
//! offset A committed is printed after each step. tansu 0.6 applies a
//! transaction's group offsets only when every *overlapping* transaction
//! (another transaction with records in a shared partition starting before this
//! one's last offset, its end marker included) is prepared too
//! (`DynoStore::txn_end` and `Meta::overlapping_transactions` in tansu-storage);
//! otherwise EndTxn answers success and leaves them pending, to be applied by
//! the end of a later overlapping transaction. So the offset is missing after
//! A's commit and appears when B ends. A process killed in between (and the next
//! one reading the offset before B, or a chain of overlapping transactions of
//! other writers, ends) sees no commit marker for a committed transaction. A
//! Kafka broker shows the offset as soon as A's commit returns (KIP-98).
#![allow(clippy::unwrap_used)]

use crate::common;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

fn producer(brokers: &str, id: &str) -> BaseProducer {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", id)
        .create()
        .unwrap();
    producer.init_transactions(TIMEOUT).unwrap();
    producer
}

fn write(producer: &BaseProducer, topic: &str, value: &str) {
    producer
        .send(BaseRecord::<str, str>::to(topic).partition(0).payload(value))
        .unwrap();
    producer.flush(TIMEOUT).unwrap();
}

#[test]
fn transaction_markers_settle_what_group_offsets_may_not() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("markers");
    common::create_topic(&brokers, &topic, 1);
    let group = common::unique("markers-group");

    let b = producer(&brokers, &common::unique("b"));
    b.begin_transaction().unwrap();
    write(&b, &topic, "b");

    let a = producer(&brokers, &common::unique("a"));
    a.begin_transaction().unwrap();
    write(&a, &topic, "a");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &group)
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset(&topic, 0, Offset::Offset(42)).unwrap();
    a.send_offsets_to_transaction(&offsets, &consumer.group_metadata().unwrap(), TIMEOUT)
        .unwrap();
    a.commit_transaction(TIMEOUT).unwrap();
    let after_commit = common::committed_offset(&brokers, &group, &topic, 0);

    b.abort_transaction(TIMEOUT).unwrap();
    let after_abort = common::committed_offset(&brokers, &group, &topic, 0);

    let c = producer(&brokers, &common::unique("c"));
    c.begin_transaction().unwrap();
    write(&c, &topic, "c");
    c.commit_transaction(TIMEOUT).unwrap();
    let after_next_commit = common::committed_offset(&brokers, &group, &topic, 0);

    println!(
        "group offset committed in A's transaction: after A's commit {after_commit:?}, after B's abort \
         {after_abort:?}, after C's commit {after_next_commit:?} (Kafka: Some(42) each time)"
    );

    // What the sink relies on: each transaction is closed by its own marker.
    let log = common::log::read_topic(&brokers, &topic, 1);
    let values = |records: &[common::log::LogRecord]| -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
            .collect()
    };
    assert_eq!(values(&log.committed), ["a", "c"]);
    assert_eq!(values(&log.aborted), ["b"]);
    assert!(log.open.is_empty());
    assert_eq!((log.commits, log.aborts), (2, 1));
}
