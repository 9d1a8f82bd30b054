//! The file source's enumerator: lists the files, cuts them into splits, hands
//! the splits out on request and remembers which files it has handed out.

use crate::compression::codec_of;
use crate::error::FileSystemError;
use crate::paths::list_files;
use crate::split::{FileSplit, SplitKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::source::Boundedness;
use weir_connector_api::split::{EnumeratorContext, SplitEnumerator};
use weir_connector_api::BoxError;

/// What the enumerator stores in checkpoints.
#[derive(Serialize, Deserialize)]
struct State {
    /// Every file already cut into splits (handed out or waiting).
    known: BTreeSet<PathBuf>,
    /// Splits not yet assigned.
    unassigned: VecDeque<FileSplit>,
}

/// Cuts a file into splits.
pub(crate) type Splitter = Arc<dyn Fn(&Path) -> Result<Vec<FileSplit>, FileSystemError> + Send + Sync>;

/// What the enumerator needs of its source.
#[derive(Clone)]
pub(crate) struct Discovery {
    pub paths: Vec<String>,
    pub monitor: Option<Duration>,
    pub splitter: Splitter,
}

impl Discovery {
    /// Unbounded while it monitors the paths for new files.
    pub fn boundedness(monitor: Option<Duration>) -> Boundedness {
        match monitor {
            Some(_) => Boundedness::Unbounded,
            None => Boundedness::Bounded,
        }
    }

    /// The enumerator of source `name`: restored from its checkpointed state, or
    /// listing the paths afresh.
    pub fn enumerator(
        self,
        name: &str,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<FileSplit>>, BoxError> {
        Ok(Box::new(match restored {
            Some(state) => FileEnumerator::restore(name, self, state)?,
            None => FileEnumerator::new(self)?,
        }))
    }
}

pub(crate) struct FileEnumerator {
    config: Discovery,
    state: State,
}

/// The splits of line file `path`: byte ranges of `split_size`, or the whole
/// file when it is compressed.
pub(crate) fn line_splits(path: &Path, split_size: u64) -> Result<Vec<FileSplit>, FileSystemError> {
    if let Some(codec) = codec_of(path) {
        return Ok(vec![FileSplit {
            path: path.to_path_buf(),
            kind: SplitKind::Compressed {
                codec: codec.to_string(),
            },
            position: None,
        }]);
    }
    let size = std::fs::metadata(path)
        .map_err(|e| FileSystemError::io("cannot inspect", path, e))?
        .len();
    let mut splits = Vec::new();
    let mut start = 0;
    while start < size {
        let end = start.saturating_add(split_size).min(size);
        splits.push(FileSplit {
            path: path.to_path_buf(),
            kind: SplitKind::Lines { start, end },
            position: None,
        });
        start = end;
    }
    Ok(splits)
}

impl FileEnumerator {
    pub fn new(config: Discovery) -> Result<Self, BoxError> {
        let mut enumerator = FileEnumerator {
            config,
            state: State {
                known: BTreeSet::new(),
                unassigned: VecDeque::new(),
            },
        };
        let monitoring = enumerator.config.monitor.is_some();
        enumerator.add_new_files(monitoring)?;
        Ok(enumerator)
    }

    pub fn restore(name: &str, config: Discovery, bytes: &[u8]) -> Result<Self, BoxError> {
        let state = decode_state(bytes, &format!("the files of file source '{name}'"))?;
        Ok(FileEnumerator { config, state })
    }

    /// Lists the paths and queues the splits of files not seen before.
    fn add_new_files(&mut self, allow_missing: bool) -> Result<usize, BoxError> {
        let files = list_files(&self.config.paths, allow_missing)?;
        let mut added = 0;
        for file in files {
            if self.state.known.contains(&file) {
                continue;
            }
            let splits = match (self.config.splitter)(&file) {
                Ok(splits) => splits,
                // Listed, then gone (moved away while listing): not a file to read.
                Err(FileSystemError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            added += splits.len();
            self.state.unassigned.extend(splits);
            self.state.known.insert(file);
        }
        Ok(added)
    }
}

impl SplitEnumerator<FileSplit> for FileEnumerator {
    fn handle_split_request(
        &mut self,
        subtask: usize,
        context: &mut EnumeratorContext<FileSplit>,
    ) -> Result<(), BoxError> {
        match self.state.unassigned.pop_front() {
            Some(split) => context.assign(subtask, split),
            None if self.config.monitor.is_none() => context.signal_no_more_splits(subtask),
            None => {} // asked again after the next listing
        }
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<FileSplit>,
        _: &mut EnumeratorContext<FileSplit>,
    ) -> Result<(), BoxError> {
        // Started splits first: they are handed out again before new ones.
        for split in splits.into_iter().rev() {
            self.state.known.insert(split.path.clone());
            self.state.unassigned.push_front(split);
        }
        Ok(())
    }

    fn discovery_interval(&self) -> Option<Duration> {
        self.config.monitor
    }

    fn discover(&mut self, _: &mut EnumeratorContext<FileSplit>) -> Result<(), BoxError> {
        let added = self.add_new_files(true)?;
        if added > 0 {
            tracing::debug!("file source found {added} new split(s)");
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<u8>, BoxError> {
        encode_state(&self.state)
    }
}
