//! Lookup joins (`JOIN t FOR SYSTEM_TIME AS OF o.p AS s`) against an in-test lookup
//! connector: INNER and LEFT joins, several matches per key, NULL keys, a further
//! condition, and the planning errors.
#![allow(clippy::unwrap_used)]

use crate::script::{drain, Collect};
use std::sync::Arc;
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connector::{LookupLoad, SqlLookupSource};
use weir_sql::connectors::builtin;
use weir_sql::datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;
use weir_sql::script::SqlSession;

/// A lookup table `(key BIGINT, name STRING)` held in memory.
struct Memory;

impl SqlLookupSource for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn lookup_loader(&self, table: &TableDef) -> Result<LookupLoad, SqlError> {
        let schema = table.schema.clone();
        Ok(Arc::new(move || {
            let keys: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(2), None]));
            let names: ArrayRef = Arc::new(StringArray::from(vec!["one", "two", "deux", "none"]));
            Ok(vec![
                RecordBatch::try_new(schema.clone(), vec![keys, names]).map_err(|e| SqlError::Plan(e.to_string()))?
            ])
        }))
    }
}

const TABLES: &str = "
CREATE TABLE side (key BIGINT, name STRING) WITH ('connector' = 'memory');
CREATE VIEW orders AS SELECT * FROM (VALUES (1, 10), (2, 20), (3, 30), (CAST(NULL AS BIGINT), 40)) AS t(k, amount);
CREATE VIEW timed AS SELECT *, PROCTIME() AS p FROM orders;
CREATE TABLE joined (k BIGINT, amount BIGINT, name STRING) WITH ('connector' = 'collect');
";

fn session(collect: &Collect) -> SqlSession {
    let mut connectors = builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    connectors.register_lookup(Arc::new(Memory));
    SqlSession::new(connectors)
}

fn run(insert: &str) -> Vec<String> {
    let collect = Collect::default();
    let mut session = session(&collect);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    session.run_script(&env, &format!("{TABLES}\n{insert}")).unwrap();
    env.execute("lookup join").unwrap();
    drain(&collect)
}

#[test]
fn an_inner_lookup_join_gives_every_match_and_never_matches_null() {
    let rows = run("INSERT INTO joined SELECT o.k, o.amount, s.name FROM timed AS o \
         JOIN side FOR SYSTEM_TIME AS OF o.p AS s ON o.k = s.key;");
    assert_eq!(rows, vec!["+I[1, 10, one]", "+I[2, 20, deux]", "+I[2, 20, two]"]);
}

#[test]
fn a_left_lookup_join_pads_rows_without_a_match() {
    let rows = run("INSERT INTO joined SELECT o.k, o.amount, s.name FROM timed AS o \
         LEFT JOIN side FOR SYSTEM_TIME AS OF o.p AS s ON o.k = s.key AND s.name <> 'deux';");
    assert_eq!(
        rows,
        vec![
            "+I[1, 10, one]",
            "+I[2, 20, two]",
            "+I[3, 30, NULL]",
            "+I[NULL, 40, NULL]"
        ]
    );
}

#[test]
fn a_lookup_table_without_an_alias_is_named_by_itself() {
    let rows = run("INSERT INTO joined SELECT o.k, o.amount, side.name FROM timed AS o \
         JOIN side FOR SYSTEM_TIME AS OF o.p ON o.k = side.key WHERE side.name = 'two';");
    assert_eq!(rows, vec!["+I[2, 20, two]"]);
}

fn plan_error(insert: &str) -> String {
    let collect = Collect::default();
    let mut session = session(&collect);
    let env = StreamExecutionEnvironment::new();
    match session.run_script(&env, &format!("{TABLES}\n{insert}")) {
        Ok(_) => panic!("{insert} planned"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lookup_tables_read_otherwise_are_planning_errors() {
    let e = plan_error("INSERT INTO joined SELECT key, key AS k2, name FROM side FOR SYSTEM_TIME AS OF PROCTIME();");
    assert!(e.contains("unsupported: reading 'side' FOR SYSTEM_TIME AS OF"), "{e}");
    let e = plan_error(
        "INSERT INTO joined SELECT o.k, o.amount, s.name FROM side FOR SYSTEM_TIME AS OF PROCTIME() AS s \
         JOIN timed AS o ON o.k = s.key;",
    );
    assert!(e.contains("on the left of a join"), "{e}");
    let e = plan_error(
        "INSERT INTO joined SELECT o.k, o.amount, s.name FROM timed AS o \
         JOIN orders FOR SYSTEM_TIME AS OF o.p AS s ON o.k = s.k;",
    );
    // A view is read as a versioned view: it needs an event-time column.
    assert!(e.contains("view 'orders', which has no event-time column"), "{e}");
    let e = plan_error(
        "CREATE TABLE plain (key BIGINT, name STRING) WITH ('connector' = 'blackhole');
         INSERT INTO joined SELECT o.k, o.amount, s.name FROM timed AS o \
         JOIN plain FOR SYSTEM_TIME AS OF o.p AS s ON o.k = s.key;",
    );
    assert!(e.contains("lookup source") && e.contains("memory"), "{e}");
}
