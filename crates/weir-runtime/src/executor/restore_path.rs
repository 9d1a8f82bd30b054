//! Which checkpoint a restore starts from when the user names the checkpoint base
//! directory of earlier runs.
//!
//! Every run keeps its checkpoints in a directory of its own under the configured
//! checkpoint directory (`<dir>/<job>-<run id>/chk-<n>`). `restore_from` accepts a
//! checkpoint or savepoint directory and a run's directory; naming the base
//! directory itself (what `--checkpoint-dir` was) means: the newest run's newest
//! valid checkpoint.

use super::restore::JobRestore;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use weir_core::{Result, StorageRetry, WeirError};

/// Loads the checkpoint to start from at `path` (see the module documentation).
pub(crate) fn load(path: &Path, retry: &StorageRetry) -> Result<JobRestore> {
    let error = match JobRestore::load(path, retry) {
        Ok(restore) => return Ok(restore),
        Err(error) => error,
    };
    let runs = runs_newest_first(path);
    if runs.is_empty() {
        return Err(error);
    }
    let mut rejected = Vec::new();
    for run in runs {
        match JobRestore::load(&run, retry) {
            Ok(restore) => {
                tracing::info!(
                    "'{}' holds the checkpoints of earlier runs: starting from the newest run, '{}'",
                    path.display(),
                    run.display()
                );
                return Ok(restore);
            }
            Err(e) => {
                tracing::warn!("skipping the checkpoints of '{}': {e}", run.display());
                rejected.push(e.to_string());
            }
        }
    }
    Err(WeirError::Checkpoint(format!(
        "no valid checkpoint in '{}' nor in the runs under it ({})",
        path.display(),
        rejected.join("; ")
    )))
}

/// The run directories under a local checkpoint base directory `base` (those
/// holding a `chk-<n>` directory with metadata), the most recently written first.
/// Empty when `base` itself holds checkpoints, or is not a local directory.
fn runs_newest_first(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut runs: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        if is_checkpoint_name(&entry.file_name().to_string_lossy()) {
            // `base` is a run's directory: its own checkpoints were judged.
            return Vec::new();
        }
        if let Some(newest) = newest_metadata(&dir) {
            runs.push((newest, dir));
        }
    }
    runs.sort_by(|a, b| b.cmp(a));
    runs.into_iter().map(|(_, dir)| dir).collect()
}

fn is_checkpoint_name(name: &str) -> bool {
    name.strip_prefix("chk-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// When the newest `chk-<n>/_metadata` under `run` was written, if it has any.
fn newest_metadata(run: &Path) -> Option<SystemTime> {
    std::fs::read_dir(run)
        .ok()?
        .flatten()
        .filter(|e| is_checkpoint_name(&e.file_name().to_string_lossy()))
        .filter_map(|e| std::fs::metadata(e.path().join(weir_checkpoint::METADATA_FILE)).ok())
        .filter(|m| m.is_file())
        .filter_map(|m| m.modified().ok())
        .max()
}
