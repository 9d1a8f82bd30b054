//! What the integration tests share: the PostgreSQL server of
//! `scripts/services.sh` (started once per test binary; a test never skips),
//! tables made afresh, and a sink wrapper that fails at planned points.
//!
//! The tests run in parallel threads of one binary, and one of them restarts the
//! server: each test holds [`shared_server`] while it runs, the restart test
//! [`exclusive_server`].
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use postgres::{Client, NoTls};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use weir::connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir::core::BoxError;

/// The URLs `scripts/services.sh env postgres` prints.
pub struct Server {
    /// The trusted user `weir` on database `weir`.
    pub url: String,
    /// A user with a password (`weir_auth`).
    pub auth_url: String,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn services(args: &[&str]) -> String {
    let script = workspace().join("scripts/services.sh");
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`scripts/services.sh {}` failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Held shared by every test that uses the services' server, exclusively by the
/// test that restarts it.
static SERVER_IN_USE: RwLock<()> = RwLock::new(());

/// Taken at the start of a test using the server (never twice in one test: a
/// waiting restart would block the second one); the server stays up until the
/// guard is dropped.
pub fn shared_server() -> RwLockReadGuard<'static, ()> {
    SERVER_IN_USE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Taken by the test that stops the server: no other test runs meanwhile.
pub fn exclusive_server() -> RwLockWriteGuard<'static, ()> {
    SERVER_IN_USE.write().unwrap_or_else(PoisonError::into_inner)
}

/// The server, started by `scripts/services.sh up postgres` once per test binary.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        services(&["up", "postgres"]);
        let env = services(&["env", "postgres"]);
        let var = |name: &str| {
            env.lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .map(|v| v.trim_matches('\'').to_string())
                .unwrap_or_else(|| panic!("`services.sh env postgres` printed no {name}: {env}"))
        };
        Server {
            url: var("WEIR_TEST_POSTGRES_URL"),
            auth_url: var("WEIR_TEST_POSTGRES_AUTH_URL"),
        }
    })
}

pub fn url() -> String {
    server().url.clone()
}

pub fn client() -> Client {
    Client::connect(&url(), NoTls).unwrap()
}

/// Drops `table` and creates it with `columns` (`id bigint primary key, ...`).
pub fn fresh_table(table: &str, columns: &str) {
    let mut client = client();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({columns})"
        ))
        .unwrap();
}

/// Rolls back every prepared transaction whose gid starts with `prefix`.
pub fn roll_back_prepared(prefix: &str) {
    let mut client = client();
    for row in client
        .query(
            "SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)",
            &[&prefix],
        )
        .unwrap()
    {
        let gid: String = row.get(0);
        let _ = client.batch_execute(&format!("ROLLBACK PREPARED '{gid}'"));
    }
}

/// The gids of prepared transactions starting with `prefix`.
pub fn prepared(prefix: &str) -> Vec<String> {
    let mut gids: Vec<String> = client()
        .query(
            "SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)",
            &[&prefix],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    gids.sort();
    gids
}

/// `(id, value)` rows of `table`, sorted.
pub fn rows(table: &str) -> Vec<(i64, String)> {
    let mut rows: Vec<(i64, String)> = client()
        .query(&format!("SELECT id, v FROM {table}"), &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    rows.sort();
    rows
}

/// Where a [`FaultySink`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Writing the n-th record of an attempt.
    Write,
    /// Right after the sink pre-committed at the n-th barrier of an attempt (the
    /// transaction is prepared; the checkpoint has not completed).
    AfterPreCommit,
    /// At the n-th checkpoint completion of an attempt, before the sink commits.
    AfterCompletion,
    /// Opening a restored writer, before it commits the restored transactions.
    RestoreOpen,
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Returns an error (the job fails and restarts as configured).
    Fail,
    /// Kills the process with SIGKILL.
    Kill,
}

/// One fault: at the `nth` hit of `point` in any subtask.
#[derive(Debug)]
pub struct Fault {
    pub point: Point,
    pub nth: u64,
    pub action: Action,
    hits: AtomicU64,
    pub fired: AtomicU64,
}

impl Fault {
    pub fn new(point: Point, nth: u64, action: Action) -> Arc<Fault> {
        Arc::new(Fault {
            point,
            nth,
            action,
            hits: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        })
    }

    /// A seeded fault: a point and a count.
    pub fn seeded(rng: &mut fastrand::Rng, action: Action, records: u64) -> Arc<Fault> {
        let (point, nth) = match rng.u32(0..4) {
            0 => (Point::Write, rng.u64(1..records.max(2))),
            1 => (Point::AfterPreCommit, rng.u64(1..=6)),
            2 | 3 => (Point::AfterCompletion, rng.u64(1..=6)),
            _ => unreachable!(),
        };
        Fault::new(point, nth, action)
    }

    fn hit(&self, point: Point, what: &str) -> Result<(), BoxError> {
        if point != self.point {
            return Ok(());
        }
        if self.hits.fetch_add(1, Ordering::SeqCst) + 1 != self.nth {
            return Ok(());
        }
        self.fired.fetch_add(1, Ordering::SeqCst);
        match self.action {
            Action::Fail => Err(format!("injected fault at {point:?} #{} ({what})", self.nth).into()),
            Action::Kill => {
                println!("KILL {point:?} {} {what}", self.nth);
                use std::io::Write;
                let _ = std::io::stdout().flush();
                rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL).unwrap();
                unreachable!("SIGKILL returned")
            }
        }
    }
}

