//! What the test modules share: one lock for the tests that use the Redis server.
//!
//! The tests run in parallel threads of one binary; some drop every client of the
//! server or stop it (`services.sh down redis`), and the process-kill test's child
//! job must not see that, so each test holds [`serial`] while it runs.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Taken at the start of every test using the server: one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
