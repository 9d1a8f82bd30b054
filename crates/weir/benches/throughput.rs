//! Throughput of the local runtime, in records per second and per CPU-second.
//!
//! Run with `cargo bench -p weir --bench throughput` (add `-- quick` for a short
//! run, or a scenario name to run only matching scenarios). Each scenario runs
//! several times; the best run is reported next to a plain Rust loop doing the same
//! arithmetic, the floor of Weir's per-record overhead. CPU time is the whole
//! process's (all threads), as the Flink Nexmark harness counts it.
#![allow(missing_docs, clippy::unwrap_used)]

use cpu_time::ProcessTime;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Measurement {
    records: u64,
    wall: Duration,
    cpu: Duration,
    peak_rss_mib: f64,
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }
    fn per_cpu_second(&self) -> f64 {
        self.records as f64 / self.cpu.as_secs_f64()
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<f64>().ok()))
        .map(|pages| pages * 4096.0 / (1024.0 * 1024.0))
        .unwrap_or(f64::NAN)
}

/// Runs `f` while sampling the resident set size every few milliseconds.
fn measure(records: u64, f: impl FnOnce()) -> Measurement {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max((rss_mib() * 1024.0) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let cpu = ProcessTime::now();
    let wall = Instant::now();
    f();
    let m = Measurement {
        records,
        wall: wall.elapsed(),
        cpu: cpu.elapsed(),
        peak_rss_mib: 0.0,
    };
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    Measurement {
        peak_rss_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
        ..m
    }
}

fn best_of(runs: usize, mut f: impl FnMut() -> Measurement) -> Measurement {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs {
        let m = f();
        if best.as_ref().is_none_or(|b| m.per_cpu_second() > b.per_cpu_second()) {
            best = Some(m);
        }
    }
    best.unwrap()
}

fn report(name: &str, m: &Measurement) {
    println!(
        "| {name} | {:.1} M | {:.2} | {:.2} | {:.1} M | {:.1} M | {:.0} |",
        m.records as f64 / 1e6,
        m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
        m.per_second() / 1e6,
        m.per_cpu_second() / 1e6,
        m.peak_rss_mib
    );
}

fn env(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    env
}

/// (a) generator -> map -> filter -> discard, all chained.
fn stateless_chain(records: u64) -> Measurement {
    measure(records, || {
        let env = env(1);
        env.add_source(GeneratorSource::new(|i| i).with_count(records))
            .map(|x| x.wrapping_mul(3).wrapping_add(1))
            .filter(|x| x % 7 != 0)
            .discard();
        env.execute("stateless chain").unwrap();
    })
}

fn stateless_loop(records: u64) -> Measurement {
    measure(records, || {
        let mut kept = 0u64;
        for i in 0..black_box(records) {
            let x = black_box(i).wrapping_mul(3).wrapping_add(1);
            if x % 7 != 0 {
                kept = kept.wrapping_add(black_box(x));
            }
        }
        black_box(kept);
    })
}

const KEYS: u64 = 10_000;

/// (b) generator -> key_by(i % 10 000) -> rolling sum -> discard.
fn keyed_sum(records: u64, parallelism: usize) -> Measurement {
    measure(records, || {
        let env = env(parallelism);
        env.add_source(GeneratorSource::new(|i| (i % KEYS, i)).with_count(records))
            .key_by(|t| t.0)
            .sum(|t| &mut t.1)
            .discard();
        env.execute("keyed sum").unwrap();
    })
}

fn keyed_loop(records: u64) -> Measurement {
    measure(records, || {
        let mut sums: HashMap<u64, u64, foldhash::fast::RandomState> = HashMap::default();
        for i in 0..black_box(records) {
            let sum = sums.entry(i % KEYS).or_insert(0);
            *sum = sum.wrapping_add(i);
            black_box(*sum);
        }
    })
}

/// A fast source feeding a sink that is ~100x slower: backpressure must keep memory
/// flat however many records go through.
fn backpressure_memory(records: u64) -> Measurement {
    measure(records, || {
        let env = env(1);
        env.add_source(GeneratorSource::new(|i| (i, format!("payload-{i:032}"))).with_count(records))
            .rebalance()
            .map(|(i, s)| {
                let mut h = i;
                for _ in 0..200 {
                    h = black_box(h.rotate_left(7) ^ s.len() as u64);
                }
                h
            })
            .discard();
        env.execute("backpressure").unwrap();
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let quick = args.iter().any(|a| a == "quick");
    let filter: Vec<&String> = args.iter().filter(|a| *a != "quick").collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let scale = if quick { 10 } else { 1 };
    let runs = if quick { 1 } else { 3 };

    println!(
        "machine: {} cores; best of {runs} runs; CPU = process CPU time over all threads",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("| scenario | records | wall s | CPU s | records/s | records/CPU-s | peak RSS MiB |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    if wanted("stateless") {
        let n = 200_000_000 / scale;
        report("(a) chained map+filter, p=1", &best_of(runs, || stateless_chain(n)));
        report("(a) plain loop", &best_of(runs, || stateless_loop(n)));
    }
    if wanted("keyed") {
        let n = 20_000_000 / scale;
        report("(b) key_by + rolling sum, p=1", &best_of(runs, || keyed_sum(n, 1)));
        report("(b) key_by + rolling sum, p=2", &best_of(runs, || keyed_sum(n, 2)));
        report("(b) plain loop (HashMap)", &best_of(runs, || keyed_loop(n)));
    }
    if wanted("backpressure") {
        let n = 20_000_000 / scale;
        report(
            "(c) fast source -> slow map (backpressure)",
            &best_of(1, || backpressure_memory(n)),
        );
    }
}
