//! Which checkpoint a restarted job resumes from.
//!
//! Every run of the job writes its checkpoints into a job directory of its own
//! (`<checkpoint dir>/chaos-<millis>`). The harness restarts from the newest job
//! directory holding a completed checkpoint (a `chk-<n>/_metadata`); the runtime
//! then picks that directory's newest valid checkpoint. A run killed before its
//! first checkpoint completed leaves a directory without one: the next run
//! resumes from the same checkpoint as it did.
//!
//! Incremental RocksDB checkpoints keep their files in the job directory's
//! `shared/`; a restored run opens the previous run's shared files but uploads
//! them again into its own `shared/` with its first checkpoint. So once a run has
//! completed a checkpoint, the older job directories are no longer needed and the
//! harness deletes them, as an operator keeping only the latest run would. If a
//! run's checkpoints still referred to an older run's files, the next restore
//! would fail, and the harness would report it.

use crate::error::ChaosError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The job directories under `base` (none if it does not exist).
pub fn job_dirs(base: &Path) -> Result<BTreeSet<PathBuf>, ChaosError> {
    let entries = match std::fs::read_dir(base) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(ChaosError::io(base, e)),
    };
    let mut dirs = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| ChaosError::io(base, e))?;
        if entry.file_type().map_err(|e| ChaosError::io(entry.path(), e))?.is_dir() {
            dirs.insert(entry.path());
        }
    }
    Ok(dirs)
}

/// The ids of the completed checkpoints (`chk-<n>/_metadata` exists) of a job
/// directory, oldest first.
pub fn completed_checkpoints(job_dir: &Path) -> Result<Vec<u64>, ChaosError> {
    let entries = match std::fs::read_dir(job_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ChaosError::io(job_dir, e)),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ChaosError::io(job_dir, e))?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("chk-"))
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        if entry.path().join("_metadata").is_file() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Deletes a job directory that is no longer needed.
pub fn remove_job_dir(dir: &Path) -> Result<(), ChaosError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ChaosError::io(dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_checkpoints_with_metadata_count() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("chaos-1");
        for (name, metadata) in [("chk-3", true), ("chk-12", true), ("chk-13", false), ("shared", false)] {
            std::fs::create_dir_all(job.join(name)).unwrap();
            if metadata {
                std::fs::write(job.join(name).join("_metadata"), "x").unwrap();
            }
        }
        assert_eq!(completed_checkpoints(&job).unwrap(), [3, 12]);
        assert!(job_dirs(dir.path()).unwrap().into_iter().eq([job.clone()]));
        assert!(completed_checkpoints(&dir.path().join("missing")).unwrap().is_empty());
        remove_job_dir(&job).unwrap();
        assert!(job_dirs(dir.path()).unwrap().is_empty());
    }
}
