//! The entry points of SQL jobs: a query or an `INSERT INTO` planned over a catalog
//! and translated into a Weir dataflow.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast;
use weir_datastream::{Collector, DataStream, DataStreamSink, StreamExecutionEnvironment};

use crate::batch::RowBatch;
use crate::connector::{ChangelogMode, SqlConnectors};
use crate::error::SqlError;
use crate::exec::{eval, Translator};
use crate::front::{Catalog, Insert};
use crate::plan::SqlPlanner;

/// A query translated into a stream.
pub struct PlannedQuery {
    /// The result rows.
    pub stream: DataStream<RowBatch>,
    /// Their columns (without the kind column).
    pub schema: SchemaRef,
    /// What the stream carries.
    pub mode: ChangelogMode,
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
        let planner = SqlPlanner::new(catalog)?;
        let plan = planner.plan_query(query)?;
        let stream = Translator {
            env,
            planner: &planner,
            connectors,
        }
        .stream(&plan)?;
        Ok(PlannedQuery {
            stream,
            schema: Arc::new(plan.schema().as_arrow().clone()),
            mode: ChangelogMode::InsertOnly,
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
        let query = Self::plan_query(env, catalog, connectors, &insert.query)?;
        if !sink.accepts(table, query.mode) {
            return Err(SqlError::ChangelogMismatch {
                table: table.name.clone(),
                connector: sink.name().to_string(),
                mode: query.mode.name(),
                hint: "the sink takes only insert-only results".into(),
            });
        }
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
        let schema = target.clone();
        let rows = query
            .stream
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                eval::emit("insert", out, || {
                    let columns = b
                        .batch()
                        .columns()
                        .iter()
                        .zip(schema.fields())
                        .map(|(c, f)| cast(c, f.data_type()))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(RecordBatch::try_new(schema.clone(), columns)?)
                })
            });
        sink.create_sink(table, rows, query.mode)
    }
}
