//! Against the real broker (`scripts/services.sh up mqtt`, Mosquitto): acks at
//! checkpoints in a persistent session, a clear error for a broker that is down,
//! and process kills compared with an oracle (at-least-once: nothing lost).

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::source::Source;
use weir_connector_mqtt::{MqttSink, MqttSource, RetryPolicy, SinkConfig, SourceConfig};
use weir_connector_testkit::kill;
use weir_connector_testkit::{context, read_for, read_until, read_until_error, service, write_all, Numbers};

/// The probe `subscribe` publishes.
const PROBE: u64 = u64::MAX;

fn url() -> String {
    service("mqtt", "WEIR_TEST_MQTT_URL")
}

fn unique(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), fastrand::u32(..))
}

fn publish(topic: &str, values: impl IntoIterator<Item = u64>) {
    let sink = MqttSink::new(SinkConfig::new(url(), topic, unique("weir-test-pub")), || Numbers);
    write_all(&sink, values);
}

fn source(topic: &str, client_id: &str) -> MqttSource<u64> {
    MqttSource::new(SourceConfig::new(url(), topic, client_id), || Numbers)
}

/// Makes the persistent session of `client_id` with its subscription (a probe
/// round trip proves it), acknowledges the probes, and disconnects.
fn subscribe(topic: &str, client_id: &str) {
    let source = source(topic, client_id);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    // Until the subscription is in place, probes are lost; keep sending them.
    while out.is_empty() {
        publish(topic, [PROBE]);
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(200)).unwrap();
    }
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
}

#[test]
fn unacknowledged_messages_come_again_after_a_restart() {
    let _server = crate::common::shared_server();
    let topic = unique("weir/ack");
    let client_id = unique("weir-ack");
    subscribe(&topic, &client_id);
    publish(&topic, 0..10);
    let source = source(&topic, &client_id);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.contains(&9)).unwrap();
    // Checkpoint 1 covers 0..10 but never completes: nothing is acknowledged.
    reader.snapshot_state(1).unwrap();
    drop(reader);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut again = Vec::new();
    read_until(reader.as_mut(), &woken, &mut again, |o| o.contains(&9)).unwrap();
    again.retain(|v| *v != PROBE);
    assert!((0..10).all(|v| again.contains(&v)), "{again:?}");
    reader.snapshot_state(2).unwrap();
    reader.notify_checkpoint_complete(2).unwrap();
}

#[test]
fn broker_down_at_start_retries_then_fails_clearly() {
    let _server = crate::common::shared_server();
    let mut config = SourceConfig::new("mqtt://weir:secret@127.0.0.1:1", "t", "weir-never");
    config.retry = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        give_up_after: Some(Duration::from_millis(500)),
    };
    let source = MqttSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    for part in [
        "mqtt source 't'",
        "mqtt://weir:***@127.0.0.1:1",
        "cannot connect",
        "gave up",
    ] {
        assert!(error.contains(part), "{part} not in {error}");
    }
    assert!(!error.contains("secret"), "{error}");
}

#[test]
fn process_kills_lose_nothing() {
    let _server = crate::common::shared_server();
    let topic = unique("weir/kill");
    let client_id = unique("weir-kill");
    subscribe(&topic, &client_id);
    let records = 300u64;
    let dir = kill::scratch("weir-mqtt-kill");
    std::fs::write(dir.join("topic"), &topic).unwrap();
    std::fs::write(dir.join("client"), &client_id).unwrap();
    let output = kill::run(
        &crate::common::test_name(module_path!(), "kill_child"),
        &dir,
        kill::seed(),
        6,
        records as usize,
        3,
        &|range| publish(&topic, range),
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != PROBE).collect();
    let duplicates = weir_connector_testkit::assert_at_least_once(&output, records);
    eprintln!("{} records read, {duplicates} duplicates (at-least-once)", output.len());
}

/// The child of `process_kills_lose_nothing` (does nothing unless run by it).
#[test]
fn kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(kill::CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let topic = std::fs::read_to_string(dir.join("topic")).unwrap();
        let client = std::fs::read_to_string(dir.join("client")).unwrap();
        kill::child(&dir, &source(&topic, &client));
    }
}

#[test]
fn wrong_credentials_fail_clearly() {
    let _server = crate::common::shared_server();
    let good = service("mqtt", "WEIR_TEST_MQTT_AUTH_URL");
    let bad = good.replacen(":weir-secret@", ":wrong-password@", 1);
    assert_ne!(bad, good, "the auth URL carries the user weir_auth:weir-secret");
    let source = MqttSource::new(SourceConfig::new(bad, "weir/never", unique("weir-auth")), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    assert!(error.contains("mqtt source 'weir/never'"), "{error}");
    assert!(error.contains("mqtt://weir_auth:***@127.0.0.1:11883"), "{error}");
    assert!(!error.contains("wrong-password"), "{error}");
    assert!(error.contains("refused the connection"), "{error}");
    assert!(!error.contains("gave up"), "not retried: {error}");
}

#[test]
fn the_right_credentials_are_accepted() {
    let _server = crate::common::shared_server();
    let topic = unique("weir/auth");
    let mut config = SourceConfig::new(service("mqtt", "WEIR_TEST_MQTT_AUTH_URL"), &topic, unique("weir-auth"));
    config.retry.give_up_after = Some(Duration::from_secs(5));
    let source = MqttSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    while out.is_empty() {
        publish(&topic, [PROBE]);
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(200)).unwrap();
    }
}
