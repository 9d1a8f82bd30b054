//! The broker restarts mid-read (`rabbitmqctl stop_app` / `start_app`: the node
//! keeps its durable queues and persistent messages, and closes every
//! connection): the reader reconnects, the broker redelivers what was not
//! acknowledged, and the message ids drop what was already emitted. It takes
//! the broker lock exclusively (`common::exclusive_server`), so that the restart
//! disturbs no other test of the binary.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use weir_connector_api::source::Source;
use weir_connector_rabbitmq::{RabbitMqSink, RabbitMqSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{context, read_for, read_until, service, write_all, Numbers};

/// Runs `rabbitmqctl` against the node of `scripts/services.sh` (its environment:
/// see `rabbitmq_env` there).
fn rabbitmqctl(args: &[&str]) {
    let services = std::env::var("WEIR_SERVICES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/weir-services"));
    let dir = services.join("rabbitmq");
    let status = Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
        .args(args)
        .env("HOME", &dir)
        .env("RABBITMQ_NODENAME", "weir@localhost")
        .env("RABBITMQ_USE_LONGNAME", "false")
        .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
        .env("ERL_EPMD_PORT", "14369")
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_CTL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}")
        .status()
        .unwrap();
    assert!(status.success(), "rabbitmqctl {args:?} failed");
}

fn publish(uri: &str, queue: &str, values: impl IntoIterator<Item = u64>) {
    let sink = RabbitMqSink::new(SinkConfig::to_queue(uri, queue), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, values);
}

#[test]
fn a_broker_restart_mid_read_loses_and_duplicates_nothing() {
    let _server = crate::common::exclusive_server();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let uri = service("rabbitmq", "WEIR_TEST_RABBITMQ_URL");
    let queue = format!("weir-restart-{}", std::process::id());
    publish(&uri, &queue, 0..200);
    let mut config = SourceConfig::new(uri.clone(), &queue);
    config.prefetch = 100;
    let source = RabbitMqSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 100).unwrap();
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 150).unwrap();
    // Checkpoint 2 covers what was read so far; it completes only after the
    // restart, when its acks belong to a closed channel.
    reader.snapshot_state(2).unwrap();

    rabbitmqctl(&["stop_app"]);
    rabbitmqctl(&["start_app"]);
    publish(&uri, &queue, 200..300);
    reader.notify_checkpoint_complete(2).unwrap();
    // As a job does: checkpoints keep completing (their acks open the prefetch
    // window, which the redelivered messages fill).
    let mut checkpoint = 3;
    let mut step = |reader: &mut Box<dyn weir_connector_api::source::SourceReader<u64>>, out: &mut Vec<u64>| {
        read_for(reader.as_mut(), &woken, out, std::time::Duration::from_millis(100)).unwrap();
        reader.snapshot_state(checkpoint).unwrap();
        reader.notify_checkpoint_complete(checkpoint).unwrap();
        checkpoint += 1;
    };
    while !out.contains(&299) {
        step(&mut reader, &mut out);
    }
    // Redeliveries are requeued ahead of the marker.
    publish(&uri, &queue, [300]);
    while !out.contains(&300) {
        step(&mut reader, &mut out);
    }
    let mut sorted = out.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..=300).collect::<Vec<_>>(), "read {} records", out.len());
}
