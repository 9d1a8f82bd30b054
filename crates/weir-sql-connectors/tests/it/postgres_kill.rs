//! Exactly-once effect under process kills: the SQL job `INSERT INTO counts
//! SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder` (a bounded,
//! rate-limited Nexmark source whose position is checkpointed, an updating
//! aggregate, the `postgres` upsert sink) runs as a child process (this test
//! binary run again as `child_process_entry`), checkpointing every 100 ms, and
//! kills itself with SIGKILL at seeded points: at the n-th batch reaching the
//! sink (mid-stream, rows buffered but not written) or right after the n-th
//! checkpoint completed. Each time the job restarts from the newest completed
//! checkpoint, at a seeded parallelism, until it runs to its end; the table must
//! then equal the counts computed from the same events, exactly.
//!
//! `WEIR_SQL_PG_KILLS=<n>` sets the number of kills (default 5),
//! `WEIR_SQL_PG_SEED=<s>` the seed (default 1); the test prints both.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common::{counts_in, expected_rows, fresh_table, nexmark, url};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
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
use weir_sql_connectors::PostgresSqlSink;

const EVENTS: u64 = 30_000;
const TABLE: &str = "sql_kill_counts";

/// Where the child kills itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    /// At the n-th batch reaching the sink (in any subtask).
    Batch,
    /// Right after the n-th checkpoint completed (in any subtask).
    Checkpoint,
}

fn point(name: &str) -> Point {
    match name {
        "Batch" => Point::Batch,
        "Checkpoint" => Point::Checkpoint,
        other => panic!("unknown point {other}"),
    }
}

/// Passes batches on; kills the process at its point.
#[derive(Clone)]
struct KillSwitch {
    fault: Option<(Point, u64)>,
    hits: Arc<std::sync::atomic::AtomicU64>,
}

impl KillSwitch {
    fn hit(&self, at: Point, what: &str) {
        let Some((point, nth)) = self.fault else {
            return;
        };
        if point != at || self.hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 != nth {
            return;
        }
        println!("KILL {point:?} {nth} {what}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL).unwrap();
        unreachable!("SIGKILL returned")
    }
}

impl ProcessFunction<RowBatch, RowBatch> for KillSwitch {
    fn process_element(
        &mut self,
        batch: RowBatch,
        _: &mut Context<'_>,
        out: &mut Collector<'_, RowBatch>,
    ) -> Result<(), BoxError> {
        self.hit(Point::Batch, &format!("({} rows)", batch.num_rows()));
        out.collect(batch);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.hit(Point::Checkpoint, &format!("(checkpoint {checkpoint_id})"));
        Ok(())
    }
}

/// The `postgres` sink behind a [`KillSwitch`].
struct KillingPostgres {
    switch: KillSwitch,
}

impl SqlSink for KillingPostgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn accepts(&self, table: &TableDef, mode: ChangelogMode) -> bool {
        PostgresSqlSink::postgres().accepts(table, mode)
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        let input = input.process(self.switch.clone()).uid("kill-switch");
        PostgresSqlSink::postgres().create_sink(table, input, mode)
    }
}

fn script() -> String {
    format!(
        "{}
        CREATE TABLE counts (bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
        WITH ('connector' = 'postgres', 'url' = '{}', 'table-name' = '{TABLE}',
              'sink.buffer-flush.max-rows' = '200');
        INSERT INTO counts SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;",
        nexmark(EVENTS, ", 'rate-limit' = '15000'"),
        url()
    )
}

/// The job, when this binary runs as the child (`WEIR_SQL_PG_CHILD` set); a
/// no-op in the ordinary test run.
#[test]
fn child_process_entry() {
    let Ok(checkpoints) = std::env::var("WEIR_SQL_PG_CHILD") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let fault = var("WEIR_SQL_PG_FAULT")
        .split_once(':')
        .map(|(name, nth)| (point(name), nth.parse().unwrap()));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(var("WEIR_SQL_PG_PARALLELISM").parse().unwrap())
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(PathBuf::from(checkpoints))
        .set_restart_strategy(RestartStrategy::None);
    let restore = var("WEIR_SQL_PG_RESTORE");
    if !restore.is_empty() {
        env.restore_from(PathBuf::from(restore));
    }
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    connectors.register_sink(Arc::new(KillingPostgres {
        switch: KillSwitch {
            fault,
            hits: Arc::default(),
        },
    }));
    SqlSession::new(connectors).run_script(&env, &script()).unwrap();
    env.execute("sql postgres kill").unwrap();
    println!("JOB_FINISHED");
}

/// The newest job directory under `base` holding a completed checkpoint.
fn newest_restorable(base: &Path) -> Option<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for job in std::fs::read_dir(base).ok()?.flatten() {
        let completed = std::fs::read_dir(job.path())
            .ok()?
            .flatten()
            .any(|c| c.file_name().to_string_lossy().starts_with("chk-") && c.path().join("_metadata").is_file());
        if !completed {
            continue;
        }
        let modified = job.metadata().ok()?.modified().ok()?;
        if best.as_ref().is_none_or(|(at, _)| modified > *at) {
            best = Some((modified, job.path()));
        }
    }
    best.map(|(_, path)| path)
}

