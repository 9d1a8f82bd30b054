//! The translation of joins with a lookup table (`JOIN t FOR SYSTEM_TIME AS OF
//! b.proc_time AS s ON ...`, see [`crate::plan::lookup_tables`]) into a
//! [`LookupJoin`].

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::JoinType;
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Join, LogicalPlan, TableScan};

use crate::error::SqlError;
use crate::exec::eval::physical;
use crate::exec::lookup_join::{LookupJoin, LookupSpec, TableStep};
use crate::exec::output;
use crate::exec::translate::join_sides;
use crate::exec::{SqlStream, Translator};
use crate::plan::lookup_tables::looked_up;
use crate::plan::SchemaTable;

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// The catalog table a scan reads as a lookup table, if it does.
pub(crate) fn lookup_scan_table(scan: &TableScan) -> Option<String> {
    let provider = source_as_provider(&scan.source).ok()?;
    let any: &dyn std::any::Any = provider.as_ref();
    let table = any.downcast_ref::<SchemaTable>()?;
    looked_up(&table.name).map(str::to_string)
}

/// The scan of a lookup table that `plan` reads (through aliases, and the filters
/// and projections of its rows alone), with those nodes, top first.
fn lookup_side(plan: &LogicalPlan) -> Option<(&TableScan, String, Vec<&LogicalPlan>)> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => lookup_side(&a.input),
        LogicalPlan::Filter(f) => lookup_side(&f.input).map(|(scan, table, mut steps)| {
            steps.insert(0, plan);
            (scan, table, steps)
        }),
        LogicalPlan::Projection(p) => lookup_side(&p.input).map(|(scan, table, mut steps)| {
            steps.insert(0, plan);
            (scan, table, steps)
        }),
        LogicalPlan::TableScan(scan) => lookup_scan_table(scan).map(|t| (scan, t, Vec::new())),
        _ => None,
    }
}

/// The steps computing the nodes (top first) from the table's rows, bottom first.
fn table_steps(nodes: &[&LogicalPlan]) -> Result<Vec<TableStep>, SqlError> {
    nodes
        .iter()
        .rev()
        .map(|node| match node {
            LogicalPlan::Filter(f) => Ok(TableStep::Filter(physical(&f.predicate, f.input.schema())?)),
            LogicalPlan::Projection(p) => Ok(TableStep::Project(
                p.expr
                    .iter()
                    .map(|e| physical(e, p.input.schema()))
                    .collect::<Result<Vec<_>, _>>()?,
                Arc::new(p.schema.as_arrow().clone()),
            )),
            other => Err(SqlError::Plan(format!("lookup table step {}", other.display()))),
        })
        .collect()
}

impl Translator<'_> {
    /// A join with a lookup table on its right, if it is one.
    pub(crate) fn lookup_join(&self, join: &Join) -> Result<Option<SqlStream>, SqlError> {
        if lookup_side(&join.left).is_some() {
            return Err(unsupported(
                "a lookup table (FOR SYSTEM_TIME AS OF) on the left of a join (write it on the right)",
            ));
        }
        let Some((scan, table, nodes)) = lookup_side(&join.right) else {
            return Ok(None);
        };
        let left_outer = match join.join_type {
            JoinType::Inner => false,
            JoinType::Left => true,
            other => {
                return Err(unsupported(format!(
                    "a {other} lookup join (lookup joins are INNER or LEFT)"
                )))
            }
        };
        if join.on.is_empty() {
            return Err(unsupported(format!(
                "a lookup join with '{table}' without an equality condition on its columns"
            )));
        }
        if !scan.filters.is_empty() || scan.fetch.is_some() {
            return Err(unsupported("filters or limits pushed into a lookup table scan"));
        }
        let planned = self
            .planner
            .table(&table)
            .ok_or_else(|| SqlError::Plan(format!("unknown table '{table}'")))?;
        let all: Vec<usize> = (0..planned.schema.fields().len()).collect();
        let right_columns = scan
            .projection
            .as_deref()
            .unwrap_or(&all)
            .iter()
            .map(|&i| match planned.columns.get(i) {
                Some(Ok(physical)) => Ok(*physical),
                _ => Err(unsupported(format!(
                    "computed column '{}' of lookup table '{table}'",
                    planned.schema.fields().get(i).map(|f| f.name().as_str()).unwrap_or("?")
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let load = self.connectors.lookup(&planned.def)?.lookup_loader(&planned.def)?;
        let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
        let (left, right) = join_sides(&join.on, left_schema, right_schema)?;
        let pair_schema = left_schema.join(right_schema)?;
        let filter = match &join.filter {
            Some(f) => Some(physical(f, &pair_schema)?),
            None => None,
        };
        let input = self.stream(&join.left)?;
        let plain: SchemaRef = Arc::new(join.schema.as_arrow().clone());
        let schema = if input.is_updating() {
            output::with_kind(&plain)
        } else {
            plain
        };
        let spec = LookupSpec {
            table: table.clone(),
            left_keys: left.keys,
            right_keys: right.keys,
            left_width: left_schema.fields().len(),
            right_columns,
            steps: table_steps(&nodes)?,
            filter,
            left_outer,
            pair_schema: Arc::new(pair_schema.as_arrow().clone()),
            schema,
            load,
        };
        let name = format!(
            "Lookup join {table} [{}]{}",
            input.mode.name(),
            if left_outer { " LEFT" } else { "" }
        );
        let stream = input
            .stream
            .transform(&name, move |ctx| Ok(LookupJoin::new(ctx.meta.clone(), spec.clone())?));
        Ok(Some(SqlStream {
            stream,
            mode: input.mode,
            upsert_key: None,
        }))
    }
}
