//! Savepoints: stop a job with a savepoint and resume it at another parallelism
//! and on the other state backend; the committed output must equal the oracle.
//!
//! The job counts records per key in value, list and map state and counts them per
//! key in event-time tumbling windows (window contents and timers in keyed state).
//! Run 1 (parallelism 2, heap) stops with a savepoint; run 2 resumes it at
//! parallelism 3 on RocksDB and stops with another; run 3 resumes that at
//! parallelism 1 on the heap and reads to the end. All three write to the same
//! exactly-once file sink.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{assert_same_lines, committed_lines, run_with_watchdog};
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

const EVENTS: u64 = 30_000;
const KEYS: u64 = 97;
const WINDOW: i64 = 1_000;

#[derive(Clone)]
struct Count {
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
        let even = value % 2 == 0;
        let m = parity.get(&even)?.unwrap_or(0) + 1;
        parity.put(even, m)?;
        out.collect(format!("c {} {n} {kept:?} {even} {m}", value % KEYS));
        Ok(())
    }
}

fn oracle() -> Vec<String> {
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

fn env(parallelism: usize, rocksdb: Option<&Path>, dir: &Path) -> StreamExecutionEnvironment {
    env_with(parallelism, rocksdb, false, dir)
}

fn env_with(parallelism: usize, rocksdb: Option<&Path>, incremental: bool, dir: &Path) -> StreamExecutionEnvironment {
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
fn build(env: &StreamExecutionEnvironment, out: &Path, with_window: bool) {
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
fn run_and_stop(env: &StreamExecutionEnvironment, out: &Path, savepoints: &Path, checkpoints: u64) -> PathBuf {
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

#[test]
fn savepoints_rescale_2_3_1_and_switch_heap_rocksdb_heap() {
    run_with_watchdog("savepoint round trip".into(), |dir| {
        let out = dir.join("out");
        let savepoints = dir.join("savepoints");

        let first = run_and_stop(&env(2, None, &dir.join("run1")), &out, &savepoints, 2);
        assert!(first.join("_metadata").is_file());

        let second_env = env(3, Some(&dir.join("rocksdb")), &dir.join("run2"));
        second_env.restore_from(&first);
        let second = run_and_stop(&second_env, &out, &savepoints, 2);
        assert_ne!(first, second);

        let third = env(1, None, &dir.join("run3"));
        third.restore_from(&second);
        build(&third, &out, true);
        let result = third.execute("savepoints").unwrap();
        assert_eq!(result.restored_from.as_deref(), Some(second.as_path()));

        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("2 heap -> 3 rocksdb -> 1 heap", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}

#[test]
fn state_of_a_removed_operator_needs_permission_and_damage_is_named() {
    run_with_watchdog("unclaimed state".into(), |dir| {
        let out = dir.join("out");
        let savepoint = run_and_stop(&env(2, None, &dir.join("run1")), &out, &dir.join("savepoints"), 1);

        // The window operator is gone: its state is nobody's.
        let strict = env(2, None, &dir.join("run2"));
        strict.restore_from(&savepoint);
        build(&strict, &dir.join("out2"), false);
        let e = strict.execute("savepoints").unwrap_err().to_string();
        assert!(e.contains("window") && e.contains("uid"), "{e}");

        let lenient = env(2, None, &dir.join("run3"));
        lenient.restore_from(&savepoint).set_allow_non_restored_state(true);
        build(&lenient, &dir.join("out3"), false);
        lenient.execute("savepoints").unwrap();

        // A flipped bit in a state file: the restore fails and names the file.
        let damaged = dir.join("damaged");
        std::fs::create_dir_all(&damaged).unwrap();
        let mut victim = None;
        for entry in std::fs::read_dir(&savepoint).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            std::fs::copy(&path, damaged.join(&name)).unwrap();
            if name.ends_with(".state") && victim.is_none() {
                victim = Some(name);
            }
        }
        let victim = victim.unwrap();
        let mut bytes = std::fs::read(damaged.join(&victim)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(damaged.join(&victim), bytes).unwrap();
        let broken = env(2, None, &dir.join("run4"));
        broken.restore_from(&damaged);
        build(&broken, &dir.join("out4"), true);
        let e = broken.execute("savepoints").unwrap_err().to_string();
        assert!(e.contains(&victim), "{e}");
    });
}

#[test]
fn a_retained_incremental_checkpoint_restores_at_another_parallelism_on_the_heap() {
    run_with_watchdog("incremental rescale".into(), |dir| {
        let out = dir.join("out");
        let first = env_with(2, Some(&dir.join("rocksdb")), true, &dir.join("run1"));
        first.set_retained_checkpoints(2);
        build(&first, &out, true);
        let client = first.execute_async("incremental").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.completed_checkpoints() < 3 {
            assert!(!client.is_finished(), "the job ended before it could be cancelled");
            assert!(Instant::now() < deadline, "no checkpoints within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }
        client.cancel();
        let checkpoints = client.checkpoint_dir().unwrap().to_path_buf();
        assert!(client.wait().is_err());
        assert!(
            checkpoints.join("shared").is_dir(),
            "no shared files in {}",
            checkpoints.display()
        );

        let second = env(3, None, &dir.join("run2"));
        second.restore_from(&checkpoints);
        build(&second, &out, true);
        second.execute("incremental").unwrap();
        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("incremental p=2 rocksdb -> p=3 heap", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}
