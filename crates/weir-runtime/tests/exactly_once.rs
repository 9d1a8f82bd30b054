//! Oracle tests of exactly-once processing under failures.
//!
//! A job with three network exchanges (a hash partitioning, a rebalance, a keyed
//! connect), a two-input operator, keyed state (value, list and map) and the
//! exactly-once file sink reads two replayable sources while a seeded fault injector
//! makes operators panic at random moments: while processing records, during the
//! synchronous part of a snapshot, during the asynchronous write of a snapshot, and
//! right after a checkpoint completed but before the sink committed. Every run suffers
//! at least 20 failures. The committed output must equal an oracle computed directly
//! from the input: exactly, in aligned and unaligned mode; with nothing missing in
//! at-least-once mode (duplicates are counted and reported).
//!
//! `WEIR_EXACTLY_ONCE_SEEDS=<n>` runs `n` seeds per mode (default 20);
//! `WEIR_EXACTLY_ONCE_SEED=<s>` starts at seed `s` (to replay a failing seed).
#![allow(clippy::unwrap_used, missing_docs)]

use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::Duration;
use weir_connectors::GeneratorSource;
use weir_core::{BoxError, CheckpointMode, RestartStrategy};
use weir_datastream::functions::{
    Context, KeyedCoProcessFunction, KeyedContext, KeyedProcessFunction, ProcessFunction,
};
use weir_datastream::{
    Collector, ListStateDescriptor, MapStateDescriptor, StreamExecutionEnvironment, ValueStateDescriptor,
};
use weir_state::OperatorStateStore;

const EVENTS: u64 = 100_000;
const KEYS: u64 = 37;
const FAULTS: usize = 24;
const MIN_FAULTS: u32 = 20;

// ---------------------------------------------------------------- fault injection

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Point {
    Processing(usize),
    SyncSnapshot,
    AsyncWrite,
    AfterCompletion,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    point: Point,
    after: u64,
}

/// Plans one fault per job attempt (for the first `FAULTS` attempts) from a seed, and
/// fires it when the attempt reaches it.
struct Injector {
    seed: u64,
    plan: Vec<Fault>,
    counters: Mutex<HashMap<(u32, Point), u64>>,
    fired: AtomicU32,
}

impl Injector {
    fn new(seed: u64) -> Arc<Self> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let plan = (0..FAULTS)
            .map(|_| {
                let point = match rng.u32(0..7) {
                    0..=3 => Point::Processing(rng.usize(0..4)),
                    4 => Point::SyncSnapshot,
                    5 => Point::AsyncWrite,
                    _ => Point::AfterCompletion,
                };
                let after = match point {
                    Point::Processing(_) => rng.u64(1..=300),
                    Point::SyncSnapshot | Point::AfterCompletion => rng.u64(1..=2),
                    Point::AsyncWrite => rng.u64(1..=20),
                };
                Fault { point, after }
            })
            .collect();
        Arc::new(Injector {
            seed,
            plan,
            counters: Mutex::new(HashMap::new()),
            fired: AtomicU32::new(0),
        })
    }

    fn hit(&self, attempt: u32, point: Point) {
        let Some(fault) = self.plan.get(attempt as usize) else {
            return;
        };
        if fault.point != point {
            return;
        }
        let n = {
            let mut counters = self.counters.lock().unwrap();
            let n = counters.entry((attempt, point)).or_insert(0);
            *n += 1;
            *n
        };
        if n == fault.after {
            self.fired.fetch_add(1, Ordering::SeqCst);
            panic!("injected fault {point:?} in attempt {attempt} (seed {})", self.seed);
        }
    }
}

/// Keeps the test output readable: injected panics are expected.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.contains("injected fault") {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------- the job

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Rec {
    Event { id: u64, key: u64, value: u64 },
    Total { key: u64, count: u64, sum: u64 },
}

impl Rec {
    fn key(&self) -> u64 {
        match self {
            Rec::Event { key, .. } | Rec::Total { key, .. } => *key,
        }
    }
}

fn event(i: u64) -> Rec {
    Rec::Event {
        id: i,
        key: i % KEYS,
        value: (i * 7919) % 1000,
    }
}

fn expected_count(key: u64) -> u64 {
    EVENTS / KEYS + u64::from(key < EVENTS % KEYS)
}

/// A running count and sum whose serialization (the asynchronous part of a
/// snapshot) can fail on purpose.
#[derive(Clone, Deserialize)]
struct Tracked {
    count: u64,
    sum: u64,
    #[serde(skip)]
    hook: Option<(Arc<Injector>, u32)>,
}

impl Serialize for Tracked {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some((injector, attempt)) = &self.hook {
            injector.hit(*attempt, Point::AsyncWrite);
        }
        (self.count, self.sum).serialize(serializer)
    }
}

