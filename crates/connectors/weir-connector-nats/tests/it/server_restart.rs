//! The server restarts mid-read (`scripts/services.sh restart nats`: stopped by
//! pid, started again on the same JetStream store): the reader reconnects, the
//! server redelivers what was not acknowledged (after `ack_wait`), and the
//! sequence numbers in the reader's state drop what was already emitted. It takes
//! the broker lock exclusively (`common::exclusive_server`), so that the restart
//! disturbs no other test of the binary.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::{Source, SourceReader};
use weir_connector_api::SubtaskInfo;
use weir_connector_nats::{NatsSink, NatsSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{
    assert_exactly_once, context, read_for, read_until, service, services, write_all, Numbers,
};

fn publish(url: &str, subject: &str, values: std::ops::Range<u64>) {
    let sink = NatsSink::new(SinkConfig::new(url, subject), || Numbers).with_message_id(|v| format!("m-{v}"));
    write_all(&sink, values);
}

/// Publishes `value` once the stream exists (the reader creates it).
fn publish_when_the_stream_exists(url: &str, subject: &str, value: u64) {
    for _ in 0..200 {
        let sink = NatsSink::new(SinkConfig::new(url, subject), || Numbers).with_message_id(|v| format!("m-{v}"));
        let context = SinkContext {
            info: SubtaskInfo::new("probe", 0, 1, 128),
            checkpointing: true,
            restored: None,
        };
        let mut writer = sink.create_writer(&context).unwrap();
        writer.write(value, None).unwrap();
        if writer.snapshot_state(1).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the stream was not created");
}

#[test]
fn a_server_restart_mid_read_loses_and_duplicates_nothing() {
    let _server = crate::common::exclusive_server();
    let url = service("nats", "WEIR_TEST_NATS_URL");
    let stream = format!("weir-restart-{}-{}", std::process::id(), fastrand::u32(..));
    let subject = format!("{stream}.in");
    let mut config = SourceConfig::new(url.clone(), &stream, "weir");
    config.create_stream = Some(vec![subject.clone()]);
    config.ack_wait = Duration::from_secs(2);
    config.max_ack_pending = 100;
    let source = NatsSource::new(config, || Numbers);
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    publish_when_the_stream_exists(&url, &subject, 0);
    publish(&url, &subject, 1..200);
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 100).unwrap();
    reader.snapshot_state(1).unwrap();
    reader.notify_checkpoint_complete(1).unwrap();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 150).unwrap();
    // Checkpoint 2 covers what was read so far; it completes only after the
    // restart.
    reader.snapshot_state(2).unwrap();

    services(&["restart", "nats"]);
    publish(&url, &subject, 200..300);
    reader.notify_checkpoint_complete(2).unwrap();
    // As a job does: checkpoints keep completing.
    let mut checkpoint = 3;
    let mut step = |reader: &mut Box<dyn SourceReader<u64>>, out: &mut Vec<u64>| {
        read_for(reader.as_mut(), &woken, out, Duration::from_millis(100)).unwrap();
        reader.snapshot_state(checkpoint).unwrap();
        reader.notify_checkpoint_complete(checkpoint).unwrap();
        checkpoint += 1;
    };
    while !(0..300).all(|v| out.contains(&v)) {
        step(&mut reader, &mut out);
    }
    // Longer than ack_wait: redeliveries of unconfirmed acks come (and are
    // dropped) before the comparison.
    let settle = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < settle {
        step(&mut reader, &mut out);
    }
    eprintln!("{} records read over {} checkpoints", out.len(), checkpoint - 1);
    assert_exactly_once(&out, 300);
}
