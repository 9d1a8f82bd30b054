//! The broker restarts mid-read (`scripts/services.sh restart mqtt`: stopped by
//! pid, Mosquitto saves its sessions and queued messages, started again on the
//! same data directory): the reader reconnects to its persistent session and
//! the broker resends what was not acknowledged: nothing lost (at-least-once).
//! It takes
//! the broker lock exclusively (`common::exclusive_server`), so that the restart
//! disturbs no other test of the binary.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::source::{Source, SourceReader};
use weir_connector_mqtt::{MqttSink, MqttSource, SinkConfig, SourceConfig};
use weir_connector_testkit::{assert_at_least_once, context, read_for, service, services, write_all, Numbers};

const PROBE: u64 = u64::MAX;

/// A checkpoint that completes at once.
fn complete(reader: &mut Box<dyn SourceReader<u64>>, checkpoint: &mut u64) {
    *checkpoint += 1;
    reader.snapshot_state(*checkpoint).unwrap();
    reader.notify_checkpoint_complete(*checkpoint).unwrap();
}

#[test]
fn a_broker_restart_mid_read_loses_nothing() {
    let _server = crate::common::exclusive_server();
    let url = service("mqtt", "WEIR_TEST_MQTT_URL");
    let unique = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let topic = format!("weir/restart/{unique}");
    let publish = |values: &[u64]| {
        let sink = MqttSink::new(
            SinkConfig::new(&url, &topic, format!("weir-restart-pub-{unique}")),
            || Numbers,
        );
        write_all(&sink, values.iter().copied());
    };
    let source = MqttSource::new(
        SourceConfig::new(&url, &topic, format!("weir-restart-{unique}")),
        || Numbers,
    );
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    // Until the subscription is in place, messages are not kept: probe first.
    while out.is_empty() {
        publish(&[PROBE]);
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(200)).unwrap();
    }
    let mut checkpoint = 0;
    complete(&mut reader, &mut checkpoint);
    let has = |out: &[u64], range: std::ops::Range<u64>| range.clone().all(|v| out.contains(&v));
    // Mosquitto keeps at most 20 messages in flight: batches of 10.
    publish(&(0..10).collect::<Vec<_>>());
    while !has(&out, 0..10) {
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(100)).unwrap();
    }
    complete(&mut reader, &mut checkpoint);
    publish(&(10..20).collect::<Vec<_>>());
    while !has(&out, 10..20) {
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(100)).unwrap();
    }
    // 10..20 are read, not acknowledged: the checkpoint covering them completes
    // only after the restart, when its PUBACKs belong to a closed connection.
    checkpoint += 1;
    reader.snapshot_state(checkpoint).unwrap();
    services(&["restart", "mqtt"]);
    reader.notify_checkpoint_complete(checkpoint).unwrap();
    publish(&(20..30).collect::<Vec<_>>());
    while !has(&out, 20..30) {
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(100)).unwrap();
        complete(&mut reader, &mut checkpoint);
    }
    out.retain(|v| *v != PROBE);
    let duplicates = assert_at_least_once(&out, 30);
    eprintln!("{} records read, {duplicates} duplicates (at-least-once)", out.len());
}
