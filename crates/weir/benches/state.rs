//! State backends: keyed-count throughput and checkpoint cost, heap versus RocksDB.
//!
//! Run with `cargo bench -p weir --bench state` (add `-- quick` for a short run, or
//! a row name: `count`, `large`). Every row runs in a child process of its own (so
//! that its peak memory is its own); the best of three runs is reported.
//!
//! * `count`: generator -> key_by(i % 10 000) -> count per key in value state ->
//!   discard, as Flink's "updating count per key" measurement.
//! * `large`: 4 M keys of ~220 bytes of RocksDB state (~0.9 GB) with a 64 MiB
//!   memory budget, incremental checkpoints every 5 s and one planned failure; every
//!   key must come out exactly once. Set `WEIR_BENCH_DIR` to put its files on a
//!   disk with room (default: the current directory).
#![allow(missing_docs, clippy::unwrap_used)]

mod support;

use cpu_time::ProcessTime;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEYS: u64 = 10_000;

fn env(parallelism: usize, backend: &str, dir: &std::path::Path, budget_mib: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    if backend == "rocksdb" {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: dir.join("rocksdb"),
            memory_budget: budget_mib << 20,
            ..Default::default()
        }));
    }
    env
}

#[derive(Clone)]
struct Count {
    state: ValueStateDescriptor<u64>,
}

impl KeyedProcessFunction<u64, u64, u64> for Count {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, u64>,
    ) -> Result<(), BoxError> {
        let n = ctx.value(&self.state)?.update(|n| n.copied().unwrap_or(0) + 1)?;
        if n == u64::MAX {
            out.collect(value);
        }
        Ok(())
    }
}

/// Child: the keyed count; prints `records cpu_seconds wall_seconds peak_rss_mib`.
fn count_child(backend: &str, parallelism: usize, records: u64) {
    let dir = tempfile::tempdir().unwrap();
    let cpu = ProcessTime::now();
    let wall = Instant::now();
    let env = env(parallelism, backend, dir.path(), 256);
    env.add_source(GeneratorSource::new(|i| i % KEYS).with_count(records))
        .key_by(|k| *k)
        .process(Count {
            state: ValueStateDescriptor::new("count"),
        })
        .discard();
    env.execute("keyed count").unwrap();
    println!(
        "{records} {} {} {}",
        cpu.elapsed().as_secs_f64(),
        wall.elapsed().as_secs_f64(),
        support::peak_rss_mib()
    );
}

#[derive(Clone)]
struct Fill {
    state: ValueStateDescriptor<(u64, Vec<u8>)>,
    fail_at: u64,
    failed: Arc<AtomicBool>,
    seen: u64,
}

fn payload(key: u64) -> Vec<u8> {
    // Incompressible-looking bytes, as real state mostly is.
    let mut x = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..200)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

impl KeyedProcessFunction<u64, u64, u64> for Fill {
    fn process_element(
        &mut self,
        key: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, u64>,
    ) -> Result<(), BoxError> {
        self.seen += 1;
        if self.seen == self.fail_at && !self.failed.swap(true, Ordering::SeqCst) {
            return Err("planned failure (the job must recover from its last checkpoint)".into());
        }
        let mut state = ctx.value(&self.state)?;
        let (n, bytes) = match state.take()? {
            Some((n, bytes)) => (n + 1, bytes),
            None => (1, payload(key)),
        };
        if bytes != payload(key) {
            return Err(format!("key {key}: stored payload differs").into());
        }
        if n == 2 {
            out.collect(key);
        }
        state.set((n, bytes))?;
        Ok(())
    }
}

