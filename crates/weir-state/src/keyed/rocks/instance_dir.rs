//! The directory of one RocksDB instance, and the removal of directories whose
//! process is gone.
//!
//! An instance lives in `<local dir>/weir-rocksdb-<pid>-<n>-<random>` and removes
//! it when the subtask ends. A process killed with SIGKILL (or a machine that lost
//! power) runs no destructor, so its directories would stay forever. Each instance
//! therefore holds an exclusive `flock` on `owner.lock` in its directory for as
//! long as it lives (the kernel releases it when the process dies, however it
//! dies). When a backend opens its first instance under a local dir,
//! [`remove_stale`] removes every directory named like an instance whose lock can
//! be taken: no live instance, of this process or any other on the machine, holds
//! it. A directory without `owner.lock` (just being created, being removed, or
//! left by a Weir version without the lock) is removed only when the process named
//! in it no longer exists. Nothing else in the local dir is touched.
//!
//! `flock` locks belong to an open file, so two instances of one process exclude
//! each other as two processes do. They work on local file systems (RocksDB's
//! local dir should be one).

use super::options::rocks_error;
use crate::error::StateError;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// How every instance directory's name starts.
const PREFIX: &str = "weir-rocksdb-";

/// The lock file an instance holds for its whole life.
const OWNER_LOCK: &str = "owner.lock";

/// A live instance's directory: removed, and its lock released, on drop.
pub(crate) struct InstanceDir {
    // Dropped first: the directory goes while the lock is still held, so a
    // concurrent `remove_stale` never finds it unlocked.
    dir: tempfile::TempDir,
    _owner: File,
}

impl InstanceDir {
    /// Creates the directory of this process's `n`-th instance under `local_dir`
    /// and takes its owner lock.
    pub(crate) fn create(local_dir: &Path, n: u64) -> Result<Self, StateError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-{n}-", std::process::id()))
            .tempdir_in(local_dir)
            .map_err(|e| {
                rocks_error(format!(
                    "cannot create an instance directory in {}: {e}",
                    local_dir.display()
                ))
            })?;
        let owner = lock_owner(dir.path()).map_err(|e| {
            rocks_error(format!(
                "cannot lock the instance directory {}: {e}",
                dir.path().display()
            ))
        })?;
        Ok(InstanceDir { dir, _owner: owner })
    }

    /// Where the instance's files are.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates `owner.lock` in `dir`, locked: the file is locked under another name
/// and then renamed, so `owner.lock` never exists unlocked while its instance lives.
fn lock_owner(dir: &Path) -> io::Result<File> {
    let staging = dir.join(format!("{OWNER_LOCK}.new"));
    let file = File::create(&staging)?;
    if !try_lock(&file)? {
        return Err(io::Error::other("the new lock file is locked by someone else"));
    }
    fs::rename(&staging, dir.join(OWNER_LOCK))?;
    Ok(file)
}

/// Takes an exclusive lock on `file` without waiting: `false` when another open
/// file holds one.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "locking instance directories needs flock",
    ))
}

/// Whether the process `pid` is known to be gone (`false` when it exists or
/// cannot be checked).
#[cfg(unix)]
fn process_is_gone(pid: i32) -> bool {
    if u32::try_from(pid).is_ok_and(|pid| pid == std::process::id()) {
        return false;
    }
    match rustix::process::Pid::from_raw(pid) {
        Some(pid) => rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH),
        None => false,
    }
}

#[cfg(not(unix))]
fn process_is_gone(_pid: i32) -> bool {
    false
}

/// The process id in an instance directory's name (`weir-rocksdb-<pid>-<n>-…`),
/// `None` for any other name.
fn owner_pid(name: &str) -> Option<i32> {
    let mut parts = name.strip_prefix(PREFIX)?.splitn(3, '-');
    let pid = parts.next()?.parse::<i32>().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    parts.next().filter(|rest| !rest.is_empty())?;
    Some(pid)
}

/// Removes the instance directories under `local_dir` whose owner is gone (see
/// the module documentation) and returns them. Anything that cannot be checked is
/// left alone (with a warning); nothing but instance directories is touched.
pub(crate) fn remove_stale(local_dir: &Path) -> Vec<PathBuf> {
    let entries = match fs::read_dir(local_dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!("cannot list {} for stale RocksDB directories: {e}", local_dir.display());
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        // Never follow a symbolic link: only real directories are instances.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = entry.path();
        match File::open(dir.join(OWNER_LOCK)) {
            Ok(lock) => match try_lock(&lock) {
                // Held until the directory is gone: another scan skips it.
                Ok(true) => remove(&dir, &mut removed),
                Ok(false) => {} // a live instance
                Err(e) => tracing::warn!("cannot check whether {} is in use: {e}", dir.display()),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if process_is_gone(pid) {
                    remove(&dir, &mut removed);
                }
            }
            Err(e) => tracing::warn!("cannot check whether {} is in use: {e}", dir.display()),
        }
    }
    removed
}

fn remove(dir: &Path, removed: &mut Vec<PathBuf>) {
    match fs::remove_dir_all(dir) {
        Ok(()) => {
            tracing::info!(
                "removed the RocksDB directory {} left by a process that is gone",
                dir.display()
            );
            removed.push(dir.to_path_buf());
        }
        // Removed by its owner or another scan meanwhile.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot remove the stale RocksDB directory {}: {e}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_instance_names_carry_an_owner() {
        assert_eq!(owner_pid("weir-rocksdb-42-7-aBc123"), Some(42));
        assert_eq!(owner_pid("weir-rocksdb-42-7-"), None);
        assert_eq!(owner_pid("weir-rocksdb-42-x-abc"), None);
        assert_eq!(owner_pid("weir-rocksdb-abc"), None);
        assert_eq!(owner_pid("my-weir-rocksdb-42-7-abc"), None);
        assert_eq!(owner_pid("notes.txt"), None);
    }

    #[test]
    fn a_live_directory_is_locked_and_a_dropped_one_is_gone() {
        let local = tempfile::tempdir().unwrap();
        let live = InstanceDir::create(local.path(), 1).unwrap();
        let path = live.path().to_path_buf();
        assert!(path.join(OWNER_LOCK).is_file());
        assert!(remove_stale(local.path()).is_empty());
        assert!(path.is_dir());
        drop(live);
        assert!(!path.exists());
    }
}
