//! The job's input, its expected output computed in a straightforward batch way,
//! the committed output read back from disk, and the comparison of the two.
//!
//! Record `id` (0 ≤ id < records) has key `id % keys` and value [`value`]`(id)`.
//! For every record the job emits one line `id key count sum`: the running count
//! and sum of its key's values up to and including it. The generator's subtask `s`
//! of `p` reads the ids `s, s + p, …` in order, and `p` divides the number of keys,
//! so all records of a key come from one reader in id order (also after a rescale:
//! a reader's split keeps its stride). The running values are therefore
//! determined by the input alone, whatever the failures, and the oracle computes
//! them by walking the ids in order.

use crate::error::ChaosError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The value of record `id`.
pub fn value(id: u64) -> u64 {
    id.wrapping_mul(7919) % 1000
}

/// One output record of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutputLine {
    /// The input record.
    pub id: u64,
    /// Its key.
    pub key: u64,
    /// Records of the key up to and including this one.
    pub count: u64,
    /// Sum of their values.
    pub sum: u64,
}

impl fmt::Display for OutputLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.id, self.key, self.count, self.sum)
    }
}

impl OutputLine {
    /// Parses a line written by [`Display`](fmt::Display).
    pub fn parse(line: &str) -> Option<OutputLine> {
        let mut fields = line.split(' ').map(|f| f.parse::<u64>().ok());
        let line = OutputLine {
            id: fields.next()??,
            key: fields.next()??,
            count: fields.next()??,
            sum: fields.next()??,
        };
        fields.next().is_none().then_some(line)
    }
}

/// The expected output for `records` records over `keys` keys, indexed by id.
pub fn expected(records: u64, keys: u64) -> Vec<OutputLine> {
    let keys = keys.max(1);
    let mut running: HashMap<u64, (u64, u64)> = HashMap::new();
    (0..records)
        .map(|id| {
            let key = id % keys;
            let (count, sum) = running.entry(key).or_default();
            *count += 1;
            *sum += value(id);
            OutputLine {
                id,
                key,
                count: *count,
                sum: *sum,
            }
        })
        .collect()
}

/// What is in a sink's output directory.
#[derive(Debug, Default)]
pub struct Committed {
    /// The lines of the committed (visible) files.
    pub lines: Vec<OutputLine>,
    /// Committed files.
    pub files: usize,
    /// Hidden files (in-progress or pending transactions) still there.
    pub hidden: Vec<String>,
}

/// Reads the committed files of `dir` (names not starting with `.`); a missing
/// directory holds nothing.
pub fn read_committed(dir: &Path) -> Result<Committed, ChaosError> {
    let mut committed = Committed::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(committed),
        Err(e) => return Err(ChaosError::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ChaosError::io(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for name in names {
        // The file sink's record of what each subtask committed, not output.
        if name.starts_with(".part-") && name.ends_with(".committed") {
            continue;
        }
        if name.starts_with('.') {
            committed.hidden.push(name);
            continue;
        }
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path).map_err(|e| ChaosError::io(&path, e))?;
        committed.files += 1;
        for (index, text) in text.lines().enumerate() {
            let line = OutputLine::parse(text).ok_or_else(|| ChaosError::Output {
                path: path.clone(),
                line: index + 1,
                text: text.to_string(),
            })?;
            committed.lines.push(line);
        }
    }
    Ok(committed)
}

/// What the output must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Guarantee {
    /// Every expected line exactly once, nothing else.
    ExactlyOnce,
    /// Every input record at least once (its values may differ after a replay).
    AtLeastOnce,
}

/// How the committed output differs from the expected output.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
    /// Lines expected.
    pub expected: usize,
    /// Lines committed.
    pub committed: usize,
    /// Ids of input records with no output line.
    pub lost: Vec<u64>,
    /// Ids with more than one output line, and how many.
    pub duplicated: Vec<(u64, usize)>,
    /// Lines whose values differ from the oracle's for their id (state damage), with
    /// the expected line.
    pub wrong: Vec<(OutputLine, OutputLine)>,
    /// Lines for ids outside the input.
    pub foreign: Vec<OutputLine>,
    /// Hidden transaction files left in the output directory.
    pub hidden: Vec<String>,
}

