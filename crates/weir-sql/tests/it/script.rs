//! Whole scripts through `SqlSession`: DDL, SHOW, DESCRIBE and EXPLAIN answered at
//! once, INSERTs into one job (here into an in-test collecting sink), errors with
//! positions, and an expression that fails at run time failing the job with the
//! operator's name instead of dropping rows.
#![allow(clippy::unwrap_used)]

use crate::nexmark_sql::DDL;
use crate::plan_stream::setup;
use std::sync::{Arc, Mutex};
use weir_datastream::{DataStream, DataStreamSink, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{ChangelogMode, SqlSink};
use weir_sql::connectors::builtin;
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;
use weir_sql::rows::format_rows;
use weir_sql::script::SqlSession;

/// Collects the formatted rows written into any table with `'connector' = 'collect'`.
#[derive(Clone, Default)]
pub(crate) struct Collect {
    rows: Arc<Mutex<Vec<String>>>,
}

impl SqlSink for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }
    fn accepts(&self, _: &TableDef, _: ChangelogMode) -> bool {
        true
    }
    fn create_sink(
        &self,
        _: &TableDef,
        input: DataStream<RowBatch>,
        _: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        let rows = self.rows.clone();
        let handle = input.collect();
        // The handle is read after the job; keep it reachable from the test.
        HANDLES.lock().unwrap().push((rows, handle));
        Ok(input.discard())
    }
}

type Handles = Vec<(Arc<Mutex<Vec<String>>>, weir_datastream::CollectHandle<RowBatch>)>;
static HANDLES: Mutex<Handles> = Mutex::new(Vec::new());

pub(crate) fn drain(collect: &Collect) -> Vec<String> {
    let mut handles = HANDLES.lock().unwrap();
    let mut lines = Vec::new();
    handles.retain(|(rows, handle)| {
        if Arc::ptr_eq(rows, &collect.rows) {
            lines.extend(handle.take().iter().flat_map(|b| format_rows(b).unwrap()));
            false
        } else {
            true
        }
    });
    lines.sort();
    lines
}

const WINDOWED: &str = "
CREATE TABLE counts (window_end TIMESTAMP(3), bids BIGINT, top BIGINT) WITH ('connector' = 'collect');
SHOW TABLES;
DESCRIBE datagen;
INSERT INTO counts
SELECT window_end, COUNT(*), MAX(price)
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
";

#[test]
fn a_nexmark_script_runs_as_one_job() {
    let collect = Collect::default();
    let mut connectors = builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    let mut session = SqlSession::new(connectors);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    // 1 000 events at 10 000 per second of event time: 0.1 s, one window.
    let script = DDL
        .replace("'events.num' = '100000000'", "'events.num' = '1000'")
        .replace("'10000000'", "'10000'");
    let outcome = session.run_script(&env, &format!("{script}\n{WINDOWED}")).unwrap();
    assert_eq!(outcome.sinks, 1);
    assert!(outcome.messages.iter().any(|m| m == "counts"), "{:?}", outcome.messages);
    assert!(
        outcome
            .messages
            .iter()
            .any(|m| m.starts_with("dateTime ") && m.contains("WATERMARK")),
        "{:?}",
        outcome.messages
    );
    env.execute("script").unwrap();
    let rows = drain(&collect);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (_, _, bids) = crate::connectors_nexmark::generated(1000);
    assert!(
        rows[0].contains(&format!(", {bids}, ")),
        "{rows:?} (expected {bids} bids)"
    );
}

#[test]
fn two_inserts_reading_one_table_get_a_source_each() {
    let collect = Collect::default();
    let mut connectors = builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    let mut session = SqlSession::new(connectors);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let script = DDL
        .replace("'events.num' = '100000000'", "'events.num' = '1000'")
        .replace("'10000000'", "'10000'");
    let inserts = "
CREATE TABLE totals (name STRING, n BIGINT) WITH ('connector' = 'collect');
INSERT INTO totals SELECT 'bids', COUNT(*) FROM bid;
INSERT INTO totals SELECT 'people', COUNT(*) FROM person;
";
    let outcome = session.run_script(&env, &format!("{script}\n{inserts}")).unwrap();
    assert_eq!(outcome.sinks, 2);
    env.execute("two inserts").unwrap();
    let (people, _, bids) = crate::connectors_nexmark::generated(1000);
    let rows = drain(&collect);
    // Updating counts: the last +I/+U of each name is its total.
    for (name, total) in [("bids", bids), ("people", people)] {
        let last = rows
            .iter()
            .rev()
            .find(|r| r.contains(&format!("[{name}, ")) && !r.starts_with("-U"))
            .unwrap_or_else(|| panic!("{name}: {rows:?}"));
        assert!(
            last.ends_with(&format!(", {total}]")),
            "{name}: {last} (expected {total}); {rows:?}"
        );
    }
}

#[test]
fn explain_shows_the_plan_and_the_job_graph_without_running() {
    let mut session = SqlSession::new(builtin());
    let env = StreamExecutionEnvironment::new();
    let outcome = session
        .run_script(
            &env,
            &format!(
                "{DDL}\nEXPLAIN SELECT window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;"
            ),
        )
        .unwrap();
    assert_eq!(outcome.sinks, 0, "EXPLAIN adds nothing to the job");
    let text = outcome.messages.join("\n");
    assert!(text.contains("== Optimized logical plan =="), "{text}");
    assert!(text.contains("Aggregate"), "{text}");
    assert!(text.contains("insert-only"), "{text}");
    assert!(text.contains("Window aggregate [insert-only]"), "{text}");
    // Each SQL operator of the job graph names the changelog it produces.
    let outcome = session
        .run_script(
            &env,
            "EXPLAIN SELECT bidder, COUNT(*) FROM bid GROUP BY bidder HAVING COUNT(*) > 1;",
        )
        .unwrap();
    let text = outcome.messages.join("\n");
    assert!(text.contains("Changelog of the result: retract"), "{text}");
    assert!(text.contains("Group aggregate [retract]"), "{text}");
    assert!(text.contains("Filter [retract]"), "{text}");
}

#[test]
fn script_errors_say_where() {
    let mut session = SqlSession::new(builtin());
    let env = StreamExecutionEnvironment::new();
    let error = session
        .run_script(
            &env,
            "CREATE TABLE t (a INT) WITH ('connector' = 'print');\nSELECT a FORM t;",
        )
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("line 2"), "{error}");
    let error = session
        .run_script(&env, "INSERT INTO nowhere SELECT 1;")
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("nowhere"), "{error}");
}

#[test]
fn a_failing_expression_fails_the_job_with_the_operators_name() {
    let (catalog, connectors) = setup("");
    let env = StreamExecutionEnvironment::new();
    let planned = weir_sql::job::SqlJob::plan_query(
        &env,
        &catalog,
        &connectors,
        &crate::plan_stream::query("SELECT auction, 100 / (price - 7 * (auction % 50) % 50) FROM bid"),
    )
    .unwrap();
    let _ = planned.stream.collect();
    let error = env.execute("failing expression").err().unwrap().to_string();
    assert!(error.to_lowercase().contains("divide by zero"), "{error}");
    assert!(error.contains("Projection"), "{error}");
}
