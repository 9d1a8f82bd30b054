//! `weir demo`'s restart strategy: the options map to the runtime's strategy,
//! every restart is printed on stdout with its cause (not only logged), and when
//! the attempts are used up the demo ends with a clear error and a non-zero exit;
//! a restore says which checkpoint it resumed from.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{path_after, text, weir_with_env};

/// A demo whose every attempt fails at sentence 1000.
fn failing_demo(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "demo",
        "--sentences",
        "100000",
        "-p",
        "1",
        "--checkpoint-interval",
        "50ms",
        "--fail-at",
        "1000",
        "--no-rest",
    ];
    args.extend_from_slice(extra);
    // No backtraces of the injected panics in the output.
    weir_with_env(&args, &[("RUST_BACKTRACE", "0")])
}

#[test]
fn each_restart_is_shown_and_the_last_failure_ends_the_demo() {
    let out = failing_demo(&[
        "--restart-strategy",
        "fixed-delay",
        "--restart-attempts",
        "2",
        "--restart-delay",
        "10ms",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("on failure: restart (fixed-delay: at most 2 restarts, 10ms apart)"),
        "{stdout}"
    );
    let restarts: Vec<&str> = stdout.lines().filter(|l| l.starts_with("restart: ")).collect();
    assert_eq!(restarts.len(), 2, "{stdout}");
    for line in &restarts {
        assert!(line.contains("injected failure at sentence 1000"), "{line}");
    }
    // Shown once: on stdout, not again as a log line on stderr.
    assert!(!stderr.contains("restarting"), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    assert!(
        error.contains(
            "the job failed for good after 2 restarts (restart strategy fixed-delay: at most 2 restarts, 10ms apart)"
        ),
        "{error}"
    );
    assert!(error.contains("injected failure at sentence 1000"), "{error}");
}

#[test]
fn exponential_delay_and_none_are_honoured() {
    let out = failing_demo(&[
        "--restart-attempts",
        "3",
        "--restart-delay",
        "1ms",
        "--restart-max-delay",
        "4ms",
        "--restart-backoff",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        stdout.contains("exponential-delay: at most 3 restarts, waiting 1ms then ×2 per failure in a row up to 4ms"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("restart: ")).count(),
        3,
        "{stdout}"
    );
    assert!(text(&out).contains("after 3 restarts"), "{}", text(&out));

    let out = failing_demo(&["--restart-strategy", "none"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains("restart"), "{stdout}");
    assert!(
        text(&out).contains("injected failure at sentence 1000"),
        "{}",
        text(&out)
    );

    let contradiction = failing_demo(&["--restart-strategy", "none", "--restart-attempts", "3"]);
    assert!(!contradiction.status.success());
    assert!(
        text(&contradiction).contains("--restart-strategy none takes no other --restart-* option"),
        "{}",
        text(&contradiction)
    );
}

#[test]
fn a_restore_says_which_checkpoint_it_resumed_from() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let out = weir_with_env(
        &[
            "demo",
            "--sentences",
            "20000",
            "--rate",
            "40000",
            "-p",
            "1",
            "--checkpoint-interval",
            "20ms",
            "--checkpoint-dir",
            first.to_str().unwrap(),
            "--no-rest",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    // The run's own directory, below the one given.
    let run_dir = path_after(&text(&out), "checkpoints go to ");
    let restored = weir_with_env(
        &[
            "demo",
            "--sentences",
            "20000",
            "-p",
            "1",
            "--checkpoint-interval",
            "100ms",
            "--checkpoint-dir",
            dir.path().join("second").to_str().unwrap(),
            "--restore",
            run_dir.to_str().unwrap(),
            "--no-rest",
        ],
        &[],
    );
    assert!(restored.status.success(), "{}", text(&restored));
    let stdout = String::from_utf8_lossy(&restored.stdout).to_string();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("restore: "))
        .unwrap_or_else(|| panic!("no restore line in {stdout}"));
    assert!(line.contains(run_dir.to_str().unwrap()), "{line}");
    assert!(line.contains("chk-"), "{line}");
    assert!(line.contains("checkpoint"), "{line}");
}
