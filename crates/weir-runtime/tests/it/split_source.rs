//! Split-based sources (an enumerator assigning splits to readers) in a running
//! job: with seeded failures, then restored at a lower and a higher parallelism,
//! the exactly-once file sink holds every record exactly once. Both assignment
//! styles are run: on request (files) and all up front (Kafka partitions).
//!
//! `WEIR_SPLIT_SOURCE_SEED=<n>` picks the first seed (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{assert_same_lines, committed_lines, quiet_injected_panics, run_with_watchdog};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::split::{SplitSourceAdapter, VecSplitSource};
use weir_core::{BoxError, RestartStrategy, SubtaskInfo};
use weir_datastream::functions::{Context, ProcessFunction};
use weir_datastream::{Collector, StreamExecutionEnvironment};

const SPLITS: u64 = 23;
const PER_SPLIT: u64 = 700;

fn data() -> Vec<Vec<u64>> {
    (0..SPLITS)
        .map(|s| (s * PER_SPLIT..(s + 1) * PER_SPLIT).collect())
        .collect()
}

fn oracle() -> Vec<String> {
    let mut lines: Vec<String> = (0..SPLITS * PER_SPLIT).map(|i| format!("{i:06}")).collect();
    lines.sort();
    lines
}

/// Fails once per attempt after a seeded number of records, for the first
/// `failures` attempts.
#[derive(Clone)]
struct Gate {
    failures: u32,
    after: u64,
    seen: Arc<AtomicU64>,
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
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.attempt < self.failures && n == self.after * (self.attempt as u64 + 1) {
            panic!("injected fault in attempt {}", self.attempt);
        }
        out.collect(format!("{i:06}"));
        Ok(())
    }
}

/// Runs the job at `parallelism` from `restore`; `last` runs to the end, other
/// runs end with their final injected failure. Returns the newest checkpoint.
fn run(
    seed: u64,
    run: u32,
    parallelism: usize,
    up_front: bool,
    restore: Option<&Path>,
    dir: &Path,
    last: bool,
) -> Option<PathBuf> {
    let mut rng = fastrand::Rng::with_seed(seed * 7 + run as u64);
    let failures = 2;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .set_buffer_size(32)
        .set_channel_capacity(2)
        .enable_checkpointing(Duration::from_millis(5))
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(format!("run{run}")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: if last { 100 } else { failures - 1 },
            delay: Duration::ZERO,
        });
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let source = VecSplitSource::new(data()).with_batch(rng.usize(1..16));
    let source = if up_front { source.assigning_up_front() } else { source };
    env.add_source(SplitSourceAdapter::new("splits", source))
        .uid("source")
        .process(Gate {
            failures,
            after: rng.u64(200..2_000),
            seen: Arc::new(AtomicU64::new(0)),
            attempt: 0,
        })
        .uid("gate")
        .sink_to_files(dir.join("out"))
        .uid("files");
    let label = format!("seed {seed} run {run} at parallelism {parallelism}, up front {up_front}");
    let client = env.execute_async("split source").unwrap();
    let handle = client.handle();
    match (client.wait(), last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => {} // read everything before its faults: fine, later runs restore the end
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    handle.latest_checkpoint()
}

#[test]
fn split_sources_are_exact_across_failures_and_rescales() {
    quiet_injected_panics();
    let first = std::env::var("WEIR_SPLIT_SOURCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1u64);
    for seed in first..first + 2 {
        for up_front in [false, true] {
            run_with_watchdog(format!("split source seed {seed}, up front {up_front}"), move |dir| {
                let a = run(seed, 1, 3, up_front, None, dir, false);
                // A run that completed no checkpoint leaves the previous one newest.
                let b = run(seed, 2, 2, up_front, a.as_deref(), dir, false).or(a);
                run(seed, 3, 4, up_front, b.as_deref(), dir, true);
                let (lines, hidden) = committed_lines(&dir.join("out"));
                assert_same_lines(
                    &format!("seed {seed}, up front {up_front}: 3 -> 2 -> 4"),
                    &lines,
                    &oracle(),
                );
                assert!(hidden.is_empty(), "seed {seed}: leftover files {hidden:?}");
            });
        }
    }
}
