//! State backends and savepoints: count words on RocksDB, stop the job with a
//! savepoint, and resume it from the savepoint on the heap at parallelism 1.
//!
//! `cargo run --release -p weir --example state_backends`
//!
//! The exactly-once file sink collects the output of both runs in one directory:
//! every word's final count is right although the job moved between backends.

use std::time::{Duration, Instant};
use weir::prelude::*;

const WORDS: [&str; 5] = ["river", "weir", "stream", "lock", "dam"];
const RECORDS: u64 = 50_000;

fn build(env: &StreamExecutionEnvironment, out: &std::path::Path) {
    env.add_source(
        GeneratorSource::new(|i| WORDS[(i % 5) as usize].to_string())
            .with_count(RECORDS)
            .with_rate_limit(25_000.0),
    )
    .uid("words")
    .set_parallelism(1)
    .map(|w| (w, 1u64))
    .uid("pairs")
    .key_by(|(w, _)| w.clone())
    .sum(|(_, n)| n)
    .uid("counts")
    .map(|(w, n)| format!("{w} {n}"))
    .uid("lines")
    .sink_to_files(out)
    .uid("files");
}

fn main() -> Result<(), WeirError> {
    let dir = std::env::temp_dir().join(format!("weir-state-backends-{}", std::process::id()));
    let out = dir.join("out");

    // Run 1: RocksDB, parallelism 2, checkpoints every 100 ms.
    let first = StreamExecutionEnvironment::new();
    first
        .set_parallelism(2)
        .set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: dir.join("rocksdb"),
            memory_budget: 32 << 20,
            ..Default::default()
        }))
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(dir.join("checkpoints"));
    build(&first, &out);
    let client = first.execute_async("counts on rocksdb")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.completed_checkpoints() < 3 && Instant::now() < deadline && !client.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let savepoint = client.stop_with_savepoint(dir.join("savepoints"))?;
    client.wait()?;
    println!("stopped with savepoint {}", savepoint.display());

    // Run 2: the heap, parallelism 1, from the savepoint to the end of the input.
    let second = StreamExecutionEnvironment::new();
    second
        .set_parallelism(1)
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .restore_from(&savepoint);
    build(&second, &out);
    second.execute("counts on the heap")?;

    let mut finals = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&out).map_err(|e| WeirError::Config(e.to_string()))? {
        let path = entry.map_err(|e| WeirError::Config(e.to_string()))?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| WeirError::Config(e.to_string()))?;
        for line in text.lines() {
            if let Some((word, n)) = line.split_once(' ') {
                let n: u64 = n.parse().unwrap_or(0);
                let best = finals.entry(word.to_string()).or_insert(0);
                *best = (*best).max(n);
            }
        }
    }
    for (word, n) in &finals {
        println!("{word}: {n} (expected {})", RECORDS / 5);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
