//! Running SQL scripts: a [`SqlSession`] keeps the catalog and the connectors, runs
//! the statements that need no job at once (DDL, `SET`, `SHOW`, `DESCRIBE`,
//! `EXPLAIN`) and adds the ones that do (`INSERT INTO`, statement sets, queries) to
//! one job on a [`StreamExecutionEnvironment`], which the caller then executes.
//!
//! All the `INSERT`s of a script form one job, as a statement set does in Flink
//! (sources read once per `INSERT`, each result written once). A plain query's rows
//! are printed as a changelog (`+I[...]`), like Flink's SQL client in tableau mode.

use crate::connector::SqlConnectors;
use crate::connector::SqlSink;
use crate::connectors::PrintConnector;
use crate::error::SqlError;
use crate::front::{Catalog, Insert, ParsedStatement, Statement, TableDef};
use crate::job::SqlJob;
use std::collections::BTreeMap;
use weir_datastream::StreamExecutionEnvironment;

/// A SQL session: a catalog, session options and connectors.
pub struct SqlSession {
    catalog: Catalog,
    connectors: SqlConnectors,
}

/// What running a script's statements produced.
#[derive(Debug, Default)]
pub struct ScriptOutcome {
    /// Lines to show the user (results of SHOW, DESCRIBE, EXPLAIN; what was added).
    pub messages: Vec<String>,
    /// Sinks added to the job (one per `INSERT` and per query).
    pub sinks: usize,
}

