//! The counting job of the savepoint tests (shared with the S3 storage test):
//! value, list and map state per key and event-time windows, written to an
//! exactly-once file sink, with its oracle.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weir_connectors::GeneratorSource;
use weir_core::{BoxError, RestartStrategy, RocksDbOptions, StateBackendConfig};
use weir_datastream::functions::{KeyedContext, KeyedProcessFunction};
use weir_datastream::window::TumblingEventTimeWindows;
use weir_datastream::{
    Collector, ListStateDescriptor, MapStateDescriptor, StreamExecutionEnvironment, ValueStateDescriptor,
    WatermarkStrategy,
};

pub const EVENTS: u64 = 30_000;
pub const KEYS: u64 = 97;
pub const WINDOW: i64 = 1_000;

#[derive(Clone)]
pub struct Count {
    count: ValueStateDescriptor<u64>,
    recent: ListStateDescriptor<u64>,
    parity: MapStateDescriptor<bool, u64>,
}

impl KeyedProcessFunction<u64, u64, String> for Count {
    fn process_element(
        &mut self,
        value: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let n = ctx.value(&self.count)?.update(|n| n.copied().unwrap_or(0) + 1)?;
        let mut recent = ctx.list(&self.recent)?;
        let mut kept = recent.get()?;
        kept.push(value);
        if kept.len() > 3 {
            kept.remove(0);
        }
        recent.update(kept.clone())?;
        let mut parity = ctx.map(&self.parity)?;
        let even = value.is_multiple_of(2);
        let m = parity.get(&even)?.unwrap_or(0) + 1;
        parity.put(even, m)?;
        out.collect(format!("c {} {n} {kept:?} {even} {m}", value % KEYS));
        Ok(())
    }
}

pub fn oracle() -> Vec<String> {
    let mut lines = Vec::new();
    let mut recent: Vec<Vec<u64>> = vec![Vec::new(); KEYS as usize];
    let mut parity = vec![[0u64; 2]; KEYS as usize];
    for i in 0..EVENTS {
        let k = (i % KEYS) as usize;
        recent[k].push(i);
        if recent[k].len() > 3 {
            recent[k].remove(0);
        }
        let even = i % 2 == 0;
        parity[k][even as usize] += 1;
        lines.push(format!(
            "c {k} {} {:?} {even} {}",
            i / KEYS + 1,
            recent[k],
            parity[k][even as usize]
        ));
    }
    let mut windows = std::collections::BTreeMap::<(u64, i64), u64>::new();
    for i in 0..EVENTS {
        *windows.entry((i % KEYS, i as i64 / WINDOW * WINDOW)).or_default() += 1;
    }
    for ((k, start), n) in windows {
        lines.push(format!("w {k} {start} {n}"));
    }
    lines.sort();
    lines
}

pub fn env(parallelism: usize, rocksdb: Option<&Path>, dir: &Path) -> StreamExecutionEnvironment {
    env_with(parallelism, rocksdb, false, dir)
}

pub fn env_with(
    parallelism: usize,
    rocksdb: Option<&Path>,
    incremental: bool,
    dir: &Path,
) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(50))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    if let Some(local) = rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: local.to_path_buf(),
            memory_budget: 16 << 20,
            inline_snapshot_bytes: 0,
            incremental_checkpoints: incremental,
            ..Default::default()
        }));
    }
    env
}

/// Builds the job; `with_window` false leaves the window operator out.
pub fn build(env: &StreamExecutionEnvironment, out: &Path, with_window: bool) {
    let events = env
        .add_source(
            GeneratorSource::new(|i| i)
                .with_count(EVENTS)
                .with_rate_limit(10_000.0)
                .with_records_per_poll(16),
        )
        .uid("source")
        // One reader: every key sees its records in order, as the oracle does.
        .set_parallelism(1)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|i: &u64, _| *i as i64),
        )
        .uid("timestamps")
        .set_parallelism(1);
    let counts = events
        .key_by(|i| i % KEYS)
        .process(Count {
            count: ValueStateDescriptor::new("count"),
            recent: ListStateDescriptor::new("recent"),
            parity: MapStateDescriptor::new("parity"),
        })
        .uid("count");
    let lines = if with_window {
        let windows = events
            .map(|i| (i % KEYS, 1u64))
            .uid("pairs")
            .key_by(|t| t.0)
            .window(TumblingEventTimeWindows::of(Duration::from_millis(WINDOW as u64)))
            .process_fn(|ctx, records, out| {
                out.collect(format!("w {} {} {}", ctx.key(), ctx.window().start, records.len()));
                Ok(())
            })
            .uid("window");
        counts.union(&windows)
    } else {
        counts
    };
    lines.sink_to_files(out).uid("sink");
}

/// Runs until `checkpoints` checkpoints completed, then stops with a savepoint.
pub fn run_and_stop(env: &StreamExecutionEnvironment, out: &Path, savepoints: &Path, checkpoints: u64) -> PathBuf {
    build(env, out, true);
    let client = env.execute_async("savepoints").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.completed_checkpoints() < checkpoints {
        assert!(!client.is_finished(), "the job ended before it could be stopped");
        assert!(Instant::now() < deadline, "no checkpoint completed within a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
    let savepoint = client.stop_with_savepoint(savepoints).unwrap();
    let result = client.wait().unwrap();
    assert_eq!(result.savepoint.as_deref(), Some(savepoint.as_path()));
    savepoint
}
