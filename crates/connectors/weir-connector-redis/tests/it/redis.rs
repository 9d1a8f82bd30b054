//! The Redis connector against the real server that `scripts/services.sh up
//! redis` starts (once per test binary; a test fails, never skips, when the server
//! cannot be started).
//!
//! * The idempotent sink under in-process failures (while writing, at the
//!   barrier, after checkpoint completion) ends with the oracle's keys and values.
//! * Time travel: after a failure, the replay takes keys back to older values
//!   until it catches up (seed 002's lesson), shown step by step.
//! * TTL, reconnection after the server dropped every client, lookup sources with a
//!   cache, and error messages.
//!
//! `WEIR_REDIS_SEED=<s>` reruns with seed `s`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::common::serial;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use weir::connector_api::lookup::{CachedLookup, LookupSource};
use weir::connector_api::sink::{Sink, SinkContext};
use weir::core::SubtaskInfo;
use weir::datastream::functions::{Context, ProcessFunction};
use weir::datastream::Collector;
use weir::prelude::*;
use weir_connector_redis::{RedisConfig, RedisHashLookup, RedisLookup, RedisSink, RedisWrite};

fn service() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/services.sh");
        let status = Command::new("bash")
            .arg(&script)
            .args(["up", "redis"])
            .status()
            .unwrap();
        assert!(status.success(), "`scripts/services.sh up redis` failed: {status}");
        let out = Command::new("bash")
            .arg(&script)
            .args(["env", "redis"])
            .output()
            .unwrap();
        assert!(out.status.success(), "`scripts/services.sh env redis` failed");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect()
    })
}

fn url() -> String {
    service()["WEIR_TEST_REDIS_URL"].clone()
}

fn admin() -> redis::Connection {
    redis::Client::open(url()).unwrap().get_connection().unwrap()
}

fn config(name: &str) -> RedisConfig {
    RedisConfig::new(format!("redis sink '{name}'"), &url())
        .unwrap()
        .with_max_retry_timeout(Duration::from_secs(20))
        .with_max_retries(5)
}

fn delete_prefix(prefix: &str) {
    let mut conn = admin();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut conn).unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).query::<()>(&mut conn).unwrap();
    }
}

fn get(key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(&mut admin()).unwrap()
}

fn context(checkpointing: bool) -> SinkContext {
    SinkContext {
        info: SubtaskInfo::new("redis", 0, 1, 128),
        checkpointing,
        restored: None,
    }
}

fn seed() -> u64 {
    std::env::var("WEIR_REDIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

// ---------------------------------------------------------------- failures

const EVENTS: u64 = 20_000;
const KEYS: u64 = 500;

/// The oracle: each key's last value (records of a key arrive in order).
fn oracle() -> BTreeMap<String, String> {
    (0..EVENTS)
        .map(|i| (format!("fail:{}", i % KEYS), format!("{i}")))
        .collect()
}

#[derive(Clone)]
struct Gate {
    plan: Arc<Vec<(u32, u64)>>,
    counters: Arc<Mutex<HashMap<(u32, u32), u64>>>,
    fired: Arc<AtomicU64>,
    attempt: u32,
}

impl Gate {
    fn hit(&self, point: u32) {
        let Some(&(planned, after)) = self.plan.get(self.attempt as usize) else {
            return;
        };
        if planned != point {
            return;
        }
        let n = {
            let mut counters = self.counters.lock().unwrap();
            let n = counters.entry((self.attempt, point)).or_insert(0);
            *n += 1;
            *n
        };
        if n == after {
            self.fired.fetch_add(1, Ordering::SeqCst);
            panic!("injected fault {point} in attempt {}", self.attempt);
        }
    }
}

impl ProcessFunction<u64, u64> for Gate {
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }
    fn process_element(&mut self, i: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        self.hit(0);
        out.collect(i);
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64, _: &mut weir::state::OperatorStateStore) -> Result<(), BoxError> {
        self.hit(1);
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.hit(2);
        Ok(())
    }
}

#[test]
fn idempotent_sink_ends_with_the_oracle_under_failures() {
    let _serial = serial();
    let seed = seed();
    // The injected panics are expected: keep their messages out of the output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if !message.contains("injected fault") {
            default_hook(info);
        }
    }));
    delete_prefix("fail:");
    let mut rng = fastrand::Rng::with_seed(seed);
    let plan: Vec<(u32, u64)> = (0..4)
        .map(|_| match rng.u32(0..3) {
            0 => (0, rng.u64(100..=3000)),
            p => (p, rng.u64(1..=5)),
        })
        .collect();
    println!("seed {seed}: faults (point, after) {plan:?} (0 = processing, 1 = barrier, 2 = after completion)");
    let fired = Arc::new(AtomicU64::new(0));
    let dir = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(dir.path())
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 100,
            delay: Duration::ZERO,
        });
    env.add_source(
        GeneratorSource::new(|i| i)
            .with_count(EVENTS)
            .with_rate_limit(40_000.0)
            .with_records_per_poll(64),
    )
    .uid("source")
    .set_parallelism(1)
    .process(Gate {
        plan: Arc::new(plan.clone()),
        counters: Arc::new(Mutex::new(HashMap::new())),
        fired: fired.clone(),
        attempt: 0,
    })
    .uid("gate")
    .set_parallelism(1)
    .key_by(|i| i % KEYS)
    .add_sink(
        RedisSink::new(config("fail"), |i: &u64| {
            RedisWrite::set(format!("fail:{}", i % KEYS), i.to_string())
        })
        .with_max_buffered(100),
    )
    .uid("redis");
    env.execute("redis failures").unwrap();
    assert_eq!(
        fired.load(Ordering::SeqCst),
        plan.len() as u64,
        "seed {seed}: not every fault fired"
    );
    let mut conn = admin();
    let keys: Vec<String> = redis::cmd("KEYS").arg("fail:*").query(&mut conn).unwrap();
    let values: Vec<String> = redis::cmd("MGET").arg(&keys).query(&mut conn).unwrap();
    let got: BTreeMap<String, String> = keys.into_iter().zip(values).collect();
    assert_eq!(got, oracle(), "seed {seed}: Redis differs from the oracle");
    println!(
        "seed {seed}: {} keys equal the oracle after {} faults",
        got.len(),
        plan.len()
    );
}

