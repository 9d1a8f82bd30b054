//! Checkpoints at the job level: restoring a job from a retained checkpoint, falling
//! back from a damaged checkpoint, checkpoint write failures that fail only the
//! checkpoint, restart strategies, and stop with a final checkpoint.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;

const KEYS: u64 = 13;

fn expected_count(events: u64, key: u64) -> u64 {
    events / KEYS + u64::from(key < events % KEYS)
}

/// Counts and sums per key; emits `key count sum` when a key has seen all its
/// events (so the output depends only on the input, whatever failures happen).
#[derive(Clone)]
struct Totals {
    events: u64,
    state: ValueStateDescriptor<(u64, u64)>,
}

impl KeyedProcessFunction<u64, u64, String> for Totals {
    fn process_element(
        &mut self,
        i: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let key = *ctx.current_key();
        let mut state = ctx.value(&self.state)?;
        let (count, sum) = state.get()?.unwrap_or((0, 0));
        let (count, sum) = (count + 1, sum + i);
        state.set((count, sum))?;
        if count == expected_count(self.events, key) {
            out.collect(format!("{key} {count} {sum}"));
        }
        Ok(())
    }
}

fn oracle_totals(events: u64) -> Vec<String> {
    let mut totals: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..events {
        let t = totals.entry(i % KEYS).or_default();
        t.0 += 1;
        t.1 += i;
    }
    let mut lines: Vec<String> = totals.into_iter().map(|(k, (c, s))| format!("{k} {c} {s}")).collect();
    lines.sort();
    lines
}

/// Fails once, in the first attempt, after it has seen `after` checkpoints complete.
#[derive(Clone)]
struct FailAfterCheckpoints {
    after: u64,
    seen: Arc<AtomicU64>,
    attempt: u32,
}

impl ProcessFunction<u64, u64> for FailAfterCheckpoints {
    fn open(&mut self, subtask: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }
    fn process_element(&mut self, v: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        if self.attempt == 0 && self.seen.load(Ordering::SeqCst) >= self.after {
            return Err("planned failure".into());
        }
        out.collect(v);
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The job of these tests: events -> (maybe fail) -> totals per key -> sink.
fn build(env: &StreamExecutionEnvironment, events: u64, fail_after: Option<u64>) -> DataStream<String> {
    let numbers = env
        .add_source(
            GeneratorSource::new(|i| i)
                .with_count(events)
                .with_rate_limit(400_000.0),
        )
        .uid("numbers");
    let numbers = match fail_after {
        Some(after) => numbers
            .process(FailAfterCheckpoints {
                after,
                seen: Arc::new(AtomicU64::new(0)),
                attempt: 0,
            })
            .uid("fail"),
        None => numbers.map(|v| v).uid("fail"),
    };
    numbers
        .key_by(|i| i % KEYS)
        .process(Totals {
            events,
            state: ValueStateDescriptor::new("totals"),
        })
        .uid("totals")
}

fn env(dir: &Path) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env
}

fn committed_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return lines;
    };
    for entry in entries {
        let entry = entry.unwrap();
        if !entry.file_name().to_string_lossy().starts_with('.') {
            lines.extend(std::fs::read_to_string(entry.path()).unwrap().lines().map(String::from));
        }
    }
    lines.sort();
    lines
}

/// Runs the failing first job and returns its checkpoint directory.
fn failed_first_run(
    dir: &Path,
    events: u64,
    after: u64,
    sink: impl FnOnce(DataStream<String>) + Send + 'static,
) -> PathBuf {
    let dir = dir.to_path_buf();
    common::no_hang("first run", move || {
        let env = env(&dir);
        sink(build(&env, events, Some(after)));
        let client = env.execute_async("first run").unwrap();
        let checkpoints = client.checkpoint_dir().unwrap().to_path_buf();
        match client.wait() {
            Err(WeirError::TaskFailed { cause, .. }) => assert!(cause.contains("planned failure"), "{cause}"),
            other => panic!("expected the planned failure, got {other:?}"),
        }
        checkpoints
    })
}