/// The libtest name of `child_process_entry` in this binary.
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_process_entry")
}

/// Runs the child; `Some(point)` when it was killed there, `None` when it finished.
fn run_child(base: &Path, parallelism: usize, restore: Option<&Path>, fault: Option<(Point, u64)>) -> Option<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([child_test_name().as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("WEIR_SQL_PG_CHILD", base)
        .env("WEIR_SQL_PG_PARALLELISM", parallelism.to_string())
        .env(
            "WEIR_SQL_PG_RESTORE",
            restore.map(|p| p.display().to_string()).unwrap_or_default(),
        )
        .env(
            "WEIR_SQL_PG_FAULT",
            fault.map(|(p, n)| format!("{p:?}:{n}")).unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut output = String::new();
    let mut killed_at = None;
    let mut finished = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // Markers may follow libtest's "test ...child_process_entry ... " on its line.
        if let Some(at) = line.find("KILL ") {
            killed_at = Some(line[at + "KILL ".len()..].to_string());
        }
        finished |= line.ends_with("JOB_FINISHED");
        output.push_str(&line);
        output.push('\n');
    }
    let status = child.wait().unwrap();
    output.push_str(&errors.join().unwrap());
    match status.signal() {
        Some(9) => {
            assert!(killed_at.is_some(), "killed without a KILL line:\n{output}");
            killed_at
        }
        Some(other) => panic!("the child died of signal {other}:\n{output}"),
        None => {
            assert!(status.success() && finished, "the child failed ({status}):\n{output}");
            None
        }
    }
}

fn seeded_fault(rng: &mut fastrand::Rng) -> (Point, u64) {
    if rng.bool() {
        (Point::Batch, rng.u64(1..=40))
    } else {
        (Point::Checkpoint, rng.u64(1..=12))
    }
}

#[test]
fn sigkill_at_seeded_moments_leaves_exactly_the_counts() {
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let seed = var("WEIR_SQL_PG_SEED", 1);
    let wanted = var("WEIR_SQL_PG_KILLS", 5);
    println!("seed {seed}, {wanted} kills (rerun: WEIR_SQL_PG_SEED={seed} WEIR_SQL_PG_KILLS={wanted})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let expected = expected_rows(EVENTS, |_| true);
    fresh_table(TABLE, "bidder bigint PRIMARY KEY, bids bigint NOT NULL, total bigint");
    let mut dir = tempfile::tempdir().unwrap();
    let mut restore: Option<PathBuf> = None;
    let mut kills: Vec<String> = Vec::new();
    let mut restored_runs = 0;
    for run in 0.. {
        assert!(
            run < wanted * 4 + 10,
            "seed {seed}: too many runs ({run}) for {wanted} kills"
        );
        let parallelism = rng.usize(1..=3);
        let fault = (kills.len() as u64) < wanted;
        let fault = fault.then(|| seeded_fault(&mut rng));
        restored_runs += usize::from(restore.is_some());
        match run_child(dir.path(), parallelism, restore.as_deref(), fault) {
            Some(at) => {
                println!("seed {seed} run {run}: parallelism {parallelism}, killed at {at}");
                kills.push(at);
                if let Some(newest) = newest_restorable(dir.path()) {
                    restore = Some(newest);
                }
            }
            None if fault.is_some() => {
                // The job ended before its kill point: the table must already be
                // right; start over from scratch for the remaining kills.
                println!("seed {seed} run {run}: parallelism {parallelism}, finished before {fault:?}");
                assert_eq!(counts_in(TABLE), expected, "seed {seed}: after kills {kills:?}");
                fresh_table(TABLE, "bidder bigint PRIMARY KEY, bids bigint NOT NULL, total bigint");
                dir = tempfile::tempdir().unwrap();
                restore = None;
            }
            None => {
                println!("seed {seed} run {run}: parallelism {parallelism}, finished");
                break;
            }
        }
    }
    assert!(
        restored_runs > 0,
        "seed {seed}: no run restored a checkpoint: {kills:?}"
    );
    let actual = counts_in(TABLE);
    assert!(
        actual == expected,
        "seed {seed}: after kills {kills:?}: {} rows, {} expected; first difference {:?}",
        actual.len(),
        expected.len(),
        actual.iter().zip(&expected).find(|(a, e)| a != e)
    );
    println!(
        "seed {seed}: {} bidders exactly after {} kills: {kills:?}",
        expected.len(),
        kills.len()
    );
}
