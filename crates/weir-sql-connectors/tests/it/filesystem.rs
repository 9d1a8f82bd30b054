//! The `filesystem` SQL sink: SQL scripts through `SqlSession` into a temporary
//! directory, the committed part files read back exactly: `json` rows with a
//! TIMESTAMP, a DECIMAL and a NULL, `changelog-json` of updating aggregates
//! (`+I`, `-U`, `+U`), rolling by size, and the planning errors (an updating
//! query into `json`, missing, unknown and bad options, partitions, a second
//! INSERT into one table).
#![allow(clippy::unwrap_used)]

use crate::common::part_files::read;
use crate::common::{expected_counts, nexmark, plan, run};
use std::collections::BTreeMap;
use std::path::Path;

/// A `filesystem` table `name` with `columns` writing `format` into `dir`, with
/// `extra` options (`, 'key' = 'value'`).
fn table(name: &str, columns: &str, dir: &Path, format: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} ({columns}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = '{format}'{extra});\n",
        dir.display()
    )
}

pub const PRODUCTS: &str = "id INT, name STRING, ts TIMESTAMP(3), price DECIMAL(10, 2)";
pub const INSERT_PRODUCTS: &str = "INSERT INTO out SELECT * FROM (VALUES
    (1, 'apple', TIMESTAMP '2015-07-15 00:00:04.123', 12.5),
    (2, NULL, TIMESTAMP '2015-07-15 00:00:05', 0.25),
    (3, 'say \"hi\"', TIMESTAMP '1969-12-31 23:59:59.9', 100)
) AS t(id, name, ts, price);";

#[test]
fn insert_only_rows_become_json_objects() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run(
        &format!("{}{INSERT_PRODUCTS}", table("out", PRODUCTS, &out, "json", "")),
        1,
    )
    .unwrap();
    let files = read(&out, "json");
    assert!(files.leftovers.is_empty(), "{files:?}");
    assert_eq!(files.committed.len(), 1, "one subtask, one part file: {files:?}");
    assert_eq!(files.committed[0].0.subtask, 0);
    assert_eq!(
        files.lines(),
        [
            r#"{"id":1,"name":"apple","ts":"2015-07-15 00:00:04.123","price":12.50}"#,
            r#"{"id":2,"name":null,"ts":"2015-07-15 00:00:05","price":0.25}"#,
            r#"{"id":3,"name":"say \"hi\"","ts":"1969-12-31 23:59:59.9","price":100.00}"#,
        ]
    );
}

#[test]
fn json_at_parallelism_2_with_a_file_url_and_iso_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "CREATE TABLE out ({PRODUCTS}) WITH ('connector' = 'filesystem', 'path' = 'file://{}', 'format' = 'json',
            'json.timestamp-format.standard' = 'ISO-8601');
        {INSERT_PRODUCTS}",
        out.display()
    );
    run(&script, 2).unwrap();
    let files = read(&out, "json");
    assert!(files.leftovers.is_empty(), "{files:?}");
    assert_eq!(
        files.sorted_lines(),
        [
            r#"{"id":1,"name":"apple","ts":"2015-07-15T00:00:04.123","price":12.50}"#,
            r#"{"id":2,"name":null,"ts":"2015-07-15T00:00:05","price":0.25}"#,
            r#"{"id":3,"name":"say \"hi\"","ts":"1969-12-31T23:59:59.9","price":100.00}"#,
        ]
    );
}

#[test]
fn an_aggregate_of_one_batch_is_inserts_in_changelog_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("totals");
    let script = format!(
        "CREATE VIEW sales AS SELECT * FROM (VALUES ('a', 10), ('b', 5), ('a', 7)) AS t(shop, amount);
        {}INSERT INTO totals SELECT shop, SUM(amount) FROM sales GROUP BY shop;",
        table("totals", "shop STRING, total BIGINT", &out, "changelog-json", "")
    );
    run(&script, 1).unwrap();
    let files = read(&out, "changelog-json");
    assert_eq!(
        files.sorted_lines(),
        [
            r#"{"data":{"shop":"a","total":17},"op":"+I"}"#,
            r#"{"data":{"shop":"b","total":5},"op":"+I"}"#,
        ]
    );
}

