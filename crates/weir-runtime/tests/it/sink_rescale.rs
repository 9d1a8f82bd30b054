//! The exactly-once sinks across rescaling, under failures.
//!
//! One job writes the same records through the write-ahead-log sink, the file
//! sink and the idempotent sink. It runs at parallelism 4, then 2, then 3: each run
//! suffers seeded failures (while processing a record, during the synchronous part
//! of a snapshot, and after a checkpoint completed but before the sinks committed),
//! and the first two end with a failure the restart strategy gives up on; the next
//! run restores the newest retained checkpoint of the previous one at its own
//! parallelism (scale down, then up). The last run reads to the end. What each sink
//! wrote must equal the oracle: nothing lost, nothing duplicated.
//!
//! `WEIR_SINK_RESCALE_SEEDS=<n>` runs `n` seeds (default 3) from
//! `WEIR_SINK_RESCALE_SEED` (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{assert_same_lines, committed_lines, quiet_injected_panics, run_with_watchdog};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir_connectors::{BatchId, GeneratorSource, IdempotentSink, MemoryKeyValueStore, WriteAheadLogSink};
use weir_core::{BoxError, RestartStrategy, SubtaskInfo};
use weir_datastream::functions::{Context, ProcessFunction};
use weir_datastream::{Collector, StreamExecutionEnvironment};
use weir_runtime::sink::transactional::ExactlyOnce;
use weir_state::OperatorStateStore;

const EVENTS: u64 = 20_000;

fn line(i: u64) -> String {
    format!("r {i:05} {}", i * 7919 % 1000)
}

fn oracle() -> Vec<String> {
    let mut lines: Vec<String> = (0..EVENTS).map(line).collect();
    lines.sort();
    lines
}

// ---------------------------------------------------------------- faults

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Point {
    Processing,
    SyncSnapshot,
    AfterCompletion,
}

/// One fault per job attempt, for the first `plan.len()` attempts of a run.
struct Faults {
    label: String,
    plan: Vec<(Point, u64)>,
    counters: Mutex<HashMap<(u32, Point), u64>>,
    fired: AtomicU32,
}

impl Faults {
    fn new(seed: u64, run: usize, attempts: usize) -> Arc<Self> {
        let mut rng = fastrand::Rng::with_seed(seed * 31 + run as u64);
        let plan = (0..attempts)
            .map(|_| match rng.u32(0..4) {
                0 | 1 => (Point::Processing, rng.u64(50..=600)),
                2 => (Point::SyncSnapshot, rng.u64(1..=4)),
                _ => (Point::AfterCompletion, rng.u64(1..=3)),
            })
            .collect();
        Arc::new(Faults {
            label: format!("seed {seed} run {run}"),
            plan,
            counters: Mutex::new(HashMap::new()),
            fired: AtomicU32::new(0),
        })
    }

    fn hit(&self, attempt: u32, point: Point) {
        let Some(&(planned, after)) = self.plan.get(attempt as usize) else {
            return;
        };
        if planned != point {
            return;
        }
        let n = {
            let mut counters = self.counters.lock().unwrap();
            let n = counters.entry((attempt, point)).or_insert(0);
            *n += 1;
            *n
        };
        if n == after {
            self.fired.fetch_add(1, Ordering::SeqCst);
            panic!("injected fault {point:?} in attempt {attempt} ({})", self.label);
        }
    }
}

/// Turns ids into lines, failing as planned; chained to the sinks.
#[derive(Clone)]
struct Gate {
    faults: Arc<Faults>,
    attempt: u32,
}

impl ProcessFunction<u64, String> for Gate {
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }

    fn process_element(
        &mut self,
        i: u64,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        self.faults.hit(self.attempt, Point::Processing);
        out.collect(line(i));
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64, _: &mut OperatorStateStore) -> Result<(), BoxError> {
        self.faults.hit(self.attempt, Point::SyncSnapshot);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.faults.hit(self.attempt, Point::AfterCompletion);
        Ok(())
    }
}

// ---------------------------------------------------------------- sinks

/// What the write-ahead-log sink wrote: batches by id, each write replacing an
/// earlier one with the same id (as its documentation says to store them).
type WalStore = Arc<Mutex<BTreeMap<BatchId, Vec<String>>>>;

struct Outputs {
    wal: WalStore,
    kv: Arc<MemoryKeyValueStore<String, u64>>,
    files: PathBuf,
}

