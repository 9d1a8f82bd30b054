//! The write-ahead-log and idempotent sink patterns.
//!
//! `cargo run -p weir --example sink_patterns`
//!
//! * A write-ahead-log sink keeps each checkpoint's output in the checkpoint and
//!   hands it to a batch writer when the checkpoint completes: it works with any
//!   system, with results visible per checkpoint.
//! * An idempotent sink writes at once with deterministic keys into a store where
//!   writing a key again replaces it: replays after a failure rewrite the same
//!   values, so the store converges to the exact result.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::connectors::BatchId;
use weir::prelude::*;

fn main() -> Result<(), WeirError> {
    let dir = std::env::temp_dir().join(format!("weir-sink-patterns-{}", std::process::id()));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(dir.join("checkpoints"));

    let counts = env
        .add_source(
            GeneratorSource::new(|i| i % 10)
                .with_count(100_000)
                .with_rate_limit(500_000.0),
        )
        .map(|k| (k, 1u64))
        .key_by(|(k, _)| *k)
        .sum(|(_, n)| n);

    // Write-ahead log: one batch per subtask and completed checkpoint, stored by
    // its id (a batch written again after a failure replaces itself).
    let batches: Arc<Mutex<BTreeMap<BatchId, usize>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let log = batches.clone();
    counts
        .add_sink(ExactlyOnce::new(WriteAheadLogSink::new(
            move |id: BatchId, records: &[(u64, u64)]| {
                log.lock().map_err(|_| "poisoned")?.insert(id, records.len());
                Ok(())
            },
        )))
        .name("write-ahead log");

    // Idempotent: the latest count per key, upserted by key.
    let store = Arc::new(MemoryKeyValueStore::<u64, u64>::new());
    counts
        .add_sink(IdempotentSink::new(
            store.clone(),
            |(k, _): &(u64, u64)| *k,
            |(_, n): &(u64, u64)| *n,
        ))
        .name("idempotent upserts");

    env.execute("sink patterns")?;

    let batches = batches.lock().map_err(|_| WeirError::Internal("poisoned".into()))?;
    let logged: usize = batches.values().sum();
    println!("write-ahead log: {} batches, {logged} records", batches.len());
    let mut entries: Vec<(u64, u64)> = store.entries().into_iter().collect();
    entries.sort();
    println!("idempotent store after {} writes: {entries:?}", store.writes());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