/// A change of `(bidder, bids, total)` rows in changelog-json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub op: &'static str,
    pub bidder: i64,
    pub bids: i64,
    pub total: i64,
}

/// Parses a changelog-json line of `(bidder, bids, total)` and checks it is
/// byte for byte what the sink should write for it.
pub fn change(line: &str) -> Change {
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
    let op = match value["op"].as_str() {
        Some("+I") => "+I",
        Some("-U") => "-U",
        Some("+U") => "+U",
        Some("-D") => "-D",
        _ => panic!("no op: {line}"),
    };
    let field = |name: &str| {
        value["data"][name]
            .as_i64()
            .unwrap_or_else(|| panic!("no {name}: {line}"))
    };
    let change = Change {
        op,
        bidder: field("bidder"),
        bids: field("bids"),
        total: field("total"),
    };
    assert_eq!(
        line,
        format!(
            r#"{{"data":{{"bidder":{},"bids":{},"total":{}}},"op":"{op}"}}"#,
            change.bidder, change.bids, change.total
        )
    );
    change
}

/// Checks the changelog of `SELECT bidder, COUNT(*), SUM(price) ... GROUP BY
/// bidder` written by the sink: per bidder, `+I` first, then `-U` of exactly the
/// row last added, each followed by its `+U`; the rows left are `expected`.
/// Returns the number of updates (`-U`/`+U` pairs).
pub fn check_counts_changelog(lines: Vec<String>, expected: &BTreeMap<i64, (i64, i64)>) -> usize {
    let mut current: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut retracted: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut updates = 0;
    // Lines of one bidder are in one subtask's files (the aggregate is keyed
    // and feeds the sink forward), in the order they were written.
    for line in lines {
        let c = change(&line);
        let row = (c.bids, c.total);
        match c.op {
            "+I" => {
                assert!(
                    !current.contains_key(&c.bidder) && !retracted.contains_key(&c.bidder),
                    "+I of a bidder present: {line}"
                );
                current.insert(c.bidder, row);
            }
            "-U" => {
                assert_eq!(current.remove(&c.bidder), Some(row), "-U of a row not present: {line}");
                retracted.insert(c.bidder, row);
            }
            "+U" => {
                let before = retracted
                    .remove(&c.bidder)
                    .unwrap_or_else(|| panic!("+U without -U: {line}"));
                assert!(row.0 > before.0, "counts only grow: {line} after {before:?}");
                current.insert(c.bidder, row);
                updates += 1;
            }
            _ => panic!("unexpected change: {line}"),
        }
    }
    assert!(retracted.is_empty(), "-U without +U: {retracted:?}");
    assert_eq!(&current, expected);
    updates
}

fn counts_script(dir: &Path, events: u64, extra: &str) -> String {
    format!(
        "{}{}INSERT INTO counts SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;",
        nexmark(events, ""),
        table(
            "counts",
            "bidder BIGINT, bids BIGINT, total BIGINT",
            dir,
            "changelog-json",
            extra
        )
    )
}

#[test]
fn an_updating_aggregate_writes_its_changelog() {
    const EVENTS: u64 = 5_000;
    for parallelism in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("counts");
        run(&counts_script(&out, EVENTS, ""), parallelism).unwrap();
        let files = read(&out, "changelog-json");
        assert!(files.leftovers.is_empty(), "{files:?}");
        let updates = check_counts_changelog(files.lines(), &expected_counts(EVENTS));
        // 5 000 events are several batches: bidders seen again are updated.
        assert!(updates > 0, "no -U/+U at parallelism {parallelism}");
    }
}

