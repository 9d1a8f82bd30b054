//! The file sink when its committed output is moved, or the job restored in
//! another current directory: restores commit what they must and finish.
//!
//! `a_restore_in_another_current_directory_commits_where_the_files_were_written`
//! changes the process's current directory; everything else in this file uses
//! absolute paths.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{assert_same_lines, child_process, committed_lines, quiet_injected_panics, run_with_watchdog};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_connectors::GeneratorSource;
use weir_core::{BoxError, RestartStrategy};
use weir_datastream::functions::{Context, ProcessFunction};
use weir_datastream::{Collector, StreamExecutionEnvironment};

const EVENTS: u64 = 20_000;

fn line(i: u64) -> String {
    format!("r {i:05} {}", i * 7919 % 1000)
}

fn oracle() -> Vec<String> {
    let mut lines: Vec<String> = (0..EVENTS).map(line).collect();
    lines.sort();
    lines
}

/// Passes lines on; fails once, when the `fail_at`-th checkpoint completion
/// reaches any subtask (before the sink chained after it commits).
#[derive(Clone)]
struct FailAfterCompletion {
    completions: Arc<AtomicU32>,
    fail_at: u32,
}

impl ProcessFunction<String, String> for FailAfterCompletion {
    fn process_element(
        &mut self,
        l: String,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        out.collect(l);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        if self.completions.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            panic!("injected fault after checkpoint {checkpoint_id} completed");
        }
        Ok(())
    }
}

/// Lines of `EVENTS` records through `gate` into the file sink at `out`.
fn build(env: &StreamExecutionEnvironment, out: &Path, rate: Option<f64>, gate: FailAfterCompletion) {
    let mut source = GeneratorSource::new(|i| i).with_count(EVENTS);
    if let Some(rate) = rate {
        source = source.with_rate_limit(rate).with_records_per_poll(64);
    }
    env.add_source(source)
        .uid("source")
        .set_parallelism(1)
        .rebalance()
        .map(line)
        .uid("lines")
        .process(gate)
        .uid("gate")
        .sink_to_files(out)
        .uid("files");
}

fn env(checkpoints: PathBuf, interval: Duration, restarts: u32) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(interval)
        .set_checkpoint_dir(checkpoints)
        .set_retained_checkpoints(3)
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: restarts,
            delay: Duration::ZERO,
        });
    env
}

fn no_fault() -> FailAfterCompletion {
    FailAfterCompletion {
        completions: Arc::new(AtomicU32::new(0)),
        fail_at: 0,
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The pending files in `dir` pre-committed at checkpoint `restored` or before.
fn restored_pending(dir: &Path, restored: u64) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".pending"))
        .filter(|n| {
            n.split('-')
                .nth(2)
                .and_then(|c| c.parse::<u64>().ok())
                .is_none_or(|c| c <= restored)
        })
        .collect()
}

/// A finished job's final checkpoint lists the files it committed. The user moves
/// them away and starts a job from that checkpoint: committing them again is a
/// no-op, and the job runs (it crash-looped on "pre-committed output is missing").
#[test]
fn moving_committed_output_away_does_not_stop_a_restore() {
    run_with_watchdog("moved output".into(), |dir| {
        let out = dir.join("out");
        // No checkpoint before the final one: it pre-commits every file.
        let first = env(dir.join("run1"), Duration::from_secs(3600), 0);
        build(&first, &out, None, no_fault());
        let client = first.execute_async("moved output").unwrap();
        let handle = client.handle();
        client.wait().unwrap();
        let last = handle.latest_checkpoint().expect("the final checkpoint");
        let id = last
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("chk-")
            .to_string();
        let moved = dir.join("moved");
        std::fs::create_dir_all(&moved).unwrap();
        let mut files = 0;
        for name in names(&out).into_iter().filter(|n| n.starts_with("part-")) {
            assert_eq!(
                name.split('-').nth(2),
                Some(id.as_str()),
                "{name} was not committed by {last:?}"
            );
            std::fs::rename(out.join(&name), moved.join(&name)).unwrap();
            files += 1;
        }
        assert_eq!(files, 2, "one file per subtask");
        let (lines, _) = committed_lines(&moved);
        assert_same_lines("the first run", &lines, &oracle());

        let second = env(dir.join("run2"), Duration::from_millis(10), 2);
        second.restore_from(&last);
        build(&second, &out, None, no_fault());
        let result = second
            .execute("moved output")
            .unwrap_or_else(|e| panic!("the restore after the output was moved failed: {e}"));
        assert_eq!(result.restarts, 0);
        assert_eq!(names(&moved).len(), 2, "the moved files are untouched");
    });
}

/// A job fails after a checkpoint completed, before a subtask committed its file.
/// Restored from another current directory with the same relative output path,
/// the new job commits that file where it was written (the relative path in the
/// checkpoint pointed into the new directory: "pre-committed output is missing").
///
/// The current directory is the process's: the test runs alone in a child process
/// of this binary, so that the other tests, running in threads of this one, keep
/// theirs.
#[test]
fn a_restore_in_another_current_directory_commits_where_the_files_were_written() {
    let name = child_process::test_name(
        module_path!(),
        "a_restore_in_another_current_directory_commits_where_the_files_were_written",
    );
    if !child_process::is_child(&name) {
        child_process::run_alone(&name, &[]);
        return;
    }
    quiet_injected_panics();
    let base = tempfile::tempdir().unwrap();
    let (a, b) = (base.path().join("a"), base.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let original = std::env::current_dir().unwrap();

    std::env::set_current_dir(&a).unwrap();
    let first = env(base.path().join("run1"), Duration::from_millis(10), 0);
    let gate = FailAfterCompletion {
        completions: Arc::new(AtomicU32::new(0)),
        fail_at: 5,
    };
    build(&first, Path::new("out"), Some(20_000.0), gate);
    let client = first.execute_async("relative").unwrap();
    let handle = client.handle();
    let failure = client.wait().err().map(|e| e.to_string());
    let last = handle.latest_checkpoint();
    let restored: u64 = last
        .as_ref()
        .and_then(|l| l.file_name()?.to_str()?.strip_prefix("chk-")?.parse().ok())
        .unwrap_or(0);
    let left_pending = !restored_pending(&a.join("out"), restored).is_empty();

    std::env::set_current_dir(&b).unwrap();
    let second = env(base.path().join("run2"), Duration::from_millis(10), 2);
    if let Some(last) = &last {
        second.restore_from(last);
    }
    build(&second, Path::new("out"), None, no_fault());
    let result = second.execute("relative");
    std::env::set_current_dir(&original).unwrap();

    let failure = failure.expect("the first run should fail");
    assert!(failure.contains("injected fault"), "{failure}");
    assert!(last.is_some(), "no checkpoint completed before the failure");
    assert!(left_pending, "the failure left no pre-committed file to commit");
    let result = result.unwrap_or_else(|e| panic!("the restore in another directory failed: {e}"));
    assert_eq!(result.restarts, 0);
    // Files pre-committed for checkpoints that never completed stay behind in
    // the old directory (the new job cleans up only its own); those of the
    // restored checkpoint must be committed.
    let pending = restored_pending(&a.join("out"), restored);
    assert!(
        pending.is_empty(),
        "restored pre-committed files left uncommitted: {pending:?}"
    );
    let (mut lines, _) = committed_lines(&a.join("out"));
    let (later, hidden) = committed_lines(&b.join("out"));
    assert!(hidden.is_empty(), "{hidden:?}");
    lines.extend(later);
    lines.sort();
    assert_same_lines("committed in a/out and b/out", &lines, &oracle());
}
