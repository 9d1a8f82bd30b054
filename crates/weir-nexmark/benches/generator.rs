//! Generator throughput on one thread: `cargo bench -p weir-nexmark --bench generator`.
//!
//! Scenarios: `generate` (events built and dropped), `json` (generated and written as
//! JSON lines to `io::sink()`), `csv` (the same as CSV). Name some to run only those;
//! `quick` runs a tenth of the events. Each runs 3 times and prints wall and CPU time
//! and events per CPU-second (the figure that matters on a shared machine).

use std::hint::black_box;
use std::io;
use std::time::Instant;

use cpu_time::ProcessTime;
use weir_nexmark::{write_csv, write_json_lines, ConfigError, EventGenerator, GeneratorConfig, NexmarkConfig};

fn measure(what: &str, run: impl Fn() -> u64) {
    for _ in 0..3 {
        let wall = Instant::now();
        let cpu = ProcessTime::now();
        let events = run();
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu.elapsed().as_secs_f64();
        println!(
            "{what:<10} {events:>10} events  wall {wall:>6.3} s  cpu {cpu:>6.3} s  {:>6.2} M events/s  {:>6.2} M events/CPU-s",
            events as f64 / wall / 1e6,
            events as f64 / cpu / 1e6
        );
    }
}

fn main() -> Result<(), ConfigError> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let quick = args.iter().any(|a| a == "quick");
    let chosen: Vec<&String> = args.iter().filter(|a| *a != "quick").collect();
    let wants = |name: &str| chosen.is_empty() || chosen.iter().any(|a| *a == name);
    let events = if quick { 1_000_000 } else { 10_000_000 };
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: events,
        ..NexmarkConfig::default()
    })?;
    let generator = || EventGenerator::new(config.clone());
    if wants("generate") {
        measure("generate", || {
            let mut n = 0;
            for event in generator() {
                black_box(&event);
                n += 1;
            }
            n
        });
    }
    if wants("json") {
        measure("json", || {
            write_json_lines(generator(), io::sink()).map_or(0, |c| c.total())
        });
    }
    if wants("csv") {
        measure("csv", || {
            write_csv(generator(), io::sink(), io::sink(), io::sink(), true).map_or(0, |c| c.total())
        });
    }
    Ok(())
}
