//! Reads CSV-like lines (`sensor,celsius,epoch-millis`) from a directory of files,
//! keeps the warm readings, and writes them exactly once into hourly partitions
//! with `_SUCCESS` markers, checkpointing every 50 ms. A malformed line is skipped
//! and counted.
//!
//! `cargo run --release -p weir-connector-filesystem --example files`
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use weir::prelude::*;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{FormatError, FormatErrorKind, Serializer};
use weir_connector_filesystem::sink::{CommitTrigger, LineFormat, Partition, PartitionCommit};
use weir_connector_filesystem::{FileSink, FileSource};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    at: i64,
}

/// One line into a reading.
fn parse(line: &[u8], out: &mut Vec<Reading>) -> Result<(), FormatError> {
    let bad = |kind, message: String| FormatError::new(kind, message);
    let text = std::str::from_utf8(line).map_err(|e| bad(FormatErrorKind::Syntax, e.to_string()))?;
    let mut fields = text.split(',');
    let mut next = |name: &str| {
        fields
            .next()
            .ok_or_else(|| bad(FormatErrorKind::MissingField, format!("missing field '{name}'")))
    };
    let sensor = next("sensor")?.to_string();
    let celsius = next("celsius")?
        .parse()
        .map_err(|e| bad(FormatErrorKind::Type, format!("field 'celsius': {e}")))?;
    let at = next("at")?
        .parse()
        .map_err(|e| bad(FormatErrorKind::Type, format!("field 'at': {e}")))?;
    out.push(Reading { sensor, celsius, at });
    Ok(())
}

/// A reading as a CSV line.
struct Csv;

impl Serializer<Reading> for Csv {
    fn serialize(&mut self, r: &Reading, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(format!("{},{},{}", r.sensor, r.celsius, r.at).as_bytes());
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("readings");
    std::fs::create_dir_all(&input)?;
    let start = 1_796_281_200_000i64; // 2026-12-03T07:00:00Z
    for file in 0..3 {
        let mut text = String::new();
        for i in 0..400 {
            let at = start + (file * 400 + i) * 15_000;
            text.push_str(&format!("s{},{:.1},{at}\n", i % 4, 15.0 + (i % 20) as f64));
        }
        if file == 1 {
            text.push_str("s9,warm,not-a-time\n");
        }
        std::fs::write(input.join(format!("readings-{file}.csv")), text)?;
    }

    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).enable_checkpointing(Duration::from_millis(50));
    let source = FileSource::lines([&input], || parse)
        .split_size(4 << 10)
        .bad_records(BadRecordPolicy::Skip)
        .build()?;
    let skipped = source.bad_records();
    let out = dir.path().join("warm");
    let sink = FileSink::builder(&out, LineFormat::new("csv", || Csv).with_header("sensor,celsius,at"))
        .partition_by(|_, timestamp| Partition::hourly(timestamp.unwrap_or(0)))
        .partition_commit(PartitionCommit {
            trigger: CommitTrigger::PartitionTime,
            delay: Duration::from_secs(60),
            ..PartitionCommit::default()
        })
        .build()?;
    env.add_source(source.into_source())
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_secs(5))
                .with_timestamp_assigner(|r: &Reading, _| r.at),
        )
        .filter(|r| r.celsius >= 25.0)
        .add_sink(sink);
    env.execute("warm readings")?;

    println!("skipped {} malformed line(s)", skipped.skipped());
    let mut partitions: Vec<_> = std::fs::read_dir(out.join("dt=2026-12-03"))?
        .flatten()
        .map(|e| e.path())
        .collect();
    partitions.sort();
    for partition in partitions {
        let mut names: Vec<String> = std::fs::read_dir(&partition)?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        let rows: usize = names
            .iter()
            .filter(|n| n.ends_with(".csv"))
            .map(|n| {
                std::fs::read_to_string(partition.join(n))
                    .map(|t| t.lines().count() - 1)
                    .unwrap_or(0)
            })
            .sum();
        println!("{}: {rows} warm readings in {:?}", partition.display(), names);
    }
    Ok(())
}
