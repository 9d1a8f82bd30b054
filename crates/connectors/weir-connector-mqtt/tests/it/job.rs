//! A real Weir job (runtime, checkpoints to a directory, the exactly-once file
//! sink) reads an MQTT topic, fails between source and sink, and is restored
//! from its checkpoint: the committed output holds every message at least once
//! (MQTT has no id to drop a redelivery by); the duplicates are counted.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::source::Source;
use weir_connector_mqtt::{MqttSink, MqttSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{assert_at_least_once, context, job, kill, read_for, service, write_all, Numbers};

const PROBE: u64 = u64::MAX;

#[test]
fn a_job_reads_at_least_once_across_a_failure_and_a_restore() {
    let _server = crate::common::shared_server();
    let url = service("mqtt", "WEIR_TEST_MQTT_URL");
    let unique = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let topic = format!("weir/job/{unique}");
    let client_id = format!("weir-job-{unique}");
    let publish = |values: std::ops::Range<u64>| {
        let sink = MqttSink::new(SinkConfig::new(&url, &topic, format!("weir-job-pub-{unique}")), || {
            Numbers
        });
        write_all(&sink, values);
    };
    open_session(&url, &topic, &client_id);
    let dir = kill::scratch("weir-mqtt-job");
    // Mosquitto keeps 20 messages in flight per client and queues 1000.
    let records = 600;
    let output = job::fail_and_restore(
        &dir,
        || MqttSource::new(SourceConfig::new(&url, &topic, &client_id), || Numbers),
        records,
        Duration::from_millis(500),
        &|range| publish(range),
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != PROBE).collect();
    let duplicates = assert_at_least_once(&output, records);
    eprintln!(
        "{} records committed, {duplicates} duplicates (at-least-once)",
        output.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real job in a child process, killed with SIGKILL at seeded moments and
/// restored from its newest checkpoint each time: nothing lost.
#[test]
fn a_killed_job_loses_nothing() {
    let _server = crate::common::shared_server();
    let url = service("mqtt", "WEIR_TEST_MQTT_URL");
    let unique = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let topic = format!("weir/job-kill/{unique}");
    let client_id = format!("weir-job-kill-{unique}");
    let dir = kill::scratch("weir-mqtt-job-kill");
    std::fs::write(dir.join("topic"), &topic).unwrap();
    std::fs::write(dir.join("client"), &client_id).unwrap();
    open_session(&url, &topic, &client_id);
    let records = 600;
    let output = job::kill_loop(
        &crate::common::test_name(module_path!(), "job_kill_child"),
        &dir,
        kill::seed(),
        4,
        records,
        Duration::from_millis(500),
        &|range| {
            let sink = MqttSink::new(SinkConfig::new(&url, &topic, format!("weir-job-pub-{unique}")), || {
                Numbers
            });
            write_all(&sink, range);
        },
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != PROBE).collect();
    let duplicates = assert_at_least_once(&output, records);
    eprintln!(
        "{} records committed, {duplicates} duplicates (at-least-once)",
        output.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Makes the persistent session of `client_id` with its subscription (a probe
/// round trip proves it), so that the broker keeps what is published while no
/// job runs.
fn open_session(url: &str, topic: &str, client_id: &str) {
    let source = MqttSource::new(SourceConfig::new(url, topic, client_id), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    while out.is_empty() {
        let sink = MqttSink::new(SinkConfig::new(url, topic, format!("{client_id}-probe")), || Numbers);
        write_all(&sink, [PROBE]);
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(200)).unwrap();
    }
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
}

/// The child of `a_killed_job_loses_nothing` (does nothing unless run by it).
#[test]
fn job_kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(job::JOB_CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let topic = std::fs::read_to_string(dir.join("topic")).unwrap();
        let client = std::fs::read_to_string(dir.join("client")).unwrap();
        let url = service("mqtt", "WEIR_TEST_MQTT_URL");
        job::child(
            &dir,
            MqttSource::new(SourceConfig::new(&url, &topic, &client), || Numbers),
        );
    }
}