/// One run of the sequence.
struct Phase {
    /// 1, 2, 3: names the run in messages and seeds its faults.
    index: usize,
    parallelism: usize,
    /// Faults planned, one per attempt.
    faults: usize,
    /// Whether the run reads to the end; otherwise its last fault ends it.
    last: bool,
}

/// Runs `phase` from `restore`; returns its newest completed checkpoint.
fn run(seed: u64, phase: Phase, restore: Option<&Path>, outputs: &Outputs, dir: &Path) -> Option<PathBuf> {
    let Phase {
        index,
        parallelism,
        faults,
        last,
    } = phase;
    let faults = Faults::new(seed, index, faults);
    let restarts = if last { 1_000 } else { faults.plan.len() as u32 - 1 };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .set_buffer_size(64)
        .set_channel_capacity(2)
        .enable_checkpointing(Duration::from_millis(5))
        .set_tolerable_checkpoint_failures(0)
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(format!("run{index}")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: restarts,
            delay: Duration::ZERO,
        })
        .set_seed(seed);
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let lines = env
        .add_source(
            GeneratorSource::new(|i| i)
                .with_count(EVENTS)
                .with_rate_limit(20_000.0)
                .with_records_per_poll(64),
        )
        .uid("source")
        .set_parallelism(1)
        .rebalance()
        .process(Gate {
            faults: faults.clone(),
            attempt: 0,
        })
        .uid("gate");
    let wal = outputs.wal.clone();
    lines
        .add_sink(ExactlyOnce::new(WriteAheadLogSink::new(
            move |id: BatchId, records: &[String]| {
                wal.lock().unwrap().insert(id, records.to_vec());
                Ok(())
            },
        )))
        .uid("wal");
    lines.sink_to_files(&outputs.files).uid("files");
    lines
        .add_sink(IdempotentSink::new(
            outputs.kv.clone(),
            |l: &String| l.clone(),
            |l: &String| l.len() as u64,
        ))
        .uid("kv");

    let label = format!("seed {seed} run {index} at parallelism {parallelism}");
    let client = env.execute_async("sink rescale").unwrap();
    let handle = client.handle();
    let result = client.wait();
    match (result, last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => panic!(
            "{label}: ended before its last fault ({} fired)",
            faults.fired.load(Ordering::SeqCst)
        ),
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    assert_eq!(
        faults.fired.load(Ordering::SeqCst) as usize,
        faults.plan.len(),
        "{label}: not every planned fault fired"
    );
    handle.latest_checkpoint()
}

fn check(seed: u64) {
    run_with_watchdog(format!("sink rescale seed {seed}"), move |dir| {
        let outputs = Outputs {
            wal: Arc::new(Mutex::new(BTreeMap::new())),
            kv: Arc::new(MemoryKeyValueStore::new()),
            files: dir.join("out"),
        };
        let phase = |index, parallelism, last| Phase {
            index,
            parallelism,
            faults: 3,
            last,
        };
        let first = run(seed, phase(1, 4, false), None, &outputs, dir);
        let second = run(seed, phase(2, 2, false), first.as_deref(), &outputs, dir);
        run(seed, phase(3, 3, true), second.as_deref(), &outputs, dir);

        let expected = oracle();
        let (files, hidden) = committed_lines(&outputs.files);
        assert_same_lines(&format!("seed {seed}: file sink, 4 -> 2 -> 3"), &files, &expected);
        assert!(hidden.is_empty(), "seed {seed}: leftover files {hidden:?}");

        let mut kv: Vec<String> = outputs.kv.entries().into_keys().collect();
        kv.sort();
        assert_same_lines(&format!("seed {seed}: idempotent sink, 4 -> 2 -> 3"), &kv, &expected);
        let mut wal: Vec<String> = outputs.wal.lock().unwrap().values().flatten().cloned().collect();
        wal.sort();
        assert_same_lines(
            &format!("seed {seed}: write-ahead-log sink, 4 -> 2 -> 3"),
            &wal,
            &expected,
        );

        println!(
            "seed {seed}: every sink exact after 4 -> 2 -> 3 ({} WAL batches, {} upserts)",
            outputs.wal.lock().unwrap().len(),
            outputs.kv.writes()
        );
    });
}

fn seeds() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let first = var("WEIR_SINK_RESCALE_SEED", 1);
    first..first + var("WEIR_SINK_RESCALE_SEEDS", 3)
}

#[test]
fn every_sink_is_exact_across_4_2_3_rescales_with_failures() {
    quiet_injected_panics();
    for seed in seeds() {
        check(seed);
    }
}
