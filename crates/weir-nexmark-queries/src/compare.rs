//! Compares the final rows two runs wrote (`weir nexmark compare`): the DataStream
//! and the SQL versions of a query, or Weir and another engine.
//!
//! Each side is a JSON-lines file or a directory of them (walked recursively;
//! names starting with `.` or `_`, in-progress and marker files, are skipped).
//! A line is a row (`{...}`), a change of Weir's DataStream queries (`{"op": "+"
//! | "-", "row": {...}}`) or a changelog-json line (`{"op": "+I" | "-U" | "+U" |
//! "-D", "data": {...}}`); the final rows are what remains when every deletion
//! cancels an insertion. Rows are compared as multisets after normalizing what
//! differs only in form between the two APIs:
//!
//! * field names: case and `_` are ignored (`dateTime` = `date_time`);
//! * timestamps: `"2015-07-15 00:00:04.123"` (SQL's JSON) and epoch milliseconds
//!   (the DataStream rows) are the same value;
//! * numbers: compared to 6 decimal places (`DECIMAL(23, 3)` against a `f64`).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Errors of a comparison: an unreadable file or a line that is not a row.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// The path cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a JSON object.
    #[error("{path}, line {line}: not a JSON row: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// Why.
        message: String,
    },
}

/// The final rows of one side: each normalized row and how often it remains
/// (negative when more deletions than insertions were seen).
pub type FinalRows = BTreeMap<String, i64>;

/// The outcome of comparing two sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Final rows on the left.
    pub left_rows: i64,
    /// Final rows on the right.
    pub right_rows: i64,
    /// Up to [`Comparison::SAMPLES`] rows (normalized) the left has more often
    /// than the right, with the difference.
    pub only_left: Vec<(String, i64)>,
    /// The same for the right.
    pub only_right: Vec<(String, i64)>,
    /// How many distinct rows differ in total.
    pub differing: usize,
}

impl Comparison {
    /// How many differing rows of each side are kept as examples.
    pub const SAMPLES: usize = 3;

    /// Whether both sides hold the same final rows.
    pub fn same(&self) -> bool {
        self.differing == 0
    }
}

/// Compares the final rows at `left` and `right`.
pub fn compare(left: &Path, right: &Path) -> Result<Comparison, CompareError> {
    let left = final_rows(left)?;
    let right = final_rows(right)?;
    let mut comparison = Comparison {
        left_rows: left.values().sum(),
        right_rows: right.values().sum(),
        only_left: Vec::new(),
        only_right: Vec::new(),
        differing: 0,
    };
    let keys: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for key in keys {
        let diff = left.get(key).copied().unwrap_or(0) - right.get(key).copied().unwrap_or(0);
        if diff == 0 {
            continue;
        }
        comparison.differing += 1;
        let samples = if diff > 0 {
            &mut comparison.only_left
        } else {
            &mut comparison.only_right
        };
        if samples.len() < Comparison::SAMPLES {
            samples.push((key.clone(), diff.abs()));
        }
    }
    Ok(comparison)
}

/// The final rows of the JSON-lines file or directory at `path`.
pub fn final_rows(path: &Path) -> Result<FinalRows, CompareError> {
    let mut rows = FinalRows::new();
    for file in files(path)? {
        let io = |source| CompareError::Io {
            path: file.clone(),
            source,
        };
        let reader = BufReader::new(File::open(&file).map_err(io)?);
        for (index, line) in reader.lines().enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| CompareError::BadLine {
                path: file.clone(),
                line: index + 1,
                message,
            };
            let value: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            let (sign, row) = change(value).map_err(bad)?;
            let key = normalized_row(&row);
            let count = rows.entry(key.clone()).or_insert(0);
            *count += sign;
            if *count == 0 {
                rows.remove(&key);
            }
        }
    }
    Ok(rows)
}

/// The files holding rows at `path`, in name order.
fn files(path: &Path) -> Result<Vec<PathBuf>, CompareError> {
    let io = |source| CompareError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.metadata().map_err(io)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut entries = std::fs::read_dir(path)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if !hidden {
            found.extend(files(&entry)?);
        }
    }
    Ok(found)
}

