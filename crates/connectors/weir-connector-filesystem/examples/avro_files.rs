//! Reads a directory of Avro object container files (written here with
//! apache-avro, deflate-compressed, in blocks of about 4 KiB) as 2 KiB splits at
//! parallelism 2, checkpointing every 20 ms, and writes the bids over 500 as
//! JSON lines exactly once.
//!
//! `cargo run --release -p weir-connector-filesystem --features avro --example avro_files`
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir::prelude::*;
use weir_connector_api::format::{FormatError, Serializer};
use weir_connector_filesystem::sink::LineFormat;
use weir_connector_filesystem::{AvroSource, FileSink};

const SCHEMA: &str = r#"{"type": "record", "name": "Bid", "namespace": "nexmark", "fields": [
    {"name": "auction", "type": "long"},
    {"name": "bidder", "type": "long"},
    {"name": "price", "type": "long"},
    {"name": "channel", "type": "string"}
]}"#;

/// The struct's name is the record's (apache-avro matches records by name); the
/// file's `channel` field is not read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
}

/// A bid as a JSON line.
struct Json;

impl Serializer<Bid> for Json {
    fn serialize(&mut self, bid: &Bid, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(
            format!(
                r#"{{"auction":{},"bidder":{},"price":{}}}"#,
                bid.auction, bid.bidder, bid.price
            )
            .as_bytes(),
        );
        Ok(())
    }
}

#[derive(serde::Serialize)]
struct WrittenBid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("bids");
    std::fs::create_dir_all(&input)?;
    let schema = apache_avro::Schema::parse_str(SCHEMA)?;
    let mut expected = 0;
    for file in 0..3i64 {
        let mut writer = apache_avro::Writer::builder()
            .schema(&schema)
            .writer(Vec::new())
            .codec(apache_avro::Codec::Deflate(Default::default()))
            .block_size(4 << 10)
            .build()?;
        for i in 0..2_000 {
            let price = (i * 37 + file * 11) % 1_000;
            expected += usize::from(price > 500);
            writer.append_ser(WrittenBid {
                auction: i % 50,
                bidder: file * 10_000 + i,
                price,
                channel: format!("channel-{}", i % 7),
            })?;
        }
        std::fs::write(input.join(format!("bids-{file}.avro")), writer.into_inner()?)?;
    }

    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).enable_checkpointing(Duration::from_millis(20));
    let source = AvroSource::<Bid>::builder([&input]).split_size(2 << 10).build()?;
    let out = dir.path().join("high");
    let sink = FileSink::builder(&out, LineFormat::new("json", || Json)).build()?;
    env.add_source(source.into_source())
        .filter(|bid: &Bid| bid.price > 500)
        .add_sink(sink);
    env.execute("avro files")?;

    let mut lines = 0;
    for file in std::fs::read_dir(&out)?.flatten() {
        if !file.file_name().to_string_lossy().starts_with('.') {
            lines += std::fs::read_to_string(file.path())?.lines().count();
        }
    }
    println!("{lines} bids over 500 of 6000 read from 3 Avro files (expected {expected})");
    assert_eq!(lines, expected);
    Ok(())
}
