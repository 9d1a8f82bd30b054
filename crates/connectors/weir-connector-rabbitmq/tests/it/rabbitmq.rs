//! Against the real broker (`scripts/services.sh up rabbitmq`): acks at
//! checkpoints, message-id deduplication after a restore, the sink's confirms,
//! clear errors for a broker that is down or refuses the credentials, a broker
//! restart mid-read, and process kills compared with an oracle.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::source::Source;
use weir_connector_rabbitmq::{Guarantee, RabbitMqSink, RabbitMqSource, RetryPolicy, SinkConfig, SourceConfig};
use weir_connector_testkit::kill;
use weir_connector_testkit::{context, read_until, read_until_error, service, write_all, Numbers};

fn uri() -> String {
    service("rabbitmq", "WEIR_TEST_RABBITMQ_URL")
}

fn queue(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), fastrand::u32(..))
}

/// Publishes `values` to `queue` with message ids `m-<value>`, waiting for confirms.
fn publish(queue: &str, values: impl IntoIterator<Item = u64>) {
    let sink = RabbitMqSink::new(SinkConfig::to_queue(uri(), queue), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, values);
}

fn source(queue: &str) -> RabbitMqSource<u64> {
    let mut config = SourceConfig::new(uri(), queue);
    config.prefetch = 500;
    RabbitMqSource::new(config, || Numbers)
}

#[test]
fn acks_at_checkpoints_and_drops_redeliveries_after_a_restore() {
    let _server = crate::common::shared_server();
    let queue = queue("weir-ack");
    publish(&queue, 0..100);
    let source = source(&queue);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 100).unwrap();
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
    // 100..150 are read and covered by checkpoint 2, which never completes.
    publish(&queue, 100..150);
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 150).unwrap();
    let state = reader.snapshot_state(2).unwrap();
    drop(reader);
    assert_eq!(out, (0..150).collect::<Vec<_>>());

    // Restored from checkpoint 2: the broker redelivers 100..150 (unacked), which
    // the checkpoint's ids drop; 150..160 are new.
    let (ctx, woken) = context(Some(state));
    let mut reader = source.create_reader(&ctx).unwrap();
    publish(&queue, 150..160);
    let mut after = Vec::new();
    read_until(reader.as_mut(), &woken, &mut after, |o| o.len() >= 10).unwrap();
    assert_eq!(after, (150..160).collect::<Vec<_>>());
    reader.snapshot_state(3).unwrap();
    reader.notify_checkpoint_complete(3).unwrap();
}

#[test]
fn at_least_once_emits_redeliveries_again() {
    let _server = crate::common::shared_server();
    let queue = queue("weir-alo");
    publish(&queue, 0..20);
    let mut config = SourceConfig::new(uri(), &queue);
    config.guarantee = Guarantee::AtLeastOnce;
    let source = RabbitMqSource::new(config, || Numbers);
    assert_eq!(source.max_parallelism(), None);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 20).unwrap();
    let state = reader.snapshot_state(1).unwrap();
    drop(reader);
    let (ctx, woken) = context(Some(state));
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut again = Vec::new();
    read_until(reader.as_mut(), &woken, &mut again, |o| o.len() >= 20).unwrap();
    assert_eq!(again, (0..20).collect::<Vec<_>>(), "unacked messages come again");
}

#[test]
fn wrong_credentials_fail_clearly() {
    let _server = crate::common::shared_server();
    let bad = uri().replacen("weir:weir@", "weir:wrong-password@", 1);
    assert_ne!(bad, uri(), "the test URL carries the user weir:weir");
    let source = RabbitMqSource::new(SourceConfig::new(bad, "weir-never"), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    assert!(error.contains("rabbitmq source 'weir-never'"), "{error}");
    assert!(error.contains("amqp://weir:***@127.0.0.1"), "{error}");
    assert!(!error.contains("wrong-password"), "{error}");
    assert!(error.contains("ACCESS") || error.contains("refused"), "{error}");
}

#[test]
fn broker_down_at_start_retries_then_fails_clearly() {
    let _server = crate::common::shared_server();
    // Nothing listens on port 1.
    let mut config = SourceConfig::new("amqp://weir:weir@127.0.0.1:1/%2f", "weir-never");
    config.retry = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        give_up_after: Some(Duration::from_millis(500)),
    };
    let source = RabbitMqSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    for part in [
        "rabbitmq source 'weir-never'",
        "amqp://weir:***@127.0.0.1:1/%2f",
        "cannot connect",
        "gave up",
    ] {
        assert!(error.contains(part), "{part} not in {error}");
    }
}

#[test]
fn process_kills_lose_and_duplicate_nothing() {
    let _server = crate::common::shared_server();
    let queue = queue("weir-kill");
    let records = 5_000u64;
    let dir = kill::scratch("weir-rabbitmq-kill");
    std::fs::write(dir.join("queue"), &queue).unwrap();
    let output = kill::run(
        &crate::common::test_name(module_path!(), "kill_child"),
        &dir,
        kill::seed(),
        6,
        records as usize,
        3,
        &|range| publish(&queue, range),
    );
    weir_connector_testkit::assert_exactly_once(&output, records);
}

/// The child of `process_kills_lose_and_duplicate_nothing` (does nothing unless
/// run by it).
#[test]
fn kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(kill::CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let queue = std::fs::read_to_string(dir.join("queue")).unwrap();
        kill::child(&dir, &source(&queue));
    }
}

#[test]
fn a_missing_queue_fails_clearly() {
    let _server = crate::common::shared_server();
    let missing = queue("weir-missing");
    let mut config = SourceConfig::new(uri(), &missing);
    config.declare_queue = false;
    let source = RabbitMqSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    assert!(error.contains(&format!("rabbitmq source '{missing}'")), "{error}");
    assert!(error.contains("amqp://weir:***@127.0.0.1:15682"), "{error}");
    assert!(
        error.contains(&format!("cannot consume from queue '{missing}'")),
        "{error}"
    );
    assert!(
        error.contains("NOT_FOUND") || error.contains("NOTFOUND") || error.contains("no queue"),
        "{error}"
    );
}