#[test]
fn a_failed_job_resumes_from_its_retained_checkpoint_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let events = 40_000;
    let o = out.clone();
    let checkpoints = failed_first_run(dir.path(), events, 3, move |s| {
        s.sink_to_files(o).uid("files");
    });
    let committed_before = committed_lines(&out).len();

    let d = dir.path().to_path_buf();
    let o = out.clone();
    let result = common::no_hang("second run", move || {
        let env = env(&d);
        env.restore_from(&checkpoints);
        build(&env, events, None).sink_to_files(o).uid("files");
        env.execute("second run").unwrap()
    });
    assert!(result.restored_from.is_some());
    let committed = committed_lines(&out);
    assert_eq!(
        committed.len(),
        KEYS as usize,
        "committed {committed_before} lines in the first run"
    );
    assert_eq!(committed, oracle_totals(events));
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let events = 200_000;
    let checkpoints = failed_first_run(dir.path(), events, 4, |s| {
        s.discard();
    });
    let mut completed: Vec<(u64, PathBuf)> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("_metadata").is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy()[4..].parse().unwrap(), p))
        .collect();
    completed.sort();
    assert!(completed.len() >= 2, "{completed:?}");
    let (_, newest) = completed.last().unwrap().clone();
    let (_, previous) = completed[completed.len() - 2].clone();
    let state = std::fs::read_dir(&newest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "state"))
        .unwrap();
    let mut bytes = std::fs::read(&state).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&state, bytes).unwrap();

    // Naming the damaged checkpoint itself is an error that names the file.
    let d = dir.path().to_path_buf();
    let named = newest.clone();
    let error = common::no_hang("damaged", move || {
        let env = env(&d);
        env.restore_from(named);
        build(&env, events, None).discard();
        env.execute("damaged").unwrap_err()
    });
    let file = state.file_name().unwrap().to_string_lossy().to_string();
    assert!(error.to_string().contains(&file), "{error}");

    // Naming the job's directory picks the newest valid checkpoint.
    let d = dir.path().to_path_buf();
    let (result, totals) = common::no_hang("fallback", move || {
        let env = env(&d);
        env.restore_from(&checkpoints);
        let totals = build(&env, events, None).collect();
        let result = env.execute("fallback").unwrap();
        (result, totals.take())
    });
    assert_eq!(result.restored_from.as_deref(), Some(previous.as_path()));
    let mut totals = totals;
    totals.sort();
    assert_eq!(totals, oracle_totals(events));
}

#[test]
fn a_checkpoint_that_cannot_be_written_fails_only_that_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let d = dir.path().to_path_buf();
    let o = out.clone();
    let (result, generated) = common::no_hang("unwritable checkpoints", move || {
        let env = env(&d);
        env.set_tolerable_checkpoint_failures(1_000);
        env.add_source(GeneratorSource::new(|i| i).with_rate_limit(100_000.0))
            .rebalance()
            .map(|i| i * 2)
            .sink_to_files(o);
        let client = env.execute_async("unwritable").unwrap();
        let job_dir = client.checkpoint_dir().unwrap().to_path_buf();
        while client.completed_checkpoints() < 2 {
            std::thread::yield_now();
        }
        // Make the checkpoint directory unusable: a file where a directory must be.
        let moved = job_dir.with_extension("moved");
        std::fs::rename(&job_dir, &moved).unwrap();
        std::fs::write(&job_dir, "not a directory").unwrap();
        let failed_before = client.failed_checkpoints();
        while client.failed_checkpoints() < failed_before + 2 {
            std::thread::yield_now();
        }
        // Put the directory back. A snapshot writer may recreate the path as a
        // directory between the removal and the rename: remove it and retry.
        loop {
            match std::fs::symlink_metadata(&job_dir) {
                Ok(m) if m.is_dir() => {
                    let _ = std::fs::remove_dir_all(&job_dir);
                }
                Ok(_) => {
                    let _ = std::fs::remove_file(&job_dir);
                }
                Err(_) => {}
            }
            match std::fs::rename(&moved, &job_dir) {
                Ok(()) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::DirectoryNotEmpty
                            | std::io::ErrorKind::AlreadyExists
                            | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue
                }
                Err(e) => panic!("cannot restore {}: {e}", job_dir.display()),
            }
        }
        let completed_before = client.completed_checkpoints();
        while client.completed_checkpoints() < completed_before + 2 {
            std::thread::yield_now();
        }
        client.stop();
        let result = client.wait().unwrap();
        let generated = result.vertices[0].records_in;
        (result, generated)
    });
    assert_eq!(result.restarts, 0, "failed checkpoints must not fail the job");
    assert!(result.failed_checkpoints >= 2);
    assert_exactly_once(&out, generated, |i| i % 2 == 0);
}

