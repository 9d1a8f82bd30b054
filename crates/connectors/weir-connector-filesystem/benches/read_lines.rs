//! Throughput of the file source alone: a file of JSON-like lines read by a job
//! whose deserializer does almost nothing (it emits each line's length), at
//! parallelism 1, in lines per CPU-second of the whole process.
//!
//! `cargo bench -p weir-connector-filesystem --bench read_lines [-- LINES]`
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::time::Instant;
use weir::prelude::*;
use weir_connector_api::format::FormatError;
use weir_connector_filesystem::FileSource;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let lines: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..lines {
        writeln!(
            out,
            r#"{{"event_type":2,"person":null,"auction":null,"bid":{{"auction":{},"bidder":{},"price":{},"channel":"Google","url":"https://www.nexmark.com/xyz/item.htm?query=1","dateTime":"2026-12-03 07:00:00.{:03}","extra":""}}}}"#,
            1000 + i % 97,
            2000 + i % 89,
            i % 10_000,
            i % 1000
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let bytes = std::fs::metadata(&path).unwrap().len();

    for round in 0..3 {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let source = FileSource::lines([&path], || {
            |line: &[u8], out: &mut Vec<u32>| -> Result<(), FormatError> {
                out.push(line.len() as u32);
                Ok(())
            }
        })
        .build()
        .unwrap();
        env.add_source(source.into_source()).discard();
        let cpu = cpu_time::ProcessTime::now();
        let wall = Instant::now();
        env.execute("read lines").unwrap();
        let cpu = cpu.elapsed().as_secs_f64();
        let wall = wall.elapsed().as_secs_f64();
        println!(
            "round {round}: {lines} lines ({:.0} MB) in {wall:.2} s wall, {cpu:.2} CPU-s: {:.2} M lines/CPU-s, {:.0} MB/CPU-s",
            bytes as f64 / 1e6,
            lines as f64 / cpu / 1e6,
            bytes as f64 / cpu / 1e6
        );
    }
}
