//! Parser comparison (preliminary).
use std::hint::black_box;
use std::time::Instant;

use cpu_time::ProcessTime;
use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod nexmark_rows;
use nexmark_rows::NexmarkEvent;

fn measure(what: &str, bytes: usize, run: impl Fn() -> u64) {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !args.is_empty() && !args.iter().any(|a| a == what) {
        return;
    }
    for _ in 0..3 {
        let wall = Instant::now();
        let cpu = ProcessTime::now();
        let n = run();
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu.elapsed().as_secs_f64();
        println!(
            "{what:<24} {n:>9} rec  wall {wall:>6.3} s  cpu {cpu:>6.3} s  {:>6.2} M rec/CPU-s  {:>7.1} MB/CPU-s",
            n as f64 / cpu / 1e6,
            bytes as f64 / cpu / 1e6
        );
    }
}

fn main() {
    let events = 1_000_000;
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: events,
        ..NexmarkConfig::default()
    })
    .unwrap();
    let mut data = Vec::new();
    write_json_lines(EventGenerator::new(config), &mut data).unwrap();
    println!(
        "{} bytes, {:.1} per event",
        data.len(),
        data.len() as f64 / events as f64
    );
    let lines = || data.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    measure("split only", data.len(), || {
        lines().map(|l| black_box(l).len() as u64 * 0 + 1).sum()
    });
    measure("serde_json ignored", data.len(), || {
        lines()
            .map(|l| {
                let e: serde::de::IgnoredAny = serde_json::from_slice(l).unwrap();
                black_box(e);
                1
            })
            .sum()
    });
    measure("sonic_rs ignored", data.len(), || {
        lines()
            .map(|l| {
                let e: serde::de::IgnoredAny = sonic_rs::from_slice(l).unwrap();
                black_box(e);
                1
            })
            .sum()
    });
    measure("serde_json", data.len(), || {
        lines()
            .map(|l| {
                let e: NexmarkEvent = serde_json::from_slice(l).unwrap();
                black_box(e);
                1
            })
            .sum()
    });
    measure("sonic_rs", data.len(), || {
        lines()
            .map(|l| {
                let e: NexmarkEvent = sonic_rs::from_slice(l).unwrap();
                black_box(e);
                1
            })
            .sum()
    });
    measure("simd_json", data.len(), || {
        let mut buf = Vec::new();
        let mut buffers = simd_json::Buffers::default();
        lines()
            .map(|l| {
                buf.clear();
                buf.extend_from_slice(l);
                let e: NexmarkEvent = simd_json::serde::from_slice_with_buffers(&mut buf, &mut buffers).unwrap();
                black_box(e);
                1
            })
            .sum()
    });
}