/// The committed numbers are distinct, as many as the source generated, and all
/// pass `valid`.
fn assert_exactly_once(out: &Path, generated: u64, valid: impl Fn(u64) -> bool) {
    let mut committed: Vec<u64> = committed_lines(out).iter().map(|l| l.parse().unwrap()).collect();
    committed.sort_unstable();
    let total = committed.len();
    committed.dedup();
    assert_eq!(
        committed.len(),
        total,
        "{} duplicates committed",
        total - committed.len()
    );
    assert_eq!(
        total as u64, generated,
        "committed {total} of {generated} generated records"
    );
    assert!(committed.iter().all(|&v| valid(v)));
}

/// Fails every time; records the highest attempt seen.
fn failing_job(strategy: RestartStrategy) -> (WeirError, u32) {
    common::no_hang("restarts", move || {
        let attempts = Arc::new(AtomicU32::new(0));
        let a = attempts.clone();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1).set_restart_strategy(strategy);
        env.from_sequence(1, 10)
            .process_fn(move |_: i64, ctx, _: &mut Collector<'_, i64>| {
                a.fetch_max(ctx.subtask().attempt, Ordering::SeqCst);
                Err("always".into())
            })
            .discard();
        let error = env.execute("restarts").unwrap_err();
        (error, attempts.load(Ordering::SeqCst))
    })
}

#[test]
fn restart_strategies_bound_the_restarts() {
    let (error, attempt) = failing_job(RestartStrategy::None);
    assert!(matches!(error, WeirError::TaskFailed { .. }), "{error}");
    assert_eq!(attempt, 0);

    let (_, attempt) = failing_job(RestartStrategy::FixedDelay {
        attempts: 3,
        delay: Duration::from_millis(1),
    });
    assert_eq!(attempt, 3, "three restarts, then the job fails");

    let (error, attempt) = failing_job(RestartStrategy::ExponentialBackoff {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(4),
        multiplier: 2.0,
        attempts: 4,
    });
    assert_eq!(attempt, 4);
    assert!(error.to_string().contains("always"), "{error}");
}

#[test]
fn stop_takes_a_final_checkpoint_and_commits_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let d = dir.path().to_path_buf();
    let o = out.clone();
    let (result, generated) = common::no_hang("stop", move || {
        let env = env(&d);
        env.add_source(GeneratorSource::new(|i| i))
            .key_by(|i| i % 7)
            .map(|i| i + 1)
            .sink_to_files(o);
        let client = env.execute_async("stop").unwrap();
        while client.completed_checkpoints() < 3 {
            std::thread::yield_now();
        }
        client.stop();
        let result = client.wait().unwrap();
        let generated = result.vertices[0].records_in;
        (result, generated)
    });
    assert!(generated > 0);
    assert!(!result.checkpoints.is_empty());
    assert_exactly_once(&out, generated, |v| v >= 1);
}

#[test]
fn sources_that_cannot_replay_are_rejected_with_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    env.from_iter(0..10).name("iterator").discard();
    let error = env.execute("no replay").unwrap_err();
    assert!(error.to_string().contains("source 'iterator' cannot replay"), "{error}");
}

#[test]
fn concurrent_checkpoints_complete_in_unaligned_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let (result, totals) = common::no_hang("concurrent", move || {
        let env = env(&d);
        env.set_checkpoint_mode(CheckpointMode::Unaligned)
            .set_max_concurrent_checkpoints(3)
            .enable_checkpointing(Duration::from_millis(2))
            .set_buffer_size(16)
            .set_channel_capacity(1);
        let totals = build(&env, 60_000, None).collect();
        let result = env.execute("concurrent").unwrap();
        (result, totals.take())
    });
    assert!(result.checkpoints.len() >= 2, "{result:?}");
    let mut totals = totals;
    totals.sort();
    assert_eq!(totals, oracle_totals(60_000));
}
