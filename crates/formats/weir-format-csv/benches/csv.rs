//! CSV decoding throughput on one thread:
//! `cargo bench -p weir-format-csv --bench csv [-- SCENARIO... [quick]]`.
//!
//! Input: the bid file of 1 000 000 Nexmark events (Flink's default configuration,
//! about 920 000 bids) written by `weir_nexmark::write_csv` with its header line, as
//! `weir nexmark generate --format csv` writes it, held in memory. Scenarios:
//!
//! * `chunks`: `CsvDeserializer<Bid>` (header from the first line) on 1 MiB chunks;
//! * `lines`: the same, one call per line (as for one record per message);
//! * `csv_crate`: the csv crate's own `Reader::deserialize` over the whole file, for
//!   reference.
//!
//! Each runs 3 times and prints records and bytes per CPU-second. `quick` uses a fifth
//! of the events.

use std::hint::black_box;
use std::time::Instant;

use cpu_time::ProcessTime;
use serde::de;
use serde::Deserialize;
use weir_format_csv::{CsvDeserializer, CsvOptions, Deserializer, Header};
use weir_nexmark::{write_csv, Bid, EventGenerator, GeneratorConfig, NexmarkConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A bid of the CSV file, decoded straight into `weir_nexmark::Bid`.
struct BidRow(Bid);

impl<'de> Deserialize<'de> for BidRow {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BidDef::deserialize(d).map(BidRow)
    }
}

#[derive(Deserialize)]
#[serde(remote = "Bid", rename_all = "camelCase")]
struct BidDef {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    #[serde(deserialize_with = "weir_nexmark::reader::sql_timestamp")]
    date_time: i64,
    extra: String,
}

struct Bench {
    chosen: Vec<String>,
    bytes: usize,
}

impl Bench {
    fn run(&self, what: &str, run: impl Fn() -> BenchResult<u64>) -> BenchResult {
        if !self.chosen.is_empty() && !self.chosen.iter().any(|a| a == what) {
            return Ok(());
        }
        for _ in 0..3 {
            let wall = Instant::now();
            let cpu = ProcessTime::now();
            let records = run()?;
            let wall = wall.elapsed().as_secs_f64();
            let cpu = cpu.elapsed().as_secs_f64();
            println!(
                "{what:<10} {records:>8} records  wall {wall:>6.3} s  cpu {cpu:>6.3} s  {:>5.2} M records/CPU-s  {:>6.0} MB/CPU-s",
                records as f64 / cpu / 1e6,
                self.bytes as f64 / cpu / 1e6
            );
        }
        Ok(())
    }
}

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let quick = args.iter().any(|a| a == "quick");
    let chosen = args.into_iter().filter(|a| a != "quick").collect();
    let events = if quick { 200_000 } else { 1_000_000 };
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: events,
        ..NexmarkConfig::default()
    })?;
    let mut bids = Vec::new();
    let counts = write_csv(
        EventGenerator::new(config),
        std::io::sink(),
        std::io::sink(),
        &mut bids,
        true,
    )?;
    println!(
        "{} Nexmark bids as CSV: {} bytes, {:.1} per bid",
        counts.bids,
        bids.len(),
        bids.len() as f64 / counts.bids as f64
    );
    let bench = Bench {
        chosen,
        bytes: bids.len(),
    };
    let options = CsvOptions {
        header: Header::FirstLine,
        ..CsvOptions::default()
    };

    bench.run("chunks", || {
        let mut csv = CsvDeserializer::<BidRow>::new(options.clone())?;
        let mut out = Vec::with_capacity(1 << 14);
        let mut n = 0;
        let mut rest = &bids[..];
        while !rest.is_empty() {
            let at = (1 << 20).min(rest.len());
            let end = rest[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(rest.len(), |i| at + i + 1);
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            csv.deserialize(chunk, &mut out)?;
            n += out.len() as u64;
            black_box(&out);
            out.clear();
        }
        Ok(n)
    })?;
    bench.run("lines", || {
        let mut csv = CsvDeserializer::<BidRow>::new(options.clone())?;
        let mut out = Vec::with_capacity(1024);
        let mut n = 0;
        for line in bids.split(|b| *b == b'\n') {
            csv.deserialize(line, &mut out)?;
            if out.len() >= 1024 {
                n += out.len() as u64;
                black_box(&out);
                out.clear();
            }
        }
        Ok(n + out.len() as u64)
    })?;
    bench.run("csv_crate", || {
        let mut reader = csv::Reader::from_reader(&bids[..]);
        let mut n = 0;
        for bid in reader.deserialize::<BidRow>() {
            black_box(bid?.0);
            n += 1;
        }
        Ok(n)
    })?;
    Ok(())
}
