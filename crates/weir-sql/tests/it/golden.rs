//! sqllogictest-style golden files of the SQL surface (`tests/golden/*.slt`), run
//! through the `sqllogictest` crate against a SQL session.
//!
//! Statements (`statement ok` / `statement error <regex>`) run as in a script: DDL,
//! `SET`, `INSERT`. A `query` runs its `SELECT` as a job to the end of its
//! (bounded) sources and answers, by `SET 'sql-client.execution.result-mode'`:
//! `table` (the default) the rows the changelog leaves; `changelog` every change
//! in order, its kind (`+I`, `-U`, `+U`, `-D`) first. `SHOW`, `DESCRIBE` and
//! `EXPLAIN` answer their lines as one-column rows. Jobs run at parallelism 2
//! unless the file sets `parallelism.default` (changelog order is only fixed at 1).
//! Values print as Arrow displays them, NULL as `NULL`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sqllogictest::{DBOutput, DefaultColumnType};
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::batch::RowBatch;
use weir_sql::connector::SqlConnectors;
use weir_sql::front::{ResultMode, Statement};
use weir_sql::job::SqlJob;
use weir_sql::script::SqlSession;

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

fn err(e: impl std::fmt::Display) -> DbError {
    DbError(e.to_string())
}

struct WeirDb {
    session: SqlSession,
    connectors: SqlConnectors,
}

impl WeirDb {
    fn new() -> Self {
        WeirDb {
            session: SqlSession::new(weir_sql::connectors::builtin()),
            connectors: weir_sql::connectors::builtin(),
        }
    }

    fn query(
        &mut self,
        query: &datafusion::sql::sqlparser::ast::Query,
    ) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let options = self.session.catalog().options();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(options.parallelism_default().map_err(err)?.unwrap_or(2) as usize);
        let mode = options.result_mode().map_err(err)?;
        let planned = SqlJob::plan_query(&env, self.session.catalog(), &self.connectors, query).map_err(err)?;
        let width = planned.schema.fields().len();
        let handle = planned.stream.collect();
        env.execute("golden query").map_err(err)?;
        let mut changes = Vec::new();
        for batch in handle.take() {
            changes.extend(lines(&batch)?);
        }
        let rows = match mode {
            ResultMode::Changelog | ResultMode::Tableau => changes
                .into_iter()
                .map(|(kind, values)| std::iter::once(kind.to_string()).chain(values).collect())
                .collect(),
            ResultMode::Table => materialize(changes)?,
        };
        let columns = if mode == ResultMode::Table { width } else { width + 1 };
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; columns],
            rows,
        })
    }
}

/// Each row of a batch: its kind and its values as text.
fn lines(batch: &RowBatch) -> Result<Vec<(&'static str, Vec<String>)>, DbError> {
    Ok(weir_sql::rows::row_values(batch)
        .map_err(err)?
        .into_iter()
        .map(|(kind, values)| (kind.short(), values))
        .collect())
}

/// The rows a changelog leaves; a retraction of a row that is not there is an error.
fn materialize(changes: Vec<(&'static str, Vec<String>)>) -> Result<Vec<Vec<String>>, DbError> {
    let mut present: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (kind, values) in changes {
        if kind == "+I" || kind == "+U" {
            *present.entry(values).or_default() += 1;
        } else {
            let Some(count) = present.get_mut(&values) else {
                return Err(DbError(format!("{kind} of a row not in the result: {values:?}")));
            };
            *count -= 1;
            if *count == 0 {
                present.remove(&values);
            }
        }
    }
    Ok(present
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n))
        .collect())
}

impl sqllogictest::DB for WeirDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let parsed = weir_sql::front::parse_statement(sql).map_err(err)?;
        if let Statement::Query(query) = &parsed.statement {
            return self.query(query);
        }
        let answers = matches!(
            parsed.statement,
            Statement::ShowTables
                | Statement::ShowViews
                | Statement::ShowFunctions
                | Statement::ShowOptions
                | Statement::Describe { .. }
                | Statement::Explain { .. }
        );
        let env = StreamExecutionEnvironment::new();
        let outcome = self.session.run_script(&env, sql).map_err(err)?;
        if outcome.sinks > 0 {
            env.execute("golden statement").map_err(err)?;
        }
        if answers {
            Ok(DBOutput::Rows {
                types: vec![DefaultColumnType::Text],
                rows: outcome.messages.into_iter().map(|m| vec![m]).collect(),
            })
        } else {
            Ok(DBOutput::StatementComplete(0))
        }
    }

    fn engine_name(&self) -> &str {
        "weir"
    }
}

#[test]
fn golden_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "golden files in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async { Ok(WeirDb::new()) });
        if let Err(e) = runner.run_file(file) {
            failures.push(format!("{}:\n{}", file.display(), e.display(false)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
