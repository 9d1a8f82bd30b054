//! Process kills: the exactly-once sink's job runs as a child process (this test
//! binary run again as `child_process_entry`), which is killed with SIGKILL at
//! seeded moments: while writing, right after a transaction was prepared at a
//! barrier, **after a checkpoint completed and before COMMIT PREPARED ran**, and
//! while a restored writer opens, before it committed the restored transactions.
//! Each time the job is restarted from its newest completed checkpoint, at a
//! seeded parallelism, until it finishes; the table must then equal the oracle
//! (nothing lost, nothing duplicated) with no prepared transaction left.
//!
//! `WEIR_PG_KILLS=<n>` sets the kills of a round (default 6), `WEIR_PG_SEED=<s>`
//! the seed (default 1); a failure prints both.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{diff, fresh_table, prepared, roll_back_prepared, rows, url, Action, Fault, FaultySink, Point};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use weir::core::RestartStrategy;
use weir::prelude::*;
use weir_connector_postgres::{PostgresSink, RowMapper};

const EVENTS: u64 = 4_000;
const TABLE: &str = "kill_events";
const PREFIX: &str = "weir-kill";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Event {
    id: i64,
    v: String,
}

fn event(i: u64) -> Event {
    Event {
        id: i as i64,
        v: format!("k{i:05}"),
    }
}

fn point(name: &str) -> Point {
    match name {
        "Write" => Point::Write,
        "AfterPreCommit" => Point::AfterPreCommit,
        "AfterCompletion" => Point::AfterCompletion,
        "RestoreOpen" => Point::RestoreOpen,
        other => panic!("unknown point {other}"),
    }
}

/// The job, when this binary runs as the child (`WEIR_PG_CHILD` set); a no-op in
/// the ordinary test run.
#[test]
fn child_process_entry() {
    let Ok(checkpoints) = std::env::var("WEIR_PG_CHILD") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let parallelism: usize = var("WEIR_PG_PARALLELISM").parse().unwrap();
    let fault = match var("WEIR_PG_FAULT").split_once(':') {
        Some((name, nth)) => vec![Fault::new(point(name), nth.parse().unwrap(), Action::Kill)],
        None => Vec::new(),
    };
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(30))
        .set_checkpoint_dir(PathBuf::from(checkpoints))
        .set_restart_strategy(RestartStrategy::None);
    let restore = var("WEIR_PG_RESTORE");
    if !restore.is_empty() {
        env.restore_from(PathBuf::from(restore));
    }
    let sink = PostgresSink::builder(&url(), TABLE)
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|e: &Event| vec![e.id.into(), e.v.clone().into()]))
        .buffer_max_rows(50)
        .transaction_prefix(PREFIX)
        .exactly_once()
        .unwrap();
    env.add_source(GeneratorSource::new(|i| i).with_count(EVENTS).with_rate_limit(6_000.0))
        .uid("ids")
        .set_parallelism(1)
        .rebalance()
        .map(event)
        .uid("events")
        .add_sink(FaultySink::new(sink, fault))
        .uid("postgres");
    let client = env.execute_async("postgres kill").unwrap();
    println!("CHECKPOINT_DIR {}", client.checkpoint_dir().unwrap().display());
    client.wait().unwrap();
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

struct Run {
    killed_at: Option<String>,
    finished: bool,
    output: String,
}

/// The libtest name of `child_process_entry` in this binary (`process_kill::…`:
/// the tests of the crate are modules of one binary).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_process_entry")
}

