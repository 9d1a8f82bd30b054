//! Exactly once across a failure: SQL jobs over a rate-limited Nexmark source
//! (its position checkpointed) write into the `filesystem` sink, checkpointing
//! every 20 ms; in front of the sink a gate fails the job once, at the first
//! batch after one of its subtasks saw a checkpoint complete whose interval
//! held rows (so committed files of the first attempt exist). The job restarts
//! from its latest checkpoint and runs to its end; the committed files must
//! then hold every row exactly once: every bid once in `json`, and in
//! `changelog-json` a changelog of the counts per bidder without a repeated or
//! lost change, ending at the counts of the generated events. Parallelism 1
//! and 2.
#![allow(clippy::unwrap_used)]

use crate::common::part_files::{read, PartFiles};
use crate::common::{bids, expected_counts, nexmark};
use crate::filesystem::check_counts_changelog;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use weir_core::{BoxError, RestartStrategy};
use weir_datastream::functions::{Context, ProcessFunction};
use weir_datastream::{Collector, DataStream, DataStreamSink, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{ChangelogMode, SqlSink};
use weir_sql::connectors::builtin;
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;
use weir_sql::script::SqlSession;
use weir_sql_connectors::FilesystemSqlSink;

const EVENTS: u64 = 40_000;
const RATE: u64 = 40_000;

/// Fails the job once (`armed` is shared by all subtasks and attempts): at the
/// first batch after a completed checkpoint whose interval had batches here.
#[derive(Clone)]
pub struct FailOnce {
    armed: Arc<AtomicBool>,
    /// Batches since the last barrier.
    batches: u64,
    /// Batches of each checkpoint interval not yet completed, by checkpoint.
    intervals: BTreeMap<u64, u64>,
    /// A checkpoint with batches completed: its files are committed.
    committed: bool,
}

impl FailOnce {
    /// A gate failing the job once, while `armed`.
    pub fn new(armed: Arc<AtomicBool>) -> Self {
        FailOnce {
            armed,
            batches: 0,
            intervals: BTreeMap::new(),
            committed: false,
        }
    }
}

impl ProcessFunction<RowBatch, RowBatch> for FailOnce {
    fn process_element(
        &mut self,
        batch: RowBatch,
        _: &mut Context<'_>,
        out: &mut Collector<'_, RowBatch>,
    ) -> Result<(), BoxError> {
        if self.committed && self.armed.swap(false, Ordering::SeqCst) {
            return Err("injected failure".into());
        }
        self.batches += 1;
        out.collect(batch);
        Ok(())
    }

    fn snapshot_state(
        &mut self,
        checkpoint_id: u64,
        _: &mut weir_datastream::OperatorStateStore,
    ) -> Result<(), BoxError> {
        self.intervals.insert(checkpoint_id, std::mem::take(&mut self.batches));
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let done: Vec<u64> = self.intervals.range(..=checkpoint_id).map(|(id, _)| *id).collect();
        for id in done {
            if self.intervals.remove(&id).unwrap_or(0) > 0 {
                // The sink, chained after this gate in the same task, commits
                // the checkpoint's files in its own notification, before the
                // next batch gets here.
                self.committed = true;
            }
        }
        Ok(())
    }
}

/// A gate turning a sink's input into what it writes.
pub type Gate = Arc<dyn Fn(DataStream<RowBatch>) -> DataStream<RowBatch> + Send + Sync>;

/// `sink` behind a gate.
pub struct Gated {
    pub sink: Arc<dyn SqlSink>,
    pub gate: Gate,
}

impl SqlSink for Gated {
    fn name(&self) -> &'static str {
        self.sink.name()
    }

    fn accepts(&self, table: &TableDef, mode: ChangelogMode) -> bool {
        self.sink.accepts(table, mode)
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        self.sink.create_sink(table, (self.gate)(input), mode)
    }
}

/// `sink` behind a [`FailOnce`] gate (the job fails once, while `armed`).
pub fn failing(sink: Arc<dyn SqlSink>, armed: Arc<AtomicBool>) -> Gated {
    Gated {
        sink,
        gate: Arc::new(move |input: DataStream<RowBatch>| input.process(FailOnce::new(armed.clone())).uid("fail-once")),
    }
}

