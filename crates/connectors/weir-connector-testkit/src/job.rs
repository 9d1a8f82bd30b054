//! A real Weir job reading a queue: source → a gate that fails once → the
//! exactly-once file sink, checkpointing to a directory; then a second run
//! restored from the first run's latest checkpoint. The committed files are the
//! output an oracle compares with what was published.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::prelude::*;
use weir_connector_api::source::Source;

/// Fails on the first record at or above `fail_from` once a checkpoint of this
/// run has completed; passes everything before (and everything, when
/// `fail_from` is `None`).
#[derive(Clone)]
struct Gate {
    fail_from: Option<u64>,
    completed: Arc<AtomicU64>,
}

impl ProcessFunction<u64, u64> for Gate {
    fn process_element(&mut self, v: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        if self.fail_from.is_some_and(|from| v >= from) && self.completed.load(Ordering::SeqCst) > 0 {
            return Err(format!("planned failure at record {v}").into());
        }
        out.collect(v);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.completed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The numbers in the committed files of the file sink's directory `out`.
pub fn committed(out: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        values.extend(text.lines().filter_map(|line| line.trim().parse::<u64>().ok()));
    }
    values
}

fn env(dir: &Path) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1)
        .enable_checkpointing(Duration::from_millis(50))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env
}

fn build<S: Source<u64> + 'static>(env: &StreamExecutionEnvironment, source: S, dir: &Path, fail_from: Option<u64>) {
    env.add_source(source)
        .uid("queue")
        .process(Gate {
            fail_from,
            completed: Arc::new(AtomicU64::new(0)),
        })
        .uid("gate")
        .sink_to_files(dir.join("out"))
        .uid("files");
}

