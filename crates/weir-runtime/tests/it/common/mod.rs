//! What the oracle tests under failures share: a seeded fault injector, the seeds
//! to run, a watchdog, and reading the committed output of the file sink.
#![allow(dead_code, clippy::unwrap_used)]

pub mod child_process;
pub mod counting_job;
pub mod log_capture;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::Duration;
use weir_core::BoxError;
use weir_core::{CheckpointMode, RestartStrategy, RocksDbOptions, StateBackendConfig};
use weir_datastream::functions::{Context, ProcessFunction};
use weir_datastream::{Collector, StreamExecutionEnvironment};
use weir_state::OperatorStateStore;

/// Faults planned per run (one per job attempt).
pub const FAULTS: usize = 24;
/// Faults that must have fired for a run to count.
pub const MIN_FAULTS: u32 = 20;

/// Where a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// While operator `n` of the job processes a record.
    Processing(usize),
    /// During the synchronous part of a snapshot.
    SyncSnapshot,
    /// While a snapshot is written asynchronously.
    AsyncWrite,
    /// After a checkpoint completed, before the sink committed.
    AfterCompletion,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    point: Point,
    after: u64,
}

/// Plans one fault per job attempt (for the first `FAULTS` attempts) from a seed, and
/// fires it when the attempt reaches it.
pub struct Injector {
    pub seed: u64,
    plan: Vec<Fault>,
    counters: Mutex<HashMap<(u32, Point), u64>>,
    fired: AtomicU32,
    attempt: AtomicU32,
}

impl Injector {
    /// Faults at `processing_points` operators (numbered from 0) and at snapshots.
    pub fn new(seed: u64, processing_points: usize) -> Arc<Self> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let plan = (0..FAULTS)
            .map(|_| {
                let point = match rng.u32(0..7) {
                    0..=3 => Point::Processing(rng.usize(0..processing_points)),
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
            attempt: AtomicU32::new(0),
        })
    }

