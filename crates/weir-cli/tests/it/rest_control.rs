//! `weir list`, `weir savepoint`, `weir stop` and `weir cancel` against a `weir
//! demo` running in another process, through its REST API; the savepoint the stop
//! wrote restores at another parallelism to exactly the counts of an uninterrupted
//! run.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{path_after, text, weir, Demo};
use std::path::Path;

/// Starts an unbounded demo serving its REST API on a free port.
fn start_demo(dir: &Path) -> Demo {
    Demo::start(&[
        "--unbounded",
        "--rate",
        "5000",
        "-p",
        "2",
        "--checkpoint-interval",
        "100ms",
        "--checkpoint-dir",
        dir.join("checkpoints").to_str().unwrap(),
        "--savepoint-dir",
        dir.join("default-savepoints").to_str().unwrap(),
        "--allow-savepoint-dir",
        dir.join("savepoints").to_str().unwrap(),
    ])
}

/// The final table of a demo's output: (count, word) lines after the header.
fn final_table(output: &str) -> Vec<String> {
    output
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("count  word"))
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn savepoint_stop_and_cancel_a_running_demo_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path());
    let (id, url) = (demo.id.clone(), demo.url.clone());

    let listed = weir(&["list", "-m", &url]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains(&format!("{id}  RUNNING")), "{}", text(&listed));

    // A savepoint into a given (allowed) directory.
    let target = dir.path().join("savepoints");
    let taken = weir(&["savepoint", &id, target.to_str().unwrap(), "-m", &url]);
    assert!(taken.status.success(), "{}", text(&taken));
    let savepoint = path_after(&text(&taken), "savepoint completed: ");
    assert!(savepoint.starts_with(&target), "{}", savepoint.display());
    assert!(savepoint.join("_metadata").is_file(), "{}", savepoint.display());

    // Without a directory: the demo's --savepoint-dir.
    let taken = weir(&["savepoint", &id, "-m", &url]);
    assert!(taken.status.success(), "{}", text(&taken));
    let savepoint = path_after(&text(&taken), "savepoint completed: ");
    assert!(savepoint.starts_with(dir.path().join("default-savepoints")));

    // Errors name what is wrong: a prefix of the id is not enough, a directory
    // that is not allowed is refused.
    let prefix = weir(&["savepoint", &id[..8], "-m", &url]);
    assert!(!prefix.status.success());
    assert!(text(&prefix).contains("404"), "{}", text(&prefix));
    let elsewhere = dir.path().join("elsewhere");
    let refused = weir(&["savepoint", &id, elsewhere.to_str().unwrap(), "-m", &url]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("answered 403"), "{}", text(&refused));
    assert!(!elsewhere.exists());
    let unknown = weir(&["savepoint", "0000ffff", "-m", &url]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("no job with id '0000ffff'"),
        "{}",
        text(&unknown)
    );
    let drained = weir(&["cancel", "0000ffff", "-m", &url]);
    assert!(text(&drained).contains("404"), "{}", text(&drained));

    // Stop with a savepoint: the demo ends and says where the savepoint is.
    let stopped = weir(&["stop", &id, "-p", target.to_str().unwrap(), "-m", &url]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    let final_savepoint = path_after(&text(&stopped), "job stopped; savepoint: ");
    let (status, demo_output) = demo.finish();
    assert!(status.success(), "{demo_output}");
    assert!(
        demo_output.contains(&format!("stopped with savepoint {}", final_savepoint.display())),
        "{demo_output}"
    );

    // Resume from it at parallelism 3 up to 300 k sentences: the same counts as
    // one uninterrupted run (5 k sentences per second stop well before).
    let restored = weir(&[
        "demo",
        "--sentences",
        "300000",
        "-p",
        "3",
        "--top",
        "100",
        "--no-rest",
        "--checkpoint-interval",
        "200ms",
        "--checkpoint-dir",
        dir.path().join("checkpoints-2").to_str().unwrap(),
        "--restore",
        final_savepoint.to_str().unwrap(),
    ]);
    assert!(restored.status.success(), "{}", text(&restored));
    let whole = weir(&["demo", "--sentences", "300000", "-p", "1", "--top", "100", "--no-rest"]);
    assert!(whole.status.success(), "{}", text(&whole));
    let expected = final_table(&text(&whole));
    assert!(expected.len() > 50, "{}", text(&whole));
    assert_eq!(final_table(&text(&restored)), expected);
}

#[test]
fn cancel_ends_a_running_demo() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path());
    let cancelled = weir(&["cancel", &demo.id, "-m", &demo.url]);
    assert!(cancelled.status.success(), "{}", text(&cancelled));
    let (status, _) = demo.finish();
    // A cancelled job is an error of the demo.
    assert!(!status.success());
}

#[test]
fn an_unreachable_api_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let listed = weir(&["list", "-m", &format!("127.0.0.1:{port}")]);
    assert!(!listed.status.success());
    assert!(
        text(&listed).contains(&format!("no answer from the Weir REST API at http://127.0.0.1:{port}")),
        "{}",
        text(&listed)
    );
}