/// Runs `script` with the crate's connectors and `sink` (replacing the sink of
/// its name), checkpointing every 20 ms and restarting after failures; fails
/// the test unless the job ends within 300 s and `armed`'s failure happened.
pub fn run_with_failure(script: String, parallelism: usize, armed: &Arc<AtomicBool>, sink: Gated) {
    run_with_failure_in(script, parallelism, armed, sink, |_| {});
}

/// As [`run_with_failure`], the environment set up further by `configure`.
pub fn run_with_failure_in(
    script: String,
    parallelism: usize,
    armed: &Arc<AtomicBool>,
    sink: Gated,
    configure: fn(&StreamExecutionEnvironment),
) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    connectors.register_sink(Arc::new(sink));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism)
            .enable_checkpointing(Duration::from_millis(20))
            .set_checkpoint_dir(checkpoints)
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::from_millis(1),
            });
        configure(&env);
        let result = SqlSession::new(connectors)
            .run_script(&env, &script)
            .map_err(|e| e.to_string())
            .and_then(|_| env.execute("restart").map_err(|e| e.to_string()));
        let _ = tx.send(result.map(|_| ()));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("the job did not finish within 300 s (hang?)");
    result.unwrap();
    assert!(!armed.load(Ordering::SeqCst), "the injected failure never happened");
}

/// Runs `script` with its `filesystem` sink behind a [`FailOnce`] gate (see
/// [`run_with_failure`]).
pub fn run_failing_filesystem(script: String, parallelism: usize) {
    let armed = Arc::new(AtomicBool::new(true));
    let sink = failing(Arc::new(FilesystemSqlSink), armed.clone());
    run_with_failure(script, parallelism, &armed, sink);
}

/// Runs `insert` (into table `out` at `dir`, in `format`) with checkpoints and
/// one injected failure; returns the part files.
fn run_files_with_failure(format: &str, columns: &str, insert: &str, parallelism: usize) -> PartFiles {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "{}CREATE TABLE out ({columns}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = '{format}');\n{insert}",
        nexmark(EVENTS, &format!(", 'rate-limit' = '{RATE}'")),
        out.display()
    );
    run_failing_filesystem(script, parallelism);
    let files = read(&out, format);
    assert!(files.leftovers.is_empty(), "hidden files left: {:?}", files.leftovers);
    let attempts: std::collections::BTreeSet<u64> = files.committed.iter().map(|(part, _)| part.attempt).collect();
    assert!(
        attempts.contains(&0) && attempts.iter().any(|a| *a > 0),
        "committed files of the first attempt and of the restarted one expected, got attempts {attempts:?}"
    );
    println!(
        "{format} at parallelism {parallelism}: {} part files, attempts {attempts:?}",
        files.committed.len()
    );
    files
}

fn check_bids_once(parallelism: usize) {
    let files = run_files_with_failure(
        "json",
        "auction BIGINT, bidder BIGINT, price BIGINT",
        "INSERT INTO out SELECT auction, bidder, price FROM bid;",
        parallelism,
    );
    let mut expected: Vec<String> = bids(EVENTS)
        .into_iter()
        .map(|(auction, bidder, price)| format!(r#"{{"auction":{auction},"bidder":{bidder},"price":{price}}}"#))
        .collect();
    expected.sort();
    let got = files.sorted_lines();
    assert_eq!(got.len(), expected.len(), "rows lost or written twice");
    assert!(got == expected, "the committed rows are not the generated bids");
}

#[test]
fn json_rows_are_written_once_across_a_failure_at_parallelism_1() {
    check_bids_once(1);
}

#[test]
fn json_rows_are_written_once_across_a_failure_at_parallelism_2() {
    check_bids_once(2);
}

fn check_changelog_once(parallelism: usize) {
    let files = run_files_with_failure(
        "changelog-json",
        "bidder BIGINT, bids BIGINT, total BIGINT",
        "INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;",
        parallelism,
    );
    let updates = check_counts_changelog(files.lines(), &expected_counts(EVENTS));
    assert!(updates > 0);
}

#[test]
fn a_changelog_is_written_once_across_a_failure_at_parallelism_1() {
    check_changelog_once(1);
}

#[test]
fn a_changelog_is_written_once_across_a_failure_at_parallelism_2() {
    check_changelog_once(2);
}
