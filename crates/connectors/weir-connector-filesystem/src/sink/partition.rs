//! Partitioning by field values (`dt=2026-12-03/hour=07/`) and partition commit:
//! a `_SUCCESS` file in each partition that can no longer receive records, once
//! every subtask's data files for it are committed.
//!
//! # How a partition is known to be complete
//!
//! Every partition gets a *closing time* when records are written into it: with
//! [`CommitTrigger::ProcessTime`] the wall-clock time of its first record plus
//! the delay; with [`CommitTrigger::PartitionTime`] the partition's end (as the
//! partition function gives it) plus the delay. Every sink subtask keeps a
//! *clock*: the wall-clock time, or its input watermark (as Flink's
//! `partition-time` trigger does), taken at each checkpoint barrier (the end of
//! its input sets it to the end of time). A job without watermarks therefore
//! commits event-time partitions only at the end of its input.
//!
//! When a subtask has committed the files of a checkpoint, it writes its progress
//! (the clock of that checkpoint and the partitions it wrote that are not yet
//! marked complete) to `<base>/.weir-partitions/progress-<i>-of-<n>`, then reads
//! every subtask's progress: a partition whose closing time is at most every
//! subtask's clock is complete, since each subtask has committed everything it
//! wrote before its clock passed that time. Its success file is then written (by
//! whichever subtask sees it first; writing it twice is harmless). The last
//! subtask to write its progress sees all the others', so nothing is missed.
//!
//! Records arriving for a partition after it was marked complete are late: they
//! are written and committed as usual and the marker stays.

use crate::error::FileSystemError;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::BoxError;

/// Where a record goes: a directory below the sink's base directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    /// The relative directory, e.g. `dt=2026-12-03/hour=07`.
    pub path: String,
    /// When the partition's event time ends (epoch milliseconds), for
    /// [`CommitTrigger::PartitionTime`].
    pub end: Option<i64>,
}

impl Partition {
    /// The partition at relative directory `path`, without an end time.
    pub fn new(path: impl Into<String>) -> Self {
        Partition {
            path: path.into(),
            end: None,
        }
    }

    /// The partition whose event time ends at `end` (epoch milliseconds).
    pub fn ending_at(mut self, end: i64) -> Self {
        self.end = Some(end);
        self
    }

    /// `dt=YYYY-MM-DD/hour=HH` of `timestamp` (epoch milliseconds, UTC), ending
    /// at the end of that hour.
    pub fn hourly(timestamp: i64) -> Self {
        let hour_ms = 3_600_000;
        let start = timestamp.div_euclid(hour_ms) * hour_ms;
        let (y, m, d) = civil_date(start.div_euclid(86_400_000));
        let hour = start.rem_euclid(86_400_000) / hour_ms;
        Partition::new(format!("dt={y:04}-{m:02}-{d:02}/hour={hour:02}")).ending_at(start + hour_ms)
    }

    /// `dt=YYYY-MM-DD` of `timestamp` (epoch milliseconds, UTC), ending at the
    /// end of that day.
    pub fn daily(timestamp: i64) -> Self {
        let day = timestamp.div_euclid(86_400_000);
        let (y, m, d) = civil_date(day);
        Partition::new(format!("dt={y:04}-{m:02}-{d:02}")).ending_at((day + 1) * 86_400_000)
    }
}

/// The proleptic Gregorian date of `days` since 1970-01-01.
fn civil_date(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Checks that `path` is a relative directory below the base, with no hidden
/// component (readers skip those).
pub(crate) fn check_partition_path(path: &str) -> Result<(), FileSystemError> {
    let bad = |why: &str| FileSystemError::Config(format!("invalid partition directory '{path}': {why}"));
    if path.is_empty() {
        return Ok(());
    }
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => {
                if crate::paths::is_hidden(&name.to_string_lossy()) {
                    return Err(bad("a name starting with '.' or '_' would be hidden from readers"));
                }
            }
            _ => return Err(bad("it must be relative, without '..'")),
        }
    }
    Ok(())
}

/// What tells that a partition can no longer receive records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitTrigger {
    /// Wall-clock time: a partition is complete `delay` after its first record
    /// (Flink's `process-time`).
    ProcessTime,
    /// Event time: a partition is complete when the sink's clock (each
    /// subtask's input watermark) passes its end plus `delay` (Flink's
    /// `partition-time`, with the delay as the allowed lateness). Partitions
    /// without an end are complete when the input ends.
    PartitionTime,
}

