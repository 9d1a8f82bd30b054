//! A real Weir job (runtime, checkpoints to a directory, the exactly-once file
//! sink) reads a JetStream stream, fails between source and sink, and is
//! restored from its checkpoint: the committed output holds every message
//! exactly once, also after the redeliveries that `ack_wait` brings.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::Source;
use weir_connector_api::SubtaskInfo;
use weir_connector_nats::{NatsSink, NatsSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{assert_exactly_once, context, job, kill, read_until, service, write_all, Numbers};

#[test]
fn a_job_reads_exactly_once_across_a_failure_and_a_restore() {
    let _server = crate::common::shared_server();
    let url = service("nats", "WEIR_TEST_NATS_URL");
    let stream = format!("weir-job-{}-{}", std::process::id(), fastrand::u32(..));
    let subject = format!("{stream}.in");
    create_stream(&url, &stream);
    let dir = kill::scratch("weir-nats-job");
    let records = 2_000;
    // Settle past ack_wait: unconfirmed messages come again and must be dropped.
    let output = job::fail_and_restore(
        &dir,
        || NatsSource::new(job_config(&url, &stream), || Numbers),
        records,
        Duration::from_secs(3),
        &|range| publish(&url, &subject, range),
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != u64::MAX).collect();
    assert_exactly_once(&output, records);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real job in a child process, killed with SIGKILL at seeded moments and
/// restored from its newest checkpoint each time: exactly once (settling past
/// `ack_wait`).
#[test]
fn a_killed_job_reads_exactly_once() {
    let _server = crate::common::shared_server();
    let url = service("nats", "WEIR_TEST_NATS_URL");
    let stream = format!("weir-job-kill-{}-{}", std::process::id(), fastrand::u32(..));
    let subject = format!("{stream}.in");
    let dir = kill::scratch("weir-nats-job-kill");
    std::fs::write(dir.join("stream"), &stream).unwrap();
    create_stream(&url, &stream);
    let records = 3_000;
    let output = job::kill_loop(
        &crate::common::test_name(module_path!(), "job_kill_child"),
        &dir,
        kill::seed(),
        4,
        records,
        Duration::from_secs(3),
        &|range| publish(&url, &subject, range),
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != u64::MAX).collect();
    assert_exactly_once(&output, records);
    let _ = std::fs::remove_dir_all(&dir);
}

fn job_config(url: &str, stream: &str) -> SourceConfig {
    let mut config = SourceConfig::new(url, stream, "weir-job");
    config.create_stream = Some(vec![format!("{stream}.in")]);
    config.ack_wait = Duration::from_secs(2);
    config.max_ack_pending = 500;
    config
}

/// Publishes `range` with message ids.
fn publish(url: &str, subject: &str, range: std::ops::Range<u64>) {
    let sink = NatsSink::new(SinkConfig::new(url, subject), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, range);
}

/// Creates the stream and the durable consumer (a reader does) and consumes the
/// probe, so that what is published from now on is kept for the job.
fn create_stream(url: &str, stream: &str) {
    let source = NatsSource::new(job_config(url, stream), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    publish_when_the_stream_exists(url, &format!("{stream}.in"));
    read_until(reader.as_mut(), &woken, &mut out, |o| !o.is_empty()).unwrap();
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
    // The probe's ack is confirmed with the next poll.
    let _ = read_until(reader.as_mut(), &woken, &mut Vec::new(), |_| true);
}

/// Publishes the probe `u64::MAX` once the stream exists.
fn publish_when_the_stream_exists(url: &str, subject: &str) {
    let probe = NatsSink::new(SinkConfig::new(url, subject), || Numbers);
    for _ in 0..200 {
        let context = SinkContext {
            info: SubtaskInfo::new("probe", 0, 1, 128),
            checkpointing: true,
            restored: None,
        };
        let mut writer = probe.create_writer(&context).unwrap();
        writer.write(u64::MAX, None).unwrap();
        if writer.snapshot_state(1).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the stream was not created");
}

/// The child of `a_killed_job_reads_exactly_once` (does nothing unless run by it).
#[test]
fn job_kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(job::JOB_CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let stream = std::fs::read_to_string(dir.join("stream")).unwrap();
        let url = service("nats", "WEIR_TEST_NATS_URL");
        job::child(&dir, NatsSource::new(job_config(&url, &stream), || Numbers));
    }
}
