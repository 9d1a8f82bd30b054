//! The REST API of `weir demo` as an attacker and as its user see it: no
//! non-loopback address without a token; with a token (option, environment or
//! file) every client command needs it; savepoints only below the allowed
//! directories; job ids in full.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{path_after, text, weir, weir_with_env, Demo};

const TOKEN: &str = "cli-test-token-0123456789abcdef";

#[test]
fn a_non_loopback_address_without_a_token_is_refused() {
    let out = weir(&["demo", "--sentences", "1000", "--rest-bind", "0.0.0.0:0"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("without a bearer token: it is not a loopback address"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("--rest-token-file"), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("words counted"));
    let short = weir(&[
        "demo",
        "--sentences",
        "1000",
        "--rest-bind",
        "0.0.0.0:0",
        "--rest-token",
        "short",
    ]);
    assert!(!short.status.success());
    assert!(text(&short).contains("use at least 16"), "{}", text(&short));
}

#[test]
fn with_a_token_every_client_command_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let savepoints = dir.path().join("savepoints");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // Served on every interface: allowed with a token.
    let demo = Demo::start(&[
        "--unbounded",
        "--rate",
        "2000",
        "-p",
        "1",
        "--checkpoint-interval",
        "50ms",
        "--savepoint-dir",
        savepoints.to_str().unwrap(),
        "--rest-bind",
        "0.0.0.0:0",
        "--rest-token-file",
        token_file.to_str().unwrap(),
    ]);
    let url = demo.url.replace("0.0.0.0", "127.0.0.1");
    for command in [
        vec!["list", "-m", &url],
        vec!["savepoint", &demo.id, "-m", &url],
        vec!["stop", &demo.id, "-m", &url],
        vec!["cancel", &demo.id, "-m", &url],
    ] {
        let out = weir(&command);
        assert!(!out.status.success(), "{command:?}: {}", text(&out));
        assert!(text(&out).contains("answered 401"), "{command:?}: {}", text(&out));
        assert!(text(&out).contains("--token"), "{command:?}: {}", text(&out));
        let mut wrong = command.clone();
        wrong.extend(["--token", "wrong-token-0123456789abcdef"]);
        let out = weir(&wrong);
        assert!(
            text(&out).contains("the bearer token is wrong"),
            "{wrong:?}: {}",
            text(&out)
        );
    }
    assert!(!savepoints.exists(), "nothing written without the token");

    // The token as an option, from the environment, from a file.
    let listed = weir(&["list", "-m", &url, "--token", TOKEN]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains(&format!("{}  RUNNING", demo.id)),
        "{}",
        text(&listed)
    );
    let taken = weir_with_env(&["savepoint", &demo.id, "-m", &url], &[("WEIR_REST_TOKEN", TOKEN)]);
    assert!(taken.status.success(), "{}", text(&taken));
    let stopped = weir(&[
        "stop",
        &demo.id,
        "-m",
        &url,
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    let savepoint = path_after(&text(&stopped), "job stopped; savepoint: ");
    assert!(savepoint.join("_metadata").is_file());
    let (status, output) = demo.finish();
    assert!(status.success(), "{output}");
}

#[test]
fn savepoints_go_only_below_the_allowed_directories() {
    let dir = tempfile::tempdir().unwrap();
    // No savepoint directory: the REST API may write savepoints nowhere.
    let demo = Demo::start(&[
        "--unbounded",
        "--rate",
        "2000",
        "-p",
        "1",
        "--checkpoint-interval",
        "50ms",
    ]);
    let elsewhere = dir.path().join("elsewhere");
    for command in [
        vec!["savepoint", &demo.id, elsewhere.to_str().unwrap(), "-m", &demo.url],
        vec!["stop", &demo.id, "-p", elsewhere.to_str().unwrap(), "-m", &demo.url],
    ] {
        let out = weir(&command);
        assert!(!out.status.success(), "{command:?}");
        assert!(text(&out).contains("answered 403"), "{command:?}: {}", text(&out));
        assert!(text(&out).contains("without a savepoint directory"), "{}", text(&out));
        assert!(text(&out).contains("only below its --savepoint-dir"), "{}", text(&out));
    }
    // A relative target is resolved against the client's working directory, and
    // refused there too.
    let out = std::process::Command::new(common::WEIR)
        .args(["savepoint", &demo.id, "relative", "-m", &demo.url])
        .current_dir(dir.path())
        .env_remove("WEIR_REST_TOKEN")
        .output()
        .unwrap();
    assert!(
        text(&out).contains(&format!("'{}'", dir.path().join("relative").display())),
        "{}",
        text(&out)
    );
    assert!(!elsewhere.exists() && !dir.path().join("relative").exists());
    let cancelled = weir(&["cancel", &demo.id, "-m", &demo.url]);
    assert!(cancelled.status.success(), "{}", text(&cancelled));

    // With --allow-savepoint-dir: below it, and only there.
    let allowed = dir.path().join("allowed");
    let demo = Demo::start(&[
        "--unbounded",
        "--rate",
        "2000",
        "-p",
        "1",
        "--checkpoint-interval",
        "50ms",
        "--allow-savepoint-dir",
        allowed.to_str().unwrap(),
    ]);
    let out = weir(&["savepoint", &demo.id, elsewhere.to_str().unwrap(), "-m", &demo.url]);
    assert!(text(&out).contains("answered 403"), "{}", text(&out));
    let out = weir(&[
        "stop",
        &demo.id,
        "-p",
        allowed.join("final").to_str().unwrap(),
        "-m",
        &demo.url,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(path_after(&text(&out), "job stopped; savepoint: ").starts_with(allowed.join("final")));
    assert!(!elsewhere.exists());
    let (status, output) = demo.finish();
    assert!(status.success(), "{output}");
}

#[test]
fn a_job_id_prefix_is_not_enough() {
    let demo = Demo::start(&["--unbounded", "--rate", "2000", "-p", "1"]);
    for prefix in [&demo.id[..4], &demo.id[..16]] {
        let out = weir(&["cancel", prefix, "-m", &demo.url]);
        assert!(!out.status.success(), "{prefix}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("no job with id '{prefix}'")),
            "{}",
            text(&out)
        );
    }
    let listed = weir(&["list", "-m", &demo.url]);
    assert!(
        text(&listed).contains(&format!("{}  RUNNING", demo.id)),
        "{}",
        text(&listed)
    );
    let out = weir(&["cancel", &demo.id, "-m", &demo.url]);
    assert!(out.status.success(), "{}", text(&out));
}