/// Partition commit settings (Flink's `sink.partition-commit.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionCommit {
    /// What tells that a partition is complete.
    pub trigger: CommitTrigger,
    /// How long after its closing time a partition is committed.
    pub delay: Duration,
    /// The name of the marker file (default `_SUCCESS`).
    pub success_file: String,
}

impl Default for PartitionCommit {
    fn default() -> Self {
        PartitionCommit {
            trigger: CommitTrigger::ProcessTime,
            delay: Duration::ZERO,
            success_file: "_SUCCESS".to_string(),
        }
    }
}

impl PartitionCommit {
    /// The closing time of a partition first written at wall-clock `now_ms`.
    pub(crate) fn closing_time(&self, partition: &Partition, now_ms: i64) -> i64 {
        let delay = i64::try_from(self.delay.as_millis()).unwrap_or(i64::MAX);
        match self.trigger {
            CommitTrigger::ProcessTime => now_ms.saturating_add(delay),
            CommitTrigger::PartitionTime => partition.end.map_or(i64::MAX, |end| end.saturating_add(delay)),
        }
    }
}

/// One subtask's progress, as its progress file holds it.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    /// Which run of the sink wrote it (files of other runs are not trusted).
    token: u64,
    /// The subtask's clock at its last committed checkpoint.
    clock: i64,
    /// Its partitions not yet known complete, with their closing times.
    open: BTreeMap<String, i64>,
}

/// The partition committer shared by a sink's subtasks in one process.
pub(crate) struct Committer {
    base: PathBuf,
    config: PartitionCommit,
    token: u64,
    /// Per subtask index: committed partitions not yet known complete.
    open: Mutex<HashMap<usize, BTreeMap<String, i64>>>,
}

fn progress_dir(base: &Path) -> PathBuf {
    base.join(".weir-partitions")
}

fn progress_name(index: usize, parallelism: usize) -> String {
    format!("progress-{index}-of-{parallelism}")
}

/// `(index, parallelism)` of a progress file's name.
fn parse_progress_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("progress-")?;
    let (index, parallelism) = rest.split_once("-of-")?;
    Some((index.parse().ok()?, parallelism.parse().ok()?))
}

