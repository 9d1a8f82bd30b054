//! The catalog: DDL, duplicates, drops, options and DESCRIBE.

use std::time::Duration;

use weir_sql::error::SqlError;
use weir_sql::front::{parse_statement, ApplyOutcome, Catalog, CatalogEntry};

fn apply(catalog: &mut Catalog, sql: &str) -> Result<ApplyOutcome, SqlError> {
    let statement = parse_statement(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    catalog.apply(&statement.statement)
}

#[test]
fn create_and_drop() {
    let mut c = Catalog::new();
    assert_eq!(apply(&mut c, "CREATE TABLE t (a INT)").unwrap(), ApplyOutcome::Changed);
    let error = apply(&mut c, "CREATE TABLE t (b INT)").unwrap_err();
    assert_eq!(error.to_string(), "a table named 't' already exists");
    assert_eq!(
        apply(&mut c, "CREATE TABLE IF NOT EXISTS t (b INT)").unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(c.table("t").unwrap().schema.field(0).name(), "a");
    let error = apply(&mut c, "CREATE VIEW t AS SELECT 1").unwrap_err();
    assert_eq!(error.to_string(), "a table named 't' already exists");
    apply(&mut c, "CREATE VIEW v AS SELECT a FROM t").unwrap();
    assert!(matches!(c.lookup("t"), Some(CatalogEntry::Table(t)) if t.name == "t"));
    assert!(matches!(c.lookup("v"), Some(CatalogEntry::View(v)) if v.name == "v"));
    assert!(c.lookup("nope").is_none());
    let error = apply(&mut c, "CREATE TABLE v (a INT)").unwrap_err();
    assert_eq!(error.to_string(), "a view named 'v' already exists");
    // Names are case-sensitive.
    apply(&mut c, "CREATE TABLE T (a INT)").unwrap();

    let error = apply(&mut c, "DROP TABLE v").unwrap_err();
    assert!(error.to_string().contains("use DROP VIEW"), "{error}");
    let error = apply(&mut c, "DROP VIEW t").unwrap_err();
    assert!(error.to_string().contains("use DROP TABLE"), "{error}");
    let error = apply(&mut c, "DROP TABLE nope").unwrap_err();
    assert_eq!(error.to_string(), "unknown table 'nope'");
    assert_eq!(
        apply(&mut c, "DROP TABLE IF EXISTS nope").unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(apply(&mut c, "DROP VIEW v").unwrap(), ApplyOutcome::Changed);
    assert_eq!(apply(&mut c, "DROP TABLE t").unwrap(), ApplyOutcome::Changed);
    assert_eq!(c.show_tables(), ["T"]);

    apply(&mut c, "CREATE FUNCTION f AS 'impl'").unwrap();
    assert!(apply(&mut c, "CREATE FUNCTION f AS 'impl'").is_err());
    assert_eq!(c.show_functions(), ["f"]);
    apply(&mut c, "DROP FUNCTION f").unwrap();
    assert!(apply(&mut c, "DROP FUNCTION f").is_err());

    assert_eq!(apply(&mut c, "SELECT 1").unwrap(), ApplyOutcome::NotCatalog);
    assert_eq!(apply(&mut c, "SHOW TABLES").unwrap(), ApplyOutcome::NotCatalog);
}

#[test]
fn options() {
    let mut c = Catalog::new();
    apply(&mut c, "SET 'table.exec.state.ttl' = '10 min'").unwrap();
    apply(&mut c, "SET 'parallelism.default' = '8'").unwrap();
    apply(&mut c, "SET table.exec.mini-batch.enabled = true").unwrap();
    apply(&mut c, "SET 'table.exec.mini-batch.allow-latency' = '5 s'").unwrap();
    apply(&mut c, "SET 'table.exec.mini-batch.size' = '1000'").unwrap();
    apply(&mut c, "SET 'execution.checkpointing.interval' = '3600000 ms'").unwrap();
    let o = c.options();
    assert_eq!(o.state_ttl().unwrap(), Some(Duration::from_secs(600)));
    assert_eq!(o.parallelism_default().unwrap(), Some(8));
    assert!(o.mini_batch_enabled().unwrap());
    assert_eq!(o.mini_batch_allow_latency().unwrap(), Some(Duration::from_secs(5)));
    assert_eq!(o.mini_batch_size().unwrap(), Some(1000));
    assert_eq!(o.checkpointing_interval().unwrap(), Some(Duration::from_secs(3600)));

    let error = apply(&mut c, "SET 'table.exec.state.ttl' = 'forever'").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value 'forever' for option 'table.exec.state.ttl': expected a duration like '10 s', '5 min', '1 h' or '3600000 ms'"
    );
    // The bad value was not stored.
    assert_eq!(c.options().state_ttl().unwrap(), Some(Duration::from_secs(600)));

    assert_eq!(
        apply(&mut c, "RESET 'table.exec.state.ttl'").unwrap(),
        ApplyOutcome::Changed
    );
    assert_eq!(
        apply(&mut c, "RESET 'table.exec.state.ttl'").unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(c.options().state_ttl().unwrap(), None);
    apply(&mut c, "RESET").unwrap();
    assert_eq!(c.options().iter().count(), 0);
}

/// (name, type, nullable, key, extras, watermark).
type DescribeSummary = (
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[test]
fn describe_rows() {
    let mut c = Catalog::new();
    apply(
        &mut c,
        "CREATE TABLE orders (
            id BIGINT,
            amount DECIMAL(10, 2) NOT NULL,
            ts TIMESTAMP(3),
            kts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
            total AS amount * 2,
            WATERMARK FOR ts AS ts - INTERVAL '1' SECOND,
            PRIMARY KEY (id) NOT ENFORCED
        ) WITH ('connector' = 'kafka')",
    )
    .unwrap();
    let rows = c.describe("orders").unwrap();
    let summary: Vec<DescribeSummary> = rows
        .into_iter()
        .map(|r| (r.name, r.data_type, r.nullable, r.key, r.extras, r.watermark))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "id".into(),
                Some("BIGINT".into()),
                false,
                Some("PRI(id)".into()),
                None,
                None
            ),
            ("amount".into(), Some("DECIMAL(10, 2)".into()), false, None, None, None),
            (
                "ts".into(),
                Some("TIMESTAMP(3) *ROWTIME*".into()),
                true,
                None,
                None,
                Some("ts - INTERVAL '1' SECOND".into())
            ),
            (
                "kts".into(),
                Some("TIMESTAMP_LTZ(3)".into()),
                true,
                None,
                Some("METADATA FROM 'timestamp' VIRTUAL".into()),
                None
            ),
            ("total".into(), None, true, None, Some("AS amount * 2".into()), None),
        ]
    );
    apply(&mut c, "CREATE VIEW v AS SELECT id FROM orders").unwrap();
    assert!(c.describe("v").unwrap_err().to_string().contains("is a view"));
    assert_eq!(c.describe("nope").unwrap_err().to_string(), "unknown table 'nope'");
}
