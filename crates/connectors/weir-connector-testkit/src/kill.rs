//! Process kills: a child process (this test binary, re-run with `KILL_CHILD_DIR`)
//! reads the queue in a checkpointing loop that does what the runtime does:
//! snapshot the reader, store its state together with the output so far
//! atomically (a transactional sink), print `COMPLETED <id> <count>`, wait for the
//! parent's go, then notify the reader that the checkpoint completed (acks). The
//! parent kills it with SIGKILL at seeded moments, among them right after a
//! checkpoint completed and before the reader acknowledged it.

use crate::reader::context;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use weir_connector_api::source::{CollectingOutput, PollStatus, Source, SourceOutput};

/// The environment variable that makes a test run as the child.
pub const CHILD_VAR: &str = "KILL_CHILD_DIR";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    id: u64,
    state: Vec<Vec<u8>>,
    output: Vec<u64>,
}

fn load(dir: &Path) -> Checkpoint {
    match std::fs::read(dir.join("checkpoint.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("checkpoint file"),
        Err(_) => Checkpoint::default(),
    }
}

/// The child: runs until killed.
pub fn child(dir: &Path, source: &dyn Source<u64>) {
    let mut checkpoint = load(dir);
    let restored = (checkpoint.id > 0).then(|| checkpoint.state.clone());
    let (context, woken) = context(restored);
    let mut reader = source.create_reader(&context).expect("reader");
    let stdin = std::io::stdin();
    let interval = Duration::from_millis(100);
    loop {
        let until = Instant::now() + interval;
        let mut pending = Vec::new();
        while Instant::now() < until {
            let mut collected = CollectingOutput::default();
            let status = reader.poll_next(&mut SourceOutput::new(&mut collected)).expect("read");
            pending.extend(collected.records.into_iter().map(|r| r.value));
            if let PollStatus::Pending { .. } = status {
                let _ = woken.recv_timeout(until.saturating_duration_since(Instant::now()));
            }
        }
        checkpoint.id += 1;
        checkpoint.state = reader.snapshot_state(checkpoint.id).expect("snapshot");
        checkpoint.output.extend(pending);
        let tmp = dir.join("checkpoint.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&checkpoint).expect("encode")).expect("write");
        std::fs::rename(&tmp, dir.join("checkpoint.json")).expect("rename");
        println!("COMPLETED {} {}", checkpoint.id, checkpoint.output.len());
        std::io::stdout().flush().expect("flush");
        let mut go = String::new();
        if stdin.lock().read_line(&mut go).expect("stdin") == 0 {
            return;
        }
        reader.notify_checkpoint_complete(checkpoint.id).expect("notify");
    }
}

/// Runs this test binary's test `test_name` as the child in `dir`.
fn spawn(test_name: &str, dir: &Path) -> (Child, ChildStdin, mpsc::Receiver<(u64, usize)>) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest's "test kill_child ... " may begin the line.
            let Some(at) = line.find("COMPLETED ") else {
                continue;
            };
            let mut parts = line[at..].split_whitespace().skip(1);
            {
                let id = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                let count = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                if tx.send((id, count)).is_err() {
                    return;
                }
            }
        }
    });
    (child, stdin, rx)
}

/// Publishes the records `0..expected` in `kills` chunks, one before each run of
/// the child, and kills the child `kills` times at seeded moments (half of them
/// right after a checkpoint completed, before its acknowledgement); then lets it
/// run until its committed output holds `expected` records and `settle` more
/// checkpoints (time for late redeliveries), and returns the committed output.
pub fn run(
    test_name: &str,
    dir: &Path,
    seed: u64,
    kills: u32,
    expected: usize,
    settle: usize,
    publish: &dyn Fn(std::ops::Range<u64>),
) -> Vec<u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let chunk = (expected as u64).div_ceil(u64::from(kills.max(1)));
    for round in 0..kills {
        let start = (u64::from(round) * chunk).min(expected as u64);
        publish(start..(start + chunk).min(expected as u64));
        let (mut child, mut stdin, markers) = spawn(test_name, dir);
        let after_completion = rng.bool();
        let deadline = Instant::now() + Duration::from_millis(rng.u64(50..1500));
        let kill_at = rng.u64(1..6);
        let mut seen = 0;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match markers.recv_timeout(if after_completion {
                Duration::from_secs(120)
            } else {
                wait
            }) {
                Ok((id, count)) => {
                    seen += 1;
                    if after_completion && seen >= kill_at {
                        eprintln!(
                            "round {round}: kill after checkpoint {id} completed ({count} records), before its ack"
                        );
                        break;
                    }
                    let _ = writeln!(stdin, "go");
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !after_completion => {
                    eprintln!("round {round}: kill at a random moment");
                    break;
                }
                Err(e) => panic!("round {round}: the child stopped reporting: {e}"),
            }
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }
    let (mut child, mut stdin, markers) = spawn(test_name, dir);
    let mut extra = 0;
    loop {
        let (_, count) = markers
            .recv_timeout(Duration::from_secs(120))
            .expect("the final run stopped reporting");
        if count >= expected {
            extra += 1;
        }
        if extra > settle {
            break;
        }
        let _ = writeln!(stdin, "go");
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    load(dir).output
}

/// A fresh directory for a kill test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The seed: `WEIR_TEST_SEED`, or 1; printed.
pub fn seed() -> u64 {
    let seed = std::env::var("WEIR_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    eprintln!("seed {seed} (rerun with WEIR_TEST_SEED={seed})");
    seed
}
