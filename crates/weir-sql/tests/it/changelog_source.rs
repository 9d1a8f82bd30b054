//! Changelog sources: a retract source's rows go through projections and
//! aggregates with their kinds; an upsert source's rows are normalized into a
//! retract changelog keyed by the table's primary key (a new key is `+I`, a
//! changed row `-U`/`+U`, an unchanged row nothing, a delete `-D` of the whole
//! last row, a delete of an unknown key nothing), at parallelism 1 and 2; an
//! upsert table without PRIMARY KEY and a window TVF over a changelog are
//! refused.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Int64Array, Int8Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::{RowBatch, RowKind, KIND_COLUMN};
use weir_sql::connector::{ChangelogMode, SqlConnectors, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::job::SqlJob;

use crate::plan_stream::{query, rows_in_order};

/// A changelog row: its kind and values.
type Change = (RowKind, Vec<String>);

/// A source of fixed changelog batches (`id`, `name`, `amount`, kind).
struct ChangelogSource {
    mode: ChangelogMode,
    rows: Vec<(RowKind, i64, Option<&'static str>, Option<i64>)>,
}

impl SqlSource for ChangelogSource {
    fn name(&self) -> &'static str {
        "changes"
    }

    fn changelog_mode(&self, _: &TableDef) -> Result<ChangelogMode, SqlError> {
        Ok(self.mode)
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        _: &TableDef,
        _: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("amount", DataType::Int64, true),
            Field::new(KIND_COLUMN, DataType::Int8, false),
        ]));
        // As a Kafka source's partitions: subtask `i` of the source hands on the
        // changes of the ids `id % parallelism == i`, in order, in batches of 3
        // (a key's changes may share a batch or not). The source runs at the
        // job's parallelism, as the SQL operators after it, so nothing
        // redistributes its rows out of order.
        let parallelism = env.parallelism().max(1);
        let mut batches: Vec<(i64, RowBatch)> = Vec::new();
        for subtask in 0..parallelism as i64 {
            let rows: Vec<_> = self
                .rows
                .iter()
                .filter(|r| r.1 % parallelism as i64 == subtask)
                .collect();
            for chunk in rows.chunks(3) {
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from_iter_values(chunk.iter().map(|r| r.1))),
                        Arc::new(StringArray::from_iter(chunk.iter().map(|r| r.2))),
                        Arc::new(Int64Array::from_iter(chunk.iter().map(|r| r.3))),
                        Arc::new(Int8Array::from_iter_values(chunk.iter().map(|r| r.0 as i8))),
                    ],
                )?;
                batches.push((subtask, RowBatch(batch)));
            }
        }
        let batches = Arc::new(batches);
        Ok(env
            .from_sequence(0, parallelism as i64 - 1)
            .flat_map(move |subtask: i64| {
                batches
                    .iter()
                    .filter(|(s, _)| *s == subtask)
                    .map(|(_, b)| b.clone())
                    .collect::<Vec<_>>()
            }))
    }
}

const KEYED: &str = "CREATE TABLE accounts (id BIGINT NOT NULL, name STRING, amount BIGINT, \
     PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'changes');";

/// An upsert changelog: keys 1..=3 inserted, 1 updated twice (once to the same
/// row), 2 deleted (a delete carrying only the key), 4 deleted without ever
/// having a row, 3 updated and deleted and inserted again.
fn upserts() -> Vec<(RowKind, i64, Option<&'static str>, Option<i64>)> {
    use RowKind::*;
    vec![
        (Insert, 1, Some("ann"), Some(10)),
        (Insert, 2, Some("bob"), Some(20)),
        (UpdateAfter, 3, Some("ann"), Some(30)),
        (UpdateAfter, 1, Some("ann"), Some(15)),
        (UpdateAfter, 1, Some("ann"), Some(15)),
        (Delete, 2, None, None),
        (Delete, 4, None, None),
        (UpdateAfter, 3, Some("cid"), Some(31)),
        (Delete, 3, None, None),
        (Insert, 3, Some("cid"), Some(32)),
    ]
}

/// The changes `sql` emits over `accounts` (declared by `ddl`, read from `source`)
/// at `parallelism`, in order per subtask, and the result's changelog mode.
fn run(
    ddl: &str,
    source: ChangelogSource,
    sql: &str,
    parallelism: usize,
) -> Result<(Vec<Change>, ChangelogMode), SqlError> {
    let mut catalog = Catalog::new();
    catalog.apply_script(ddl).unwrap();
    let mut connectors = SqlConnectors::new();
    connectors.register_source(Arc::new(source));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql))?;
    let mode = planned.mode;
    let handle = planned.stream.collect();
    env.execute("changelog source test").unwrap();
    let mut changes = Vec::new();
    for mut values in rows_in_order(&handle.take()) {
        let kind = match mode {
            ChangelogMode::InsertOnly => RowKind::Insert,
            _ => RowKind::from_code(values.pop().unwrap().parse().unwrap()).unwrap(),
        };
        changes.push((kind, values));
    }
    Ok((changes, mode))
}

/// The rows a changelog leaves. The changes of different subtasks come in any
/// order, so a retraction may come before its row; none may be left over.
fn materialize(changes: &[(RowKind, Vec<String>)]) -> Vec<Vec<String>> {
    let mut present: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for (kind, values) in changes {
        *present.entry(values.clone()).or_default() += if kind.is_addition() { 1 } else { -1 };
    }
    assert!(
        present.values().all(|n| *n >= 0),
        "rows retracted more often than added: {present:?} from {changes:?}"
    );
    present
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n as usize))
        .collect()
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
}