impl Comparison {
    /// Compares `committed` with `expected` (indexed by id).
    pub fn new(expected: &[OutputLine], committed: &Committed) -> Comparison {
        let mut seen: HashMap<u64, usize> = HashMap::new();
        let mut comparison = Comparison {
            expected: expected.len(),
            committed: committed.lines.len(),
            hidden: committed.hidden.clone(),
            ..Comparison::default()
        };
        for line in &committed.lines {
            match usize::try_from(line.id).ok().and_then(|i| expected.get(i)) {
                None => comparison.foreign.push(*line),
                Some(want) => {
                    *seen.entry(line.id).or_default() += 1;
                    if want != line {
                        comparison.wrong.push((*line, *want));
                    }
                }
            }
        }
        comparison.lost = expected
            .iter()
            .map(|l| l.id)
            .filter(|id| !seen.contains_key(id))
            .collect();
        comparison.duplicated = seen.into_iter().filter(|(_, n)| *n > 1).collect();
        comparison.duplicated.sort_unstable();
        comparison.wrong.sort_unstable_by_key(|(got, _)| got.id);
        comparison
    }

    /// Whether the output keeps `guarantee`. Hidden files never count as output,
    /// but a finished job must not leave any: they count as a failure too.
    pub fn holds(&self, guarantee: Guarantee) -> bool {
        let common = self.lost.is_empty() && self.foreign.is_empty() && self.hidden.is_empty();
        match guarantee {
            Guarantee::ExactlyOnce => common && self.duplicated.is_empty() && self.wrong.is_empty(),
            Guarantee::AtLeastOnce => common,
        }
    }
}

/// At most this many examples of each kind in messages.
const EXAMPLES: usize = 8;

fn examples<T: fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items
        .take(EXAMPLES)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines committed for {} input records: {} lost, {} duplicated, {} with wrong values, {} foreign, \
             {} hidden files left",
            self.committed,
            self.expected,
            self.lost.len(),
            self.duplicated.len(),
            self.wrong.len(),
            self.foreign.len(),
            self.hidden.len()
        )?;
        if !self.lost.is_empty() {
            write!(f, "\n  lost ids: {}", examples(self.lost.iter()))?;
            if let (Some(first), Some(last)) = (self.lost.first(), self.lost.last()) {
                write!(f, " (from {first} to {last})")?;
            }
        }
        if !self.duplicated.is_empty() {
            let items = self.duplicated.iter().map(|(id, n)| format!("{id} ×{n}"));
            write!(f, "\n  duplicated ids: {}", examples(items))?;
        }
        if !self.wrong.is_empty() {
            let items = self
                .wrong
                .iter()
                .map(|(got, want)| format!("'{got}' (expected '{want}')"));
            write!(f, "\n  wrong lines: {}", examples(items))?;
        }
        if !self.foreign.is_empty() {
            write!(f, "\n  foreign lines: {}", examples(self.foreign.iter()))?;
        }
        if !self.hidden.is_empty() {
            write!(f, "\n  hidden files: {}", examples(self.hidden.iter()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(lines: Vec<OutputLine>) -> Committed {
        Committed {
            lines,
            files: 1,
            hidden: Vec::new(),
        }
    }

    #[test]
    fn the_oracle_keeps_running_values_per_key() {
        let lines = expected(7, 3);
        assert_eq!(lines.len(), 7);
        let key1: Vec<_> = lines.iter().filter(|l| l.key == 1).collect();
        assert_eq!(key1.iter().map(|l| l.id).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(key1[1].count, 2);
        assert_eq!(key1[1].sum, value(1) + value(4));
        assert_eq!(OutputLine::parse(&lines[4].to_string()), Some(lines[4]));
        assert_eq!(OutputLine::parse("1 2 3"), None);
        assert_eq!(OutputLine::parse("1 2 3 4 5"), None);
    }

    #[test]
    fn the_comparison_names_lost_duplicated_and_wrong_records() {
        let want = expected(10, 2);
        assert!(Comparison::new(&want, &committed(want.clone())).holds(Guarantee::ExactlyOnce));

        let mut got = want.clone();
        got.remove(3);
        got.push(want[5]);
        got[0].sum += 1;
        let comparison = Comparison::new(&want, &committed(got));
        assert_eq!(comparison.lost, [3]);
        assert_eq!(comparison.duplicated, [(5, 2)]);
        assert_eq!(comparison.wrong.len(), 1);
        assert!(!comparison.holds(Guarantee::ExactlyOnce));
        assert!(!comparison.holds(Guarantee::AtLeastOnce));
        let text = comparison.to_string();
        assert!(text.contains("1 lost") && text.contains("lost ids: 3"), "{text}");

        let mut got = want.clone();
        got.push(want[5]);
        let comparison = Comparison::new(&want, &committed(got));
        assert!(comparison.holds(Guarantee::AtLeastOnce));
        assert!(!comparison.holds(Guarantee::ExactlyOnce));
    }
}
