//! `connector = 'kafka'` through the registry: options by Flink's names, typos and
//! missing options reported (no broker needed: clients connect when a job runs).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use weir_connector_api::format::{Deserializer, Serializer, Utf8Text};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{FormatFactory, Registry, Typed};
use weir_connector_api::ConnectorError;
use weir_connector_kafka::KafkaFactory;

struct Text;

impl FormatFactory<Typed<String>> for Text {
    fn name(&self) -> &'static str {
        "text"
    }
    fn deserializer(&self, _: &(), _: &Options) -> Result<Box<dyn Deserializer<String>>, ConnectorError> {
        Ok(Box::new(Utf8Text))
    }
    fn serializer(&self, _: &(), _: &Options) -> Result<Box<dyn Serializer<String>>, ConnectorError> {
        Ok(Box::new(Utf8Text))
    }
}

fn registry() -> Registry<Typed<String>> {
    let mut registry = Registry::new();
    registry.register_format(Arc::new(Text));
    KafkaFactory::register(&mut registry);
    registry
}

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut options = Options::new("kafka table 'words'");
    for (k, v) in pairs {
        options = options.with(*k, *v);
    }
    options
}

#[test]
fn sources_and_sinks_are_built_from_options() {
    let registry = registry();
    let source = registry.source(
        &(),
        &options(&[
            ("connector", "kafka"),
            ("topic", "words"),
            ("properties.bootstrap.servers", "127.0.0.1:19092"),
            ("properties.group.id", "g"),
            ("properties.fetch.max.bytes", "1048576"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
            ("scan.topic-partition-discovery.interval", "30 s"),
            ("format", "text"),
        ]),
    );
    assert!(source.is_ok(), "{:?}", source.err());
    let sink = registry.sink(
        &(),
        &options(&[
            ("connector", "kafka"),
            ("topic", "out"),
            ("properties.bootstrap.servers", "127.0.0.1:19092"),
            ("sink.delivery-guarantee", "exactly-once"),
            ("sink.transactional-id-prefix", "job-1"),
            ("sink.transaction-timeout", "5 min"),
            ("format", "text"),
        ]),
    );
    assert!(sink.is_ok(), "{:?}", sink.err());
}

#[test]
fn bad_options_are_reported() {
    let registry = registry();
    let base = [
        ("connector", "kafka"),
        ("topic", "words"),
        ("properties.bootstrap.servers", "127.0.0.1:19092"),
        ("format", "text"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        options(&all)
    };
    let typo = registry
        .source(&(), &with(&[("scan.starup.mode", "earliest-offset")]))
        .err()
        .unwrap()
        .to_string();
    assert!(typo.contains("scan.starup.mode"), "{typo}");
    let mode = registry
        .source(&(), &with(&[("scan.startup.mode", "newest")]))
        .err()
        .unwrap()
        .to_string();
    assert!(mode.contains("scan.startup.mode") && mode.contains("newest"), "{mode}");
    let missing = registry
        .source(&(), &options(&[("connector", "kafka"), ("format", "text")]))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("'topic'"), "{missing}");
    let prefix = registry
        .sink(&(), &with(&[("sink.delivery-guarantee", "exactly-once")]))
        .err()
        .unwrap()
        .to_string();
    assert!(prefix.contains("sink.transactional-id-prefix"), "{prefix}");
}
