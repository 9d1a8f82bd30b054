//! Against the real server (`scripts/services.sh up nats`, JetStream with a file
//! store): acks at checkpoints, deduplication by stream sequence after a restore,
//! the sink's message ids against the duplicate window, clear errors for a server
//! that is down, and process kills compared with an oracle.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::Source;
use weir_connector_api::SubtaskInfo;
use weir_connector_nats::{NatsSink, NatsSource, RetryPolicy, SinkConfig, SourceConfig};
use weir_connector_testkit::kill;
use weir_connector_testkit::{context, read_until, read_until_error, service, write_all, Numbers};

fn url() -> String {
    service("nats", "WEIR_TEST_NATS_URL")
}

/// A fresh stream name; its subject is `<name>.in`.
fn stream(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), fastrand::u32(..))
}

/// Publishes `values` to `<stream>.in` with message ids `m-<value>`, waiting for
/// the acknowledgements.
fn publish(stream: &str, values: impl IntoIterator<Item = u64>) {
    let sink =
        NatsSink::new(SinkConfig::new(url(), format!("{stream}.in")), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, values);
}

fn config(stream: &str) -> SourceConfig {
    let mut config = SourceConfig::new(url(), stream, "weir");
    config.create_stream = Some(vec![format!("{stream}.in")]);
    config.ack_wait = Duration::from_secs(2);
    config.max_ack_pending = 500;
    config
}

fn source(stream: &str) -> NatsSource<u64> {
    NatsSource::new(config(stream), || Numbers)
}

/// Creates the stream (the source creates it when it binds its consumer).
fn create(stream: &str) {
    let source = source(stream);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    publish_probe(stream);
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| !o.is_empty()).unwrap();
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
    // Wait until the ack of the probe is confirmed (the next poll handles it).
    let mut none = Vec::new();
    let _ = read_until(reader.as_mut(), &woken, &mut none, |_| true);
}

fn publish_probe(stream: &str) {
    // Retried until the stream exists (the reader creates it asynchronously).
    for _ in 0..100 {
        let sink = NatsSink::new(SinkConfig::new(url(), format!("{stream}.in")), || Numbers);
        let context = SinkContext {
            info: SubtaskInfo::new("sink", 0, 1, 128),
            checkpointing: true,
            restored: None,
        };
        let mut writer = sink.create_writer(&context).unwrap();
        writer.write(u64::MAX, None).unwrap();
        if writer.snapshot_state(1).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the stream {stream} was not created");
}

#[test]
fn acks_at_checkpoints_and_drops_redeliveries_after_a_restore() {
    let _server = crate::common::shared_server();
    let stream = stream("weir-ack");
    create(&stream);
    publish(&stream, 0..100);
    let source = source(&stream);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 100).unwrap();
    reader.snapshot_state(2).unwrap();
    reader.notify_checkpoint_complete(2).unwrap();
    publish(&stream, 100..150);
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 150).unwrap();
    let state = reader.snapshot_state(3).unwrap();
    drop(reader);
    assert_eq!(out, (0..150).collect::<Vec<_>>());

    // Restored from checkpoint 3: the server redelivers 100..150 after ack_wait;
    // the checkpoint's sequence numbers drop them. 150..160 are new; the marker
    // 999 is published after the redeliveries are due.
    let (ctx, woken) = context(Some(state));
    let mut reader = source.create_reader(&ctx).unwrap();
    publish(&stream, 150..160);
    let mut after = Vec::new();
    read_until(reader.as_mut(), &woken, &mut after, |o| o.len() >= 10).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    publish(&stream, [999]);
    read_until(reader.as_mut(), &woken, &mut after, |o| o.contains(&999)).unwrap();
    after.retain(|v| *v != u64::MAX); // the probe of `create`
    assert_eq!(after, (150..160).chain([999]).collect::<Vec<_>>());
}

