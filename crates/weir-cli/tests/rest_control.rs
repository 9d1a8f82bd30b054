//! `weir list`, `weir savepoint`, `weir stop` and `weir cancel` against a `weir
//! demo` running in another process, through its REST API; the savepoint the stop
//! wrote restores at another parallelism to exactly the counts of an uninterrupted
//! run.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

const WEIR: &str = env!("CARGO_BIN_EXE_weir");

/// A child process killed if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an unbounded demo serving its REST API on a free port; returns the
/// process, its job id, the API's URL and the rest of its output (as it comes).
fn start_demo(dir: &Path) -> (Running, String, String, mpsc::Receiver<String>) {
    let mut child = Command::new(WEIR)
        .args(["demo", "--unbounded", "--rate", "5000", "-p", "2"])
        .args(["--checkpoint-interval", "100ms", "--rest-bind", "127.0.0.1:0"])
        .arg("--checkpoint-dir")
        .arg(dir.join("checkpoints"))
        .arg("--savepoint-dir")
        .arg(dir.join("default-savepoints"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start weir demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    for line in received.iter() {
        // "job <id> · REST API at <url>"
        if let Some((job, url)) = line.split_once(" · REST API at ") {
            let id = job.trim_start_matches("job ").to_string();
            return (running, id, url.trim().to_string(), received);
        }
    }
    panic!("weir demo ended without announcing its REST API");
}

fn weir(args: &[&str]) -> Output {
    Command::new(WEIR).args(args).output().expect("run weir")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The path after `prefix` on the line of `output` that has it.
fn path_after(output: &str, prefix: &str) -> PathBuf {
    let line = output
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| panic!("no '{prefix}' in:\n{output}"));
    PathBuf::from(line.split(" (").next().unwrap_or(&line).trim())
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
    let (demo, id, url, output) = start_demo(dir.path());

    let listed = weir(&["list", "-m", &url]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains(&format!("{id}  RUNNING")), "{}", text(&listed));

    // A savepoint into a given directory, naming the job by a prefix of its id.
    let target = dir.path().join("savepoints");
    let taken = weir(&["savepoint", &id[..8], target.to_str().unwrap(), "-m", &url]);
    assert!(taken.status.success(), "{}", text(&taken));
    let savepoint = path_after(&text(&taken), "savepoint completed: ");
    assert!(savepoint.starts_with(&target), "{}", savepoint.display());
    assert!(savepoint.join("_metadata").is_file(), "{}", savepoint.display());

    // Without a directory: the demo's --savepoint-dir.
    let taken = weir(&["savepoint", &id, "-m", &url]);
    assert!(taken.status.success(), "{}", text(&taken));
    let savepoint = path_after(&text(&taken), "savepoint completed: ");
    assert!(savepoint.starts_with(dir.path().join("default-savepoints")));

    // Errors name what is wrong.
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
    let mut demo = demo;
    let status = demo.0.wait().unwrap();
    assert!(status.success());
    let demo_output: Vec<String> = output.iter().collect();
    let demo_output = demo_output.join("\n");
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
    let (demo, id, url, _output) = start_demo(dir.path());
    let cancelled = weir(&["cancel", &id, "-m", &url]);
    assert!(cancelled.status.success(), "{}", text(&cancelled));
    let mut demo = demo;
    let status = demo.0.wait().unwrap();
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
