//! RocksDB instance directories left behind by `kill -9`: the next backend to open
//! an instance under the same local dir removes those whose process is gone, and
//! never a live instance (of another process or of this one) nor anything that is
//! not an instance directory.
//!
//! The instances of other processes are real: the test binary runs itself as a
//! child process (selected by an environment variable) that opens a store, writes
//! to it, reports its directory and waits to be killed with SIGKILL.
#![cfg(unix)]
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use weir_core::hash::stable_hash;
use weir_core::keygroup::KeyGroupRange;
use weir_state::{KeyedStateStore, RocksDbOptions, StateBackend, ValueStateDescriptor};

/// Set in a child process: the local dir its instance opens under.
const CHILD_LOCAL_DIR: &str = "WEIR_STALE_INSTANCE_CHILD_DIR";
/// What a child prints once its instance is open.
const READY: &str = "instance open, waiting to be killed";

fn backend(local_dir: &Path) -> StateBackend {
    StateBackend::rocksdb(RocksDbOptions {
        local_dir: local_dir.to_path_buf(),
        memory_budget: 8 << 20,
        ..Default::default()
    })
    .unwrap()
}

fn open_store(backend: &StateBackend) -> KeyedStateStore<u64> {
    let mut store = KeyedStateStore::open(backend, 128, KeyGroupRange::new(0, 127), stable_hash::<u64>).unwrap();
    let count = ValueStateDescriptor::<u64>::new("count");
    for k in 0..100u64 {
        let key = store.key(k);
        store.value(&count, &key).unwrap().set(k).unwrap();
    }
    store
}

/// The instance directories under `local_dir`.
fn instances(local_dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(local_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.symlink_metadata().is_ok_and(|m| m.is_dir())
                && p.file_name().unwrap().to_string_lossy().starts_with("weir-rocksdb-")
        })
        .collect()
}

/// Not a test of its own: the body of the child processes the tests start.
#[test]
fn child_process_holding_an_instance() {
    let Some(local_dir) = std::env::var_os(CHILD_LOCAL_DIR) else {
        return;
    };
    let backend = backend(Path::new(&local_dir));
    let _store = open_store(&backend);
    // libtest may print the test name on the same line first.
    println!("{READY}");
    // Blocks until the parent kills this process (or closes stdin).
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// The libtest name of `child_process_holding_an_instance` in this binary
/// (`stale_instances::…`: the tests of the crate are modules of one binary).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_process_holding_an_instance")
}

/// A child process holding an instance under `local_dir`, and that directory.
fn spawn_holder(local_dir: &Path) -> (Child, PathBuf) {
    let before = instances(local_dir);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child_test_name().as_str(), "--nocapture", "--test-threads=1"])
        .env(CHILD_LOCAL_DIR, local_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.ends_with(READY));
        let _ = ready_tx.send(ready);
    });
    match ready_rx.recv_timeout(Duration::from_secs(120)) {
        Ok(true) => {}
        Ok(false) => panic!("the child process ended without opening its instance"),
        Err(_) => {
            let _ = child.kill();
            panic!("the child process did not open its instance within two minutes");
        }
    }
    let mut new: Vec<PathBuf> = instances(local_dir).difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "the child should have opened one instance: {new:?}");
    (child, new.remove(0))
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
}

/// The id of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_directory_left_by_a_killed_process_is_removed_at_the_next_start() {
    let local = tempfile::tempdir().unwrap();
    let (child, left) = spawn_holder(local.path());
    kill(child);
    assert!(left.join("db").is_dir(), "the killed process cannot have cleaned up");

    // A directory of an older Weir (no owner lock) whose process is gone, and one
    // whose process lives (this one): only the first is known to be stale.
    let old = local.path().join(format!("weir-rocksdb-{}-1-old", dead_pid()));
    std::fs::create_dir_all(old.join("db")).unwrap();
    let unknown = local
        .path()
        .join(format!("weir-rocksdb-{}-99-nolock", std::process::id()));
    std::fs::create_dir_all(unknown.join("db")).unwrap();
    // Things that are not instance directories, even with similar names.
    let unrelated = [
        local.path().join("notes.txt"),
        local.path().join("weir-rocksdb-1-1-a-file"),
        local.path().join("weir-rocksdb-notes"),
    ];
    std::fs::write(&unrelated[0], "keep").unwrap();
    std::fs::write(&unrelated[1], "keep").unwrap();
    std::fs::create_dir(&unrelated[2]).unwrap();
    let link = local.path().join(format!("weir-rocksdb-{}-2-link", dead_pid()));
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("precious"), "keep").unwrap();
    std::os::unix::fs::symlink(target.path(), &link).unwrap();

    let backend = backend(local.path());
    let store = open_store(&backend);
    assert!(
        !left.exists(),
        "the killed process's directory {} is still there",
        left.display()
    );
    assert!(
        !old.exists(),
        "the directory of a gone process {} is still there",
        old.display()
    );
    assert!(unknown.is_dir(), "a directory whose process may live was removed");
    for path in &unrelated {
        assert!(path.exists(), "{} was removed", path.display());
    }
    assert!(link.symlink_metadata().is_ok() && target.path().join("precious").is_file());
    let mine: Vec<PathBuf> = instances(local.path())
        .into_iter()
        .filter(|p| *p != unknown && *p != unrelated[2])
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    drop(store);
    assert!(!mine[0].exists(), "a store removes its own directory");
}

#[test]
fn live_instances_of_another_process_and_of_this_one_are_never_removed() {
    let local = tempfile::tempdir().unwrap();
    let (child, theirs) = spawn_holder(local.path());
    let first = backend(local.path());
    let ours = open_store(&first);
    let ours_dir: Vec<PathBuf> = instances(local.path()).into_iter().filter(|p| *p != theirs).collect();
    assert_eq!(ours_dir.len(), 1);

    // A second job's backend in this process opens its first instance: it scans.
    let second = backend(local.path());
    let other = open_store(&second);
    assert!(theirs.join("db").is_dir(), "the live child's instance was removed");
    assert!(
        ours_dir[0].join("db").is_dir(),
        "a live instance of this process was removed"
    );

    kill(child);
    let third = backend(local.path());
    let _last = open_store(&third);
    assert!(!theirs.exists(), "the killed child's instance was not removed");
    assert!(ours_dir[0].join("db").is_dir());
    drop(ours);
    drop(other);
    assert!(!ours_dir[0].exists());
}