impl Committer {
    pub fn new(base: PathBuf, config: PartitionCommit) -> Self {
        let token = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        Committer {
            base,
            config,
            token,
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &PartitionCommit {
        &self.config
    }

    /// Partitions whose files subtask `index` committed.
    pub fn add(&self, index: usize, partitions: &[(String, i64)]) {
        let mut open = self.open.lock();
        let mine = open.entry(index).or_default();
        for (path, closing) in partitions {
            let entry = mine.entry(path.clone()).or_insert(*closing);
            *entry = (*entry).min(*closing);
        }
    }

    fn read_progress(&self, path: &Path) -> Option<Progress> {
        let bytes = fs::read(path).ok()?;
        decode_state(&bytes, "a partition progress file").ok()
    }

    fn write_progress(&self, index: usize, parallelism: usize, progress: &Progress) -> Result<(), BoxError> {
        let dir = progress_dir(&self.base);
        fs::create_dir_all(&dir).map_err(|e| FileSystemError::io("cannot create directory", &dir, e))?;
        let path = dir.join(progress_name(index, parallelism));
        let tmp = dir.join(format!("{}.tmp", progress_name(index, parallelism)));
        fs::write(&tmp, encode_state(progress)?).map_err(|e| FileSystemError::io("cannot write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| FileSystemError::io("cannot rename", &tmp, e))?;
        Ok(())
    }

    /// A subtask starts: it takes over the open partitions of the old subtasks
    /// whose leftovers it owns (`w % parallelism == index`) and publishes its
    /// progress (a clock at the beginning of time).
    pub fn start(&self, index: usize, parallelism: usize) -> Result<(), BoxError> {
        let dir = progress_dir(&self.base);
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some((writer, old_parallelism)) = parse_progress_name(&name) else {
                    continue;
                };
                let same_layout = old_parallelism == parallelism;
                if writer % parallelism.max(1) != index || (same_layout && writer != index) {
                    continue;
                }
                if let Some(progress) = self.read_progress(&entry.path()) {
                    let open: Vec<(String, i64)> = progress.open.into_iter().collect();
                    self.add(index, &open);
                }
                if !same_layout {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let open = self.open.lock().get(&index).cloned().unwrap_or_default();
        self.write_progress(
            index,
            parallelism,
            &Progress {
                token: self.token,
                clock: i64::MIN,
                open,
            },
        )
    }

    /// Subtask `index` committed its files up to a checkpoint whose clock was
    /// `clock`: publishes its progress and writes the success files of the
    /// partitions every subtask is past.
    pub fn progress(&self, index: usize, parallelism: usize, clock: i64) -> Result<(), BoxError> {
        let open = self.open.lock().get(&index).cloned().unwrap_or_default();
        self.write_progress(
            index,
            parallelism,
            &Progress {
                token: self.token,
                clock,
                open,
            },
        )?;
        let mut all = Vec::new();
        for i in 0..parallelism {
            let path = progress_dir(&self.base).join(progress_name(i, parallelism));
            match self.read_progress(&path) {
                Some(progress) if progress.token == self.token => all.push(progress),
                _ => return Ok(()), // a subtask has not started (in this run)
            }
        }
        let low = all.iter().map(|p| p.clock).min().unwrap_or(i64::MIN);
        let mut complete = Vec::new();
        for progress in &all {
            for (partition, closing) in &progress.open {
                if *closing <= low {
                    complete.push(partition.clone());
                }
            }
        }
        complete.sort();
        complete.dedup();
        for partition in &complete {
            let dir = self.base.join(partition);
            let marker = dir.join(&self.config.success_file);
            if marker.exists() {
                continue;
            }
            fs::create_dir_all(&dir).map_err(|e| FileSystemError::io("cannot create directory", &dir, e))?;
            fs::write(&marker, b"").map_err(|e| FileSystemError::io("cannot write", &marker, e))?;
            tracing::info!("partition '{}' committed ('{}' written)", partition, marker.display());
        }
        let mut open = self.open.lock();
        if let Some(mine) = open.get_mut(&index) {
            mine.retain(|partition, closing| !(*closing <= low && complete.contains(partition)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_and_daily_partitions() {
        // 2026-12-03T07:15:00Z
        let t = 1_796_282_100_000;
        assert_eq!(Partition::hourly(t).path, "dt=2026-12-03/hour=07");
        assert_eq!(Partition::hourly(t).end, Some(1_796_284_800_000));
        assert_eq!(Partition::daily(t).path, "dt=2026-12-03");
        assert_eq!(Partition::daily(0).path, "dt=1970-01-01");
        assert_eq!(Partition::daily(-1).path, "dt=1969-12-31");
        assert_eq!(Partition::daily(951_782_400_000).path, "dt=2000-02-29");
    }

    #[test]
    fn partition_paths_are_checked() {
        assert!(check_partition_path("dt=2026-12-03/hour=07").is_ok());
        assert!(check_partition_path("../x").is_err());
        assert!(check_partition_path("/abs").is_err());
        assert!(check_partition_path("_tmp").is_err());
    }

    #[test]
    fn a_partition_is_committed_once_every_subtask_is_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let committer = Committer::new(dir.path().to_path_buf(), PartitionCommit::default());
        committer.start(0, 2).unwrap();
        committer.start(1, 2).unwrap();
        committer.add(0, &[("dt=a".into(), 10), ("dt=b".into(), 30)]);
        committer.progress(0, 2, 20).unwrap();
        assert!(
            !dir.path().join("dt=a/_SUCCESS").exists(),
            "subtask 1 is not past it yet"
        );
        committer.progress(1, 2, 15).unwrap();
        assert!(dir.path().join("dt=a/_SUCCESS").exists());
        assert!(!dir.path().join("dt=b/_SUCCESS").exists());
        committer.progress(1, 2, i64::MAX).unwrap();
        committer.progress(0, 2, i64::MAX).unwrap();
        assert!(dir.path().join("dt=b/_SUCCESS").exists());
        // A restore at parallelism 1 adopts what the old subtasks had open.
        let other = Committer::new(dir.path().to_path_buf(), PartitionCommit::default());
        other.start(0, 1).unwrap();
        assert!(!progress_dir(dir.path()).join("progress-1-of-2").exists());
    }
}
