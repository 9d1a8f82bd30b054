//! What the filesystem sink left in its directory: the committed part files
//! (`part-<subtask>-<checkpoint>-<attempt>-<sequence>-<n>.<ext>`) in the order
//! each subtask wrote them, and hidden leftovers (`.inprogress`, `.pending`).

use std::path::Path;

/// The numbers in a committed part file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Part {
    pub subtask: u64,
    pub checkpoint: u64,
    pub attempt: u64,
    pub sequence: u64,
    pub n: u64,
}

/// A directory's part files.
#[derive(Debug, Default)]
pub struct PartFiles {
    /// Committed files and their lines, by subtask, then in the order written.
    pub committed: Vec<(Part, Vec<String>)>,
    /// Hidden part files left behind (none once a job ended).
    pub leftovers: Vec<String>,
    /// Every other name (the sink's `.part-<subtask>.committed` records).
    pub others: Vec<String>,
}

impl PartFiles {
    /// All committed lines, file after file.
    pub fn lines(&self) -> Vec<String> {
        self.committed
            .iter()
            .flat_map(|(_, lines)| lines.iter().cloned())
            .collect()
    }

    /// All committed lines, sorted.
    pub fn sorted_lines(&self) -> Vec<String> {
        let mut lines = self.lines();
        lines.sort();
        lines
    }
}

fn part(name: &str, extension: &str) -> Option<Part> {
    let numbers: Vec<u64> = name
        .strip_prefix("part-")?
        .strip_suffix(&format!(".{extension}"))?
        .split('-')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    match numbers[..] {
        [subtask, checkpoint, attempt, sequence, n] => Some(Part {
            subtask,
            checkpoint,
            attempt,
            sequence,
            n,
        }),
        _ => None,
    }
}

/// The part files of format `extension` in `dir` (nothing if it does not
/// exist). Each committed file must end with a line end and have no empty
/// line; any other visible name fails the test.
pub fn read(dir: &Path, extension: &str) -> PartFiles {
    let mut files = PartFiles::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            if name.ends_with(".inprogress") || name.ends_with(".pending") {
                files.leftovers.push(name);
            } else {
                files.others.push(name);
            }
            continue;
        }
        let part = part(&name, extension).unwrap_or_else(|| panic!("unexpected file '{name}' in {}", dir.display()));
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(text.ends_with('\n'), "{name} does not end with a line end: {text:?}");
        let lines: Vec<String> = text.lines().map(String::from).collect();
        assert!(
            lines.iter().all(|l| !l.is_empty()),
            "{name} has an empty line: {text:?}"
        );
        files.committed.push((part, lines));
    }
    files.committed.sort_by_key(|(part, _)| *part);
    files.leftovers.sort();
    files
}
