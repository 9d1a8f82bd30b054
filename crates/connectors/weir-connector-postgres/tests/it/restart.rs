//! A real server restart in the middle of a job (holding the server exclusively,
//! so no other test of this binary sees it go): the upsert sink reconnects and goes on; the
//! exactly-once sink replaces idle connections, and a transaction open on a lost
//! connection fails the job, which restarts from its last checkpoint and
//! reconnects with backoff. Both tables must then equal the oracle.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{client, diff, fresh_table, roll_back_prepared, rows, url};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use weir::core::RestartStrategy;
use weir::prelude::*;
use weir_connector_postgres::{PostgresSink, RowMapper};

const EVENTS: u64 = 6_000;

fn services_dir() -> PathBuf {
    match std::env::var_os("WEIR_SERVICES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/weir-services"),
    }
}

fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Stops the server of `scripts/services.sh` (fast shutdown, as `down` does) and
/// starts it again on the same data directory, as `start_postgres` does,
/// updating the pid file so `services.sh` keeps managing it (and stops it: the
/// server outlives this test, so it is not waited for).
#[allow(clippy::zombie_processes)]
fn restart_server() {
    let dir = services_dir().join("postgres");
    let pidfile = dir.join("postgres.pid");
    let content = std::fs::read_to_string(&pidfile).unwrap();
    let pid: i32 = content.split_whitespace().next().unwrap().parse().unwrap();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let signal = rustix::process::Signal::INT;
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), signal).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !gone(pid) {
        assert!(Instant::now() < deadline, "postgres (pid {pid}) did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("postgres.log"))
        .unwrap();
    let mut command = Command::new("setsid");
    if rustix::process::getuid().is_root() {
        let id = |flag: &str| {
            Command::new("id")
                .args([flag, "postgres"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "1".to_string())
        };
        command.args([
            "unshare".to_string(),
            "--user".to_string(),
            format!("--map-user={}", id("-u")),
            format!("--map-group={}", id("-g")),
        ]);
    }
    let child = command
        .arg(&exe)
        .arg("-D")
        .arg(dir.join("data"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    std::fs::write(&pidfile, format!("{} postgres\n", child.id())).unwrap();
    println!("restarted postgres: pid {pid} -> {}", child.id());
}

fn wait_for_rows(table: &str, at_least: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count: i64 = client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0);
        if count >= at_least {
            return;
        }
        assert!(Instant::now() < deadline, "{table} did not reach {at_least} rows");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn builder(table: &str) -> weir_connector_postgres::PostgresSinkBuilder<(i64, String)> {
    PostgresSink::builder(&url(), table)
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|(id, v): &(i64, String)| {
            vec![(*id).into(), v.as_str().into()]
        }))
        .buffer_max_rows(50)
        .transaction_prefix(&format!("weir-{table}"))
        .connection_retries(30, Duration::from_millis(100))
        .max_retries(5)
}

fn check(table: &str) {
    let actual = rows(table);
    let expected: Vec<(i64, String)> = (0..EVENTS as i64).map(|i| (i, format!("r{i}"))).collect();
    let (missing, extra) = diff(&actual, &expected);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{table}: {} missing (first {:?}), {} extra (first {:?})",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
}

#[test]
fn a_server_restart_mid_job_loses_nothing() {
    // The only test that stops the server: alone while it runs.
    let _server = common::exclusive_server();
    roll_back_prepared("weir-rs_");
    fresh_table("rs_upsert", "id bigint PRIMARY KEY, v text NOT NULL");
    fresh_table("rs_exact", "id bigint NOT NULL, v text NOT NULL");
    let dir = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(50))
        .set_checkpoint_dir(dir.path().join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 20,
            delay: Duration::from_millis(200),
        });
    let records = env
        .add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(3_000.0))
        .uid("ids")
        .set_parallelism(1)
        .map(|i| (i as i64, format!("r{i}")))
        .uid("rows");
    records.add_sink(builder("rs_upsert").upsert().unwrap()).uid("upsert");
    records
        .add_sink(builder("rs_exact").buffer_max_rows(5).exactly_once().unwrap())
        .uid("exact");
    let client = env.execute_async("restart").unwrap();
    wait_for_rows("rs_upsert", 600);
    restart_server();
    let result = client.wait().unwrap();
    // Whether the exactly-once sink had a transaction open on a connection the
    // restart ended (then the job restarted) depends on the moment.
    println!("the job finished after {} restart(s)", result.restarts);
    check("rs_upsert");
    check("rs_exact");
    assert!(common::prepared("weir-rs_").is_empty());
    let _: &Path = dir.path();
}
