//! The MySQL/MariaDB connector against the real server that
//! `scripts/services.sh up mysql` starts (once per test binary; a test fails,
//! never skips, when the server cannot be started).
//!
//! * XA recovery: a prepared transaction survives its client's disconnect; commit
//!   is idempotent and tells committed from rolled back.
//! * Exactly-once with in-process failures (while writing, at the barrier, between
//!   checkpoint completion and `XA COMMIT`, right after `XA COMMIT`), restored at
//!   parallelism 4, then 2, then 3; the table equals the oracle.
//! * Process kills: the job runs as a child process (this test binary, started
//!   with `WEIR_MYSQL_CHILD=1`), SIGKILLed at seeded moments (after an `XA
//!   PREPARE`, after checkpoint completion before `XA COMMIT`, at a seeded time),
//!   restarted from the newest checkpoint at a seeded parallelism.
//! * Upsert sink, reconnection after the server dropped every connection, lookup
//!   source with a cache, and error messages.
//!
//! `WEIR_MYSQL_SEED=<s>` reruns with seed `s`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mysql::prelude::Queryable;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use weir::connector_api::lookup::{CachedLookup, LookupSource};
use weir::connector_api::sink::{Sink, SinkContext};
use weir::connector_api::transactional::{ExactlyOnce, TransactionContext, TransactionalSink};
use weir::core::SubtaskInfo;
use weir::prelude::*;
use weir_connector_mysql::xa::CommitOutcome;
use weir_connector_mysql::{MySqlConfig, MySqlLookup, MySqlUpsertSink, MySqlXaSink, Value, XaPending};

// ---------------------------------------------------------------- service

fn services_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/services.sh")
}

/// Starts MariaDB once per binary; returns the `WEIR_TEST_*` variables.
fn service() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let script = services_script();
        let status = Command::new("bash")
            .arg(&script)
            .args(["up", "mysql"])
            .status()
            .unwrap();
        assert!(status.success(), "`scripts/services.sh up mysql` failed: {status}");
        let out = Command::new("bash")
            .arg(&script)
            .args(["env", "mysql"])
            .output()
            .unwrap();
        assert!(out.status.success(), "`scripts/services.sh env mysql` failed");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect()
    })
}

fn url() -> String {
    service()["WEIR_TEST_MYSQL_URL"].clone()
}

/// Tests share one server and kill each other's connections: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn admin() -> mysql::Conn {
    mysql::Conn::new(mysql::Opts::from_url(&url()).unwrap()).unwrap()
}

fn config(name: &str) -> MySqlConfig {
    MySqlConfig::new(format!("mysql sink '{name}'"), &url())
        .unwrap()
        .with_max_retry_timeout(Duration::from_secs(20))
        .with_max_retries(5)
}

/// A table of `(seq auto-increment, id, v)`: no unique key on `id`, so a
/// duplicated row shows as two rows.
fn fresh_log_table(name: &str) {
    let mut conn = admin();
    // Earlier (failed) runs of these tests may have left prepared transactions,
    // which hold locks on the tables.
    let prepared: Vec<(i64, i64, i64, Vec<u8>)> = conn.query("XA RECOVER").unwrap();
    for (_, _, _, gid) in prepared {
        let gid = String::from_utf8(gid).unwrap();
        if gid.starts_with("weir.") {
            conn.query_drop(format!("XA ROLLBACK '{gid}'")).unwrap();
        }
    }
    conn.query_drop(format!("DROP TABLE IF EXISTS {name}")).unwrap();
    conn.query_drop(format!(
        "CREATE TABLE {name} (seq BIGINT AUTO_INCREMENT PRIMARY KEY, id BIGINT NOT NULL, v VARCHAR(64) NOT NULL) ENGINE=InnoDB"
    ))
    .unwrap();
}

fn value_of(i: u64) -> String {
    format!("v{}", i * 7919 % 1000)
}

fn row(i: &u64) -> Vec<Value> {
    vec![Value::from(*i), Value::from(value_of(*i))]
}

