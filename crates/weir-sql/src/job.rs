//! The entry points of SQL jobs: a query or an `INSERT INTO` planned over a catalog
//! and translated into a Weir dataflow.

use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::SchemaRef;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast;
use weir_datastream::{Collector, DataStream, DataStreamSink, StreamExecutionEnvironment};

use crate::batch::{RowBatch, RowKind};
use crate::bridge::StreamTables;
use crate::connector::{ChangelogMode, SqlConnectors, SqlSink};
use crate::error::SqlError;
use crate::exec::{eval, output, Translator};
use crate::front::{Catalog, Insert, TableDef};
use crate::plan::SqlPlanner;

/// A query translated into a stream.
pub struct PlannedQuery {
    /// The result rows.
    pub stream: DataStream<RowBatch>,
    /// Their columns (without the kind column).
    pub schema: SchemaRef,
    /// What the stream carries.
    pub mode: ChangelogMode,
    /// The columns identifying an updated row, when known.
    pub upsert_key: Option<Vec<usize>>,
    /// The optimized logical plan (for EXPLAIN).
    pub plan: LogicalPlan,
}

/// Plans SQL jobs.
pub struct SqlJob;

impl SqlJob {
    /// Plans a `SELECT` into a stream of its rows.
    pub fn plan_query(
        env: &StreamExecutionEnvironment,
        catalog: &Catalog,
        connectors: &SqlConnectors,
        query: &ast::Query,
    ) -> Result<PlannedQuery, SqlError> {
        Self::plan_query_reading(env, catalog, connectors, &StreamTables::new(), query)
    }

    /// [`plan_query`](Self::plan_query) for a query that may read tables made
    /// from DataStreams (`streams`).
    pub fn plan_query_reading(
        env: &StreamExecutionEnvironment,
        catalog: &Catalog,
        connectors: &SqlConnectors,
        streams: &StreamTables,
        query: &ast::Query,
    ) -> Result<PlannedQuery, SqlError> {
        let planner = SqlPlanner::new(catalog)?;
        let plan = planner.plan_query(query)?;
        let translated = Translator::new(env, &planner, connectors)
            .with_streams(streams)
            .with_state_ttl(catalog.options().state_ttl()?)
            .query(&plan)?;
        Ok(PlannedQuery {
            stream: translated.stream,
            schema: Arc::new(plan.schema().as_arrow().clone()),
            mode: translated.mode,
            upsert_key: translated.upsert_key,
            plan,
        })
    }

    /// Plans `INSERT INTO table query` into a sink of the table.
    pub fn plan_insert(
        env: &StreamExecutionEnvironment,
        catalog: &Catalog,
        connectors: &SqlConnectors,
        insert: &Insert,
    ) -> Result<DataStreamSink, SqlError> {
        Self::plan_insert_reading(env, catalog, connectors, &StreamTables::new(), insert)
    }

    /// [`plan_insert`](Self::plan_insert) for a query that may read tables made
    /// from DataStreams (`streams`).
    pub fn plan_insert_reading(
        env: &StreamExecutionEnvironment,
        catalog: &Catalog,
        connectors: &SqlConnectors,
        streams: &StreamTables,
        insert: &Insert,
    ) -> Result<DataStreamSink, SqlError> {
        let table = catalog
            .table(&insert.table)
            .ok_or_else(|| SqlError::Plan(format!("INSERT INTO unknown table '{}'", insert.table)))?;
        if !insert.columns.is_empty() {
            return Err(SqlError::Unsupported {
                feature: "INSERT with a column list (yet)".into(),
                position: None,
            });
        }
        let sink = connectors.sink(table)?;
        let query = Self::plan_query_reading(env, catalog, connectors, streams, &insert.query)?;
        let target = table.schema.clone();
        if query.schema.fields().len() != target.fields().len() {
            return Err(SqlError::Plan(format!(
                "INSERT INTO '{}': the query has {} columns, the table {}",
                table.name,
                query.schema.fields().len(),
                target.fields().len()
            )));
        }
        for (from, to) in query.schema.fields().iter().zip(target.fields()) {
            if !arrow::compute::can_cast_types(from.data_type(), to.data_type()) {
                return Err(SqlError::Plan(format!(
                    "INSERT INTO '{}': column '{}' is {}, cannot be written as {}",
                    table.name,
                    to.name(),
                    from.data_type(),
                    to.data_type()
                )));
            }
        }
        let mode = sink_mode(table, sink.as_ref(), &query)?;
        let schema = match mode {
            ChangelogMode::InsertOnly => target.clone(),
            _ => output::with_kind(&target),
        };
        let drop_before = mode == ChangelogMode::Upsert;
        let rows = query
            .stream
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                eval::emit("insert", out, || {
                    let mut batch = b.batch().clone();
                    if drop_before {
                        batch = upserts(&b)?;
                    }
                    let columns = batch
                        .columns()
                        .iter()
                        .zip(schema.fields())
                        .map(|(c, f)| cast(c, f.data_type()))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(RecordBatch::try_new(schema.clone(), columns)?)
                })
            });
        sink.create_sink(table, rows, mode)
    }
}