/// Operator 1: counts and sums per key (value state), passes events on, and emits
/// the key's total with its last event.
#[derive(Clone)]
struct Totals {
    injector: Arc<Injector>,
    state: ValueStateDescriptor<Tracked>,
}

impl KeyedProcessFunction<u64, Rec, Rec> for Totals {
    fn process_element(
        &mut self,
        rec: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, Rec>,
    ) -> Result<(), BoxError> {
        let attempt = ctx.subtask().attempt;
        self.injector.hit(attempt, Point::Processing(1));
        let Rec::Event { value, key, .. } = rec else {
            return Err("unexpected total".into());
        };
        let mut state = ctx.value(&self.state)?;
        let mut t = state.get()?.unwrap_or(Tracked {
            count: 0,
            sum: 0,
            hook: None,
        });
        t.count += 1;
        t.sum += value;
        t.hook = Some((self.injector.clone(), attempt));
        let total = (t.count == expected_count(key)).then_some(Rec::Total {
            key,
            count: t.count,
            sum: t.sum,
        });
        state.set(t)?;
        out.collect(rec);
        if let Some(total) = total {
            out.collect(total);
        }
        Ok(())
    }
}

/// Operator 2 (two inputs): multiplies each event's value by its key's rate, which
/// arrives on the second input; events that come first wait in list state.
#[derive(Clone)]
struct ApplyRates {
    injector: Arc<Injector>,
    rate: MapStateDescriptor<String, u64>,
    waiting: ListStateDescriptor<Rec>,
}

fn line(rec: &Rec, rate: u64) -> String {
    match rec {
        Rec::Event { id, value, .. } => format!("e {id} {}", value * rate),
        Rec::Total { key, count, sum } => format!("t {key} {count} {sum}"),
    }
}

impl KeyedCoProcessFunction<u64, Rec, (u64, u64), String> for ApplyRates {
    fn process_element1(
        &mut self,
        rec: Rec,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        self.injector.hit(ctx.subtask().attempt, Point::Processing(2));
        let rate = ctx.map(&self.rate)?.get(&"rate".to_string())?;
        match rate {
            Some(rate) => out.collect(line(&rec, rate)),
            None => ctx.list(&self.waiting)?.add(rec)?,
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        (_, rate): (u64, u64),
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        ctx.map(&self.rate)?.put("rate".to_string(), rate)?;
        let mut waiting = ctx.list(&self.waiting)?;
        for rec in waiting.get()? {
            out.collect(line(&rec, rate));
        }
        waiting.clear()?;
        Ok(())
    }
}

/// Operator 3, chained to the sink: can fail while processing, while snapshotting,
/// and when a checkpoint completed (before the sink after it commits).
#[derive(Clone)]
struct Gate {
    injector: Arc<Injector>,
    attempt: u32,
}

impl ProcessFunction<String, String> for Gate {
    fn open(&mut self, subtask: &weir_core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }

    fn process_element(
        &mut self,
        line: String,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        self.injector.hit(self.attempt, Point::Processing(3));
        out.collect(line);
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64, _: &mut OperatorStateStore) -> Result<(), BoxError> {
        self.injector.hit(self.attempt, Point::SyncSnapshot);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.injector.hit(self.attempt, Point::AfterCompletion);
        Ok(())
    }
}

fn oracle() -> Vec<String> {
    let mut lines = Vec::new();
    let mut totals: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..EVENTS {
        let Rec::Event { id, key, value } = event(i) else {
            unreachable!()
        };
        lines.push(format!("e {id} {}", value * (key + 1)));
        let t = totals.entry(key).or_default();
        t.0 += 1;
        t.1 += value;
    }
    for (key, (count, sum)) in totals {
        lines.push(format!("t {key} {count} {sum}"));
    }
    lines.sort();
    lines
}

struct Run {
    committed: Vec<String>,
    hidden_files: Vec<String>,
    restarts: u32,
    faults: u32,
    checkpoints: usize,
}

fn run_job(seed: u64, mode: CheckpointMode, dir: &Path) -> Run {
    let injector = Injector::new(seed);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .set_buffer_size(64)
        .set_channel_capacity(2)
        .enable_checkpointing(Duration::from_millis(5))
        .set_checkpoint_mode(mode)
        .set_max_concurrent_checkpoints(2)
        .set_tolerable_checkpoint_failures(0)
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 1_000,
            delay: Duration::ZERO,
        })
        .set_seed(seed);
    if mode == CheckpointMode::Aligned && seed % 2 == 1 {
        // Half the aligned runs switch slow alignments to unaligned checkpoints.
        env.set_alignment_timeout(Duration::from_millis(1));
    }
    let events = env
        .add_source(
            GeneratorSource::new(event)
                .with_count(EVENTS)
                .with_rate_limit(200_000.0),
        )
        .name("events");
    let rates = env
        .add_source(GeneratorSource::new(|k| (k, k + 1)).with_count(KEYS))
        .name("rates")
        .set_parallelism(1);
    let i0 = injector.clone();
    let totals = events
        .process_fn(move |rec: Rec, ctx, out: &mut Collector<'_, Rec>| {
            i0.hit(ctx.subtask().attempt, Point::Processing(0));
            out.collect(rec);
            Ok(())
        })
        .name("check")
        .key_by(Rec::key)
        .process(Totals {
            injector: injector.clone(),
            state: ValueStateDescriptor::new("totals"),
        })
        .name("totals")
        .rebalance();
    totals
        .connect(&rates)
        .key_by(Rec::key, |r: &(u64, u64)| r.0)
        .process(ApplyRates {
            injector: injector.clone(),
            rate: MapStateDescriptor::new("rate"),
            waiting: ListStateDescriptor::new("waiting"),
        })
        .name("apply rates")
        .process(Gate {
            injector: injector.clone(),
            attempt: 0,
        })
        .name("gate")
        .sink_to_files(dir.join("out"))
        .name("files");
    let result = env
        .execute("exactly once")
        .unwrap_or_else(|e| panic!("seed {seed} {mode:?}: job failed: {e}"));
    let mut committed = Vec::new();
    let mut hidden_files = Vec::new();
    for entry in std::fs::read_dir(dir.join("out")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            hidden_files.push(name);
        } else {
            committed.extend(std::fs::read_to_string(entry.path()).unwrap().lines().map(String::from));
        }
    }
    committed.sort();
    Run {
        committed,
        hidden_files,
        restarts: result.restarts,
        faults: injector.fired.load(Ordering::SeqCst),
        checkpoints: result.checkpoints.len(),
    }
}

