//! The `postgres` SQL sink (also `jdbc` with a `jdbc:postgresql://` url): a
//! table's rows written into a PostgreSQL table through
//! [`weir_connector_postgres`]'s upsert sink, with that connector's option
//! handling ([`builder_from_options`]).
//!
//! * A table with a `PRIMARY KEY` takes insert-only and upsert changelogs: `+I`
//!   and `+U` rows are upserted (`INSERT ... ON CONFLICT (key) DO UPDATE`), `-D`
//!   rows deleted by key. Idempotent: a replay after a restore rewrites the same
//!   rows, so a deterministic job's table ends exactly as without failures.
//! * A table without a primary key takes insert-only changelogs: plain inserts
//!   (at-least-once; a replay inserts again).
//! * `'sink.semantic' = 'exactly-once'` (insert-only queries only) writes through
//!   the connector's two-phase-commit sink instead.
//!
//! The written columns are the table's physical columns, by name; the key is its
//! primary key (the PostgreSQL table needs a unique index on it).

use crate::options::{bad, option_error};
use crate::values::{Converter, SUPPORTED};
use std::sync::Arc;
use weir_connector_api::options::Options;
use weir_connector_postgres::factory::{builder_from_options, semantic_from_options, Semantic};
use weir_connector_postgres::{RowChange, RowMapper};
use weir_datastream::{DataStream, DataStreamSink};
use weir_sql::batch::{RowBatch, RowKind};
use weir_sql::connector::{ChangelogMode, SqlSink};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

/// Options the SQL table itself decides (columns, key), refused in `WITH`.
const FROM_DDL: [(&str, &str); 2] = [
    ("sink.columns", "the written columns are the table's columns"),
    ("sink.key-columns", "the key is the table's PRIMARY KEY"),
];

/// The PostgreSQL SQL sink, registered as `postgres` and as `jdbc`.
pub struct PostgresSqlSink {
    name: &'static str,
}

impl PostgresSqlSink {
    /// The sink under its own name, `postgres`.
    pub fn postgres() -> Self {
        PostgresSqlSink { name: "postgres" }
    }

    /// The sink under Flink's JDBC connector name, `jdbc` (PostgreSQL urls only).
    pub fn jdbc() -> Self {
        PostgresSqlSink { name: "jdbc" }
    }
}

/// The table's `WITH` options as the connector's [`Options`]; a `jdbc` url
/// (`jdbc:postgresql://...`) loses its `jdbc:` prefix.
fn options(table: &TableDef, connector: &'static str) -> Result<Options, SqlError> {
    if let Some((key, why)) = FROM_DDL.iter().find(|(key, _)| table.options.contains_key(*key)) {
        return Err(bad(
            table,
            key,
            format!("not an option of the SQL {connector} connector: {why}"),
        ));
    }
    let mut options = Options::from_pairs(format!("postgres sink '{}'", table.name), table.options.clone());
    if let (Some(url), "jdbc") = (table.options.get("url"), connector) {
        match url.strip_prefix("jdbc:") {
            Some(rest) if rest.starts_with("postgresql://") => options = options.with("url", rest),
            _ => {
                return Err(bad(
                    table,
                    "url",
                    format!("the jdbc connector writes PostgreSQL only: expected 'jdbc:postgresql://host:port/database', got '{url}'"),
                ))
            }
        }
    }
    options.mark_read("connector");
    Ok(options)
}

/// The converters of the table's physical columns; an unsupported type is an
/// error naming the column.
fn converters(table: &TableDef) -> Result<Vec<Converter>, SqlError> {
    table
        .schema
        .fields()
        .iter()
        .map(|field| {
            Converter::of(field.data_type()).ok_or_else(|| {
                SqlError::Plan(format!(
                    "table '{}': column '{}' of type {} cannot be written to PostgreSQL (supported: {SUPPORTED})",
                    table.name,
                    field.name(),
                    field.data_type()
                ))
            })
        })
        .collect()
}