/// A retract changelog batch as upserts: a `-U` followed by its `+U` is dropped (the
/// `+U` overwrites the row by key); a `-U` whose `+U` a filter removed (a group that
/// stopped passing `HAVING`) becomes a `-D`. SQL operators emit a row's `-U` and
/// `+U` next to each other in one batch.
fn upserts(batch: &RowBatch) -> Result<RecordBatch, SqlError> {
    let rows = batch.num_rows();
    let mut keep = Vec::with_capacity(rows);
    let mut kinds = Vec::with_capacity(rows);
    for row in 0..rows {
        let kind = batch.kind(row);
        if kind == RowKind::UpdateBefore {
            let replaced = row + 1 < rows && batch.kind(row + 1) == RowKind::UpdateAfter;
            keep.push(!replaced);
            kinds.push(RowKind::Delete as i8);
        } else {
            keep.push(true);
            kinds.push(kind as i8);
        }
    }
    let mut columns = batch.batch().columns().to_vec();
    if let Some(last) = columns.last_mut() {
        *last = std::sync::Arc::new(arrow::array::Int8Array::from(kinds));
    }
    let relabeled = RecordBatch::try_new(batch.batch().schema(), columns)?;
    Ok(filter_record_batch(&relabeled, &BooleanArray::from(keep))?)
}

/// The changelog a sink gets: the query's own when the sink takes it; an updating
/// query's changes as upserts when the sink takes upserts by a primary key that is
/// the query's upsert key; otherwise a [`SqlError::ChangelogMismatch`].
fn sink_mode(table: &TableDef, sink: &dyn SqlSink, query: &PlannedQuery) -> Result<ChangelogMode, SqlError> {
    if sink.accepts(table, query.mode) {
        return Ok(query.mode);
    }
    let mismatch = |hint: String| SqlError::ChangelogMismatch {
        table: table.name.clone(),
        connector: sink.name().to_string(),
        mode: query.mode.name(),
        hint,
    };
    if query.mode == ChangelogMode::InsertOnly || !sink.accepts(table, ChangelogMode::Upsert) {
        return Err(mismatch(format!(
            "the sink takes only insert-only rows; the query updates its results ({})",
            "use a sink that takes updates, such as 'print', or a windowed aggregate"
        )));
    }
    if table.primary_key.is_empty() {
        return Err(mismatch(
            "the sink writes updates by key: declare PRIMARY KEY (...) NOT ENFORCED".into(),
        ));
    }
    let names: Vec<String> = query
        .upsert_key
        .iter()
        .flatten()
        .filter_map(|i| table.schema.fields().get(*i).map(|f| f.name().clone()))
        .collect();
    let mut key = names.clone();
    key.sort();
    let mut primary = table.primary_key.clone();
    primary.sort();
    if query.upsert_key.is_none() || key != primary {
        return Err(mismatch(format!(
            "the table's primary key ({}) is not the query's upsert key ({})",
            table.primary_key.join(", "),
            if query.upsert_key.is_none() {
                "unknown".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    Ok(ChangelogMode::Upsert)
}
