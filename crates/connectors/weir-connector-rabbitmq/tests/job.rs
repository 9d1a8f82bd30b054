//! A real Weir job (runtime, checkpoints to a directory, the exactly-once file
//! sink) reads a RabbitMQ queue, fails between source and sink, and is restored
//! from its checkpoint: the committed output holds every message exactly once.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_rabbitmq::{RabbitMqSink, RabbitMqSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{assert_exactly_once, job, kill, service, write_all, Numbers};

#[test]
fn a_job_reads_exactly_once_across_a_failure_and_a_restore() {
    let uri = service("rabbitmq", "WEIR_TEST_RABBITMQ_URL");
    let queue = format!("weir-job-{}-{}", std::process::id(), fastrand::u32(..));
    let dir = kill::scratch("weir-rabbitmq-job");
    let records = 2_000;
    let output = job::fail_and_restore(
        &dir,
        || {
            let mut config = SourceConfig::new(uri.clone(), &queue);
            config.prefetch = 200;
            RabbitMqSource::new(config, || Numbers)
        },
        records,
        Duration::from_millis(500),
        &|range| {
            let sink =
                RabbitMqSink::new(SinkConfig::to_queue(&uri, &queue), || Numbers).with_message_id(|v| format!("m-{v}"));
            write_all(&sink, range);
        },
    );
    assert_exactly_once(&output, records);
    let _ = std::fs::remove_dir_all(&dir);
}
