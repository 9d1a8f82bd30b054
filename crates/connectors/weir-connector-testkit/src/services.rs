//! The brokers of `scripts/services.sh` (see `docs/services.md`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Starts `service` once per test process through `scripts/services.sh up` and
/// returns the value of its `env` variable `var`; panics (never skips) when it
/// cannot.
pub fn service(service: &str, var: &str) -> String {
    static UP: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    {
        let mut up = UP.lock().unwrap_or_else(|e| e.into_inner());
        if !up.contains(service) {
            services(&["up", service]);
            up.insert(service.to_string());
        }
    }
    let output = Command::new(repo_root().join("scripts/services.sh"))
        .args(["env", service])
        .output()
        .expect("run scripts/services.sh env");
    let text = String::from_utf8_lossy(&output.stdout);
    for line in text.lines() {
        let line = line.trim().trim_start_matches("export ");
        if let Some(value) = line.strip_prefix(&format!("{var}=")) {
            return value.trim_matches(|c| c == '\'' || c == '"').to_string();
        }
    }
    panic!("scripts/services.sh env {service} does not set {var}: {text}");
}

/// Runs `scripts/services.sh ARGS` (e.g. `["restart", "nats"]`), panicking when
/// it fails.
pub fn services(args: &[&str]) {
    let status = Command::new(repo_root().join("scripts/services.sh"))
        .args(args)
        .status()
        .expect("run scripts/services.sh");
    assert!(status.success(), "scripts/services.sh {args:?} failed");
}