#[test]
fn the_sink_message_ids_deduplicate_a_replay_within_the_window() {
    let _server = crate::common::shared_server();
    let stream = stream("weir-sink");
    create(&stream);
    publish(&stream, 0..10);
    publish(&stream, 0..10); // a replay: same ids
    publish(&stream, [10]);
    let source = source(&stream);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.contains(&10)).unwrap();
    out.retain(|v| *v != u64::MAX); // the probe of `create`
    assert_eq!(out, (0..=10).collect::<Vec<_>>());
}

#[test]
fn server_down_at_start_retries_then_fails_clearly() {
    let _server = crate::common::shared_server();
    let mut config = SourceConfig::new("nats://weir:secret@127.0.0.1:1", "s", "d");
    config.retry = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        give_up_after: Some(Duration::from_millis(500)),
    };
    let source = NatsSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    for part in [
        "nats source 's/d'",
        "nats://weir:***@127.0.0.1:1",
        "cannot connect",
        "gave up",
    ] {
        assert!(error.contains(part), "{part} not in {error}");
    }
    assert!(!error.contains("secret"), "{error}");
}

#[test]
fn process_kills_lose_and_duplicate_nothing() {
    let _server = crate::common::shared_server();
    let stream = stream("weir-kill");
    create(&stream);
    let records = 3_000u64;
    let dir = kill::scratch("weir-nats-kill");
    std::fs::write(dir.join("stream"), &stream).unwrap();
    // 40 checkpoints of 100 ms after the last record: longer than ack_wait, so
    // late redeliveries come (and must be dropped) before the output is compared.
    let output = kill::run(
        &crate::common::test_name(module_path!(), "kill_child"),
        &dir,
        kill::seed(),
        6,
        records as usize,
        40,
        &|range| publish(&stream, range),
    );
    let output: Vec<u64> = output.into_iter().filter(|v| *v != u64::MAX).collect();
    weir_connector_testkit::assert_exactly_once(&output, records);
}

/// The child of `process_kills_lose_and_duplicate_nothing` (does nothing unless
/// run by it).
#[test]
fn kill_child() {
    let _server = crate::common::shared_server();
    if let Some(dir) = std::env::var_os(kill::CHILD_VAR) {
        let dir = std::path::PathBuf::from(dir);
        let stream = std::fs::read_to_string(dir.join("stream")).unwrap();
        kill::child(&dir, &source(&stream));
    }
}

#[test]
fn wrong_credentials_fail_clearly() {
    let _server = crate::common::shared_server();
    let good = service("nats", "WEIR_TEST_NATS_AUTH_URL");
    let bad = good.replacen(":weir-secret@", ":wrong-password@", 1);
    assert_ne!(bad, good, "the auth URL carries the user weir_auth:weir-secret");
    let source = NatsSource::new(SourceConfig::new(bad, "weir-never", "weir"), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    assert!(error.contains("nats source 'weir-never/weir'"), "{error}");
    assert!(error.contains("nats://weir_auth:***@127.0.0.1:14222"), "{error}");
    assert!(!error.contains("wrong-password"), "{error}");
    assert!(error.to_lowercase().contains("authorization"), "{error}");
    assert!(!error.contains("gave up"), "not retried: {error}");
}

#[test]
fn the_right_credentials_are_accepted() {
    let _server = crate::common::shared_server();
    let stream = stream("weir-auth");
    let mut config = config(&stream);
    config.url = service("nats", "WEIR_TEST_NATS_AUTH_URL");
    let source = NatsSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    publish_probe(&stream);
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| !o.is_empty()).unwrap();
    assert_eq!(out, [u64::MAX]);
}

#[test]
fn a_missing_stream_fails_clearly() {
    let _server = crate::common::shared_server();
    let missing = stream("weir-missing");
    let source = NatsSource::new(SourceConfig::new(url(), &missing, "weir"), || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let error = read_until_error(reader.as_mut(), &woken);
    eprintln!("{error}");
    assert!(error.contains(&format!("nats source '{missing}/weir'")), "{error}");
    assert!(error.contains("nats://127.0.0.1:14222"), "{error}");
    assert!(
        error.contains(&format!("cannot open the stream '{missing}'")),
        "{error}"
    );
    assert!(error.contains("does not exist"), "{error}");
    assert!(!error.contains("gave up"), "not retried: {error}");
}
