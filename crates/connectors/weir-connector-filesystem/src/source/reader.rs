//! The file source's reader: reads its splits' lines and decodes them.

use super::Config;
use crate::compression;
use crate::error::FileSystemError;
use crate::lines::{Line, LineReader};
use crate::split::{line_position, FileSplit, SplitKind, SplitPosition};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use weir_connector_api::bad_record::BadRecord;
use weir_connector_api::format::{Deserializer, FormatError};
use weir_connector_api::source::{PollStatus, SourceOutput};
use weir_connector_api::split::SplitReader;
use weir_connector_api::BoxError;

/// The split being read.
struct OpenSplit {
    split: FileSplit,
    /// The path as errors show it.
    name: String,
    lines: LineReader<Box<dyn Read + Send>>,
    /// The 0-based number of the next line, when known.
    line: Option<u64>,
    /// The split's index for per-split watermarks.
    slot: usize,
}

pub(crate) struct FileReader<T> {
    config: Arc<Config<T>>,
    deserializer: Box<dyn Deserializer<T>>,
    queue: VecDeque<FileSplit>,
    current: Option<OpenSplit>,
    decoded: Vec<T>,
    next_slot: usize,
}

/// The number of lines before byte `offset` of `path` (counted when an error
/// message needs a line number).
fn count_lines(path: &Path, offset: u64) -> io::Result<u64> {
    let mut file = File::open(path)?.take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(lines),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

fn read_error(path: &Path, e: io::Error) -> BoxError {
    FileSystemError::io("cannot read", path, e).into()
}

impl<T: Send + 'static> FileReader<T> {
    pub fn new(config: Arc<Config<T>>) -> Result<Self, BoxError> {
        let deserializer = (config.deserializer)()?;
        Ok(FileReader {
            config,
            deserializer,
            queue: VecDeque::new(),
            current: None,
            decoded: Vec::new(),
            next_slot: 0,
        })
    }

    fn open(&mut self, split: FileSplit) -> Result<OpenSplit, BoxError> {
        let path = split.path.clone();
        let mut file = File::open(&path).map_err(|e| FileSystemError::io("cannot open", &path, e))?;
        if let SplitKind::Lines { end, .. } = split.kind {
            let size = file
                .metadata()
                .map_err(|e| FileSystemError::io("cannot inspect", &path, e))?
                .len();
            if size < end {
                return Err(format!(
                    "'{}' has {size} bytes, fewer than when it was listed ({end} or more): \
                     files must not change once the source has seen them",
                    path.display()
                )
                .into());
            }
        }
        let chunk = self.config.read_size;
        let max_line = self.config.max_line;
        let (lines, line) = match (&split.kind, split.position) {
            (SplitKind::Lines { end, .. }, Some(position)) => {
                file.seek(SeekFrom::Start(position.offset))
                    .map_err(|e| read_error(&path, e))?;
                let input: Box<dyn Read + Send> = Box::new(file);
                (
                    LineReader::at_line_start(input, position.offset, *end, chunk, max_line),
                    position.line,
                )
            }
            (SplitKind::Lines { start: 0, end }, None) => {
                let input: Box<dyn Read + Send> = Box::new(file);
                (LineReader::at_line_start(input, 0, *end, chunk, max_line), Some(0))
            }
            (SplitKind::Lines { start, end }, None) => {
                file.seek(SeekFrom::Start(start - 1))
                    .map_err(|e| read_error(&path, e))?;
                let input: Box<dyn Read + Send> = Box::new(file);
                let lines =
                    LineReader::mid_file(input, *start, *end, chunk, max_line).map_err(|e| read_error(&path, e))?;
                (lines, None)
            }
            (SplitKind::Compressed { codec }, position) => {
                let mut input = compression::decoder(&path, codec, file)?;
                let position = position.unwrap_or(SplitPosition {
                    offset: 0,
                    line: Some(0),
                    records: 0,
                });
                // Decompressed streams cannot seek: decode up to the position.
                let skipped = io::copy(&mut (&mut input).take(position.offset), &mut io::sink())
                    .map_err(|e| read_error(&path, e))?;
                if skipped < position.offset {
                    return Err(format!(
                        "cannot resume '{}' at decompressed byte {}: it has only {skipped} bytes now",
                        path.display(),
                        position.offset
                    )
                    .into());
                }
                (
                    LineReader::at_line_start(input, position.offset, u64::MAX, chunk, max_line),
                    position.line,
                )
            }
            (SplitKind::RowGroup { .. }, _) => {
                return Err(format!("'{}': a Parquet row group cannot be read as lines", path.display()).into())
            }
            (SplitKind::AvroBlocks { .. }, _) => {
                return Err(format!("'{}': Avro blocks cannot be read as lines", path.display()).into())
            }
        };
        let slot = self.next_slot;
        self.next_slot += 1;
        Ok(OpenSplit {
            name: path.display().to_string(),
            split,
            lines,
            line,
            slot,
        })
    }
}

