//! `connector = 'mqtt'` through the registry with the JSON format: options
//! checked (typos, bad values, missing ones reported), and a round trip through
//! the real broker with a bad message skipped by `scan.bad-record-policy`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_mqtt::{MqttFactory, MqttSink, SinkConfig};
use weir_connector_testkit::factory::{Reading, Table};
use weir_connector_testkit::{context, read_for, read_until, service, write_all, Numbers};

fn table() -> Table {
    Table::new("mqtt", MqttFactory::register)
}

const URL: &str = "mqtt://127.0.0.1:11883";

#[test]
fn sources_and_sinks_are_built_from_options() {
    let _server = crate::common::shared_server();
    let table = table();
    let source = table.source(&[
        ("url", URL),
        ("topic", "readings/#"),
        ("client-id", "weir-job"),
        ("keep-alive", "10 s"),
        ("scan.bad-record-policy", "skip"),
        ("connect.give-up-after", "never"),
    ]);
    assert!(source.is_ok(), "{:?}", source.err());
    let sink = table.sink(&[
        ("url", "mqtt://user:secret@127.0.0.1:11883"),
        ("topic", "out"),
        ("client-id", "weir-out"),
        ("retain", "true"),
    ]);
    assert!(sink.is_ok(), "{:?}", sink.err());
}

#[test]
fn bad_options_are_reported() {
    let _server = crate::common::shared_server();
    let table = table();
    let source_error = |pairs: &[(&str, &str)]| table.source_error(pairs);
    let typo = source_error(&[("url", URL), ("topic", "t"), ("client-id", "c"), ("qos", "2")]);
    assert!(typo.contains("qos") && typo.contains("mqtt table 'readings'"), "{typo}");
    let url = source_error(&[("url", "http://u:secret@h"), ("topic", "t"), ("client-id", "c")]);
    assert!(url.contains("'url'") && !url.contains("secret"), "{url}");
    let client = source_error(&[("url", URL), ("topic", "t")]);
    assert!(client.contains("'client-id'"), "{client}");
    let retain = table.sink_error(&[("url", URL), ("topic", "t"), ("client-id", "c"), ("retain", "maybe")]);
    assert!(retain.contains("'retain'") && retain.contains("maybe"), "{retain}");
}

#[test]
fn a_round_trip_through_the_broker_skips_a_bad_message() {
    let _server = crate::common::shared_server();
    let url = service("mqtt", "WEIR_TEST_MQTT_URL");
    let unique = format!("{}-{}", std::process::id(), fastrand::u32(..));
    let topic = format!("weir/factory/{unique}");
    let table = table();
    let source = table
        .source(&[
            ("url", &url),
            ("topic", &topic),
            ("client-id", &format!("weir-factory-{unique}")),
            ("scan.bad-record-policy", "skip"),
        ])
        .unwrap();
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let reading = Reading::new;
    let sink = table
        .sink(&[
            ("url", &url),
            ("topic", &topic),
            ("client-id", &format!("weir-factory-out-{unique}")),
        ])
        .unwrap();
    // Until the subscription is in place, messages are not kept: probe first.
    let probe = u64::MAX;
    let mut out = Vec::new();
    while out.is_empty() {
        write_all(sink.as_ref(), [reading(probe)]);
        read_for(reader.as_mut(), &woken, &mut out, Duration::from_millis(200)).unwrap();
    }
    // Mosquitto keeps at most 20 messages in flight (unacknowledged until a
    // checkpoint completes): checkpoints between the batches.
    let mut checkpoint = 0;
    let mut complete = |reader: &mut Box<dyn weir_connector_api::source::SourceReader<Reading>>| {
        checkpoint += 1;
        reader.snapshot_state(checkpoint).unwrap();
        reader.notify_checkpoint_complete(checkpoint).unwrap();
    };
    complete(&mut reader);
    // Not a JSON object: skipped by the policy.
    let numbers = MqttSink::new(
        SinkConfig::new(&url, &topic, format!("weir-factory-bad-{unique}")),
        || Numbers,
    );
    write_all(&numbers, [7]);
    let count = |o: &[Reading]| o.iter().filter(|r| r.id != probe).count();
    write_all(sink.as_ref(), (0..10).map(reading));
    read_until(reader.as_mut(), &woken, &mut out, |o| count(o) >= 10).unwrap();
    complete(&mut reader);
    write_all(sink.as_ref(), (10..20).map(reading));
    read_until(reader.as_mut(), &woken, &mut out, |o| count(o) >= 20).unwrap();
    complete(&mut reader);
    out.retain(|r| r.id != probe);
    assert_eq!(out, (0..20).map(reading).collect::<Vec<_>>());
}
