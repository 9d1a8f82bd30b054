//! `connector = 'nats'` through the registry with the JSON format: options
//! checked (typos, bad values, missing ones reported), and a round trip through
//! the real server with a bad message skipped by `scan.bad-record-policy`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::SubtaskInfo;
use weir_connector_nats::{NatsFactory, NatsSink, SinkConfig};
use weir_connector_testkit::factory::{Reading, Table};
use weir_connector_testkit::{context, read_until, service, write_all, Numbers};

fn table() -> Table {
    Table::new("nats", NatsFactory::register)
}

const URL: &str = "nats://127.0.0.1:14222";

#[test]
fn sources_and_sinks_are_built_from_options() {
    let _server = crate::common::shared_server();
    let table = table();
    let source = table.source(&[
        ("url", URL),
        ("stream", "READINGS"),
        ("consumer", "weir-job"),
        ("stream.subjects", "readings.eu, readings.us"),
        ("scan.filter-subject", "readings.eu"),
        ("scan.ack-wait", "2 min"),
        ("scan.max-ack-pending", "5000"),
        ("scan.bad-record-policy", "dead-letter"),
        ("connect.give-up-after", "never"),
    ]);
    assert!(source.is_ok(), "{:?}", source.err());
    assert_eq!(source.unwrap().max_parallelism(), Some(1));
    let sink = table.sink(&[("url", URL), ("subject", "out"), ("connect.give-up-after", "5 s")]);
    assert!(sink.is_ok(), "{:?}", sink.err());
}

#[test]
fn bad_options_are_reported() {
    let _server = crate::common::shared_server();
    let table = table();
    let source_error = |pairs: &[(&str, &str)]| {
        let mut all = vec![("url", URL)];
        all.extend_from_slice(pairs);
        table.source_error(&all)
    };
    let base = [("stream", "S"), ("consumer", "c")];
    let with = |extra: (&'static str, &'static str)| {
        let mut all = base.to_vec();
        all.push(extra);
        all
    };
    let typo = source_error(&with(("scan.ack-wiat", "5 s")));
    assert!(
        typo.contains("scan.ack-wiat") && typo.contains("nats table 'readings'"),
        "{typo}"
    );
    let wait = source_error(&with(("scan.ack-wait", "soon")));
    assert!(wait.contains("scan.ack-wait") && wait.contains("soon"), "{wait}");
    let pending = source_error(&with(("scan.max-ack-pending", "lots")));
    assert!(pending.contains("scan.max-ack-pending"), "{pending}");
    let consumer = source_error(&[("stream", "S")]);
    assert!(consumer.contains("'consumer'"), "{consumer}");
    let subject = table.sink_error(&[("url", URL)]);
    assert!(subject.contains("'subject'"), "{subject}");
}

/// Publishes through `sink` once the stream exists (the reader creates it
/// asynchronously; until then a publish has no responder and is not stored).
fn publish_when_the_stream_exists(sink: &dyn Sink<u64>) {
    for _ in 0..200 {
        let context = SinkContext {
            info: SubtaskInfo::new("probe", 0, 1, 128),
            checkpointing: true,
            restored: None,
        };
        let mut writer = sink.create_writer(&context).unwrap();
        writer.write(1, None).unwrap();
        if writer.snapshot_state(1).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the stream was not created");
}

#[test]
fn a_round_trip_through_the_server_skips_a_bad_message() {
    let _server = crate::common::shared_server();
    let url = service("nats", "WEIR_TEST_NATS_URL");
    let stream = format!("weir-factory-{}-{}", std::process::id(), fastrand::u32(..));
    let subject = format!("{stream}.in");
    let table = table();
    let source = table
        .source(&[
            ("url", &url),
            ("stream", &stream),
            ("consumer", "weir"),
            ("stream.subjects", &subject),
            ("scan.bad-record-policy", "skip"),
        ])
        .unwrap();
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    // The first message, not a JSON object, is skipped by the policy.
    publish_when_the_stream_exists(&NatsSink::new(SinkConfig::new(&url, &subject), || Numbers));
    let sink = table.sink(&[("url", &url), ("subject", &subject)]).unwrap();
    write_all(sink.as_ref(), (0..20).map(Reading::new));
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 20).unwrap();
    assert_eq!(out, (0..20).map(Reading::new).collect::<Vec<_>>());
}
