//! Savepoints: stop a job with a savepoint and resume it at another parallelism
//! and on the other state backend; the committed output must equal the oracle.
//!
//! The job counts records per key in value, list and map state and counts them per
//! key in event-time tumbling windows (window contents and timers in keyed state).
//! Run 1 (parallelism 2, heap) stops with a savepoint; run 2 resumes it at
//! parallelism 3 on RocksDB and stops with another; run 3 resumes that at
//! parallelism 1 on the heap and reads to the end. All three write to the same
//! exactly-once file sink.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;
use crate::common::counting_job;

use common::{assert_same_lines, committed_lines, run_with_watchdog};
use counting_job::{build, env, env_with, oracle, run_and_stop};
use std::time::{Duration, Instant};

#[test]
fn savepoints_rescale_2_3_1_and_switch_heap_rocksdb_heap() {
    run_with_watchdog("savepoint round trip".into(), |dir| {
        let out = dir.join("out");
        let savepoints = dir.join("savepoints");

        let first = run_and_stop(&env(2, None, &dir.join("run1")), &out, &savepoints, 2);
        assert!(first.join("_metadata").is_file());

        let second_env = env(3, Some(&dir.join("rocksdb")), &dir.join("run2"));
        second_env.restore_from(&first);
        let second = run_and_stop(&second_env, &out, &savepoints, 2);
        assert_ne!(first, second);

        let third = env(1, None, &dir.join("run3"));
        third.restore_from(&second);
        build(&third, &out, true);
        let result = third.execute("savepoints").unwrap();
        assert_eq!(result.restored_from.as_deref(), Some(second.as_path()));

        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("2 heap -> 3 rocksdb -> 1 heap", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}

#[test]
fn state_of_a_removed_operator_needs_permission_and_damage_is_named() {
    run_with_watchdog("unclaimed state".into(), |dir| {
        let out = dir.join("out");
        let savepoint = run_and_stop(&env(2, None, &dir.join("run1")), &out, &dir.join("savepoints"), 1);

        // The window operator is gone: its state is nobody's.
        let strict = env(2, None, &dir.join("run2"));
        strict.restore_from(&savepoint);
        build(&strict, &dir.join("out2"), false);
        let e = strict.execute("savepoints").unwrap_err().to_string();
        assert!(e.contains("window") && e.contains("uid"), "{e}");

        let lenient = env(2, None, &dir.join("run3"));
        lenient.restore_from(&savepoint).set_allow_non_restored_state(true);
        build(&lenient, &dir.join("out3"), false);
        lenient.execute("savepoints").unwrap();

        // A flipped bit in a state file: the restore fails and names the file.
        let damaged = dir.join("damaged");
        std::fs::create_dir_all(&damaged).unwrap();
        let mut victim = None;
        for entry in std::fs::read_dir(&savepoint).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            std::fs::copy(&path, damaged.join(&name)).unwrap();
            if name.ends_with(".state") && victim.is_none() {
                victim = Some(name);
            }
        }
        let victim = victim.unwrap();
        let mut bytes = std::fs::read(damaged.join(&victim)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(damaged.join(&victim), bytes).unwrap();
        let broken = env(2, None, &dir.join("run4"));
        broken.restore_from(&damaged);
        build(&broken, &dir.join("out4"), true);
        let e = broken.execute("savepoints").unwrap_err().to_string();
        assert!(e.contains(&victim), "{e}");
    });
}

#[test]
fn a_retained_incremental_checkpoint_restores_at_another_parallelism_on_the_heap() {
    run_with_watchdog("incremental rescale".into(), |dir| {
        let out = dir.join("out");
        let first = env_with(2, Some(&dir.join("rocksdb")), true, &dir.join("run1"));
        first.set_retained_checkpoints(2);
        build(&first, &out, true);
        let client = first.execute_async("incremental").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.completed_checkpoints() < 3 {
            assert!(!client.is_finished(), "the job ended before it could be cancelled");
            assert!(Instant::now() < deadline, "no checkpoints within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }
        client.cancel();
        let checkpoints = client.checkpoint_dir().unwrap().to_path_buf();
        assert!(client.wait().is_err());
        assert!(
            checkpoints.join("shared").is_dir(),
            "no shared files in {}",
            checkpoints.display()
        );

        let second = env(3, None, &dir.join("run2"));
        second.restore_from(&checkpoints);
        build(&second, &out, true);
        second.execute("incremental").unwrap();
        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("incremental p=2 rocksdb -> p=3 heap", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}

/// Keyed state lies in key groups (`hash % max parallelism`): restoring it with
/// another max parallelism would put it under the wrong keys. The restore is
/// refused, naming the operator and both values; the same value restores exactly.
#[test]
fn a_restore_with_another_max_parallelism_is_refused_naming_operator_and_values() {
    run_with_watchdog("max parallelism".into(), |dir| {
        let out = dir.join("out");
        let first = env(2, None, &dir.join("run1"));
        first.set_max_parallelism(128);
        let savepoint = run_and_stop(&first, &out, &dir.join("savepoints"), 1);

        let changed = env(2, None, &dir.join("run2"));
        changed.set_max_parallelism(256).restore_from(&savepoint);
        build(&changed, &dir.join("never"), true);
        let e = changed.execute("max parallelism").unwrap_err().to_string();
        assert!(
            e.contains("'count'") && e.contains("128") && e.contains("256") && e.contains("max parallelism"),
            "the error does not name the operator and both values: {e}"
        );
        assert!(
            !dir.join("never").exists() || committed_lines(&dir.join("never")).0.is_empty(),
            "the refused job must not run"
        );

        let same = env(3, None, &dir.join("run3"));
        same.set_max_parallelism(128).restore_from(&savepoint);
        build(&same, &out, true);
        let result = same.execute("max parallelism").unwrap();
        assert_eq!(result.restored_from.as_deref(), Some(savepoint.as_path()));
        let (committed, hidden) = committed_lines(&out);
        assert_same_lines("max parallelism 128 -> 128", &committed, &oracle());
        assert!(hidden.is_empty(), "leftover files {hidden:?}");
    });
}