/// A sink failing as planned: `plan[attempt]` is the fault of each job attempt.
pub struct FaultySink<S> {
    pub inner: S,
    pub plan: Arc<Vec<Arc<Fault>>>,
}

impl<S> FaultySink<S> {
    pub fn new(inner: S, plan: Vec<Arc<Fault>>) -> Self {
        FaultySink {
            inner,
            plan: Arc::new(plan),
        }
    }
}

fn hit(fault: &Option<Arc<Fault>>, point: Point, what: &str) -> Result<(), BoxError> {
    match fault {
        Some(fault) => fault.hit(point, what),
        None => Ok(()),
    }
}

impl<T: Send + 'static, S: Sink<T>> Sink<T> for FaultySink<S> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let fault = self.plan.get(context.info.attempt as usize).cloned();
        if context.restored.as_ref().is_some_and(|r| !r.is_empty()) {
            hit(&fault, Point::RestoreOpen, &format!("subtask {}", context.info.index))?;
        }
        Ok(Box::new(FaultyWriter {
            inner: self.inner.create_writer(context)?,
            fault,
            subtask: context.info.index,
        }))
    }
}

struct FaultyWriter<T> {
    inner: Box<dyn SinkWriter<T>>,
    fault: Option<Arc<Fault>>,
    subtask: usize,
}

impl<T> SinkWriter<T> for FaultyWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        hit(&self.fault, Point::Write, &format!("subtask {}", self.subtask))?;
        self.inner.write(value, timestamp)
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.inner.finish()
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let state = self.inner.snapshot_state(checkpoint_id)?;
        hit(
            &self.fault,
            Point::AfterPreCommit,
            &format!("checkpoint {checkpoint_id} subtask {}", self.subtask),
        )?;
        Ok(state)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        hit(
            &self.fault,
            Point::AfterCompletion,
            &format!("checkpoint {checkpoint_id} subtask {}", self.subtask),
        )?;
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }
}

/// The sorted difference of two sorted lists, for failure messages: (missing, extra).
pub fn diff<T: Ord + Clone>(actual: &[T], expected: &[T]) -> (Vec<T>, Vec<T>) {
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let (mut a, mut e) = (0, 0);
    while a < actual.len() || e < expected.len() {
        match (actual.get(a), expected.get(e)) {
            (Some(x), Some(y)) if x == y => {
                a += 1;
                e += 1;
            }
            (Some(x), Some(y)) if x < y => {
                extra.push(x.clone());
                a += 1;
            }
            (Some(x), None) => {
                extra.push(x.clone());
                a += 1;
            }
            (_, Some(y)) => {
                missing.push(y.clone());
                e += 1;
            }
            (None, None) => break,
        }
    }
    (missing, extra)
}

/// SQL ending the connections of the connector writing or reading `table` (their
/// application name is `weir: <connector> '<table>'`), as a server restart would.
pub fn terminate(table: &str) -> String {
    format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name LIKE 'weir: %''{table}''' AND pid <> pg_backend_pid()"
    )
}
