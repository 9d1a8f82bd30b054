//! `weir stop`, `weir savepoint` and `weir cancel` against a running `weir demo`,
//! many times in a row: every one succeeds and says what it did. (`weir stop` used
//! to fail often: the demo ended and took its REST API with it before the client
//! fetched the savepoint's location.)

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{path_after, text, weir, Demo};

const ROUNDS: usize = 10;

fn small_demo(savepoints: &std::path::Path) -> Demo {
    Demo::start(&[
        "--unbounded",
        "--rate",
        "2000",
        "-p",
        "1",
        "--checkpoint-interval",
        "50ms",
        "--savepoint-dir",
        savepoints.to_str().unwrap(),
    ])
}

#[test]
fn stop_reports_the_savepoint_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let savepoints = dir.path().join("savepoints");
    for round in 0..ROUNDS {
        let demo = small_demo(&savepoints);
        let target = savepoints.join(format!("round-{round}"));
        let stopped = weir(&["stop", &demo.id, "-p", target.to_str().unwrap(), "-m", &demo.url]);
        assert!(stopped.status.success(), "round {round}: {}", text(&stopped));
        let savepoint = path_after(&text(&stopped), "job stopped; savepoint: ");
        assert!(savepoint.starts_with(&target), "round {round}: {}", savepoint.display());
        assert!(
            savepoint.join("_metadata").is_file(),
            "round {round}: {}",
            savepoint.display()
        );
        let (status, output) = demo.finish();
        assert!(status.success(), "round {round}: {output}");
        assert!(
            output.contains(&format!("stopped with savepoint {}", savepoint.display())),
            "round {round}: {output}"
        );
    }
}

#[test]
fn savepoint_reports_the_savepoint_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let savepoints = dir.path().join("savepoints");
    let demo = small_demo(&savepoints);
    for round in 0..ROUNDS {
        let taken = weir(&["savepoint", &demo.id, "-m", &demo.url]);
        assert!(taken.status.success(), "round {round}: {}", text(&taken));
        let savepoint = path_after(&text(&taken), "savepoint completed: ");
        assert!(
            savepoint.starts_with(&savepoints),
            "round {round}: {}",
            savepoint.display()
        );
        assert!(
            savepoint.join("_metadata").is_file(),
            "round {round}: {}",
            savepoint.display()
        );
    }
    let stopped = weir(&["stop", &demo.id, "-m", &demo.url]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    let (status, output) = demo.finish();
    assert!(status.success(), "{output}");
}

#[test]
fn cancel_ends_the_demo_every_time() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let demo = small_demo(&dir.path().join("savepoints"));
        let cancelled = weir(&["cancel", &demo.id, "-m", &demo.url]);
        assert!(cancelled.status.success(), "round {round}: {}", text(&cancelled));
        assert!(
            text(&cancelled).contains(&format!("cancelled job {}", demo.id)),
            "round {round}: {}",
            text(&cancelled)
        );
        let (status, output) = demo.finish();
        // A cancelled job is an error of the demo.
        assert!(!status.success(), "round {round}: {output}");
    }
}
