//! Checkpoint storage in S3: checkpoints, incremental shared files, savepoints and
//! restores through a real S3 server (s3s-fs on loopback, installed and started by
//! `scripts/s3-server.sh`), with credentials and endpoint from the environment.
//!
//! Run 1 (parallelism 2, RocksDB, incremental) checkpoints into S3 and is
//! cancelled; run 2 restores its newest checkpoint from S3 at parallelism 3 on the
//! heap and stops with a savepoint in S3; a bit-flipped copy of that savepoint is
//! refused with the damaged object named; run 3 resumes the savepoint at
//! parallelism 1 on RocksDB and reads to the end. The committed output of the
//! three runs must equal the oracle.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
#[path = "common/counting_job.rs"]
mod counting_job;

use common::{assert_same_lines, committed_lines, run_with_watchdog};
use counting_job::{build, env, env_with, oracle, run_and_stop};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "weir-tests";

/// Starts s3s-fs on a free loopback port with its data under `dir` and points the
/// AWS environment variables at it; returns the directory holding the bucket.
fn start_server(dir: &Path) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3-server.sh");
    let root = dir.join("s3");
    let output = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&root)
        .arg(port.to_string())
        .arg(BUCKET)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} could not start the S3 server",
        script.display()
    );
    // This test binary has one test: nothing else reads the environment meanwhile.
    std::env::set_var("AWS_ACCESS_KEY_ID", "weir");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "weir-secret");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT", format!("http://127.0.0.1:{port}"));
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    root.join(BUCKET)
}

/// Where s3s-fs keeps the object or prefix `url` on disk.
fn on_disk(bucket_dir: &Path, url: &Path) -> PathBuf {
    let text = url.to_str().unwrap();
    let key = text.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
    bucket_dir.join(key)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn checkpoints_incremental_state_and_savepoints_in_s3() {
    run_with_watchdog("s3 storage".into(), |dir| {
        let bucket_dir = start_server(dir);
        let base = format!("s3://{BUCKET}/run-{}", std::process::id());
        let checkpoints = PathBuf::from(format!("{base}/checkpoints"));
        let out = dir.join("out");

        // Run 1: RocksDB with incremental checkpoints into S3, cancelled.
        let first = env_with(2, Some(&dir.join("rocksdb1")), true, dir);
        first.set_checkpoint_dir(&checkpoints).set_retained_checkpoints(2);
        build(&first, &out, true);
        let client = first.execute_async("s3").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.completed_checkpoints() < 4 {
            assert!(!client.is_finished(), "the job ended before it could be cancelled");
            assert!(Instant::now() < deadline, "no checkpoints within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }
        client.cancel();
        let job = client.checkpoint_dir().unwrap().to_path_buf();
        assert!(client.wait().is_err());
        assert!(job.to_str().unwrap().starts_with("s3://"), "{}", job.display());
        let job_on_disk = on_disk(&bucket_dir, &job);
        let shared = files_under(&job_on_disk.join("shared"));
        assert!(!shared.is_empty(), "no shared files in {}", job_on_disk.display());
        let complete = std::fs::read_dir(&job_on_disk)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("_metadata").is_file())
            .count();
        assert!(
            (1..=2).contains(&complete),
            "{complete} complete checkpoints retained, expected at most 2"
        );

        // Run 2: the newest checkpoint, read from S3, at parallelism 3 on the heap;
        // full checkpoints into S3; stops with a savepoint in S3.
        let second = env(3, None, dir);
        second.set_checkpoint_dir(&checkpoints).restore_from(&job);
        let savepoints = PathBuf::from(format!("{base}/savepoints"));
        let savepoint = run_and_stop(&second, &out, &savepoints, 2);
        assert!(
            savepoint.to_str().unwrap().starts_with("s3://"),
            "{}",
            savepoint.display()
        );
        let savepoint_on_disk = on_disk(&bucket_dir, &savepoint);
        assert!(savepoint_on_disk.join("_metadata").is_file());

        // A bit-flipped copy of the savepoint is refused, naming the object.
        let damaged = PathBuf::from(format!("{base}/damaged"));
        let damaged_on_disk = on_disk(&bucket_dir, &damaged);
        std::fs::create_dir_all(&damaged_on_disk).unwrap();
        let mut state_file = None;
        for file in files_under(&savepoint_on_disk) {
            let name = file.file_name().unwrap().to_owned();
            std::fs::copy(&file, damaged_on_disk.join(&name)).unwrap();
            if name.to_string_lossy().ends_with(".state") && std::fs::metadata(&file).unwrap().len() > 16 {
                state_file = Some(name);
            }
        }
        let state_file = state_file.unwrap();
        let flipped = damaged_on_disk.join(&state_file);
        let mut bytes = std::fs::read(&flipped).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(&flipped, bytes).unwrap();
        let broken = env(1, None, dir);
        broken.set_checkpoint_dir(&checkpoints).restore_from(&damaged);
        build(&broken, &dir.join("never"), true);
        let error = broken.execute("s3").unwrap_err().to_string();
        assert!(
            error.contains(&*state_file.to_string_lossy()) && error.contains("s3://"),
            "the error does not name the damaged object: {error}"
        );

        // Run 3: the savepoint, from S3, at parallelism 1 on RocksDB, to the end.
        let third = env(1, Some(&dir.join("rocksdb3")), dir);
        third.set_checkpoint_dir(&checkpoints).restore_from(&savepoint);
        build(&third, &out, true);
        let result = third.execute("s3").unwrap();
        assert_eq!(result.restored_from.as_deref(), Some(savepoint.as_path()));

        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("s3: 2 rocksdb -> 3 heap -> 1 rocksdb", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}
