//! Shared by the modules: the lock that keeps the broker up while a test uses it,
//! and the names of the child tests.
#![allow(dead_code)]

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Held shared by every test using the broker, exclusively by the test that
/// restarts it (`broker_restart`): all tests of the crate are threads of one process.
static BROKER_IN_USE: RwLock<()> = RwLock::new(());

/// Taken at the start of a test (once: a waiting restart would block a second
/// one); the broker stays up until the guard is dropped.
pub fn shared_server() -> RwLockReadGuard<'static, ()> {
    BROKER_IN_USE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Taken by the test that restarts the broker: no other test runs meanwhile.
pub fn exclusive_server() -> RwLockWriteGuard<'static, ()> {
    BROKER_IN_USE.write().unwrap_or_else(PoisonError::into_inner)
}

/// The name libtest knows a test by in this binary (`module::name`), for the
/// tests that re-run the binary as their child: `module_path` is the caller's
/// `module_path!()`.
pub fn test_name(module_path: &str, name: &str) -> String {
    let module = module_path.split_once("::").map_or("", |(_, path)| path);
    format!("{module}::{name}")
}
