//! `connector = 'rabbitmq'` through the registry with the JSON format: options
//! checked (typos, bad values, missing ones reported), and a round trip through
//! the real broker with a bad message skipped by `scan.bad-record-policy`.
#![allow(clippy::unwrap_used)]

use weir_connector_rabbitmq::{RabbitMqFactory, RabbitMqSink, SinkConfig};
use weir_connector_testkit::factory::{Reading, Table};
use weir_connector_testkit::{context, read_until, service, write_all, Numbers};

fn table() -> Table {
    Table::new("rabbitmq", RabbitMqFactory::register)
}

const URI: &str = "amqp://weir:weir@127.0.0.1:15682/%2f";

#[test]
fn sources_and_sinks_are_built_from_options() {
    let _server = crate::common::shared_server();
    let table = table();
    let source = table.source(&[
        ("uri", URI),
        ("queue", "readings"),
        ("queue.declare", "false"),
        ("scan.prefetch", "500"),
        ("scan.delivery-guarantee", "at-least-once"),
        ("scan.bad-record-policy", "skip"),
        ("connect.give-up-after", "never"),
    ]);
    assert!(source.is_ok(), "{:?}", source.err());
    assert_eq!(
        source.unwrap().max_parallelism(),
        None,
        "at-least-once reads in parallel"
    );
    let exactly_once = table.source(&[("uri", URI), ("queue", "q")]).unwrap();
    assert_eq!(exactly_once.max_parallelism(), Some(1));
    for sink in [
        &[("uri", URI), ("queue", "out")][..],
        &[
            ("uri", URI),
            ("exchange", "amq.topic"),
            ("routing-key", "readings.eu"),
            ("connect.give-up-after", "10 s"),
        ],
    ] {
        let sink = table.sink(sink);
        assert!(sink.is_ok(), "{:?}", sink.err());
    }
}

#[test]
fn bad_options_are_reported() {
    let _server = crate::common::shared_server();
    let table = table();
    let error = |pairs: &[(&str, &str)]| {
        let mut all = vec![("uri", URI)];
        all.extend_from_slice(pairs);
        let source = table.source(&all).err().map(|e| e.to_string());
        let sink = table.sink(&all).err().map(|e| e.to_string());
        (source.unwrap_or_default(), sink.unwrap_or_default())
    };
    let (typo, _) = error(&[("queue", "q"), ("scan.prefetsh", "10")]);
    assert!(
        typo.contains("scan.prefetsh") && typo.contains("rabbitmq table 'readings'"),
        "{typo}"
    );
    let (guarantee, _) = error(&[("queue", "q"), ("scan.delivery-guarantee", "twice")]);
    assert!(
        guarantee.contains("scan.delivery-guarantee") && guarantee.contains("twice"),
        "{guarantee}"
    );
    let (policy, _) = error(&[("queue", "q"), ("scan.bad-record-policy", "ignore")]);
    assert!(policy.contains("scan.bad-record-policy"), "{policy}");
    let (missing, missing_sink) = error(&[]);
    assert!(missing.contains("'queue'"), "{missing}");
    assert!(missing_sink.contains("'queue'"), "{missing_sink}");
    let (_, key) = error(&[("exchange", "amq.topic")]);
    assert!(key.contains("'routing-key'"), "{key}");
    let format = table.source_error(&[("uri", URI), ("queue", "q"), ("format", "avro")]);
    assert!(format.contains("avro") && format.contains("json"), "{format}");
}

#[test]
fn a_round_trip_through_the_broker_skips_a_bad_message() {
    let _server = crate::common::shared_server();
    let uri = service("rabbitmq", "WEIR_TEST_RABBITMQ_URL");
    let queue = format!("weir-factory-{}-{}", std::process::id(), fastrand::u32(..));
    let table = table();
    let reading = Reading::new;
    let sink = table.sink(&[("uri", &uri), ("queue", &queue)]).unwrap();
    write_all(sink.as_ref(), (0..10).map(reading));
    // Not a JSON object: skipped by the policy.
    write_all(&RabbitMqSink::new(SinkConfig::to_queue(&uri, &queue), || Numbers), [7]);
    write_all(sink.as_ref(), (10..20).map(reading));
    let source = table
        .source(&[("uri", &uri), ("queue", &queue), ("scan.bad-record-policy", "skip")])
        .unwrap();
    let (ctx, woken) = context(None);
    let mut reader = source.create_reader(&ctx).unwrap();
    let mut out = Vec::new();
    read_until(reader.as_mut(), &woken, &mut out, |o| o.len() >= 20).unwrap();
    assert_eq!(out, (0..20).map(reading).collect::<Vec<_>>());
}