// ---------------------------------------------------------------- time travel

#[test]
fn replay_after_a_failure_travels_back_in_time_then_catches_up() {
    let _serial = serial();
    delete_prefix("balance:");
    let sink = RedisSink::new(config("balance"), |n: &u64| {
        RedisWrite::set("balance:ada", n.to_string())
    })
    .with_max_buffered(10);
    // The first run: a checkpoint after record 50, then the buffer is flushed up
    // to record 80 (every 10 writes) before the job fails.
    let mut writer = sink.create_writer(&context(true)).unwrap();
    for n in 1..=50 {
        writer.write(n, None).unwrap();
    }
    writer.snapshot_state(1).unwrap();
    for n in 51..=80 {
        writer.write(n, None).unwrap();
    }
    assert_eq!(
        get("balance:ada").as_deref(),
        Some("80"),
        "the store is ahead of the checkpoint"
    );
    drop(writer); // the failure

    // The restarted run replays from the checkpoint (record 51 on).
    let mut writer = sink.create_writer(&context(true)).unwrap();
    let mut seen = Vec::new();
    for n in 51..=100 {
        writer.write(n, None).unwrap();
        if n % 10 == 0 {
            seen.push(get("balance:ada").unwrap().parse::<u64>().unwrap());
        }
    }
    writer.finish().unwrap();
    println!("balance seen by a reader during the replay: 80 before the failure, then {seen:?}");
    assert_eq!(
        seen,
        [60, 70, 80, 90, 100],
        "went back to 60 and 70 (time travel), then caught up"
    );
    assert_eq!(get("balance:ada").as_deref(), Some("100"));
}

// ---------------------------------------------------------------- ttl, hashes, reconnect

