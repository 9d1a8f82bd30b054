//! The oracle harness of the query tests: generate a small input, write it as CSV
//! for DuckDB (`scripts/duckdb.sh`, installed from PyPI when missing), run a query
//! on Weir collecting its rows, and compare both as sorted row texts.

#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use weir_nexmark::{write_csv, EventGenerator, GeneratorConfig, NexmarkConfig};
use weir_nexmark_queries::{run, Query, QueryOutput, RunOptions};

/// The generator configuration of the tests: `events` events with Flink's defaults.
pub fn config(events: u64) -> NexmarkConfig {
    NexmarkConfig {
        num_events: events,
        ..NexmarkConfig::default()
    }
}

/// Writes `config`'s events as person.csv, auction.csv and bid.csv into a new
/// temporary directory.
pub fn write_events(config: &NexmarkConfig) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let create = |name: &str| std::io::BufWriter::new(std::fs::File::create(dir.path().join(name)).unwrap());
    let generator = EventGenerator::new(GeneratorConfig::new(config).unwrap());
    write_csv(
        generator,
        create("person.csv"),
        create("auction.csv"),
        create("bid.csv"),
        true,
    )
    .unwrap();
    dir
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The rows of `sql` over the events in `dir`, computed by DuckDB, as JSON arrays.
pub fn duckdb(dir: &Path, sql: &str) -> Vec<Vec<Value>> {
    let output = Command::new(repository().join("scripts/duckdb.sh"))
        .arg("query")
        .arg(dir)
        .arg(sql)
        .output()
        .expect("run scripts/duckdb.sh");
    assert!(
        output.status.success(),
        "DuckDB failed on\n{sql}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON row from DuckDB"))
        .collect()
}

/// Runs `query` on Weir over `config`'s events at `parallelism`, returning its rows
/// as JSON objects.
pub fn weir(query: &str, config: &NexmarkConfig, parallelism: usize) -> Vec<serde_json::Map<String, Value>> {
    let options = RunOptions {
        query: query.parse::<Query>().unwrap(),
        config: config.clone(),
        parallelism,
        rate_limit: None,
        output: QueryOutput::Collect,
        input: None,
    };
    let (_, rows) = run(&options).unwrap_or_else(|e| panic!("{query} at parallelism {parallelism}: {e}"));
    let rows: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("{query}: not a JSON object: {line} ({other:?})"),
        })
        .collect();
    final_table(query, rows)
}

/// For an updating result (rows `{"op": "+"|"-", "row": {...}}`), the rows that
/// remain when every delete cancels an earlier equal insert; other results as they
/// are. A delete without a matching insert fails the test.
pub fn final_table(query: &str, rows: Vec<serde_json::Map<String, Value>>) -> Vec<serde_json::Map<String, Value>> {
    if !rows
        .first()
        .is_some_and(|r| r.contains_key("op") && r.contains_key("row"))
    {
        return rows;
    }
    // Rows by their text, with a count; order of arrival per key is kept by the
    // sink's single input per upstream subtask, so counts never go negative.
    let mut table: std::collections::BTreeMap<String, (i64, serde_json::Map<String, Value>)> = Default::default();
    for change in rows {
        let op = change.get("op").and_then(Value::as_str).unwrap_or("?").to_string();
        let Some(Value::Object(row)) = change.get("row").cloned() else {
            panic!("{query}: a change without a row: {change:?}");
        };
        let key = Value::Object(row.clone()).to_string();
        let entry = table.entry(key.clone()).or_insert((0, row));
        match op.as_str() {
            "+" => entry.0 += 1,
            "-" => entry.0 -= 1,
            other => panic!("{query}: unknown change '{other}'"),
        }
        assert!(entry.0 >= 0, "{query}: deleted a row that is not in the result: {key}");
    }
    table
        .into_values()
        .flat_map(|(count, row)| std::iter::repeat_n(row, count as usize))
        .collect()
}

/// One value as the comparison's text: numbers with at most 3 decimals.
pub fn text(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Rows as sorted texts: `columns` of each of Weir's rows, joined with `|`.
pub fn weir_texts(rows: &[serde_json::Map<String, Value>], columns: &[&str]) -> Vec<String> {
    let mut texts: Vec<String> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| text(row.get(*c).unwrap_or_else(|| panic!("no column '{c}' in {row:?}"))))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    texts.sort();
    texts
}

/// DuckDB's rows as sorted texts, values joined with `|`.
pub fn oracle_texts(rows: &[Vec<Value>]) -> Vec<String> {
    let mut texts: Vec<String> = rows
        .iter()
        .map(|row| row.iter().map(text).collect::<Vec<_>>().join("|"))
        .collect();
    texts.sort();
    texts
}

/// Asserts that `query` on Weir at parallelism 1 and 2 gives exactly the rows of
/// `sql` on DuckDB (as multisets), comparing Weir's `columns` with DuckDB's
/// columns in order; returns the number of rows.
pub fn assert_matches_duckdb(query: &str, events: u64, sql: &str, columns: &[&str]) -> usize {
    let config = config(events);
    let dir = write_events(&config);
    let expected = oracle_texts(&duckdb(dir.path(), sql));
    for parallelism in [1, 2] {
        let ours = weir_texts(&weir(query, &config, parallelism), columns);
        if ours != expected {
            let missing: Vec<&String> = expected.iter().filter(|r| !ours.contains(r)).take(5).collect();
            let extra: Vec<&String> = ours.iter().filter(|r| !expected.contains(r)).take(5).collect();
            panic!(
                "{query} at parallelism {parallelism}: {} rows, DuckDB {}; first missing {missing:?}; first extra {extra:?}",
                ours.len(),
                expected.len()
            );
        }
    }
    expected.len()
}
