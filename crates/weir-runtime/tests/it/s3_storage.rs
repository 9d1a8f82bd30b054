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

use crate::common;
use crate::common::counting_job;

use common::{assert_same_lines, child_process, committed_lines, run_with_watchdog};
use counting_job::{build, env, env_with, oracle, run_and_stop};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "weir-tests";

/// Where the child process finds the bucket's directory (set by the parent).
const BUCKET_DIR: &str = "WEIR_S3_TEST_BUCKET_DIR";

/// Starts s3s-fs on a free loopback port with its data under `dir`; returns the
/// directory holding the bucket and the environment pointing the AWS client at
/// the server (credentials and endpoint are read from the environment).
fn start_server(dir: &Path) -> (PathBuf, Vec<(&'static str, String)>) {
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
    let vars = vec![
        ("AWS_ACCESS_KEY_ID", "weir".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "weir-secret".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    (root.join(BUCKET), vars)
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

/// The S3 client reads its settings from the environment, which the other tests
/// of this binary read concurrently (`set_var` would race with them): the test
/// starts the server here, then runs alone in a child process of this binary
/// whose environment holds the settings from its start.
#[test]
fn checkpoints_incremental_state_and_savepoints_in_s3() {
    let name = child_process::test_name(module_path!(), "checkpoints_incremental_state_and_savepoints_in_s3");
    if !child_process::is_child(&name) {
        let dir = tempfile::tempdir().unwrap();
        let (bucket_dir, mut vars) = start_server(dir.path());
        vars.push((BUCKET_DIR, bucket_dir.display().to_string()));
        child_process::run_alone(&name, &vars);
        return;
    }
    let bucket_dir = PathBuf::from(std::env::var_os(BUCKET_DIR).unwrap());
    run_with_watchdog("s3 storage".into(), move |dir| {
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