#[test]
fn an_upsert_source_is_normalized_into_a_retract_changelog_of_whole_rows() {
    let source = || ChangelogSource {
        mode: ChangelogMode::Upsert,
        rows: upserts(),
    };
    // One key per subtask order is kept: the exact changes of the whole table.
    let (changes, mode) = run(KEYED, source(), "SELECT * FROM accounts", 1).unwrap();
    assert_eq!(mode, ChangelogMode::Retract);
    let expected: Vec<(RowKind, Vec<String>)> = vec![
        (RowKind::Insert, vec!["1", "ann", "10"]),
        (RowKind::Insert, vec!["2", "bob", "20"]),
        (RowKind::Insert, vec!["3", "ann", "30"]),
        (RowKind::UpdateBefore, vec!["1", "ann", "10"]),
        (RowKind::UpdateAfter, vec!["1", "ann", "15"]),
        // The same row again: nothing. A delete: the whole last row.
        (RowKind::Delete, vec!["2", "bob", "20"]),
        // Key 4 never had a row: nothing.
        (RowKind::UpdateBefore, vec!["3", "ann", "30"]),
        (RowKind::UpdateAfter, vec!["3", "cid", "31"]),
        (RowKind::Delete, vec!["3", "cid", "31"]),
        (RowKind::Insert, vec!["3", "cid", "32"]),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_iter().map(String::from).collect()))
    .collect();
    let mut sorted = changes.clone();
    sorted.sort_by_key(|(_, v)| v[0].clone());
    let mut expected_sorted = expected.clone();
    expected_sorted.sort_by_key(|(_, v)| v[0].clone());
    // Within a key, the order is the input's.
    assert_eq!(sorted, expected_sorted);
    for parallelism in [1, 2] {
        let (changes, _) = run(KEYED, source(), "SELECT * FROM accounts", parallelism).unwrap();
        assert_eq!(
            materialize(&changes),
            strings(&[&["1", "ann", "15"], &["3", "cid", "32"]]),
            "parallelism {parallelism}"
        );
        // An aggregate over it retracts exactly.
        let (changes, mode) = run(
            KEYED,
            source(),
            "SELECT name, COUNT(*), SUM(amount) FROM accounts GROUP BY name",
            parallelism,
        )
        .unwrap();
        assert_eq!(mode, ChangelogMode::Retract);
        assert_eq!(
            materialize(&changes),
            strings(&[&["ann", "1", "15"], &["cid", "1", "32"]]),
            "parallelism {parallelism}"
        );
        // A projection keeps the kinds; the key is the upsert key.
        let (changes, _) = run(
            KEYED,
            source(),
            "SELECT amount, id FROM accounts WHERE amount > 12",
            parallelism,
        )
        .unwrap();
        assert_eq!(
            materialize(&changes),
            strings(&[&["15", "1"], &["32", "3"]]),
            "parallelism {parallelism}"
        );
    }
}

#[test]
fn a_retract_source_feeds_projections_and_aggregates_with_its_kinds() {
    use RowKind::*;
    let source = || ChangelogSource {
        mode: ChangelogMode::Retract,
        rows: vec![
            (Insert, 1, Some("ann"), Some(10)),
            (Insert, 2, Some("bob"), Some(20)),
            (UpdateBefore, 1, Some("ann"), Some(10)),
            (UpdateAfter, 1, Some("ann"), Some(11)),
            (Delete, 2, Some("bob"), Some(20)),
            (Insert, 5, Some("bob"), Some(50)),
        ],
    };
    for parallelism in [1, 2] {
        let (changes, mode) = run(KEYED, source(), "SELECT name, amount FROM accounts", parallelism).unwrap();
        assert_eq!(mode, ChangelogMode::Retract);
        assert_eq!(changes.len(), 6);
        assert_eq!(materialize(&changes), strings(&[&["ann", "11"], &["bob", "50"]]));
        let (changes, _) = run(
            KEYED,
            source(),
            "SELECT name, SUM(amount) FROM accounts GROUP BY name",
            parallelism,
        )
        .unwrap();
        assert_eq!(materialize(&changes), strings(&[&["ann", "11"], &["bob", "50"]]));
    }
}

#[test]
fn an_upsert_table_needs_a_primary_key_and_window_tvfs_take_no_changelog() {
    let source = || ChangelogSource {
        mode: ChangelogMode::Upsert,
        rows: upserts(),
    };
    let unkeyed =
        "CREATE TABLE accounts (id BIGINT NOT NULL, name STRING, amount BIGINT) WITH ('connector' = 'changes');";
    let err = run(unkeyed, source(), "SELECT * FROM accounts", 1).unwrap_err();
    assert!(err.to_string().contains("needs a PRIMARY KEY"), "{err}");
    assert!(err.to_string().contains("'accounts'"), "{err}");

    let timed = "CREATE TABLE accounts (id BIGINT NOT NULL, name STRING, amount BIGINT, ts AS TO_TIMESTAMP('2020-01-01 00:00:00'), \
         WATERMARK FOR ts AS ts, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'changes');";
    let err = run(
        timed,
        source(),
        "SELECT window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE accounts, DESCRIPTOR(ts), INTERVAL '1' SECOND)) \
         GROUP BY window_start, window_end",
        1,
    )
    .unwrap_err();
    assert!(err.to_string().contains("a changelog table"), "{err}");
}