/// Runs `run_job` on its own thread so that a hang fails the test with the seed.
fn run_with_watchdog(seed: u64, mode: CheckpointMode) -> Run {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let run = run_job(seed, mode, dir.path());
        let _ = tx.send(run);
    });
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(run) => run,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("seed {seed} {mode:?}: the job hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("seed {seed} {mode:?}: the job panicked (see above)"),
    }
}

fn seeds() -> impl Iterator<Item = u64> {
    let count: u64 = std::env::var("WEIR_EXACTLY_ONCE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let first: u64 = std::env::var("WEIR_EXACTLY_ONCE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    first..first + count
}

fn check_exactly_once(mode: CheckpointMode) {
    quiet_injected_panics();
    let expected = oracle();
    for seed in seeds() {
        let run = run_with_watchdog(seed, mode);
        assert!(
            run.faults >= MIN_FAULTS,
            "seed {seed} {mode:?}: only {} faults fired (restarts {})",
            run.faults,
            run.restarts
        );
        if run.committed != expected {
            let missing = expected
                .iter()
                .filter(|l| run.committed.binary_search(l).is_err())
                .count();
            let extra = run.committed.len() as i64 - (expected.len() as i64 - missing as i64);
            panic!(
                "seed {seed} {mode:?}: committed output differs from the oracle: {} lines, expected {}; \
                 {missing} missing, {extra} unexpected or duplicated (faults {}, restarts {})",
                run.committed.len(),
                expected.len(),
                run.faults,
                run.restarts
            );
        }
        assert!(
            run.hidden_files.is_empty(),
            "seed {seed} {mode:?}: leftover files {:?}",
            run.hidden_files
        );
        println!(
            "seed {seed} {mode:?}: exact ({} lines, {} faults, {} restarts, {} checkpoints completed)",
            run.committed.len(),
            run.faults,
            run.restarts,
            run.checkpoints
        );
    }
}

#[test]
fn aligned_checkpoints_are_exactly_once_under_failures() {
    check_exactly_once(CheckpointMode::Aligned);
}

#[test]
fn unaligned_checkpoints_are_exactly_once_under_failures() {
    check_exactly_once(CheckpointMode::Unaligned);
}

#[test]
fn at_least_once_checkpoints_lose_nothing_under_failures() {
    quiet_injected_panics();
    let expected = oracle();
    let events: Vec<&String> = expected.iter().filter(|l| l.starts_with("e ")).collect();
    for seed in seeds() {
        let run = run_with_watchdog(seed, CheckpointMode::AtLeastOnce);
        assert!(
            run.faults >= MIN_FAULTS,
            "seed {seed}: only {} faults fired",
            run.faults
        );
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for line in &run.committed {
            *seen.entry(line.as_str()).or_default() += 1;
        }
        let missing: Vec<&&String> = events.iter().filter(|l| !seen.contains_key(l.as_str())).collect();
        assert!(
            missing.is_empty(),
            "seed {seed}: {} events missing, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        let duplicates: u32 = events.iter().map(|l| seen[l.as_str()] - 1).sum();
        println!(
            "seed {seed} AtLeastOnce: nothing missing; {duplicates} duplicated events ({} faults, {} restarts)",
            run.faults, run.restarts
        );
    }
}
