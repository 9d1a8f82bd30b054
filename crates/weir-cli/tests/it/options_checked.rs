//! Options are never silently ignored or reinterpreted: values that used to mean
//! something else (`0` as "unlimited" or "default"), absurd durations, REST
//! addresses that cannot be served, and options that do nothing without another
//! are refused with a message naming the option; log lines carry no colour codes
//! when stderr is not a terminal.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{text, weir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs `weir <args>`, expects it to fail before doing anything, and returns its
/// output.
fn refused(args: &[&str]) -> String {
    let out = weir(args);
    assert!(!out.status.success(), "{args:?} succeeded: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("words counted"), "{args:?} ran: {stdout}");
    text(&out)
}

#[test]
fn zero_is_refused_where_it_used_to_mean_something_else() {
    for (args, expected) in [
        (
            &["demo", "--rate", "0"][..],
            "--rate <RATE>': must be a positive number",
        ),
        (&["demo", "--rate=-5"][..], "must be a positive number"),
        (&["demo", "--top", "0"][..], "--top <TOP>': must be at least 1"),
        (
            &["demo", "-p", "0"][..],
            "--parallelism <PARALLELISM>': must be at least 1",
        ),
        (&["demo", "--sentences", "0"][..], "use --unbounded"),
        (
            &["nexmark", "run", "-q", "q0", "-p", "0"][..],
            "--parallelism <PARALLELISM>': must be at least 1",
        ),
        (
            &["nexmark", "run", "-q", "q0", "--rate", "0"][..],
            "must be a positive number",
        ),
        (
            &["nexmark", "run", "-q", "q0", "--events", "0"][..],
            "must be at least 1 (for an endless stream use --unbounded)",
        ),
        (
            &["nexmark", "generate", "--events", "0", "-o", "-"][..],
            "must be at least 1 (for an endless stream use --unbounded)",
        ),
    ] {
        let out = refused(args);
        assert!(out.contains(expected), "{args:?}: {out}");
    }
}

#[test]
fn unbounded_is_explicit() {
    let out = refused(&["nexmark", "generate", "--events", "10", "--unbounded", "-o", "-"]);
    assert!(out.contains("cannot be used with"), "{out}");
    let out = refused(&["nexmark", "run", "--unbounded"]);
    assert!(
        out.contains("--unbounded runs one query until it is interrupted"),
        "{out}"
    );
    // `generate --unbounded` writes until stopped.
    let mut child = Command::new(common::WEIR)
        .args(["nexmark", "generate", "--unbounded", "-o", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(20_000)
        .count();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(lines, 20_000);
}

#[test]
fn absurd_intervals_are_refused() {
    let out = refused(&["demo", "--checkpoint-interval", "18446744073709551615s", "--no-rest"]);
    assert!(
        out.contains("longer than the longest interval accepted (1day)"),
        "{out}"
    );
    let out = refused(&["demo", "--checkpoint-interval", "0s", "--no-rest"]);
    assert!(out.contains("must be at least 1ms"), "{out}");
    let out = refused(&["demo", "--restart-delay", "100days", "--no-rest"]);
    assert!(out.contains("longer than the longest delay accepted"), "{out}");
    let out = refused(&["stop", "0123", "--timeout", "0s"]);
    assert!(out.contains("must be positive"), "{out}");
}

#[test]
fn options_that_do_nothing_alone_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let out = refused(&["demo", "--checkpoint-dir", checkpoints.to_str().unwrap(), "--no-rest"]);
    assert!(out.contains("--checkpoint-dir needs --checkpoint-interval"), "{out}");
    assert!(!checkpoints.exists());
    let out = refused(&["demo", "--checkpoint-mode", "unaligned", "--no-rest"]);
    assert!(out.contains("--checkpoint-mode needs --checkpoint-interval"), "{out}");
    let out = refused(&["demo", "--no-rest", "--rest-bind", "127.0.0.1:0"]);
    assert!(out.contains("cannot be used with"), "{out}");
}

#[test]
fn a_rest_address_that_cannot_be_served_is_an_error() {
    let out = refused(&["demo", "--sentences", "1000", "--rest-bind", ":99999"]);
    assert!(out.contains("the port 99999 is out of range (0-65535)"), "{out}");
    let out = refused(&["demo", "--sentences", "1000", "--rest-bind", "127.0.0.1:http"]);
    assert!(out.contains("the port 'http' is not a number"), "{out}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = refused(&[
        "demo",
        "--sentences",
        "1000",
        "--rest-bind",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(out.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{out}");
    assert!(out.contains("choose another --rest-bind"), "{out}");
}

#[test]
fn log_lines_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let out = Command::new(common::WEIR)
        .args(["demo", "--sentences", "1000", "-p", "1", "--no-rest"])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
