//! A source of text lines.

use crate::split_state::{decode_all, encode};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use weir_core::{BoxError, WeirError};
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Emits every line of a file, or of every file in a directory (files whose names
/// start with `.` or `_` are skipped, as are subdirectories), without the line ending
/// (`\n` or `\r\n`).
///
/// The input is cut into byte ranges, about one per subtask, and a line belongs to
/// the range where it starts, so every line is read exactly once at any parallelism.
/// Lines must be UTF-8; anything else fails the job with the file and byte offset.
#[derive(Debug, Clone)]
pub struct TextFileSource {
    path: PathBuf,
}

impl TextFileSource {
    /// A source reading `path` (a file or a directory).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TextFileSource { path: path.into() }
    }

    /// The files to read with their sizes, in name order.
    fn files(&self) -> Result<Vec<(PathBuf, u64)>, WeirError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| WeirError::io(&self.path, e))?;
        if meta.is_file() {
            return Ok(vec![(self.path.clone(), meta.len())]);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.path).map_err(|e| WeirError::io(&self.path, e))? {
            let entry = entry.map_err(|e| WeirError::io(&self.path, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let meta = entry.metadata().map_err(|e| WeirError::io(entry.path(), e))?;
            if meta.is_file() {
                files.push((entry.path(), meta.len()));
            }
        }
        files.sort();
        Ok(files)
    }
}

/// A byte range `[start, end)` of a file; `resume_at` is the start of the next line
/// to read once the split has been opened (what checkpoints store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Split {
    path: PathBuf,
    start: u64,
    end: u64,
    resume_at: Option<u64>,
}

/// Cuts files into about `parallelism` ranges and returns those of subtask `index`.
fn splits_for(files: &[(PathBuf, u64)], parallelism: usize, index: usize) -> Vec<Split> {
    let total: u64 = files.iter().map(|(_, len)| len).sum();
    let target = total.div_ceil(parallelism.max(1) as u64).max(1);
    let mut all = Vec::new();
    for (path, len) in files {
        let mut start = 0;
        while start < *len {
            let end = (start + target).min(*len);
            all.push(Split {
                path: path.clone(),
                start,
                end,
                resume_at: None,
            });
            start = end;
        }
    }
    all.into_iter()
        .enumerate()
        .filter(|(k, _)| k % parallelism.max(1) == index)
        .map(|(_, s)| s)
        .collect()
}

struct OpenSplit {
    path: PathBuf,
    start: u64,
    reader: BufReader<File>,
    position: u64,
    end: u64,
}

impl OpenSplit {
    fn open(split: &Split) -> Result<Self, WeirError> {
        let file = File::open(&split.path).map_err(|e| WeirError::io(&split.path, e))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut position = split.start;
        if let Some(resume_at) = split.resume_at {
            reader
                .seek(SeekFrom::Start(resume_at))
                .map_err(|e| WeirError::io(&split.path, e))?;
            position = resume_at;
        } else if split.start > 0 {
            // Skip the line that began in the previous range.
            reader
                .seek(SeekFrom::Start(split.start - 1))
                .map_err(|e| WeirError::io(&split.path, e))?;
            let mut skipped = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| WeirError::io(&split.path, e))?;
            position = split.start - 1 + n as u64;
        }
        Ok(OpenSplit {
            path: split.path.clone(),
            start: split.start,
            reader,
            position,
            end: split.end,
        })
    }
}

struct TextFileReader {
    splits: std::collections::VecDeque<Split>,
    current: Option<OpenSplit>,
    line: Vec<u8>,
}

impl SourceReader<String> for TextFileReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, String>) -> Result<PollStatus, BoxError> {
        for _ in 0..crate::MAX_RECORDS_PER_POLL {
            let split = match &mut self.current {
                Some(split) => split,
                None => match self.splits.pop_front() {
                    Some(next) => self.current.insert(OpenSplit::open(&next)?),
                    None => return Ok(PollStatus::Finished),
                },
            };
            if split.position >= split.end {
                self.current = None;
                continue;
            }
            self.line.clear();
            let n = split
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| WeirError::io(&split.path, e))?;
            if n == 0 {
                self.current = None;
                continue;
            }
            let line_start = split.position;
            split.position += n as u64;
            if self.line.last() == Some(&b'\n') {
                self.line.pop();
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
            }
            let text = String::from_utf8(std::mem::take(&mut self.line)).map_err(|e| {
                format!(
                    "'{}': the line at byte {line_start} is not valid UTF-8: {e}",
                    split.path.display()
                )
            })?;
            output.collect(text);
        }
        Ok(PollStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let current = self.current.as_ref().map(|open| Split {
            path: open.path.clone(),
            start: open.start,
            end: open.end,
            resume_at: Some(open.position),
        });
        current.iter().chain(self.splits.iter()).map(encode).collect()
    }
}

impl Source<String> for TextFileSource {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<String>>, BoxError> {
        let splits = match &context.restored {
            Some(restored) => decode_all(restored, "a text file source")?,
            None => splits_for(&self.files()?, context.info.parallelism, context.info.index),
        };
        Ok(Box::new(TextFileReader {
            splits: splits.into_iter().collect(),
            current: None,
            line: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;

    fn read_all(path: &Path, parallelism: usize) -> Vec<String> {
        let source = TextFileSource::new(path);
        let files = source.files().unwrap();
        let mut lines = Vec::new();
        for index in 0..parallelism {
            let splits = splits_for(&files, parallelism, index);
            for split in splits {
                let mut open = OpenSplit::open(&split).unwrap();
                loop {
                    if open.position >= open.end {
                        break;
                    }
                    let mut line = String::new();
                    let n = open.reader.read_line(&mut line).unwrap();
                    if n == 0 {
                        break;
                    }
                    open.position += n as u64;
                    lines.push(line.trim_end_matches(['\n', '\r']).to_string());
                }
            }
        }
        lines.sort();
        lines
    }

    #[test]
    fn every_line_once_at_any_parallelism() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.txt");
        let mut f = File::create(&path).unwrap();
        let mut expected = Vec::new();
        for i in 0..500 {
            let line = "x".repeat(i % 17) + &i.to_string();
            writeln!(f, "{line}").unwrap();
            expected.push(line);
        }
        write!(f, "no-newline-at-end").unwrap();
        expected.push("no-newline-at-end".into());
        drop(f);
        expected.sort();
        for p in 1..=7 {
            assert_eq!(read_all(&path, p), expected, "parallelism {p}");
        }
    }

    #[test]
    fn directories_skip_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "1\n2\n").unwrap();
        std::fs::write(dir.path().join("b"), "3\r\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), "nope\n").unwrap();
        std::fs::write(dir.path().join("_tmp"), "nope\n").unwrap();
        assert_eq!(read_all(dir.path(), 2), vec!["1", "2", "3"]);
    }

    #[test]
    fn missing_path_names_the_path() {
        let err = TextFileSource::new("/definitely/not/here").files().unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"));
    }
}