impl SqlSession {
    /// A session with an empty catalog over `connectors`.
    pub fn new(connectors: SqlConnectors) -> Self {
        SqlSession {
            catalog: Catalog::new(),
            connectors,
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Registers a Rust scalar function (see [`Catalog::register_function`]):
    /// callable by its own name, and by the name a `CREATE FUNCTION name AS
    /// 'registered_name'` gives it.
    pub fn register_function(&mut self, registered_name: impl Into<String>, udf: datafusion::logical_expr::ScalarUDF) {
        self.catalog.register_function(registered_name, udf);
    }

    /// Registers a Rust aggregate function (see
    /// [`Catalog::register_aggregate_function`]): a DataFusion `AggregateUDF`, for
    /// `GROUP BY` and window aggregates, callable by its own name and by a `CREATE
    /// FUNCTION` name.
    pub fn register_aggregate_function(
        &mut self,
        registered_name: impl Into<String>,
        udaf: datafusion::logical_expr::AggregateUDF,
    ) {
        self.catalog.register_aggregate_function(registered_name, udaf);
    }

    /// Registers a Rust table function (see [`Catalog::register_table_function`]):
    /// a DataFusion `ScalarUDF` returning `List<Struct<...>>`, one element per row,
    /// called as `LATERAL TABLE(f(args)) AS T(c1, ...)`. A return type that is no
    /// list is an error.
    pub fn register_table_function(
        &mut self,
        registered_name: impl Into<String>,
        udf: datafusion::logical_expr::ScalarUDF,
    ) -> Result<(), SqlError> {
        self.catalog.register_table_function(registered_name, udf)
    }

    /// Runs `script`'s statements in order: the ones that need no job at once, the
    /// others added to `env` as one job. Session options set by the script
    /// (`parallelism.default`) are applied to `env`. Stops at the first error.
    pub fn run_script(&mut self, env: &StreamExecutionEnvironment, script: &str) -> Result<ScriptOutcome, SqlError> {
        self.run_statements(env, crate::front::parse_script(script)?)
    }

    /// [`SqlSession::run_script`] for statements already parsed (by
    /// [`parse_script`](crate::front::parse_script)), for callers that adjust them
    /// first, e.g. a harness pointing a table at other options.
    pub fn run_statements(
        &mut self,
        env: &StreamExecutionEnvironment,
        statements: Vec<ParsedStatement>,
    ) -> Result<ScriptOutcome, SqlError> {
        let mut outcome = ScriptOutcome::default();
        for parsed in statements {
            self.run_statement(env, &parsed, &mut outcome)?;
        }
        Ok(outcome)
    }

    fn apply_options(&self, env: &StreamExecutionEnvironment) -> Result<(), SqlError> {
        if let Some(p) = self.catalog.options().parallelism_default()? {
            env.set_parallelism(p as usize);
        }
        Ok(())
    }

    fn run_statement(
        &mut self,
        env: &StreamExecutionEnvironment,
        parsed: &ParsedStatement,
        outcome: &mut ScriptOutcome,
    ) -> Result<(), SqlError> {
        match &parsed.statement {
            Statement::Insert(insert) => {
                self.add_inserts(env, std::slice::from_ref(insert))?;
                outcome.sinks += 1;
                outcome.messages.push(format!("added: INSERT INTO {}", insert.table));
            }
            Statement::StatementSet(inserts) => {
                self.add_inserts(env, inserts)?;
                outcome.sinks += inserts.len();
                outcome
                    .messages
                    .push(format!("added: a statement set of {} INSERTs", inserts.len()));
            }
            Statement::Query(query) => {
                self.apply_options(env)?;
                let planned = SqlJob::plan_query(env, &self.catalog, &self.connectors, query)?;
                let table = TableDef {
                    name: "query result".into(),
                    schema: planned.schema.clone(),
                    ..result_table()
                };
                PrintConnector.create_sink(&table, planned.stream, planned.mode)?;
                outcome.sinks += 1;
                outcome
                    .messages
                    .push("added: a query, its rows printed as a changelog".into());
            }
            Statement::ShowTables => outcome.messages.extend(self.catalog.show_tables()),
            Statement::ShowViews => outcome.messages.extend(self.catalog.show_views()),
            Statement::ShowFunctions => outcome.messages.extend(self.catalog.show_functions()),
            Statement::ShowOptions => outcome
                .messages
                .extend(self.catalog.options().iter().map(|(k, v)| format!("'{k}' = '{v}'"))),
            Statement::Describe { name } => {
                for row in self.catalog.describe(name)? {
                    outcome.messages.push(format!(
                        "{} {}{}{}{}{}",
                        row.name,
                        row.data_type.as_deref().unwrap_or("?"),
                        if row.nullable { "" } else { " NOT NULL" },
                        row.key.map(|k| format!(" {k}")).unwrap_or_default(),
                        row.extras.map(|e| format!(" {e}")).unwrap_or_default(),
                        row.watermark.map(|w| format!(" WATERMARK {w}")).unwrap_or_default(),
                    ));
                }
            }
            Statement::Explain { statement, .. } => {
                // Planned into a scratch job with the same parallelism.
                let scratch = StreamExecutionEnvironment::new();
                scratch.set_parallelism(env.parallelism());
                let mut inner = ScriptOutcome::default();
                self.run_statement(&scratch, statement, &mut inner)?;
                outcome.messages.extend(self.explain_lines(&scratch, statement)?);
            }
            _ => {
                self.catalog.apply(&parsed.statement)?;
            }
        }
        Ok(())
    }

    fn add_inserts(&self, env: &StreamExecutionEnvironment, inserts: &[Insert]) -> Result<(), SqlError> {
        self.apply_options(env)?;
        for insert in inserts {
            SqlJob::plan_insert(env, &self.catalog, &self.connectors, insert)?;
        }
        Ok(())
    }

    fn explain_lines(
        &self,
        scratch: &StreamExecutionEnvironment,
        statement: &ParsedStatement,
    ) -> Result<Vec<String>, SqlError> {
        let mut lines = Vec::new();
        let query = match &statement.statement {
            Statement::Query(query) => Some(query.as_ref()),
            Statement::Insert(insert) => Some(insert.query.as_ref()),
            _ => None,
        };
        if let Some(query) = query {
            let planned = SqlJob::plan_query(
                &StreamExecutionEnvironment::new(),
                &self.catalog,
                &self.connectors,
                query,
            )?;
            lines.push("== Optimized logical plan ==".into());
            lines.extend(planned.plan.display_indent().to_string().lines().map(String::from));
            lines.push(format!("== Changelog of the result: {} ==", planned.mode.name()));
        }
        lines.push("== Job graph ==".into());
        let graph = scratch
            .explain("explain")
            .map_err(|e| SqlError::Plan(format!("cannot build the job graph: {e}")))?;
        lines.extend(graph.lines().map(String::from));
        Ok(lines)
    }
}

fn result_table() -> TableDef {
    TableDef {
        name: String::new(),
        temporary: true,
        schema: std::sync::Arc::new(arrow::datatypes::Schema::empty()),
        computed: Vec::new(),
        metadata: Vec::new(),
        watermark: None,
        primary_key: Vec::new(),
        partitioned_by: Vec::new(),
        options: BTreeMap::from([("connector".to_string(), "print".to_string())]),
        comment: None,
        column_comments: BTreeMap::new(),
    }
}