/// Waits (polling the committed files, with a watchdog of `limit`) until
/// `done` holds for them.
fn await_output(out: &Path, what: &str, done: impl Fn(&[u64]) -> bool) {
    let limit = Duration::from_secs(180);
    let start = Instant::now();
    loop {
        let values = committed(out);
        if done(&values) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: no end after {limit:?} ({} committed)",
            values.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the queue job twice in `dir` and returns the committed output:
///
/// 1. Publishes `0..records/2`, runs the job until a checkpoint committed
///    output, publishes the rest; the gate fails on the first record of the
///    second half (a failure between source and sink, after acks of earlier
///    checkpoints and with records read but not covered by any checkpoint).
/// 2. Restores a new run from the first run's latest checkpoint, lets it run
///    until every record is committed, then `settle` longer (late
///    redeliveries must be dropped or, at-least-once, are counted), and stops
///    it gracefully.
pub fn fail_and_restore<S, F>(
    dir: &Path,
    make_source: F,
    records: u64,
    settle: Duration,
    publish: &dyn Fn(Range<u64>),
) -> Vec<u64>
where
    S: Source<u64> + 'static,
    F: Fn() -> S,
{
    let out = dir.join("out");
    let half = records / 2;
    publish(0..half);
    let first = env(dir);
    build(&first, make_source(), dir, Some(half));
    let client = first
        .execute_async("queue job, first run")
        .expect("start the first run");
    let handle = client.handle();
    await_output(&out, "the first run", |v| !v.is_empty());
    publish(half..records);
    let error = client.wait().expect_err("the first run must fail");
    assert!(error.to_string().contains("planned failure"), "{error}");
    let checkpoint: PathBuf = handle.latest_checkpoint().expect("a checkpoint of the first run");
    eprintln!("first run: {} committed, failed: {error}", committed(&out).len());

    let second = env(dir);
    second.restore_from(&checkpoint);
    build(&second, make_source(), dir, None);
    let client = second
        .execute_async("queue job, second run")
        .expect("start the second run");
    let handle = client.handle();
    await_output(&out, "the second run", |v| (0..records).all(|r| v.contains(&r)));
    std::thread::sleep(settle);
    handle.stop();
    let result = client.wait().expect("the second run ends when stopped");
    assert!(result.restored_from.is_some());
    committed(&out)
}

/// The environment variable that makes a job-kill test run as the child.
pub const JOB_CHILD_VAR: &str = "WEIR_QUEUE_JOB_CHILD_DIR";

/// The newest job directory under `dir/checkpoints` holding a completed
/// checkpoint (one with `_metadata`).
pub fn newest_checkpoint(dir: &Path) -> Option<PathBuf> {
    let mut jobs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir.join("checkpoints"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter_map(|job| {
            let newest = std::fs::read_dir(&job)
                .ok()?
                .flatten()
                .filter_map(|e| e.path().join("_metadata").metadata().ok()?.modified().ok())
                .max()?;
            Some((newest, job))
        })
        .collect();
    jobs.sort();
    jobs.pop().map(|(_, job)| job)
}

/// The child of a job-kill test: runs the queue job (restored from the newest
/// completed checkpoint in `dir`, if any) until it is killed.
pub fn child<S: Source<u64> + 'static>(dir: &Path, source: S) {
    let env = env(dir);
    if let Some(checkpoint) = newest_checkpoint(dir) {
        eprintln!("child: restoring from {}", checkpoint.display());
        env.restore_from(checkpoint);
    }
    build(&env, source, dir, None);
    if let Err(e) = env.execute("queue job (killed)") {
        eprintln!("child job failed: {e}");
        std::process::exit(3);
    }
}

/// Runs this test binary's test `test_name` (whose body calls [`child`] when
/// [`JOB_CHILD_VAR`] is set) as a child job in `dir`, `kills` times killed with
/// SIGKILL at a seeded moment (one chunk of `0..records` published before each
/// run; every other run is killed shortly after it committed output, the others
/// at a moment from their start), then once more until every record is committed and `settle` has
/// passed; returns the committed output.
pub fn kill_loop(
    test_name: &str,
    dir: &Path,
    seed: u64,
    kills: u32,
    records: u64,
    settle: Duration,
    publish: &dyn Fn(Range<u64>),
) -> Vec<u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let spawn = || {
        std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(JOB_CHILD_VAR, dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn the child job")
    };
    let out = dir.join("out");
    let chunk = records.div_ceil(u64::from(kills.max(1)));
    for round in 0..kills {
        let start = (u64::from(round) * chunk).min(records);
        let before = committed(&out).len();
        // Published while the child starts and reads, so that the kill lands
        // mid-stream at some seeds and between checkpoints at others.
        let mut child = spawn();
        let started = Instant::now();
        publish(start..(start + chunk).min(records));
        // Every other round dies after this run committed a checkpoint's output
        // (its acks sent or on their way), the others at a moment from the start,
        // often before the first checkpoint.
        let moment = if round % 2 == 1 {
            let limit = Duration::from_secs(60);
            while committed(&out).len() <= before && started.elapsed() < limit {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("round {round}: the child job ended: {status}");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(
                committed(&out).len() > before,
                "round {round}: the child committed nothing in {limit:?}"
            );
            let after = Duration::from_millis(rng.u64(0..200));
            std::thread::sleep(after);
            format!("{after:?} after its first commit")
        } else {
            let after = Duration::from_millis(rng.u64(50..1_500));
            std::thread::sleep(after.saturating_sub(started.elapsed()));
            format!("{after:?} after its start")
        };
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        eprintln!("round {round}: killed {moment}; {} committed", committed(&out).len());
    }
    let mut child = spawn();
    let start = Instant::now();
    let limit = Duration::from_secs(180);
    loop {
        let values = committed(&out);
        let seen: std::collections::HashSet<u64> = values.iter().copied().collect();
        if (0..records).all(|r| seen.contains(&r)) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the final child job ended: {status}");
        }
        assert!(
            start.elapsed() < limit,
            "the final run did not commit everything in {limit:?} ({} committed)",
            values.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(settle);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    committed(&out)
}