#[test]
fn ttl_hashes_and_reconnection() {
    let _serial = serial();
    delete_prefix("ttl:");
    let sink = RedisSink::new(config("ttl"), |i: &u64| {
        if i.is_multiple_of(2) {
            RedisWrite::set(format!("ttl:s{i}"), format!("{i}"))
        } else {
            RedisWrite::hset("ttl:h", format!("f{i}"), format!("{i}"))
        }
    })
    .with_ttl(Duration::from_secs(600))
    .with_max_buffered(8);
    let mut writer = sink.create_writer(&context(true)).unwrap();
    for i in 0..20 {
        writer.write(i, None).unwrap();
    }
    writer.snapshot_state(1).unwrap();
    // The server drops every client (as a restart does): the writer reconnects.
    redis::cmd("CLIENT")
        .arg(vec!["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query::<u64>(&mut admin())
        .unwrap();
    for i in 20..40 {
        writer.write(i, None).unwrap();
    }
    writer.finish().unwrap();
    let mut conn = admin();
    let ttl: i64 = redis::cmd("PTTL").arg("ttl:s38").query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 600_000, "{ttl}");
    let hash_ttl: i64 = redis::cmd("PTTL").arg("ttl:h").query(&mut conn).unwrap();
    assert!(hash_ttl > 0, "{hash_ttl}");
    let hash: BTreeMap<String, String> = redis::cmd("HGETALL").arg("ttl:h").query(&mut conn).unwrap();
    assert_eq!(hash.len(), 20);
    assert_eq!(get("ttl:s0").as_deref(), Some("0"));
}

// ---------------------------------------------------------------- lookup

#[test]
fn lookup_sources_with_cache() {
    let _serial = serial();
    delete_prefix("customer:");
    let mut conn = admin();
    redis::cmd("MSET")
        .arg(vec!["customer:1", "ada", "customer:2", "grace"])
        .query::<()>(&mut conn)
        .unwrap();
    redis::cmd("HSET")
        .arg(vec!["customer:h:1", "name", "ada", "city", "london"])
        .query::<()>(&mut conn)
        .unwrap();
    let lookup = RedisLookup::new(config("customers"), "customer:");
    assert_eq!(
        LookupSource::<u32, String>::lookup(&lookup, &2).unwrap().as_deref(),
        Some("grace")
    );
    assert_eq!(
        LookupSource::<u32, String>::lookup_many(&lookup, &[2, 7, 1]).unwrap(),
        [Some("grace".to_string()), None, Some("ada".to_string())]
    );
    let mut cached = CachedLookup::new(lookup, 10, Duration::from_secs(3600));
    assert_eq!(cached.get(&1u32).unwrap().as_deref(), Some("ada"));
    redis::cmd("SET")
        .arg(vec!["customer:1", "lovelace"])
        .query::<()>(&mut conn)
        .unwrap();
    assert_eq!(cached.get(&1).unwrap().as_deref(), Some("ada"), "served from the cache");
    assert_eq!((cached.hits(), cached.misses()), (1, 1));
    cached.clear();
    assert_eq!(cached.get(&1).unwrap().as_deref(), Some("lovelace"));

    let hashes = RedisHashLookup::new(config("customers"), "customer:h:");
    let one = LookupSource::<u32, _>::lookup(&hashes, &1).unwrap().unwrap();
    assert_eq!(one.get("city").map(String::as_str), Some("london"));
    let many = LookupSource::<u32, _>::lookup_many(&hashes, &[3, 1]).unwrap();
    assert!(many[0].is_none() && many[1].as_ref() == Some(&one));
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_name_connector_address_and_cause() {
    let _serial = serial();
    let _ = service();
    let down = RedisConfig::new("redis sink 'prices'", "redis://:s3cret@127.0.0.1:1/0")
        .unwrap()
        .with_max_retry_timeout(Duration::from_millis(300));
    let sink = RedisSink::new(down, |i: &u64| RedisWrite::set(i.to_string(), "x"));
    let error = sink.create_writer(&context(false)).err().unwrap().to_string();
    println!("{error}");
    assert!(
        error.contains("redis sink 'prices'")
            && error.contains("127.0.0.1:1/0")
            && error.contains("cannot connect after"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");

    let wrong = url().replace("redis://", "redis://:not-the-password@");
    let sink = RedisSink::new(RedisConfig::new("redis sink 'prices'", &wrong).unwrap(), |i: &u64| {
        RedisWrite::set(i.to_string(), "x")
    });
    let error = sink.create_writer(&context(false)).err().unwrap().to_string();
    println!("{error}");
    assert!(
        error.contains("refused") && error.contains("127.0.0.1:16379/0"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");

    // A key of the wrong type (the nearest thing to a wrong table).
    redis::cmd("SET")
        .arg(vec!["wrongtype:h", "a string"])
        .query::<()>(&mut admin())
        .unwrap();
    let sink = RedisSink::new(config("wrongtype"), |i: &u64| {
        RedisWrite::hset("wrongtype:h", i.to_string(), "x")
    });
    let mut writer = sink.create_writer(&context(false)).unwrap();
    writer.write(1, None).unwrap();
    let error = writer.finish().unwrap_err().to_string();
    println!("{error}");
    assert!(
        error.contains("redis sink 'wrongtype'") && error.contains("WRONGTYPE"),
        "{error}"
    );
}

// ---------------------------------------------------------------- down at start

#[test]
fn a_sink_started_while_the_server_is_down_connects_when_it_comes_up() {
    let _serial = serial();
    let _ = service();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/services.sh");
    let services = |action: &str| {
        let status = Command::new("bash")
            .arg(&script)
            .args([action, "redis"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "`scripts/services.sh {action} redis` failed: {status}"
        );
    };
    services("down");
    let (started, connecting) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let sink = RedisSink::new(config("late"), |i: &u64| {
            RedisWrite::set(format!("late:{i}"), i.to_string())
        });
        started.send(()).unwrap();
        // Retried with backoff until the server answers (at most 20 s).
        let mut writer = sink.create_writer(&context(false)).unwrap();
        for i in 0..10 {
            writer.write(i, None).unwrap();
        }
        writer.finish().unwrap();
    });
    connecting.recv().unwrap();
    services("up");
    writer.join().unwrap();
    assert_eq!(get("late:9").as_deref(), Some("9"));
}
