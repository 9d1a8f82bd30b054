//! A real Weir job (runtime, checkpoints to a directory, the exactly-once file
//! sink) reads a RabbitMQ queue, fails between source and sink, and is restored
//! from its checkpoint: the committed output holds every message exactly once.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_rabbitmq::{RabbitMqSink, RabbitMqSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{assert_exactly_once, job, kill, service, write_all, Numbers};

#[test]
fn a_job_reads_exactly_once_across_a_failure_and_a_restore() {
    let _server = crate::common::shared_server();
    let uri = service("rabbitmq", "WEIR_TEST_RABBITMQ_URL");
    let queue = format!("weir-job-{}-{}", std::process::id(), fastrand::u32(..));
    let dir = kill::scratch("weir-rabbitmq-job");
    let records = 2_000;
    let output = job::fail_and_restore(
        &dir,
        || source(&uri, &queue),
        records,
        Duration::from_millis(500),
        &|range| publish(&uri, &queue, range),
    );
    assert_exactly_once(&output, records);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Publishes `range` with message ids.
fn publish(uri: &str, queue: &str, range: std::ops::Range<u64>) {
    let sink = RabbitMqSink::new(SinkConfig::to_queue(uri, queue), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, range);
}

fn source(uri: &str, queue: &str) -> RabbitMqSource<u64> {
    let mut config = SourceConfig::new(uri, queue);
    config.prefetch = 200;
    RabbitMqSource::new(config, || Numbers)
}

/// The real job in a child process, killed with SIGKILL at seeded moments and
/// restored from its newest checkpoint each time: exactly once.
#[test]
fn a_killed_job_reads_exactly_once() {
    let _server = crate::common::shared_server();
    let uri = service("rabbitmq", "WEIR_TEST_RABBITMQ_URL");
    let queue = format!("weir-job-kill-{}-{}", std::process::id(), fastrand::u32(..));
    let dir = kill::scratch("weir-rabbitmq-job-kill");
    std::fs::write(dir.join("queue"), &queue).unwrap();
    let records = 3_000;
    let output = job::kill_loop(
        &crate::common::test_name(module_path!(), "job_kill_child"),
        &dir,
        kill::seed(),
        4,
        records,
        Duration::from_millis(500),
        &|range| publish(&uri, &queue, range),
    );
    assert_exactly_once(&output, records);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child of `a_killed_job_reads_exactly_once` (does nothing unless run by it).
#[test]
fn job_kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(job::JOB_CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let queue = std::fs::read_to_string(dir.join("queue")).unwrap();
        job::child(&dir, source(&service("rabbitmq", "WEIR_TEST_RABBITMQ_URL"), &queue));
    }
}
