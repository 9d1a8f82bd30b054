//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// How long a test job may take before the test reports a hang. Generous: it only
/// turns a deadlock into a failure, it does not measure speed.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// Runs `f` on its own thread and fails the test if it does not return within
/// [`HANG_LIMIT`].
pub fn no_hang<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG_LIMIT) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: did not finish within {HANG_LIMIT:?} (hang?)")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the test thread panicked"),
    }
}
