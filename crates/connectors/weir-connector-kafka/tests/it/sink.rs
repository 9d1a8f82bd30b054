//! The Kafka sink against a real broker: at-least-once, exactly-once across a
//! failure between checkpoint completion and commit, and clear errors at start-up.
#![allow(clippy::unwrap_used)]

use crate::common;
use common::log::{read_settled, read_topic};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, OutgoingRecord};

fn serializer(n: &u64, _ts: Option<i64>) -> Result<OutgoingRecord, BoxError> {
    Ok(OutgoingRecord::value(n.to_string()).with_key((n % 17).to_string()))
}

fn sorted_numbers(values: Vec<String>) -> Vec<u64> {
    let mut numbers: Vec<u64> = values.iter().map(|v| v.parse().unwrap()).collect();
    numbers.sort_unstable();
    numbers
}

/// Fails in the first attempt when told a checkpoint completed, before the inner
/// writer commits it (after `after` completed checkpoints): the checkpoint is
/// complete and its transaction pre-committed, but not committed.
struct FailBeforeCommit<S> {
    inner: S,
    after: u64,
    seen: Arc<AtomicU64>,
}

struct FailBeforeCommitWriter<T> {
    inner: Box<dyn SinkWriter<T>>,
    after: u64,
    seen: Arc<AtomicU64>,
}

impl<T: Send + 'static, S: Sink<T>> Sink<T> for FailBeforeCommit<S> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        Ok(Box::new(FailBeforeCommitWriter {
            inner: self.inner.create_writer(context)?,
            after: self.after,
            seen: self.seen.clone(),
        }))
    }
}

impl<T> SinkWriter<T> for FailBeforeCommitWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.inner.write(value, timestamp)
    }
    fn finish(&mut self) -> Result<(), BoxError> {
        self.inner.finish()
    }
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            return Err("planned failure between checkpoint completion and commit".into());
        }
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
}

fn env(dir: &Path) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(50))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env
}

fn sink(brokers: &str, topic: &str, guarantee: DeliveryGuarantee, prefix: &str) -> KafkaSink<u64> {
    KafkaSink::builder(brokers, topic, serializer)
        .delivery_guarantee(guarantee)
        .transactional_id_prefix(prefix)
        .build()
        .unwrap()
}

#[test]
fn at_least_once_delivers_every_record() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("sink-alo");
    common::create_topic(&brokers, &topic, 3);
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    env.add_source(GeneratorSource::new(|i| i).with_count(5_000).with_rate_limit(50_000.0))
        .uid("numbers")
        .add_sink(sink(&brokers, &topic, DeliveryGuarantee::AtLeastOnce, "unused"))
        .uid("kafka");
    let result = env.execute("at-least-once").unwrap();
    assert!(!result.checkpoints.is_empty());
    let log = read_settled(&brokers, &topic, 3);
    common::assert_each_once("committed", &sorted_numbers(log.committed_values()), 5_000);
}

#[test]
fn exactly_once_survives_a_failure_between_checkpoint_completion_and_commit() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("sink-eo");
    common::create_topic(&brokers, &topic, 3);
    let prefix = common::unique("eo");
    let dir = tempfile::tempdir().unwrap();
    let events = 20_000;

    let d = dir.path().to_path_buf();
    let (b, t, p) = (brokers.clone(), topic.clone(), prefix.clone());
    let checkpoints: PathBuf = std::thread::spawn(move || {
        let env = env(&d);
        env.add_source(GeneratorSource::new(|i| i).with_count(events).with_rate_limit(40_000.0))
            .uid("numbers")
            .add_sink(FailBeforeCommit {
                inner: sink(&b, &t, DeliveryGuarantee::ExactlyOnce, &p),
                after: 5,
                seen: Arc::new(AtomicU64::new(0)),
            })
            .uid("kafka");
        let client = env.execute_async("first run").unwrap();
        let checkpoints = client.checkpoint_dir().unwrap().to_path_buf();
        let error = client.wait().unwrap_err();
        assert!(error.to_string().contains("planned failure"), "{error}");
        checkpoints
    })
    .join()
    .unwrap();
    let before = read_topic(&brokers, &topic, 3);
    eprintln!(
        "after the failure: {} committed, {} open, {} aborted records",
        before.committed.len(),
        before.open.len(),
        before.aborted.len()
    );
    assert!(
        !before.open.is_empty(),
        "the failed run left no pre-committed transaction"
    );

    let env = env(dir.path());
    env.restore_from(&checkpoints);
    env.add_source(GeneratorSource::new(|i| i).with_count(events).with_rate_limit(40_000.0))
        .uid("numbers")
        .add_sink(sink(&brokers, &topic, DeliveryGuarantee::ExactlyOnce, &prefix))
        .uid("kafka");
    let result = env.execute("second run").unwrap();
    eprintln!(
        "topic {topic} prefix {prefix} checkpoints {:?}",
        result.checkpoints.len()
    );
    assert!(result.restored_from.is_some());

    let log = read_settled(&brokers, &topic, 3);
    eprintln!(
        "at the end: {} committed, {} open, {} aborted records, {} commits, {} aborts",
        log.committed.len(),
        log.open.len(),
        log.aborted.len(),
        log.commits,
        log.aborts
    );
    assert!(
        log.open.is_empty(),
        "transactions left open: {} records",
        log.open.len()
    );
    common::assert_each_once("committed", &sorted_numbers(log.committed_values()), events);
}

#[test]
fn brokers_down_at_start_give_a_clear_error() {
    common::logs();
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    let sink = KafkaSink::builder(address.clone(), "anything", serializer)
        .client(|c| {
            c.connect_retries(2, Duration::from_millis(50))
                .request_timeout(Duration::from_millis(500))
        })
        .build()
        .unwrap();
    env.from_sequence(0, 10)
        .map(|n| n as u64)
        .add_sink(sink)
        .name("kafka-out");
    let error = env.execute("no broker").unwrap_err().to_string();
    assert!(error.contains("kafka connector"), "{error}");
    assert!(error.contains(&address), "{error}");
    assert!(error.contains("after 3 attempt(s)"), "{error}");
}

#[test]
fn a_missing_topic_gives_a_clear_error() {
    common::logs();
    let brokers = common::brokers();
    let topic = common::unique("missing");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    env.from_sequence(0, 10).map(|n| n as u64).add_sink(sink(
        &brokers,
        &topic,
        DeliveryGuarantee::AtLeastOnce,
        "unused",
    ));
    let error = env.execute("missing topic").unwrap_err().to_string();
    assert!(error.contains(&format!("topic '{topic}' does not exist")), "{error}");
    assert!(error.contains(&brokers), "{error}");
}
