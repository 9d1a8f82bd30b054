//! Test support: the broker (started through `scripts/services.sh`), a reader

//! driven by hand the way the runtime drives it, and a small checkpointing loop
//! that a child process runs and the test kills.

#![allow(dead_code)]

pub mod kill;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
use weir_connector_api::source::{
    CollectingOutput, PollStatus, ReaderContext, SourceOutput, SourceReader, SourceWaker,
};
use weir_connector_api::SubtaskInfo;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Starts `service` once per test binary through `scripts/services.sh up` and
/// returns the value of its `env` variable `var`; panics (never skips) when it
/// cannot.
pub fn service(service: &str, var: &str) -> String {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        let status = Command::new(repo_root().join("scripts/services.sh"))
            .args(["up", service])
            .status()
            .expect("run scripts/services.sh");
        assert!(status.success(), "scripts/services.sh up {service} failed");
    });
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

/// Runs `scripts/services.sh ARGS`.
pub fn services(args: &[&str]) {
    let status = Command::new(repo_root().join("scripts/services.sh"))
        .args(args)
        .status()
        .expect("run scripts/services.sh");
    assert!(status.success(), "scripts/services.sh {args:?} failed");
}

/// Messages are decimal numbers.
pub struct Numbers;

impl Deserializer<u64> for Numbers {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<u64>) -> Result<(), FormatError> {
        let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
        let n = text
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
        out.push(n);
        Ok(())
    }
}

impl Serializer<u64> for Numbers {
    fn serialize(&mut self, value: &u64, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(value.to_string().as_bytes());
        Ok(())
    }
}

/// A reader context for subtask 0 of 1 whose waker signals `woken`.
pub fn context(restored: Option<Vec<Vec<u8>>>) -> (ReaderContext, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let waker = SourceWaker::new(move || {
        let _ = tx.send(());
    });
    let context = ReaderContext {
        info: SubtaskInfo::new("queue-source", 0, 1, 128),
        waker,
        restored,
    };
    (context, rx)
}

/// Polls `reader` until `done` says so about what it emitted, waiting on its waker
/// between polls; panics after `limit` without progress (a hang, not a timing
/// assertion).
pub fn read_until(
    reader: &mut dyn SourceReader<u64>,
    woken: &mpsc::Receiver<()>,
    out: &mut Vec<u64>,
    done: impl Fn(&[u64]) -> bool,
) -> Result<(), weir_connector_api::BoxError> {
    let limit = Duration::from_secs(120);
    while !done(out) {
        let mut collected = CollectingOutput::default();
        let status = reader.poll_next(&mut SourceOutput::new(&mut collected))?;
        out.extend(collected.records.into_iter().map(|r| r.value));
        if let PollStatus::Pending { .. } = status {
            if !done(out) && woken.recv_timeout(limit).is_err() {
                panic!("no progress for {limit:?}; read so far: {} records", out.len());
            }
        }
    }
    Ok(())
}

/// Polls until the reader fails, returning its error.
pub fn read_until_error(reader: &mut dyn SourceReader<u64>, woken: &mpsc::Receiver<()>) -> String {
    let mut out = Vec::new();
    match read_until(reader, woken, &mut out, |_| false) {
        Err(e) => e.to_string(),
        Ok(()) => unreachable!(),
    }
}

/// Polls `reader` for `duration`, waiting on its waker between polls.
pub fn read_for(
    reader: &mut dyn SourceReader<u64>,
    woken: &mpsc::Receiver<()>,
    out: &mut Vec<u64>,
    duration: Duration,
) -> Result<(), weir_connector_api::BoxError> {
    let until = std::time::Instant::now() + duration;
    while std::time::Instant::now() < until {
        let mut collected = CollectingOutput::default();
        let status = reader.poll_next(&mut SourceOutput::new(&mut collected))?;
        out.extend(collected.records.into_iter().map(|r| r.value));
        if let PollStatus::Pending { .. } = status {
            let _ = woken.recv_timeout(until.saturating_duration_since(std::time::Instant::now()));
        }
    }
    Ok(())
}