/// Reads up to `budget` lines of `open`; returns the lines read and whether the
/// split is done.
fn read_lines<T: 'static>(
    open: &mut OpenSplit,
    config: &Config<T>,
    deserializer: &mut dyn Deserializer<T>,
    decoded: &mut Vec<T>,
    output: &mut SourceOutput<'_, T>,
    budget: usize,
) -> Result<(usize, bool), BoxError> {
    let OpenSplit {
        split,
        name,
        lines,
        line,
        slot,
    } = open;
    for done in 0..budget {
        let at = lines.offset();
        let next = lines.next_line().map_err(|e| read_error(&split.path, e))?;
        let (bytes, error) = match next {
            None => return Ok((done, true)),
            Some(Line::Text(bytes)) => {
                if bytes.is_empty() && config.skip_empty_lines {
                    *line = line.map(|l| l + 1);
                    continue;
                }
                match deserializer.deserialize(bytes, decoded) {
                    Ok(()) => {
                        *line = line.map(|l| l + 1);
                        for value in decoded.drain(..) {
                            output.collect_in(*slot, value);
                        }
                        continue;
                    }
                    Err(error) => (bytes.to_vec(), error),
                }
            }
            Some(Line::Oversize { len, head }) => (head, FormatError::oversize(len as usize, config.max_line)),
        };
        decoded.clear();
        if line.is_none() {
            *line = Some(count_lines(&split.path, at).map_err(|e| read_error(&split.path, e))?);
        }
        let position = line_position(*line, at);
        *line = line.map(|l| l + 1);
        output.bad_record(
            &config.handler,
            BadRecord {
                split: name,
                position: &position,
                bytes: &bytes,
                error: &error,
            },
        )?;
    }
    Ok((budget, lines.is_done()))
}

impl<T: Send + 'static> SplitReader<T, FileSplit> for FileReader<T> {
    fn add_splits(&mut self, splits: Vec<FileSplit>) -> Result<(), BoxError> {
        self.queue.extend(splits);
        Ok(())
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let mut budget = self.config.batch;
        while budget > 0 {
            if self.current.is_none() {
                let Some(split) = self.queue.pop_front() else {
                    return Ok(PollStatus::Finished);
                };
                self.current = Some(self.open(split)?);
            }
            let Some(open) = self.current.as_mut() else {
                break;
            };
            let (read, done) = read_lines(
                open,
                &self.config,
                self.deserializer.as_mut(),
                &mut self.decoded,
                output,
                budget,
            )?;
            budget = budget.saturating_sub(read.max(1));
            if done {
                output.split_finished(open.slot);
                self.current = None;
            }
        }
        Ok(if self.current.is_none() && self.queue.is_empty() {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<FileSplit>, BoxError> {
        let mut splits = Vec::with_capacity(self.queue.len() + 1);
        if let Some(open) = &self.current {
            let mut split = open.split.clone();
            split.position = Some(SplitPosition {
                offset: open.lines.offset(),
                line: open.line,
                records: 0,
            });
            splits.push(split);
        }
        splits.extend(self.queue.iter().cloned());
        Ok(splits)
    }
}
