//! The `filesystem` connector found by name with the real JSON format: a job from
//! JSON-lines files to partitioned JSON-lines files configured by string options.
#![allow(clippy::unwrap_used, missing_docs)]

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir::prelude::*;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, Typed};
use weir_connector_filesystem::factory::register;
use weir_connector_filesystem::sink::Partition;
use weir_format_json::JsonFormatFactory;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Bid {
    auction: i64,
    price: i64,
}

fn registry() -> Registry<Typed<Bid>> {
    let mut registry = Registry::new();
    registry.register_format(Arc::new(JsonFormatFactory::<Bid>::default()));
    register(
        &mut registry,
        Some(Arc::new(|bid: &Bid, _| {
            Partition::new(format!("auction={}", bid.auction))
        })),
    );
    registry
}

#[test]
fn json_files_to_partitioned_json_files_by_options() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bids");
    std::fs::create_dir_all(&input).unwrap();
    let mut expected = Vec::new();
    let mut text = String::new();
    for i in 0..500 {
        let bid = Bid {
            auction: i % 3,
            price: i,
        };
        text.push_str(&serde_json::to_string(&bid).unwrap());
        text.push('\n');
        expected.push(bid);
    }
    text.push_str("{\"auction\": \"not a number\", \"price\": 1}\n");
    std::fs::write(input.join("bids.json"), text).unwrap();
    let registry = registry();
    let source = registry
        .source(
            &(),
            &Options::new("table 'bids'")
                .with("connector", "filesystem")
                .with("path", input.display().to_string())
                .with("format", "json")
                .with("source.split-size", "1kb")
                .with("bad-records", "skip"),
        )
        .unwrap();
    let out = dir.path().join("out");
    let sink = registry
        .sink(
            &(),
            &Options::new("table 'by_auction'")
                .with("connector", "filesystem")
                .with("path", out.display().to_string())
                .with("format", "json")
                .with("partition.fields", "auction")
                .with("sink.rolling-policy.file-size", "2kb")
                .with("sink.partition-commit.delay", "0 s"),
        )
        .unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(std::time::Duration::from_millis(10));
    env.add_source(ArcSource(source)).add_sink(ArcSink(sink));
    env.execute("bids by auction").unwrap();
    let mut got = Vec::new();
    for auction in 0..3 {
        let partition = out.join(format!("auction={auction}"));
        assert!(partition.join("_SUCCESS").exists(), "{}", partition.display());
        for file in std::fs::read_dir(&partition).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().to_string();
            if name.ends_with(".json") {
                for line in std::fs::read_to_string(file.path()).unwrap().lines() {
                    let bid: Bid = serde_json::from_str(line).unwrap();
                    assert_eq!(bid.auction, auction);
                    got.push(bid);
                }
            }
        }
    }
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // A missing path names it; an unknown option is reported.
    let missing = dir.path().join("nope");
    let error = registry
        .source(
            &(),
            &Options::new("table 'x'")
                .with("connector", "filesystem")
                .with("path", missing.display().to_string())
                .with("format", "json"),
        )
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains(&missing.display().to_string()), "{error}");
    let error = registry
        .sink(
            &(),
            &Options::new("table 'x'")
                .with("connector", "filesystem")
                .with("path", "/tmp/x")
                .with("format", "json")
                .with("partition.fields", "auction")
                .with("sink.rolling-policy.fil-size", "1mb"),
        )
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("sink.rolling-policy.fil-size"), "{error}");
}

/// The registry hands out shared sources and sinks; the DataStream API takes them
/// by value.
struct ArcSource(Arc<dyn weir::connector_api::source::Source<Bid>>);

impl weir::connector_api::source::Source<Bid> for ArcSource {
    fn boundedness(&self) -> weir::connector_api::source::Boundedness {
        self.0.boundedness()
    }
    fn state_distribution(&self) -> weir::connector_api::source::SplitStateDistribution {
        self.0.state_distribution()
    }
    fn create_reader(
        &self,
        context: &weir::connector_api::source::ReaderContext,
    ) -> Result<Box<dyn weir::connector_api::source::SourceReader<Bid>>, BoxError> {
        self.0.create_reader(context)
    }
}

struct ArcSink(Arc<dyn weir::connector_api::sink::Sink<Bid>>);

impl weir::connector_api::sink::Sink<Bid> for ArcSink {
    fn create_writer(
        &self,
        context: &weir::connector_api::sink::SinkContext,
    ) -> Result<Box<dyn weir::connector_api::sink::SinkWriter<Bid>>, BoxError> {
        self.0.create_writer(context)
    }
}