/// The sign and the row of one line.
fn change(value: Value) -> Result<(i64, Value), String> {
    let Value::Object(mut object) = value else {
        return Err("expected a JSON object".into());
    };
    let payload = if object.contains_key("data") { "data" } else { "row" };
    let is_change = object.len() == 2 && object.contains_key("op") && object.contains_key(payload);
    if !is_change {
        return Ok((1, Value::Object(object)));
    }
    let sign = match object.get("op").and_then(Value::as_str) {
        Some("+" | "+I" | "+U") => 1,
        Some("-" | "-U" | "-D") => -1,
        other => return Err(format!("unknown op {other:?}")),
    };
    Ok((sign, object.remove(payload).unwrap_or(Value::Null)))
}

/// A row as a canonical text: normalized field names in order, normalized values.
fn normalized_row(row: &Value) -> String {
    match row {
        Value::Object(fields) => {
            let fields: BTreeMap<String, String> = fields
                .iter()
                .map(|(name, value)| (normalized_name(name), normalized_value(value)))
                .collect();
            let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => normalized_value(other),
    }
}

fn normalized_name(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn normalized_value(value: &Value) -> String {
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
            (None, Some(f)) => format!("{f:.6}"),
            (None, None) => n.to_string(),
        },
        Value::String(s) => match timestamp_millis(s) {
            Some(millis) => millis.to_string(),
            None => format!("{s:?}"),
        },
        Value::Object(_) => normalized_row(value),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(normalized_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// `yyyy-MM-dd HH:mm:ss[.fff]` (or with `T`) as epoch milliseconds (UTC).
fn timestamp_millis(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() >= 19 && bytes.get(4) == Some(&b'-') && matches!(bytes.get(10), Some(b' ' | b'T'));
    if !shaped {
        return None;
    }
    let normalized = text.replacen('T', " ", 1);
    chrono::NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let mut file = File::create(&path).unwrap();
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
        path
    }

    #[test]
    fn rows_in_either_api_form_compare_equal() {
        let dir = tempfile::tempdir().unwrap();
        let datastream = write(
            dir.path(),
            "ds.jsonl",
            &[
                r#"{"op":"+","row":{"auction":1,"date_time":1436918404123,"price":1.816}}"#,
                r#"{"op":"+","row":{"auction":2,"date_time":0,"price":2.0}}"#,
                r#"{"op":"-","row":{"auction":2,"date_time":0,"price":2.0}}"#,
                r#"{"op":"+","row":{"auction":2,"date_time":0,"price":3.0}}"#,
            ],
        );
        write(
            dir.path(),
            "sql/part-0",
            &[r#"{"data":{"auction":1,"dateTime":"2015-07-15 00:00:04.123","price":1.8160000001},"op":"+I"}"#],
        );
        write(
            dir.path(),
            "sql/part-1",
            &[
                r#"{"data":{"auction":2,"dateTime":"1970-01-01 00:00:00","price":2},"op":"+I"}"#,
                r#"{"data":{"auction":2,"dateTime":"1970-01-01 00:00:00","price":2},"op":"-U"}"#,
                r#"{"data":{"auction":2,"dateTime":"1970-01-01 00:00:00","price":3},"op":"+U"}"#,
            ],
        );
        write(dir.path(), "sql/.part-2.inprogress", &["not json"]);
        let comparison = compare(&datastream, &dir.path().join("sql")).unwrap();
        assert!(comparison.same(), "{comparison:?}");
        assert_eq!((comparison.left_rows, comparison.right_rows), (2, 2));
    }

    #[test]
    fn differences_are_counted_with_examples() {
        let dir = tempfile::tempdir().unwrap();
        let left = write(dir.path(), "l", &[r#"{"a":1}"#, r#"{"a":1}"#, r#"{"a":2}"#]);
        let right = write(dir.path(), "r", &[r#"{"a":1}"#, r#"{"a":3}"#]);
        let comparison = compare(&left, &right).unwrap();
        assert!(!comparison.same());
        assert_eq!(comparison.differing, 3);
        assert_eq!(
            comparison.only_left,
            vec![("{a=1}".to_string(), 1), ("{a=2}".to_string(), 1)]
        );
        assert_eq!(comparison.only_right, vec![("{a=3}".to_string(), 1)]);
    }

    #[test]
    fn a_bad_line_and_a_missing_path_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad", &[r#"{"a":1}"#, "[1]"]);
        let error = final_rows(&bad).unwrap_err().to_string();
        assert!(error.contains("bad, line 2"), "{error}");
        let error = final_rows(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(error.contains("missing"), "{error}");
        let unknown = write(dir.path(), "op", &[r#"{"op":"?","row":{}}"#]);
        assert!(final_rows(&unknown).unwrap_err().to_string().contains("unknown op"));
    }
}
