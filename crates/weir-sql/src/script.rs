//! Running SQL scripts: a [`SqlSession`] keeps the catalog and the connectors, runs
//! the statements that need no job at once (DDL, `SET`, `SHOW`, `DESCRIBE`,
//! `EXPLAIN`) and adds the ones that do (`INSERT INTO`, statement sets, queries) to
//! one job on a [`StreamExecutionEnvironment`], which the caller then executes.
//!
//! All the `INSERT`s of a script form one job, as a statement set does in Flink
//! (sources read once per `INSERT`, each result written once). A plain query's rows
//! are printed as a changelog (`+I[...]`), like Flink's SQL client in tableau mode.

use crate::batch::RowKind;
use crate::bridge::{self, Change, StreamSchema, StreamTable, StreamTables, Table};
use crate::connector::{ChangelogMode, SqlConnectors, SqlSink};
use crate::connectors::PrintConnector;
use crate::error::SqlError;
use crate::front::{Catalog, Insert, ParsedStatement, Statement, TableDef};
use crate::job::SqlJob;
use arrow::datatypes::FieldRef;
use std::collections::BTreeMap;
use weir_core::Data;
use weir_datastream::{DataStream, StreamExecutionEnvironment};

/// A SQL session: a catalog, session options and connectors.
pub struct SqlSession {
    catalog: Catalog,
    connectors: SqlConnectors,
    streams: StreamTables,
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
            streams: StreamTables::new(),
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

    /// Makes `stream` the temporary table `name`, its columns the fields of `T`
    /// (Flink's `createTemporaryView(name, fromDataStream(stream))`): queries and
    /// `INSERT`s of `stream`'s job can read it. See [`crate::bridge`].
    pub fn from_data_stream<T: Data>(&mut self, name: &str, stream: &DataStream<T>) -> Result<(), SqlError> {
        self.from_data_stream_with(name, stream, StreamSchema::new())
    }

    /// [`from_data_stream`](Self::from_data_stream) with a record-timestamp column,
    /// computed columns, a watermark or a primary key declared by `schema`.
    pub fn from_data_stream_with<T: Data>(
        &mut self,
        name: &str,
        stream: &DataStream<T>,
        schema: StreamSchema,
    ) -> Result<(), SqlError> {
        let (def, fields) = self.stream_table::<T>(name, &schema)?;
        let rows = bridge::rows_of(stream, &def, fields, schema.has_record_timestamp(), false, |row: T| {
            (row, RowKind::Insert)
        });
        self.streams.insert(
            name,
            StreamTable {
                stream: rows.handle(),
                mode: ChangelogMode::InsertOnly,
            },
        );
        Ok(())
    }

    /// Makes a stream of changes the temporary table `name`, an updating table
    /// (retract changelog) of `T`'s fields (Flink's `fromChangelogStream`). The
    /// changes of a row must come in order from one subtask of a stream at the
    /// job's parallelism, e.g. after a `key_by` (see
    /// [`SqlSource::changelog_mode`](crate::connector::SqlSource::changelog_mode)).
    pub fn from_changelog_stream<T: Data>(
        &mut self,
        name: &str,
        stream: &DataStream<Change<T>>,
        schema: StreamSchema,
    ) -> Result<(), SqlError> {
        let (def, fields) = self.stream_table::<T>(name, &schema)?;
        let rows = bridge::rows_of(
            stream,
            &def,
            fields,
            schema.has_record_timestamp(),
            true,
            |c: Change<T>| (c.row, c.kind),
        );
        self.streams.insert(
            name,
            StreamTable {
                stream: rows.handle(),
                mode: ChangelogMode::Retract,
            },
        );
        Ok(())
    }

    fn stream_table<T: Data>(
        &mut self,
        name: &str,
        schema: &StreamSchema,
    ) -> Result<(TableDef, Vec<FieldRef>), SqlError> {
        let fields = bridge::fields_of::<T>().map_err(|e| SqlError::Plan(format!("table '{name}': {e}")))?;
        let ddl = bridge::table_ddl(name, &fields, schema)?;
        let rest = self.catalog.apply_script(&ddl)?;
        debug_assert!(rest.is_empty());
        let def = self
            .catalog
            .table(name)
            .cloned()
            .ok_or_else(|| SqlError::Catalog(format!("table '{name}' was not created from its DataStream")))?;
        Ok((def, fields))
    }

    /// Plans `sql`, one query, on `env` into a [`Table`] to turn into a DataStream
    /// (Flink's `sqlQuery`). Session options set earlier apply to `env`.
    pub fn sql_query(&mut self, env: &StreamExecutionEnvironment, sql: &str) -> Result<Table, SqlError> {
        let mut statements = crate::front::parse_script(sql)?;
        let statement = match (statements.pop(), statements.is_empty()) {
            (Some(statement), true) => statement,
            _ => {
                return Err(SqlError::Plan(format!(
                    "sql_query takes one query, not {} statements",
                    statements.len() + 1
                )))
            }
        };
        let Statement::Query(query) = &statement.statement else {
            return Err(SqlError::Plan(
                "sql_query takes a query (SELECT ...); run other statements with run_script".into(),
            ));
        };
        self.apply_options(env)?;
        let planned = SqlJob::plan_query_reading(env, &self.catalog, &self.connectors, &self.streams, query)?;
        Ok(Table::new(planned))
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
                let planned = SqlJob::plan_query_reading(env, &self.catalog, &self.connectors, &self.streams, query)?;
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
                // Planned into a scratch job with the same parallelism, where
                // tables of DataStreams read nothing.
                let scratch = StreamExecutionEnvironment::new();
                scratch.set_parallelism(env.parallelism());
                let streams = std::mem::take(&mut self.streams);
                self.streams = streams.placeholders();
                let mut inner = ScriptOutcome::default();
                let explained = self
                    .run_statement(&scratch, statement, &mut inner)
                    .and_then(|()| self.explain_lines(&scratch, statement));
                self.streams = streams;
                outcome.messages.extend(explained?);
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
            SqlJob::plan_insert_reading(env, &self.catalog, &self.connectors, &self.streams, insert)?;
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
            let planned = SqlJob::plan_query_reading(
                &StreamExecutionEnvironment::new(),
                &self.catalog,
                &self.connectors,
                &self.streams,
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