fn run_child(base: &Path, parallelism: usize, restore: Option<&Path>, fault: Option<(Point, u64)>) -> Run {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([child_test_name().as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("WEIR_PG_CHILD", base)
        .env("WEIR_PG_PARALLELISM", parallelism.to_string())
        .env(
            "WEIR_PG_RESTORE",
            restore.map(|p| p.display().to_string()).unwrap_or_default(),
        )
        .env(
            "WEIR_PG_FAULT",
            fault.map(|(p, n)| format!("{p:?}:{n}")).unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut output = String::new();
    let mut killed_at = None;
    let mut finished = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // Markers may follow libtest's "test child_process_entry ... " on its line.
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
        Some(9) => assert!(killed_at.is_some(), "killed without a KILL line:\n{output}"),
        Some(other) => panic!("the child died of signal {other}:\n{output}"),
        None => assert!(status.success() && finished, "the child failed ({status}):\n{output}"),
    }
    Run {
        killed_at: status.signal().and(killed_at),
        finished,
        output,
    }
}

fn seeded_fault(rng: &mut fastrand::Rng, restored: bool) -> (Point, u64) {
    match rng.u32(0..8) {
        0 | 1 => (Point::Write, rng.u64(1..1_500)),
        2 => (Point::AfterPreCommit, rng.u64(1..=8)),
        3 if restored => (Point::RestoreOpen, rng.u64(1..=2)),
        _ => (Point::AfterCompletion, rng.u64(1..=8)),
    }
}

fn check_table(label: &str) {
    let actual = rows(TABLE);
    let expected: Vec<(i64, String)> = (0..EVENTS).map(event).map(|e| (e.id, e.v)).collect();
    if actual != expected {
        let (missing, extra) = diff(&actual, &expected);
        panic!(
            "{label}: {} rows, {} expected; {} missing (first {:?}), {} extra (first {:?})",
            actual.len(),
            expected.len(),
            missing.len(),
            missing.first(),
            extra.len(),
            extra.first()
        );
    }
    assert_eq!(
        prepared(&format!("{PREFIX}-")),
        Vec::<String>::new(),
        "{label}: prepared transactions left"
    );
}

#[test]
fn sigkill_at_seeded_moments_loses_and_duplicates_nothing() {
    let _server = common::shared_server();
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let seed = var("WEIR_PG_SEED", 1);
    let wanted = var("WEIR_PG_KILLS", 6);
    println!("seed {seed}, {wanted} kills (rerun: WEIR_PG_SEED={seed} WEIR_PG_KILLS={wanted})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kills: Vec<String> = Vec::new();
    let mut completion_kills = 0;
    let mut runs = 0;
    // Rounds: the job from scratch, killed and restarted until it finishes.
    for round in 0.. {
        roll_back_prepared(&format!("{PREFIX}-"));
        fresh_table(TABLE, "id bigint NOT NULL, v text NOT NULL");
        let dir = tempfile::tempdir().unwrap();
        let mut restore: Option<PathBuf> = None;
        let mut round_kills = Vec::new();
        loop {
            runs += 1;
            assert!(
                runs < wanted * 4 + 10,
                "seed {seed}: too many runs ({runs}) for {wanted} kills"
            );
            let parallelism = rng.usize(1..=4);
            // Always kill once between a checkpoint's completion and its commit.
            let fault = if kills.len() as u64 >= wanted {
                None
            } else if completion_kills == 0 && kills.len() as u64 + 1 == wanted {
                Some((Point::AfterCompletion, rng.u64(1..=4)))
            } else {
                Some(seeded_fault(&mut rng, restore.is_some()))
            };
            let result = run_child(dir.path(), parallelism, restore.as_deref(), fault);
            let Some(at) = result.killed_at else {
                assert!(result.finished, "{}", result.output);
                println!("seed {seed} round {round}: parallelism {parallelism}, finished (planned: {fault:?})");
                break;
            };
            println!("seed {seed} round {round}: parallelism {parallelism}, killed at {at}");
            completion_kills += u32::from(at.starts_with("AfterCompletion"));
            kills.push(at.clone());
            round_kills.push(at);
            if let Some(newest) = newest_restorable(dir.path()) {
                restore = Some(newest);
            }
        }
        check_table(&format!("seed {seed} round {round} after kills {round_kills:?}"));
        if kills.len() as u64 >= wanted {
            break;
        }
    }
    assert!(
        completion_kills > 0,
        "seed {seed}: no kill between completion and commit: {kills:?}"
    );
    println!(
        "seed {seed}: {EVENTS} rows exactly once in each round; {} kills: {kills:?}",
        kills.len()
    );
}