/// Appends the row changes of `batch` (the table's columns, then the kind column
/// unless insert-only) to `out`.
fn changes(batch: &RowBatch, converters: &[Converter], out: &mut Vec<RowChange>) -> Result<(), String> {
    let columns = batch.batch().columns();
    if columns.len() < converters.len() {
        return Err(format!(
            "a batch of {} columns for a table of {}",
            columns.len(),
            converters.len()
        ));
    }
    let mut values: Vec<std::vec::IntoIter<weir_connector_postgres::SqlValue>> = converters
        .iter()
        .zip(columns)
        .map(|(converter, column)| converter.values(column).map(Vec::into_iter))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot convert a batch for PostgreSQL: {e}"))?;
    out.reserve(batch.num_rows());
    for row in 0..batch.num_rows() {
        let row_values = values.iter_mut().filter_map(Iterator::next).collect();
        match batch.kind(row) {
            RowKind::Insert | RowKind::UpdateAfter => out.push(RowChange::Upsert(row_values)),
            RowKind::Delete => out.push(RowChange::Delete(row_values)),
            // An upsert changelog has none; the new row's +U overwrites by key.
            RowKind::UpdateBefore => {}
        }
    }
    Ok(())
}

impl SqlSink for PostgresSqlSink {
    fn name(&self) -> &'static str {
        self.name
    }

    /// Insert-only, and upsert (the planner then requires the primary key to be
    /// the query's upsert key, and reports a missing one); never retract.
    fn accepts(&self, _: &TableDef, mode: ChangelogMode) -> bool {
        matches!(mode, ChangelogMode::InsertOnly | ChangelogMode::Upsert)
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        let connector = self.name;
        let options = options(table, connector)?;
        let converters = converters(table)?;
        if mode != ChangelogMode::InsertOnly && table.primary_key.is_empty() {
            return Err(SqlError::ChangelogMismatch {
                table: table.name.clone(),
                connector: connector.to_string(),
                mode: mode.name(),
                hint: "the sink writes updates by key: declare PRIMARY KEY (...) NOT ENFORCED".into(),
            });
        }
        if mode == ChangelogMode::Retract {
            return Err(SqlError::ChangelogMismatch {
                table: table.name.clone(),
                connector: connector.to_string(),
                mode: mode.name(),
                hint: "the sink takes insert-only and upsert changelogs".into(),
            });
        }
        let mapper = {
            let converters = Arc::new(converters);
            RowMapper::changes(move |batch: &RowBatch, out| Ok(changes(batch, &converters, out)?))
        };
        let columns: Vec<String> = table.schema.fields().iter().map(|f| f.name().clone()).collect();
        let builder = builder_from_options(&options, mapper)
            .map_err(|e| option_error(table, connector, e))?
            .columns(columns)
            .key_columns(table.primary_key.clone())
            .insert_without_key(true);
        let semantic = semantic_from_options(&options).map_err(|e| option_error(table, connector, e))?;
        options
            .check_all_read()
            .map_err(|e| option_error(table, connector, e))?;
        let plan_error =
            |e: weir_connector_postgres::PostgresError| SqlError::Plan(format!("table '{}': {e}", table.name));
        let sink: Arc<dyn weir_connector_api::sink::Sink<RowBatch>> = match semantic {
            Semantic::Upsert => Arc::new(builder.upsert().map_err(plan_error)?),
            Semantic::ExactlyOnce if mode == ChangelogMode::InsertOnly => {
                Arc::new(builder.exactly_once().map_err(plan_error)?)
            }
            Semantic::ExactlyOnce => {
                return Err(bad(
                    table,
                    "sink.semantic",
                    format!(
                    "'exactly-once' takes insert-only queries; this query's {} changelog is written idempotently by \
                         the default 'upsert' semantic",
                    mode.name()
                ),
                ))
            }
        };
        Ok(input
            .add_sink(sink)
            .name(&format!("{connector} sink '{}'", table.name))
            .uid(&format!("sink/{}", table.name)))
    }
}
