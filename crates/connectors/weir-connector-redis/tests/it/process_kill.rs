//! Process kills: a job writing through the idempotent Redis sink runs as a
//! child process (this test binary again, `child_process_entry`) and is killed
//! with SIGKILL at seeded moments: at a seeded write, or right after a seeded
//! checkpoint completed. Each time it is restarted from its newest completed
//! checkpoint, at a seeded parallelism, until it finishes. Every key must then
//! hold its last value: nothing lost, and the replays (which write older values
//! again for a while, see the README's "time travel") caught up.
//!
//! `WEIR_REDIS_KILLS=<n>` sets the kills (default 5), `WEIR_REDIS_KILL_SEED=<s>`
//! the seed (default 1); a failure prints both.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common::serial;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir::core::{BoxError, RestartStrategy, Watermark};
use weir::prelude::*;
use weir_connector_redis::{RedisConfig, RedisSink, RedisWrite};
use weir_connector_testkit::job::newest_checkpoint;
use weir_connector_testkit::service;

const EVENTS: u64 = 20_000;
/// Two events per key (`i / 2`): a lost write shows as a missing or old value.
const KEYS: u64 = EVENTS / 2;
const PREFIX: &str = "kill:";

fn url() -> String {
    service("redis", "WEIR_TEST_REDIS_URL")
}

fn admin() -> redis::Connection {
    redis::Client::open(url()).unwrap().get_connection().unwrap()
}

/// Where the child is to kill itself: at its `n`th write or its `n`th
/// completed checkpoint (counted over all its subtasks).
#[derive(Debug, Clone, Copy)]
enum KillAt {
    Write(u64),
    Completion(u64),
}

impl KillAt {
    fn parse(text: &str) -> Option<KillAt> {
        let (point, n) = text.split_once(':')?;
        let n = n.parse().ok()?;
        match point {
            "write" => Some(KillAt::Write(n)),
            "completion" => Some(KillAt::Completion(n)),
            _ => None,
        }
    }

    fn to_env(self) -> String {
        match self {
            KillAt::Write(n) => format!("write:{n}"),
            KillAt::Completion(n) => format!("completion:{n}"),
        }
    }
}

fn kill_self(what: String) -> ! {
    println!("KILL {what}");
    let _ = std::io::stdout().flush();
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL).unwrap();
    unreachable!("SIGKILL returned")
}

/// The Redis sink, with the child's planned kill.
struct Killing<S> {
    inner: S,
    at: Option<KillAt>,
    writes: Arc<AtomicU64>,
    completions: Arc<AtomicU64>,
}

struct KillingWriter {
    inner: Box<dyn SinkWriter<u64>>,
    at: Option<KillAt>,
    writes: Arc<AtomicU64>,
    completions: Arc<AtomicU64>,
}

impl<S: Sink<u64>> Sink<u64> for Killing<S> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<u64>>, BoxError> {
        Ok(Box::new(KillingWriter {
            inner: self.inner.create_writer(context)?,
            at: self.at,
            writes: self.writes.clone(),
            completions: self.completions.clone(),
        }))
    }
}

impl SinkWriter<u64> for KillingWriter {
    fn write(&mut self, value: u64, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.inner.write(value, timestamp)?;
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if matches!(self.at, Some(KillAt::Write(at)) if at == n) {
            kill_self(format!("after write {n}"));
        }
        Ok(())
    }

    fn write_watermark(&mut self, watermark: Watermark) -> Result<(), BoxError> {
        self.inner.write_watermark(watermark)
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.inner.finish()
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_complete(checkpoint_id)?;
        let n = self.completions.fetch_add(1, Ordering::SeqCst) + 1;
        if matches!(self.at, Some(KillAt::Completion(at)) if at == n) {
            kill_self(format!("after completion {n} (checkpoint {checkpoint_id})"));
        }
        Ok(())
    }
}

/// The job, when this binary runs as the child (`WEIR_REDIS_KILL_CHILD` set); a
/// no-op in the ordinary test run.
#[test]
fn child_process_entry() {
    let Ok(dir) = std::env::var("WEIR_REDIS_KILL_CHILD") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let parallelism: usize = var("WEIR_REDIS_PARALLELISM").parse().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(Path::new(&dir).join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    let restore = var("WEIR_REDIS_RESTORE");
    if !restore.is_empty() {
        env.restore_from(PathBuf::from(restore));
    }
    let config = RedisConfig::new("redis sink 'kill'", &url()).unwrap();
    let sink = Killing {
        inner: RedisSink::new(config, |i: &u64| {
            RedisWrite::set(format!("{PREFIX}{}", i / 2), i.to_string())
        })
        .with_max_buffered(64),
        at: KillAt::parse(&var("WEIR_REDIS_KILL_AT")),
        writes: Arc::new(AtomicU64::new(0)),
        completions: Arc::new(AtomicU64::new(0)),
    };
    env.add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(20_000.0))
        .uid("source")
        .set_parallelism(1)
        .key_by(|i| i / 2)
        .add_sink(sink)
        .uid("redis");
    env.execute("redis kill").unwrap();
    println!("JOB_FINISHED");
}