/// Compares the table with the oracle: ids `0..events`, each once, with its value.
fn assert_table_is_oracle(label: &str, table: &str, events: u64) {
    let rows: Vec<(u64, String)> = admin()
        .query(format!("SELECT id, v FROM {table} ORDER BY id, seq"))
        .unwrap();
    let mut counts: BTreeMap<u64, u32> = BTreeMap::new();
    for (id, v) in &rows {
        *counts.entry(*id).or_default() += 1;
        assert_eq!(v, &value_of(*id), "{label}: wrong value for id {id}");
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(10).collect();
    let missing: Vec<u64> = (0..events).filter(|i| !counts.contains_key(i)).take(10).collect();
    assert!(
        duplicated.is_empty() && missing.is_empty() && rows.len() as u64 == events,
        "{label}: {} rows for {events} events; duplicated (id, n) {duplicated:?}; missing {missing:?}",
        rows.len()
    );
}

fn seed() -> u64 {
    std::env::var("WEIR_MYSQL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn txn_context(index: usize, parallelism: usize) -> TransactionContext {
    TransactionContext {
        info: SubtaskInfo::new("mysql", index, parallelism, 128),
        sequence: 0,
    }
}

// ---------------------------------------------------------------- XA recovery

#[test]
fn prepared_xa_survives_disconnect_and_commit_is_idempotent() {
    let _serial = serial();
    fresh_log_table("xa_probe");
    let sink = || MySqlXaSink::new(config("xa_probe"), "probe", "xa_probe", &["id", "v"], row).unwrap();
    let first = sink();
    let context = txn_context(0, 1);
    TransactionalSink::<u64>::clean_up(&first, &context).unwrap();
    let mut txn = TransactionalSink::<u64>::begin(&first, &context).unwrap();
    for i in 0..10 {
        first.write(&context, &mut txn, i, None).unwrap();
    }
    let pending: XaPending = first.pre_commit(&context, txn, 7).unwrap().unwrap();
    assert_eq!(pending.gid, "weir.probe.0.7");
    let mut txn = TransactionalSink::<u64>::begin(&first, &context).unwrap();
    first.write(&context, &mut txn, 99, None).unwrap();
    let orphan = first.pre_commit(&context, txn, 8).unwrap().unwrap();
    // The client goes away: its connections close.
    drop(first);

    let second = sink();
    let prepared = second.prepared_gids().unwrap();
    assert!(
        prepared.contains(&pending.gid) && prepared.contains(&orphan.gid),
        "MariaDB keeps prepared XA transactions across a client disconnect: {prepared:?}"
    );
    let count = || -> u64 { admin().query_first("SELECT COUNT(*) FROM xa_probe").unwrap().unwrap() };
    assert_eq!(count(), 0, "prepared rows are not visible");
    assert_eq!(second.commit_gid(&pending.gid).unwrap(), CommitOutcome::Committed);
    assert_eq!(
        second.commit_gid(&pending.gid).unwrap(),
        CommitOutcome::AlreadyCommitted
    );
    assert_eq!(count(), 10);
    // clean_up rolls back what no completed checkpoint covers (gid 8 of writer 0).
    TransactionalSink::<u64>::clean_up(&second, &context).unwrap();
    assert!(!second.prepared_gids().unwrap().contains(&orphan.gid));
    assert_eq!(second.commit_gid(&orphan.gid).unwrap(), CommitOutcome::RolledBack);
    let error = TransactionalSink::<u64>::commit(&second, &context, &orphan)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("rolled back") && error.contains("weir.probe.0.8"),
        "{error}"
    );
    assert_eq!(count(), 10);
}

#[test]
fn clean_up_respects_the_rescale_rule() {
    let _serial = serial();
    fresh_log_table("xa_rescale_rule");
    let sink = MySqlXaSink::new(config("xa_rescale_rule"), "rule", "xa_rescale_rule", &["id", "v"], row).unwrap();
    // Writers 0..4 of a run at parallelism 4 leave a prepared transaction each.
    for writer in 0..4 {
        let context = txn_context(writer, 4);
        let mut txn = TransactionalSink::<u64>::begin(&sink, &context).unwrap();
        sink.write(&context, &mut txn, writer as u64, None).unwrap();
        sink.pre_commit(&context, txn, 3).unwrap().unwrap();
    }
    // Restored at parallelism 2, subtask 1 cleans writers 1 and 3 only.
    TransactionalSink::<u64>::clean_up(&sink, &txn_context(1, 2)).unwrap();
    let mut left = sink.prepared_gids().unwrap();
    left.sort();
    assert_eq!(left, ["weir.rule.0.3", "weir.rule.2.3"]);
    TransactionalSink::<u64>::clean_up(&sink, &txn_context(0, 2)).unwrap();
    assert!(sink.prepared_gids().unwrap().is_empty());
}

// ---------------------------------------------------------------- in-process failures

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Point {
    Write,
    PreCommit,
    /// After the checkpoint completed, before `XA COMMIT`.
    BeforeCommit,
    /// Right after `XA COMMIT` (the runtime does not learn it was done).
    AfterCommit,
}

struct Faults {
    plan: Vec<(Point, u64)>,
    counters: Mutex<HashMap<(u32, Point), u64>>,
    fired: AtomicU64,
}

impl Faults {
    fn new(seed: u64, run: u64, attempts: usize) -> Arc<Self> {
        let mut rng = fastrand::Rng::with_seed(seed * 31 + run);
        let plan = (0..attempts)
            .map(|_| match rng.u32(0..5) {
                0 => (Point::Write, rng.u64(50..=1500)),
                1 => (Point::PreCommit, rng.u64(1..=6)),
                2 | 3 => (Point::BeforeCommit, rng.u64(1..=6)),
                _ => (Point::AfterCommit, rng.u64(1..=6)),
            })
            .collect();
        println!("seed {seed} run {run}: faults {plan:?}");
        Arc::new(Faults {
            plan,
            counters: Mutex::new(HashMap::new()),
            fired: AtomicU64::new(0),
        })
    }

    fn hit(&self, attempt: u32, point: Point) -> Result<(), BoxError> {
        let Some(&(planned, after)) = self.plan.get(attempt as usize) else {
            return Ok(());
        };
        if planned != point {
            return Ok(());
        }
        let mut counters = self.counters.lock().unwrap();
        let n = counters.entry((attempt, point)).or_insert(0);
        *n += 1;
        if *n == after {
            self.fired.fetch_add(1, Ordering::SeqCst);
            return Err(format!("injected fault {point:?} in attempt {attempt}").into());
        }
        Ok(())
    }
}

/// The XA sink with faults injected around its calls.
struct Faulty {
    inner: MySqlXaSink<u64>,
    faults: Arc<Faults>,
}

impl TransactionalSink<u64> for Faulty {
    type Transaction = <MySqlXaSink<u64> as TransactionalSink<u64>>::Transaction;
    type Pending = XaPending;

    fn begin(&self, c: &TransactionContext) -> Result<Self::Transaction, BoxError> {
        self.inner.begin(c)
    }
    fn write(
        &self,
        c: &TransactionContext,
        t: &mut Self::Transaction,
        v: u64,
        ts: Option<i64>,
    ) -> Result<(), BoxError> {
        self.faults.hit(c.info.attempt, Point::Write)?;
        self.inner.write(c, t, v, ts)
    }
    fn pre_commit(&self, c: &TransactionContext, t: Self::Transaction, id: u64) -> Result<Option<XaPending>, BoxError> {
        let pending = self.inner.pre_commit(c, t, id)?;
        self.faults.hit(c.info.attempt, Point::PreCommit)?;
        Ok(pending)
    }
    fn commit(&self, c: &TransactionContext, p: &XaPending) -> Result<(), BoxError> {
        self.faults.hit(c.info.attempt, Point::BeforeCommit)?;
        self.inner.commit(c, p)?;
        self.faults.hit(c.info.attempt, Point::AfterCommit)
    }
    fn abort(&self, c: &TransactionContext, t: Self::Transaction) -> Result<(), BoxError> {
        self.inner.abort(c, t)
    }
    fn clean_up(&self, c: &TransactionContext) -> Result<(), BoxError> {
        self.inner.clean_up(c)
    }
}

fn rescale_run(
    seed: u64,
    run: u64,
    parallelism: usize,
    last: bool,
    restore: Option<&Path>,
    dir: &Path,
) -> Option<PathBuf> {
    const EVENTS: u64 = 6_000;
    let faults = Faults::new(seed, run, 3);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(40))
        .set_tolerable_checkpoint_failures(0)
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(format!("run{run}")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: if last { 1_000 } else { 2 },
            delay: Duration::ZERO,
        });
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let sink = Faulty {
        inner: MySqlXaSink::new(
            config("xa_exact"),
            &format!("exact{seed}"),
            "xa_exact",
            &["id", "v"],
            row,
        )
        .unwrap()
        .with_max_rows(100),
        faults: faults.clone(),
    };
    env.add_source(
        GeneratorSource::new(|i| i)
            .with_count(EVENTS)
            .with_rate_limit(10_000.0)
            .with_records_per_poll(32),
    )
    .uid("source")
    .set_parallelism(1)
    .rebalance()
    .add_sink(ExactlyOnce::new(sink))
    .uid("mysql");
    let client = env.execute_async("mysql xa").unwrap();
    let job_dir = client.checkpoint_dir().unwrap().to_path_buf();
    let label = format!("seed {seed} run {run} at parallelism {parallelism}");
    match (client.wait(), last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => panic!("{label}: ended before its last fault"),
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    if last {
        assert_table_is_oracle(&label, "xa_exact", EVENTS);
    }
    // The next run resumes from this run's newest completed checkpoint, or from
    // where this run resumed if it completed none.
    if has_completed_checkpoint(&job_dir) {
        Some(job_dir)
    } else {
        restore.map(Path::to_path_buf)
    }
}

