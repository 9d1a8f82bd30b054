//! Window throughput: a sliding event-time window (size 10 s, slide 2 s) counting
//! per key over 10 M events with 10 000 keys, at parallelism 1 and 2; events per
//! CPU-second and peak memory. Also the same window through the general window
//! operator (which keeps one accumulator per window instead of per slice), and a
//! tumbling window, for comparison.
//!
//! `cargo bench -p weir --bench windows` (`quick` for 2 M events; `sliced`,
//! `general` or `tumbling` to run one variant).
#![allow(missing_docs, clippy::unwrap_used)]

use cpu_time::ProcessTime;
use std::time::{Duration, Instant};
use weir::prelude::*;

mod support;

use support::peak_rss_mib;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEYS: u64 = 10_000;

/// Counts records.
struct Count;

impl AggregateFunction<(u64, i64), u64, u64> for Count {
    fn create_accumulator(&self) -> u64 {
        0
    }
    fn add(&self, acc: &mut u64, _: (u64, i64)) {
        *acc += 1;
    }
    fn get_result(&self, acc: &u64) -> u64 {
        *acc
    }
    fn merge(&self, a: u64, b: u64) -> u64 {
        a + b
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// Sliding 10 s / 2 s, sliced operator.
    Sliding,
    /// Sliding 10 s / 2 s through the general operator (1 ms of allowed lateness
    /// turns slicing off).
    SlidingGeneral,
    /// Tumbling 2 s.
    Tumbling,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Sliding => "sliding 10 s / 2 s (sliced)",
            Variant::SlidingGeneral => "sliding 10 s / 2 s (general operator)",
            Variant::Tumbling => "tumbling 2 s",
        }
    }
}

struct Outcome {
    wall: Duration,
    cpu: Duration,
    results: u64,
}

/// `per_ms` events per millisecond of event time (10: one per key and second).
fn run(events: u64, per_ms: u64, parallelism: usize, variant: Variant) -> Outcome {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let source = GeneratorSource::new(move |i: u64| {
        (
            (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) % KEYS,
            (i / per_ms) as i64,
        )
    })
    .with_count(events);
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(100))
        .with_timestamp_assigner(|e: &(u64, i64), _| e.1);
    let keyed = env.from_source(source, strategy, "events").key_by(|e| e.0);
    let windowed = match variant {
        Variant::Sliding => keyed.window(SlidingEventTimeWindows::of(
            Duration::from_secs(10),
            Duration::from_secs(2),
        )),
        Variant::SlidingGeneral => keyed
            .window(SlidingEventTimeWindows::of(
                Duration::from_secs(10),
                Duration::from_secs(2),
            ))
            .allowed_lateness(Duration::from_millis(1)),
        Variant::Tumbling => keyed.window(TumblingEventTimeWindows::of(Duration::from_secs(2))),
    };
    let counts = windowed.aggregate(Count);
    let results = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = results.clone();
    counts
        .map(move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .discard();
    let cpu = ProcessTime::now();
    let wall = Instant::now();
    env.execute("window count").unwrap();
    Outcome {
        wall: wall.elapsed(),
        cpu: cpu.elapsed(),
        results: results.load(std::sync::atomic::Ordering::Relaxed),
    }
}

/// Runs one configuration (best of `repeat` runs) and prints its table row.
fn measure(variant: Variant, per_ms: u64, parallelism: usize, events: u64, repeat: usize) {
    let best = (0..repeat)
        .map(|_| run(events, per_ms, parallelism, variant))
        .min_by_key(|o| o.cpu)
        .unwrap();
    println!(
        "| {} | {per_ms} | {parallelism} | {:.2} | {:.2} | {:.2} M | {:.2} M | {} | {:.0} |",
        variant.name(),
        best.wall.as_secs_f64(),
        best.cpu.as_secs_f64(),
        events as f64 / best.wall.as_secs_f64() / 1e6,
        events as f64 / best.cpu.as_secs_f64() / 1e6,
        best.results,
        peak_rss_mib(),
    );
}

const VARIANTS: [(&str, Variant); 3] = [
    ("sliced", Variant::Sliding),
    ("general", Variant::SlidingGeneral),
    ("tumbling", Variant::Tumbling),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    // `one <variant> <per_ms> <parallelism> <events> <repeat>`: a child process
    // measuring one configuration, so that its peak memory is its own.
    if let [one, variant, per_ms, parallelism, events, repeat] = args.as_slice() {
        if one == "one" {
            let variant = VARIANTS.iter().find(|(n, _)| n == variant).unwrap().1;
            measure(
                variant,
                per_ms.parse().unwrap(),
                parallelism.parse().unwrap(),
                events.parse().unwrap(),
                repeat.parse().unwrap(),
            );
            return;
        }
    }
    let quick = args.iter().any(|a| a == "quick");
    let wanted = |name: &str| args.iter().all(|a| a == "quick") || args.iter().any(|a| a == name);
    let events: u64 = if quick { 2_000_000 } else { 10_000_000 };
    let repeat = if quick { 1 } else { 3 };
    println!(
        "\n## Window count per key: {} M events, {KEYS} keys",
        events / 1_000_000
    );
    println!(
        "| window | events per ms of event time | parallelism | wall s | CPU s | events/s | events/CPU-s | results \
         | peak RSS MiB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let me = std::env::current_exe().unwrap();
    for (name, _) in VARIANTS.iter().filter(|(name, _)| wanted(name)) {
        for per_ms in [10, 100] {
            for parallelism in [1, 2] {
                let status = std::process::Command::new(&me)
                    .args(["one", name, &per_ms.to_string(), &parallelism.to_string()])
                    .args([events.to_string(), repeat.to_string()])
                    .status()
                    .unwrap();
                assert!(status.success(), "{name} {per_ms} {parallelism} failed");
            }
        }
    }
}