#[test]
fn parts_roll_at_the_file_size() {
    const EVENTS: u64 = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("counts");
    run(
        &counts_script(&out, EVENTS, ", 'sink.rolling-policy.file-size' = '1kb'"),
        1,
    )
    .unwrap();
    let files = read(&out, "changelog-json");
    assert!(files.committed.len() > 1, "{} part files", files.committed.len());
    check_counts_changelog(files.lines(), &expected_counts(EVENTS));
}

/// The planning error of `script` (at parallelism 1).
pub fn plan_error(script: &str) -> String {
    match plan(script, 1) {
        Ok(_) => panic!("planned: {script}"),
        Err(e) => e,
    }
}

const COUNTS: &str = "INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;";
const BIDS: &str = "INSERT INTO out SELECT bidder, auction, price FROM bid;";
const COLUMNS: &str = "bidder BIGINT, bids BIGINT, total BIGINT";

fn with_options(options: &str, insert: &str) -> String {
    format!(
        "{}CREATE TABLE out ({COLUMNS}) WITH ({options});\n{insert}",
        nexmark(1_000, "")
    )
}

#[test]
fn json_refuses_an_updating_query() {
    let dir = tempfile::tempdir().unwrap();
    let error = plan_error(&format!(
        "{}{}{COUNTS}",
        nexmark(1_000, ""),
        table("out", COLUMNS, dir.path(), "json", "")
    ));
    assert!(
        error.contains("table 'out' (connector 'filesystem') cannot take the retract changelog"),
        "{error}"
    );
    // The same query into changelog-json plans.
    plan(
        &format!(
            "{}{}{COUNTS}",
            nexmark(1_000, ""),
            table("out", COLUMNS, dir.path(), "changelog-json", "")
        ),
        1,
    )
    .unwrap();
}

#[test]
fn missing_unknown_and_bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = format!("'path' = '{}'", dir.path().display());
    let cases = [
        // (options, what the error must contain)
        (
            "'connector' = 'filesystem', 'format' = 'json'".to_string(),
            vec!["option 'path'", "required"],
        ),
        (
            format!("'connector' = 'filesystem', {path}"),
            vec!["option 'format'", "required"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'xml'"),
            vec!["option 'format'", "unknown format 'xml'", "changelog-json"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'json', 'sink.rolling-policy.file-sise' = '1mb'"),
            vec!["option 'sink.rolling-policy.file-sise'", "unknown option"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'json', 'sink.rolling-policy.file-size' = '12 parsecs'"),
            vec!["option 'sink.rolling-policy.file-size'", "12 parsecs"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'json', 'json.timestamp-format.standard' = 'RFC'"),
            vec!["option 'json.timestamp-format.standard'", "ISO-8601"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'json', 'changelog-json.timestamp-format.standard' = 'SQL'"),
            vec!["option 'changelog-json.timestamp-format.standard'", "unknown option"],
        ),
        (
            "'connector' = 'filesystem', 'path' = 'hdfs://namenode/out', 'format' = 'json'".to_string(),
            vec!["option 'path'", "hdfs://"],
        ),
        (
            format!("'connector' = 'filesystem', {path}, 'format' = 'json', 'sink.partition-commit.delay' = '1 h'"),
            vec!["option 'sink.partition-commit.delay'", "PARTITIONED BY"],
        ),
    ];
    for (options, expected) in cases {
        let error = plan_error(&with_options(&options, BIDS));
        for part in expected {
            assert!(error.contains(part), "{options}: '{part}' not in: {error}");
        }
    }
}

#[test]
fn partitions_and_two_writers_of_one_table_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = plan_error(&format!(
        "{}CREATE TABLE out ({COLUMNS}) PARTITIONED BY (bidder) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');\n{BIDS}",
        nexmark(1_000, ""),
        dir.path().display()
    ));
    assert!(error.contains("PARTITIONED BY"), "{error}");
    let error = plan_error(&format!(
        "{}{}{BIDS}\n{BIDS}",
        nexmark(1_000, ""),
        table("out", COLUMNS, dir.path(), "json", "")
    ));
    assert!(error.contains("written by another INSERT"), "{error}");
}