#[test]
fn xa_sink_is_exactly_once_under_failures_and_rescaling() {
    let _serial = serial();
    let seed = seed();
    fresh_log_table("xa_exact");
    let dir = tempfile::tempdir().unwrap();
    let first = rescale_run(seed, 1, 4, false, None, dir.path());
    println!("seed {seed}: run 1 left {first:?}");

    let second = rescale_run(seed, 2, 2, false, first.as_deref(), dir.path());
    println!("seed {seed}: run 2 left {second:?}");

    rescale_run(seed, 3, 3, true, second.as_deref(), dir.path());
    let sink = MySqlXaSink::<u64>::new(
        config("xa_exact"),
        &format!("exact{seed}"),
        "xa_exact",
        &["id", "v"],
        row,
    )
    .unwrap();
    assert!(
        sink.prepared_gids().unwrap().is_empty(),
        "prepared transactions left behind"
    );
    println!("seed {seed}: XA sink exact after 4 -> 2 -> 3 with 9 injected faults");
}

// ---------------------------------------------------------------- process kills

const KILL_EVENTS: u64 = 10_000;

/// A point a child holds at (printing `HOLD`) until it is killed.
struct Holding {
    inner: MySqlXaSink<u64>,
    hold: Option<(String, u64)>,
    prepares: AtomicU64,
    commits: AtomicU64,
}