    /// Panics if `attempt`'s planned fault is at `point` and this is its moment.
    pub fn hit(&self, attempt: u32, point: Point) {
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

    /// Records that job attempt `attempt` is running (for code that cannot see it).
    pub fn observe(&self, attempt: u32) {
        self.attempt.fetch_max(attempt, Ordering::Relaxed);
    }

    /// The latest attempt observed.
    pub fn attempt(&self) -> u32 {
        self.attempt.load(Ordering::Relaxed)
    }

    /// The plan and how far each attempt got, for failure messages.
    pub fn describe(&self) -> String {
        let counters = self.counters.lock().unwrap();
        self.plan
            .iter()
            .enumerate()
            .map(|(attempt, fault)| {
                let reached = counters.get(&(attempt as u32, fault.point)).copied().unwrap_or(0);
                format!(
                    "attempt {attempt}: {:?} at hit {} (reached {reached})",
                    fault.point, fault.after
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Faults fired so far.
    pub fn fired(&self) -> u32 {
        self.fired.load(Ordering::SeqCst)
    }
}

/// Keeps the test output readable: injected panics are expected.
pub fn quiet_injected_panics() {
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

/// The seeds to run: `WEIR_EXACTLY_ONCE_SEEDS` of them (default 20) from
/// `WEIR_EXACTLY_ONCE_SEED` (default 1).
pub fn seeds() -> impl Iterator<Item = u64> {
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

/// Runs `job` in a fresh directory on its own thread so that a hang fails the test
/// with `label`.
pub fn run_with_watchdog<R: Send + 'static>(label: String, job: impl FnOnce(&Path) -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let thread_label = label.clone();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{thread_label}: no temporary directory: {e}"));
        let result = job(dir.path());
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{label}: the job hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{label}: the job panicked (see above)"),
    }
}

/// The committed lines of the file sink in `dir` (sorted), and the names of files
/// left uncommitted (hidden in-progress or pending files; the subtasks' hidden
/// commit records `.part-<n>.committed` are neither).
pub fn committed_lines(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut committed = Vec::new();
    let mut hidden = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(".part-") && name.ends_with(".committed") {
            continue;
        }
        if name.starts_with('.') {
            hidden.push(name);
        } else {
            committed.extend(std::fs::read_to_string(entry.path()).unwrap().lines().map(String::from));
        }
    }
    committed.sort();
    (committed, hidden)
}

/// Panics with a summary when `got` (sorted) differs from `expected` (sorted).
pub fn assert_same_lines(label: &str, got: &[String], expected: &[String]) {
    if got == expected {
        return;
    }
    let missing: Vec<&String> = expected.iter().filter(|l| got.binary_search(l).is_err()).collect();
    let unexpected: Vec<&String> = got.iter().filter(|l| expected.binary_search(l).is_err()).collect();
    panic!(
        "{label}: output differs from the oracle: {} lines, expected {}; {} missing (e.g. {:?}), {} unexpected \
         (e.g. {:?}), the rest duplicated",
        got.len(),
        expected.len(),
        missing.len(),
        missing.iter().take(3).collect::<Vec<_>>(),
        unexpected.len(),
        unexpected.iter().take(3).collect::<Vec<_>>(),
    );
}

/// The last operator before the sink: can fail while processing (point
/// `Processing(3)`), while snapshotting, and when a checkpoint completed (before
/// the sink after it commits).
#[derive(Clone)]
pub struct Gate {
    injector: Option<Arc<Injector>>,
    attempt: u32,
}

impl Gate {
    /// A gate failing as `injector` plans (never without one).
    pub fn new(injector: Option<Arc<Injector>>) -> Self {
        Gate { injector, attempt: 0 }
    }

    fn hit(&self, point: Point) {
        if let Some(injector) = &self.injector {
            injector.hit(self.attempt, point);
        }
    }
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
        self.hit(Point::Processing(3));
        out.collect(line);
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64, _: &mut OperatorStateStore) -> Result<(), BoxError> {
        self.hit(Point::SyncSnapshot);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.hit(Point::AfterCompletion);
        Ok(())
    }
}

/// An environment for runs under failures: parallelism 2, small buffers,
/// checkpoints every 5 ms in `mode` (at most `concurrent` at once) into `dir`, no
/// tolerated checkpoint failure, immediate restarts.
/// Every how many seeds a run uses RocksDB by default (odd seeds); a test passes
/// its own number to [`backend_for`], [`run_label`] and [`faulty_env`] (the tests
/// of this binary share the process: no global setting).
pub const ROCKSDB_EVERY: u64 = 2;

/// The state backend the run of `seed` uses: seeds 1, 1 + n, 1 + 2n, … RocksDB (n
/// = `rocksdb_every`; seeds 1, 5, 9, … with incremental checkpoints), the others
/// the heap, unless `WEIR_STATE_BACKEND` (`heap` or `rocksdb`) picks one for all.
pub fn backend_for(seed: u64, rocksdb_every: u64) -> &'static str {
    let every = rocksdb_every.max(1);
    match std::env::var("WEIR_STATE_BACKEND").ok().as_deref() {
        Some("heap") => "heap",
        Some("rocksdb") => "rocksdb",
        _ if seed % every == 1 % every => "rocksdb",
        _ => "heap",
    }
}

/// `seed`, its mode and its backend, for messages.
pub fn run_label(seed: u64, rocksdb_every: u64, mode: impl std::fmt::Debug) -> String {
    let backend = backend_for(seed, rocksdb_every);
    let incremental = if backend == "rocksdb" && seed % 4 == 1 {
        " incremental"
    } else {
        ""
    };
    format!("seed {seed} {mode:?} {backend}{incremental}")
}

/// Where test RocksDB instances live: on the RAM disk `/dev/shm` when it has at
/// least 1 GiB free (a restart creates and deletes dozens of instances, and disk
/// file system metadata made the tests three times slower), else under `dir`.
/// Every instance removes its own directory.
pub fn rocksdb_dir(dir: &Path) -> std::path::PathBuf {
    let shm = Path::new("/dev/shm");
    if shm_has_room(shm) && std::fs::create_dir_all(shm.join("weir-tests")).is_ok() {
        return shm.join("weir-tests");
    }
    dir.join("rocksdb")
}

/// Whether `df` reports at least 1 GiB available at `path` (containers often
/// give `/dev/shm` only 64 MiB).
fn shm_has_room(path: &Path) -> bool {
    let Ok(output) = std::process::Command::new("df").arg("-Pk").arg(path).output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|kib| kib.parse::<u64>().ok())
        .is_some_and(|kib| kib >= 1 << 20)
}

/// A job environment that checkpoints every 5 ms and restarts at once, on the
/// backend of `seed` (see [`backend_for`]). RocksDB snapshots state of up to `inline_snapshot_bytes` in
/// the synchronous part, larger state through RocksDB checkpoints (0: always).
pub fn faulty_env(
    seed: u64,
    rocksdb_every: u64,
    mode: CheckpointMode,
    concurrent: usize,
    inline_snapshot_bytes: usize,
    dir: &Path,
) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    if backend_for(seed, rocksdb_every) == "rocksdb" {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: rocksdb_dir(dir),
            memory_budget: 32 << 20,
            inline_snapshot_bytes,
            // Every other RocksDB seed checkpoints incrementally.
            incremental_checkpoints: seed % 4 == 1,
            ..Default::default()
        }));
    }
    env.set_parallelism(2)
        .set_buffer_size(64)
        .set_channel_capacity(2)
        .enable_checkpointing(Duration::from_millis(5))
        .set_checkpoint_mode(mode)
        .set_max_concurrent_checkpoints(concurrent)
        .set_tolerable_checkpoint_failures(0)
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 1_000,
            delay: Duration::ZERO,
        })
        .set_seed(seed);
    env
}
