//! Checkpoint costs: throughput with and without checkpoints, the synchronous and
//! asynchronous parts of a snapshot of 1 GiB of heap state, and recovery time.
//!
//! `cargo bench -p weir --bench checkpointing` (add `throughput`, `state` or
//! `recovery` to run one part; `quick` for a short run).
#![allow(missing_docs, clippy::unwrap_used)]

use cpu_time::ProcessTime;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::prelude::*;

mod support;

use support::peak_rss_mib;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn checkpoint_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("weir-bench-checkpoints")
}

/// generator -> key_by(i % 10 000) -> rolling sum -> discard.
fn keyed_sum(records: u64, parallelism: usize, checkpoint: Option<Duration>) -> (Duration, Duration, usize) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    if let Some(interval) = checkpoint {
        env.enable_checkpointing(interval).set_checkpoint_dir(checkpoint_dir());
    }
    env.add_source(GeneratorSource::new(|i| (i % 10_000, i)).with_count(records))
        .key_by(|t| t.0)
        .sum(|t| &mut t.1)
        .discard();
    let cpu = ProcessTime::now();
    let wall = Instant::now();
    let result = env.execute("keyed sum").unwrap();
    (wall.elapsed(), cpu.elapsed(), result.checkpoints.len())
}

fn throughput(quick: bool) {
    let records = if quick { 20_000_000 } else { 150_000_000 };
    println!("\n## Keyed rolling sum, 10 000 keys, {} M records", records / 1_000_000);
    println!("| parallelism | checkpoints | wall s | CPU s | records/s | records/CPU-s | completed checkpoints |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for parallelism in [1, 2] {
        for checkpoint in [None, Some(Duration::from_secs(1))] {
            // Best of three.
            let best = (0..if quick { 1 } else { 3 })
                .map(|_| keyed_sum(records, parallelism, checkpoint))
                .min_by_key(|r| r.1)
                .unwrap();
            let (wall, cpu, completed) = best;
            println!(
                "| {parallelism} | {} | {:.2} | {:.2} | {:.1} M | {:.1} M | {completed} |",
                checkpoint.map_or("off".to_string(), |d| format!("every {d:?}")),
                wall.as_secs_f64(),
                cpu.as_secs_f64(),
                records as f64 / wall.as_secs_f64() / 1e6,
                records as f64 / cpu.as_secs_f64() / 1e6,
            );
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct Payload {
    id: u64,
    text: String,
}

/// Keeps one ~1 KiB payload per key.
#[derive(Clone)]
struct Keep {
    state: ValueStateDescriptor<Payload>,
}

impl KeyedProcessFunction<u64, Payload, u64> for Keep {
    fn process_element(
        &mut self,
        p: Payload,
        ctx: &mut KeyedContext<'_, u64>,
        _: &mut Collector<'_, u64>,
    ) -> Result<(), BoxError> {
        ctx.value(&self.state)?.set(p)?;
        Ok(())
    }
}

fn large_state(quick: bool) {
    let keys: u64 = if quick { 100_000 } else { 1_000_000 };
    let payload = 1_000;
    println!(
        "\n## Snapshot of {:.2} GiB of heap state ({keys} keys x ~{payload} B), parallelism 1",
        (keys * (payload + 16)) as f64 / (1u64 << 30) as f64
    );
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1)
        .enable_checkpointing(Duration::from_secs(3600))
        .set_checkpoint_dir(checkpoint_dir());
    env.add_source(
        GeneratorSource::new(move |i| Payload {
            id: i,
            text: "x".repeat(payload as usize),
        })
        .with_count(keys),
    )
    .key_by(|p| p.id)
    .process(Keep {
        state: ValueStateDescriptor::new("payload"),
    })
    .discard();
    let started = Instant::now();
    let result = env.execute("large state").unwrap();
    let total = started.elapsed();
    let checkpoint = result.checkpoints.last().unwrap();
    println!(
        "| state bytes written | synchronous part | asynchronous part | checkpoint duration | job wall | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {:.2} GiB | {:.3} ms | {:.2} s | {:.2} s | {:.2} s | {:.0} MiB |",
        checkpoint.bytes as f64 / (1u64 << 30) as f64,
        checkpoint.max_sync.as_secs_f64() * 1e3,
        checkpoint.max_async.as_secs_f64(),
        checkpoint.duration.as_secs_f64(),
        total.as_secs_f64(),
        peak_rss_mib()
    );
    if let Some(dir) = &result.checkpoint_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Fails once after two completed checkpoints; records when it failed and when the
/// next attempt processed its first record.
#[derive(Clone)]
struct FailOnce {
    seen: Arc<AtomicU64>,
    failed_at: Arc<Mutex<Option<Instant>>>,
    resumed_at: Arc<Mutex<Option<Instant>>>,
    attempt: u32,
}

impl ProcessFunction<u64, u64> for FailOnce {
    fn open(&mut self, subtask: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }
    fn process_element(&mut self, v: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        if self.attempt == 0 && self.seen.load(Ordering::SeqCst) >= 2 {
            *self.failed_at.lock().unwrap() = Some(Instant::now());
            return Err("planned failure".into());
        }
        if self.attempt > 0 {
            let mut resumed = self.resumed_at.lock().unwrap();
            if resumed.is_none() {
                *resumed = Some(Instant::now());
            }
        }
        out.collect(v);
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn recovery_once(strategy: Option<RestartStrategy>) -> Duration {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(checkpoint_dir());
    if let Some(strategy) = strategy {
        env.set_restart_strategy(strategy);
    }
    let failed_at = Arc::new(Mutex::new(None));
    let resumed_at = Arc::new(Mutex::new(None));
    env.add_source(GeneratorSource::new(|i| i).with_rate_limit(1_000_000.0))
        .rebalance()
        .process(FailOnce {
            seen: Arc::new(AtomicU64::new(0)),
            failed_at: failed_at.clone(),
            resumed_at: resumed_at.clone(),
            attempt: 0,
        })
        .key_by(|i| i % 1000)
        .sum(|i| i)
        .discard();
    let client = env.execute_async("recovery").unwrap();
    while resumed_at.lock().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    client.stop();
    client.wait().unwrap();
    let failed = failed_at.lock().unwrap().unwrap();
    let resumed = resumed_at.lock().unwrap().unwrap();
    resumed - failed
}

fn recovery(quick: bool) {
    println!("\n## Time from a task failure to processing again (small state, parallelism 2)");
    println!("| restart strategy | runs | median | max |");
    println!("| --- | --- | --- | --- |");
    let runs = if quick { 2 } else { 7 };
    for (name, strategy) in [
        ("default (exponential backoff from 100 ms)", None),
        (
            "fixed delay 0",
            Some(RestartStrategy::FixedDelay {
                attempts: 10,
                delay: Duration::ZERO,
            }),
        ),
    ] {
        let mut times: Vec<Duration> = (0..runs).map(|_| recovery_once(strategy.clone())).collect();
        times.sort();
        println!(
            "| {name} | {runs} | {:.1} ms | {:.1} ms |",
            times[runs / 2].as_secs_f64() * 1e3,
            times[runs - 1].as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let quick = args.iter().any(|a| a == "quick");
    let wanted = |name: &str| args.iter().all(|a| a == "quick") || args.iter().any(|a| a == name);
    println!(
        "machine: {} cores; CPU = process CPU time over all threads; checkpoints in {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        checkpoint_dir().display()
    );
    if wanted("throughput") {
        throughput(quick);
    }
    if wanted("recovery") {
        recovery(quick);
    }
    if wanted("state") {
        large_state(quick);
    }
    let _ = std::fs::remove_dir_all(checkpoint_dir());
}