impl Holding {
    fn maybe_hold(&self, what: &str, n: u64) {
        if self.hold.as_ref().is_some_and(|(w, k)| w == what && *k == n) {
            println!("HOLD {what} {n}");
            std::io::stdout().flush().unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

impl TransactionalSink<u64> for Holding {
    type Transaction = <MySqlXaSink<u64> as TransactionalSink<u64>>::Transaction;
    type Pending = XaPending;

    fn begin(&self, c: &TransactionContext) -> Result<Self::Transaction, BoxError> {
        self.inner.begin(c)
    }
    fn write(
        &self,
        c: &TransactionContext,
        t: &mut Self::Transaction,
        v: u64,
        ts: Option<i64>,
    ) -> Result<(), BoxError> {
        self.inner.write(c, t, v, ts)
    }
    fn pre_commit(&self, c: &TransactionContext, t: Self::Transaction, id: u64) -> Result<Option<XaPending>, BoxError> {
        let pending = self.inner.pre_commit(c, t, id)?;
        if pending.is_some() {
            self.maybe_hold("prepare", self.prepares.fetch_add(1, Ordering::SeqCst) + 1);
        }
        Ok(pending)
    }
    fn commit(&self, c: &TransactionContext, p: &XaPending) -> Result<(), BoxError> {
        // The checkpoint completed (or was restored); XA COMMIT not yet sent.
        self.maybe_hold("commit", self.commits.fetch_add(1, Ordering::SeqCst) + 1);
        self.inner.commit(c, p)
    }
    fn abort(&self, c: &TransactionContext, t: Self::Transaction) -> Result<(), BoxError> {
        self.inner.abort(c, t)
    }
    fn clean_up(&self, c: &TransactionContext) -> Result<(), BoxError> {
        self.inner.clean_up(c)
    }
}

/// The child's job (run when `WEIR_MYSQL_CHILD` is set; otherwise a no-op that
/// says so).
#[test]
fn process_kill_child_entry() {
    if std::env::var("WEIR_MYSQL_CHILD").is_err() {
        println!("the process-kill test's child entry point: nothing to do here");
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap();
    let hold = var("WEIR_KILL_HOLD");
    let hold = hold.split_once(':').map(|(w, n)| (w.to_string(), n.parse().unwrap()));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(var("WEIR_KILL_PARALLELISM").parse().unwrap())
        .enable_checkpointing(Duration::from_millis(50))
        .set_retained_checkpoints(2)
        .set_checkpoint_dir(var("WEIR_KILL_DIR"))
        .set_restart_strategy(RestartStrategy::None);
    if let Ok(from) = std::env::var("WEIR_KILL_RESTORE") {
        env.restore_from(from);
    }
    let sink = Holding {
        inner: MySqlXaSink::new(config("xa_kill"), "kill", "xa_kill", &["id", "v"], row).unwrap(),
        hold,
        prepares: AtomicU64::new(0),
        commits: AtomicU64::new(0),
    };
    env.add_source(
        GeneratorSource::new(|i| i)
            .with_count(KILL_EVENTS)
            .with_rate_limit(4_000.0)
            .with_records_per_poll(16),
    )
    .uid("source")
    .set_parallelism(1)
    .rebalance()
    .add_sink(ExactlyOnce::new(sink))
    .uid("mysql");
    let client = env.execute_async("mysql xa kill").unwrap();
    println!("CHECKPOINT_DIR {}", client.checkpoint_dir().unwrap().display());
    std::io::stdout().flush().unwrap();
    client.wait().unwrap();
    println!("FINISHED");
}

/// The libtest name of `process_kill_child_entry` in this binary (`mysql::…`:
/// the tests of the crate are modules of one binary).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::process_kill_child_entry")
}

fn has_completed_checkpoint(job_dir: &Path) -> bool {
    std::fs::read_dir(job_dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("chk-") && e.path().join("_metadata").is_file())
}

#[test]
fn xa_sink_is_exactly_once_across_process_kills() {
    let _serial = serial();
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    fresh_log_table("xa_kill");
    let dir = tempfile::tempdir().unwrap();
    let kills = 6;
    let mut killed_at = Vec::new();
    for run in 0..kills + 5 {
        let hold = if run < kills {
            match rng.u32(0..3) {
                0 => format!("prepare:{}", rng.u64(1..=8)),
                1 => format!("commit:{}", rng.u64(1..=8)),
                _ => format!("time:{}", rng.u64(100..=900)),
            }
        } else {
            "none".to_string()
        };
        let parallelism = rng.usize(1..=3);
        // The newest job directory (`<name>-<millis>`) holding a completed
        // checkpoint, read from the disk (a line the child printed just before its
        // kill may never reach us).
        let mut job_dirs: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        job_dirs.sort_by_key(|d| {
            let name = d.file_name().unwrap().to_string_lossy().to_string();
            name.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
        });
        let restore = job_dirs.iter().rev().find(|d| has_completed_checkpoint(d)).cloned();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", child_test_name().as_str(), "--nocapture", "--test-threads=1"])
            .env("WEIR_MYSQL_CHILD", "1")
            .env("WEIR_TEST_MYSQL_URL", url())
            .env("WEIR_KILL_HOLD", &hold)
            .env("WEIR_KILL_PARALLELISM", parallelism.to_string())
            .env("WEIR_KILL_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(restore) = &restore {
            command.env("WEIR_KILL_RESTORE", restore);
        }
        let mut child = command.spawn().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let label = format!("seed {seed} run {run} (parallelism {parallelism}, hold {hold}, restore {restore:?})");
        println!("{label}");
        let mut finished = false;
        let mut held = false;
        let time_kill = hold
            .strip_prefix("time:")
            .map(|ms| Duration::from_millis(ms.parse().unwrap()));
        loop {
            if let Some(after) = time_kill {
                collect_lines_for(&rx, &mut job_dirs, &mut finished, after);
                break;
            }
            let Ok(line) = rx.recv() else { break };
            // libtest may print "test ... " on the same line before the markers.
            if let Some((_, d)) = line.split_once("CHECKPOINT_DIR ") {
                job_dirs.push(PathBuf::from(d));
            } else if line.contains("HOLD ") {
                held = true;
                break;
            } else if line.contains("FINISHED") {
                finished = true;
                break;
            }
        }
        if finished {
            assert!(child.wait().unwrap().success(), "{label}: the child failed");
            println!("{label}: finished");
            break;
        }
        // SIGKILL.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        for line in rx.try_iter() {
            if let Some((_, d)) = line.split_once("CHECKPOINT_DIR ") {
                job_dirs.push(PathBuf::from(d));
            }
            if line.contains("FINISHED") {
                finished = true;
            }
        }
        killed_at.push(hold.clone());
        println!("{label}: killed ({status}, held: {held})");
        assert!(
            status.code().is_none() || finished || held || time_kill.is_some(),
            "{label}: the child failed by itself: {status}"
        );
        if finished {
            break;
        }
        assert!(run < kills + 4, "{label}: the job did not finish");
    }
    assert_table_is_oracle(
        &format!("seed {seed} after kills at {killed_at:?}"),
        "xa_kill",
        KILL_EVENTS,
    );
    let sink = MySqlXaSink::<u64>::new(config("xa_kill"), "kill", "xa_kill", &["id", "v"], row).unwrap();
    assert!(
        sink.prepared_gids().unwrap().is_empty(),
        "prepared transactions left behind"
    );
    println!("seed {seed}: exact after {} kills: {killed_at:?}", killed_at.len());
}

/// For a timed kill: collects the child's lines for `after` (a seeded delay),
/// noting its checkpoint directory and whether it finished.
fn collect_lines_for(
    rx: &std::sync::mpsc::Receiver<String>,
    job_dirs: &mut Vec<PathBuf>,
    finished: &mut bool,
    after: Duration,
) {
    let deadline = std::time::Instant::now() + after;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, d)) = line.split_once("CHECKPOINT_DIR ") {
                    job_dirs.push(PathBuf::from(d));
                }
                if line.contains("FINISHED") {
                    *finished = true;
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

// ---------------------------------------------------------------- upsert, lookup, reconnect

fn fresh_keyed_table(name: &str) {
    let mut conn = admin();
    conn.query_drop(format!("DROP TABLE IF EXISTS {name}")).unwrap();
    conn.query_drop(format!(
        "CREATE TABLE {name} (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL)"
    ))
    .unwrap();
}

fn kill_other_connections() -> usize {
    let mut conn = admin();
    let me: u64 = conn.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let ids: Vec<u64> = conn
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'root' AND COMMAND <> 'Daemon'")
        .unwrap();
    let mut killed = 0;
    for id in ids.into_iter().filter(|id| *id != me) {
        if conn.query_drop(format!("KILL CONNECTION {id}")).is_ok() {
            killed += 1;
        }
    }
    killed
}

#[test]
fn upsert_sink_replays_idempotently_and_reconnects() {
    let _serial = serial();
    fresh_keyed_table("upserts");
    let sink = MySqlUpsertSink::new(config("upserts"), "upserts", &["id", "v"], |i: &u64| {
        vec![Value::from(i % 100), Value::from(format!("last {i}"))]
    })
    .with_max_rows(64);
    let context = SinkContext {
        info: SubtaskInfo::new("mysql", 0, 1, 128),
        checkpointing: true,
        restored: None,
    };
    let mut writer = sink.create_writer(&context).unwrap();
    for i in 0..300 {
        writer.write(i, None).unwrap();
    }
    writer.snapshot_state(1).unwrap();
    // The server drops every connection (as a restart does): the writer reconnects.
    assert!(kill_other_connections() >= 1);
    // Replay of the last 150 records plus new ones: same keys, same values.
    for i in 150..500 {
        writer.write(i, None).unwrap();
    }
    writer.finish().unwrap();
    let rows: Vec<(u64, String)> = admin().query("SELECT id, v FROM upserts ORDER BY id").unwrap();
    let expected: Vec<(u64, String)> = (400..500)
        .map(|i| (i % 100, format!("last {i}")))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn xa_commit_reconnects_after_the_server_dropped_connections() {
    let _serial = serial();
    fresh_log_table("xa_reconnect");
    let sink = MySqlXaSink::new(config("xa_reconnect"), "reconnect", "xa_reconnect", &["id", "v"], row).unwrap();
    let context = txn_context(0, 1);
    TransactionalSink::<u64>::clean_up(&sink, &context).unwrap();
    let mut txn = TransactionalSink::<u64>::begin(&sink, &context).unwrap();
    for i in 0..50 {
        sink.write(&context, &mut txn, i, None).unwrap();
    }
    let pending = sink.pre_commit(&context, txn, 1).unwrap().unwrap();
    assert!(kill_other_connections() >= 1);
    TransactionalSink::<u64>::commit(&sink, &context, &pending).unwrap();
    assert_table_is_oracle("xa reconnect", "xa_reconnect", 50);
}

#[test]
fn lookup_source_with_cache() {
    let _serial = serial();
    fresh_keyed_table("customers");
    admin()
        .query_drop("INSERT INTO customers VALUES (1, 'ada'), (2, 'grace'), (3, 'edsger')")
        .unwrap();
    let lookup: MySqlLookup<u64, String> =
        MySqlLookup::new(config("customers"), "customers", "id", &["v"], |mut row| {
            mysql::from_value(row.remove(0))
        });
    assert_eq!(lookup.lookup(&2).unwrap().as_deref(), Some("grace"));
    assert_eq!(lookup.lookup(&9).unwrap(), None);
    assert_eq!(
        lookup.lookup_many(&[3, 9, 1]).unwrap(),
        [Some("edsger".to_string()), None, Some("ada".to_string())]
    );
    let mut cached = CachedLookup::new(lookup, 100, Duration::from_secs(3600));
    assert_eq!(cached.get(&1).unwrap().as_deref(), Some("ada"));
    admin()
        .query_drop("UPDATE customers SET v = 'lovelace' WHERE id = 1")
        .unwrap();
    assert_eq!(cached.get(&1).unwrap().as_deref(), Some("ada"), "served from the cache");
    assert_eq!((cached.hits(), cached.misses()), (1, 1));
    cached.clear();
    assert_eq!(cached.get(&1).unwrap().as_deref(), Some("lovelace"));
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_name_connector_address_and_cause() {
    let _serial = serial();
    let env = service();
    // Down at start: nothing listens on port 1; retried, then a clear error.
    let down = MySqlConfig::new("mysql sink 'orders'", "mysql://weir:s3cret@127.0.0.1:1/shop")
        .unwrap()
        .with_max_retry_timeout(Duration::from_millis(300));
    let sink = MySqlUpsertSink::new(down, "orders", &["id"], |i: &u64| vec![Value::from(*i)]);
    let context = SinkContext {
        info: SubtaskInfo::new("mysql", 0, 1, 128),
        checkpointing: false,
        restored: None,
    };
    let error = sink.create_writer(&context).err().unwrap().to_string();
    println!("{error}");
    assert!(
        error.contains("mysql sink 'orders'")
            && error.contains("weir@127.0.0.1:1/shop")
            && error.contains("cannot connect after"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");

    // Wrong password.
    let wrong = env["WEIR_TEST_MYSQL_AUTH_URL"].replace("weir-secret", "not-the-password");
    let sink = MySqlUpsertSink::new(
        MySqlConfig::new("mysql sink 'orders'", &wrong).unwrap(),
        "orders",
        &["id"],
        |i: &u64| vec![Value::from(*i)],
    );
    let error = sink.create_writer(&context).err().unwrap().to_string();
    println!("{error}");
    assert!(
        error.contains("access denied") && error.contains("weir_auth@127.0.0.1:13306/weir"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");

    // The right password works.
    admin()
        .query_drop("CREATE TABLE IF NOT EXISTS auth_ok (id BIGINT PRIMARY KEY)")
        .unwrap();
    let sink = MySqlUpsertSink::new(
        MySqlConfig::new("mysql sink 'ok'", &env["WEIR_TEST_MYSQL_AUTH_URL"]).unwrap(),
        "auth_ok",
        &["id"],
        |i: &u64| vec![Value::from(*i)],
    );
    sink.create_writer(&context).unwrap();

    // Missing table, for both sinks.
    let sink = MySqlUpsertSink::new(config("nowhere"), "no_such_table", &["id"], |i: &u64| {
        vec![Value::from(*i)]
    });
    let error = sink.create_writer(&context).err().unwrap().to_string();
    println!("{error}");
    assert!(error.contains("table 'no_such_table' does not exist"), "{error}");
    let xa = MySqlXaSink::new(config("nowhere"), "nowhere", "no_such_table", &["id"], |i: &u64| {
        vec![Value::from(*i)]
    })
    .unwrap();
    let error = TransactionalSink::<u64>::clean_up(&xa, &txn_context(0, 1))
        .unwrap_err()
        .to_string();
    assert!(error.contains("table 'no_such_table' does not exist"), "{error}");
}

// ---------------------------------------------------------------- down at start

#[test]
fn connecting_while_the_server_is_down_succeeds_when_it_comes_up() {
    let _serial = serial();
    let _ = service();
    let services = |action: &str| {
        let status = Command::new("bash")
            .arg(services_script())
            .args([action, "mysql"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "`scripts/services.sh {action} mysql` failed: {status}"
        );
    };
    services("down");
    let (started, connecting) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let sink = MySqlXaSink::<u64>::new(
            config("late").with_max_retry_timeout(Duration::from_secs(60)),
            "late",
            "t",
            &["id"],
            |i| vec![Value::from(*i)],
        )
        .unwrap();
        started.send(()).unwrap();
        // Retried with backoff until the server answers.
        sink.prepared_gids().unwrap()
    });
    connecting.recv().unwrap();
    // `up` makes a fresh data directory: the tests create their tables each time.
    services("up");
    assert!(client.join().unwrap().is_empty());
}