/// Child: `keys` keys of ~220 bytes of state each on RocksDB with a budget of
/// `budget_mib`, every key updated twice (the second pass after all keys exist),
/// incremental checkpoints, one planned failure half way; prints figures after
/// checking that every key was emitted exactly once.
fn large_child(keys: u64, budget_mib: usize, incremental: bool) {
    let dir = tempfile::tempdir_in(std::env::var("WEIR_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let cpu = ProcessTime::now();
    let wall = Instant::now();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: dir.path().join("rocksdb"),
            memory_budget: budget_mib << 20,
            incremental_checkpoints: incremental,
            ..Default::default()
        }))
        .enable_checkpointing(Duration::from_secs(5))
        .set_checkpoint_dir(dir.path().join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 3,
            delay: Duration::ZERO,
        });
    let out = dir.path().join("out");
    env.add_source(GeneratorSource::new(move |i| i % keys).with_count(2 * keys))
        .set_parallelism(1)
        .key_by(|k| *k)
        .process(Fill {
            state: ValueStateDescriptor::new("payload"),
            fail_at: keys * 3 / 4,
            failed: Arc::new(AtomicBool::new(false)),
            seen: 0,
        })
        .sink_to_files(&out);
    let result = env.execute("large state").unwrap();
    let cpu_s = cpu.elapsed().as_secs_f64();
    let wall_s = wall.elapsed().as_secs_f64();
    let mut emitted = vec![false; keys as usize];
    let mut lines = 0u64;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let key: usize = line.parse().unwrap();
            assert!(!emitted[key], "key {key} emitted twice");
            emitted[key] = true;
            lines += 1;
        }
    }
    assert_eq!(lines, keys, "every key must be emitted exactly once");
    let biggest = result.checkpoints.iter().map(|c| c.state_size).max().unwrap_or(0);
    let listed: Vec<String> = result
        .checkpoints
        .iter()
        .map(|c| {
            format!(
                "{}: {:.2}s {:.1}MB/{:.1}MB",
                c.id,
                c.duration.as_secs_f64(),
                c.bytes as f64 / 1e6,
                c.state_size as f64 / 1e6
            )
        })
        .collect();
    eprintln!("checkpoints (duration, written/referenced): {}", listed.join(", "));
    // Checkpoints after the first of each attempt: what steady state costs.
    let n = result.checkpoints.len().max(1) as f64;
    let mean_written = result.checkpoints.iter().map(|c| c.bytes as f64).sum::<f64>() / n;
    let mean_duration = result.checkpoints.iter().map(|c| c.duration.as_secs_f64()).sum::<f64>() / n;
    let max_sync = result
        .checkpoints
        .iter()
        .map(|c| c.max_sync.as_secs_f64())
        .fold(0.0, f64::max);
    println!(
        "{} {cpu_s} {wall_s} {} {} {} {} {mean_written} {mean_duration} {max_sync}",
        2 * keys,
        support::peak_rss_mib(),
        biggest,
        result.restarts,
        result.checkpoints.len()
    );
}

fn run_child(args: &[String]) -> Vec<f64> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).arg("child").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if line.starts_with("checkpoints") {
            println!("<!-- {} {line} -->", args.join(" "));
        }
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default().to_string();
    line.split_whitespace().filter_map(|v| v.parse().ok()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("child") {
        match args.get(1).map(String::as_str) {
            Some("count") => count_child(&args[2], args[3].parse().unwrap(), args[4].parse().unwrap()),
            Some("large") => large_child(
                args[2].parse().unwrap(),
                args[3].parse().unwrap(),
                args[4] == "incremental",
            ),
            other => panic!("unknown child {other:?}"),
        }
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    let wanted = |name: &str| args.iter().all(|a| a == "quick") || args.iter().any(|a| a == name);
    if wanted("count") {
        println!("| keyed count (10 k keys) | backend | p | records | records/s | records/CPU-s | peak RSS MiB |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for (backend, records) in [("heap", 20_000_000u64), ("rocksdb", 4_000_000)] {
            for p in [1usize, 2] {
                let records = if quick { records / 10 } else { records };
                let mut best: Option<Vec<f64>> = None;
                for _ in 0..if quick { 1 } else { 3 } {
                    let r = run_child(&["count".into(), backend.into(), p.to_string(), records.to_string()]);
                    if best.as_ref().is_none_or(|b| r[1] < b[1]) {
                        best = Some(r);
                    }
                }
                let r = best.unwrap();
                println!(
                    "| updating count | {backend} | {p} | {:.1} M | {:.2} M | {:.2} M | {:.0} |",
                    r[0] / 1e6,
                    r[0] / r[2] / 1e6,
                    r[0] / r[1] / 1e6,
                    r[3]
                );
            }
        }
    }
    if wanted("large") {
        let (keys, budget) = if quick { (400_000u64, 16usize) } else { (4_000_000, 64) };
        println!();
        println!(
            "| large state on RocksDB, p=2, one failure | keys | budget MiB | state MiB | records/CPU-s | wall s | \
             peak RSS MiB | restarts | checkpoints | mean written MiB | mean duration s | max sync s |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for mode in ["incremental", "full"] {
            let r = run_child(&["large".into(), keys.to_string(), budget.to_string(), mode.into()]);
            println!(
                "| {mode} checkpoints every 5 s | {:.1} M | {budget} | {:.0} | {:.2} M | {:.1} | {:.0} | {} | {} | {:.1} | {:.2} | {:.3} |",
                keys as f64 / 1e6,
                r[4] / (1 << 20) as f64,
                r[0] / r[1] / 1e6,
                r[2],
                r[3],
                r[5],
                r[6],
                r[7] / (1 << 20) as f64,
                r[8],
                r[9]
            );
        }
    }
}