/// The libtest name of `child_process_entry` in this binary (`process_kill::…`:
/// the tests of the crate are modules of one binary).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_process_entry")
}

/// Runs the child until it ends; `Some(where)` when it was killed.
fn run_child(dir: &Path, parallelism: usize, restore: Option<&Path>, at: Option<KillAt>) -> Option<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([child_test_name().as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("WEIR_REDIS_KILL_CHILD", dir)
        .env("WEIR_REDIS_PARALLELISM", parallelism.to_string())
        .env(
            "WEIR_REDIS_RESTORE",
            restore.map(|p| p.display().to_string()).unwrap_or_default(),
        )
        .env("WEIR_REDIS_KILL_AT", at.map(KillAt::to_env).unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (mut killed_at, mut finished, mut output) = (None, false, String::new());
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
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
        Some(9) => Some(killed_at.unwrap_or_else(|| panic!("killed without a KILL line:\n{output}"))),
        Some(other) => panic!("the child died of signal {other}:\n{output}"),
        None => {
            assert!(status.success() && finished, "the child failed ({status}):\n{output}");
            None
        }
    }
}

#[test]
fn sigkill_at_seeded_moments_loses_nothing() {
    let _serial = serial();
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let seed = var("WEIR_REDIS_KILL_SEED", 1);
    let wanted = var("WEIR_REDIS_KILLS", 5);
    println!("seed {seed}, {wanted} kills (rerun: WEIR_REDIS_KILL_SEED={seed} WEIR_REDIS_KILLS={wanted})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut conn = admin();
    let mut kills = Vec::new();
    let mut runs = 0;
    // Rounds: the job from scratch, killed and restarted until it finishes.
    for round in 0.. {
        let old: Vec<String> = redis::cmd("KEYS").arg(format!("{PREFIX}*")).query(&mut conn).unwrap();
        if !old.is_empty() {
            redis::cmd("DEL").arg(old).query::<()>(&mut conn).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let mut restore: Option<PathBuf> = None;
        loop {
            runs += 1;
            assert!(runs < wanted * 4 + 10, "seed {seed}: too many runs for {wanted} kills");
            let parallelism = rng.usize(1..=3);
            let at = ((kills.len() as u64) < wanted).then(|| match rng.u32(0..3) {
                0 => KillAt::Completion(rng.u64(1..=6)),
                _ => KillAt::Write(rng.u64(1..=EVENTS / 4)),
            });
            match run_child(dir.path(), parallelism, restore.as_deref(), at) {
                Some(killed) => {
                    println!("seed {seed} round {round}: parallelism {parallelism}, killed {killed}");
                    kills.push(killed);
                    if let Some(newest) = newest_checkpoint(dir.path()) {
                        restore = Some(newest);
                    }
                }
                None => {
                    println!("seed {seed} round {round}: parallelism {parallelism}, finished (planned {at:?})");
                    break;
                }
            }
        }
        check(&mut conn, &format!("seed {seed} round {round} after kills {kills:?}"));
        if kills.len() as u64 >= wanted {
            break;
        }
    }
    println!("seed {seed}: every key held its last value after each round; kills {kills:?}");
}

/// Every key holds its last value: key `k` the event `2k + 1`.
fn check(conn: &mut redis::Connection, label: &str) {
    let mut wrong = Vec::new();
    for key in 0..KEYS {
        let expected = Some((2 * key + 1).to_string());
        let actual: Option<String> = redis::cmd("GET").arg(format!("{PREFIX}{key}")).query(conn).unwrap();
        if actual != expected {
            wrong.push((key, actual, expected));
        }
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{PREFIX}*")).query(conn).unwrap();
    assert!(
        wrong.is_empty() && keys.len() as u64 == KEYS,
        "{label}: {} keys (want {KEYS}), {} with a wrong value (first {:?})",
        keys.len(),
        wrong.len(),
        wrong.first()
    );
}
