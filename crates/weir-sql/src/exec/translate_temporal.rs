//! The translation of event-time temporal joins (`JOIN v FOR SYSTEM_TIME AS OF
//! o.t AS s ON ...` with a versioned table or view, see
//! [`crate::plan::lookup_tables`]) into a [`TemporalJoin`].
//!
//! The join's right side reads the versioned marker table (through aliases, filters
//! and projections); the marker is replaced by the table or view it stands for, and
//! the `__weir_as_of(o.t, s.time)` conjunct of the condition gives both times. As in
//! Flink, the `AS OF` time must be an event-time column of the left input, the
//! join INNER or LEFT, and its equality condition must cover the versioned side's
//! key (the table's `PRIMARY KEY`, a view's upsert key).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::JoinType;
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, Join, LogicalPlan, LogicalPlanBuilder, SubqueryAlias, TableScan};
use weir_datastream::custom::{keyed_store, Timers};

use crate::connector::ChangelogMode;
use crate::error::SqlError;
use crate::exec::eval::physical;
use crate::exec::output;
use crate::exec::temporal_join::{TemporalJoin, TemporalSpec};
use crate::exec::translate::join_sides;
use crate::exec::{SqlStream, Translator};
use crate::plan::lookup_tables::{versioned, AS_OF_FUNCTION};
use crate::plan::SchemaTable;

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// The versioned table or view a scan reads, if it reads a versioned marker.
fn versioned_source(scan: &TableScan) -> Option<String> {
    let provider = source_as_provider(&scan.source).ok()?;
    let any: &dyn std::any::Any = provider.as_ref();
    let table = any.downcast_ref::<SchemaTable>()?;
    versioned(&table.name).map(str::to_string)
}

/// The versioned table or view `plan` reads through aliases, filters and
/// projections, if it does.
fn versioned_side(plan: &LogicalPlan) -> Option<String> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => versioned_side(&a.input),
        LogicalPlan::Filter(f) => versioned_side(&f.input),
        LogicalPlan::Projection(p) => versioned_side(&p.input),
        LogicalPlan::TableScan(scan) => versioned_source(scan),
        _ => None,
    }
}

/// The `AS OF` call's arguments (left time, right time) and the rest of the
/// condition.
fn split_as_of(filter: Option<&Expr>) -> (Option<(Expr, Expr)>, Option<Expr>) {
    let mut as_of = None;
    let mut rest = Vec::new();
    for conjunct in filter.map(split_conjunction).unwrap_or_default() {
        match conjunct {
            Expr::ScalarFunction(call) if call.name() == AS_OF_FUNCTION && call.args.len() == 2 => {
                as_of = Some((call.args[0].clone(), call.args[1].clone()));
            }
            other => rest.push(other.clone()),
        }
    }
    (as_of, conjunction(rest))
}

impl Translator<'_> {
    /// The plan of a temporal join's right side with the versioned marker scan
    /// replaced by the table or view it stands for (under the marker's name, so that
    /// the expressions above still resolve).
    fn versioned_plan(&self, plan: &LogicalPlan) -> Result<LogicalPlan, SqlError> {
        match plan {
            LogicalPlan::TableScan(scan) => {
                let source = versioned_source(scan).ok_or_else(|| SqlError::Plan("no versioned scan".into()))?;
                let real = match self.planner.table(&source) {
                    Some(planned) => LogicalPlanBuilder::scan(
                        source.as_str(),
                        provider_as_source(Arc::new(SchemaTable {
                            name: source.clone(),
                            schema: planned.schema.clone(),
                        })),
                        scan.projection.clone(),
                    )?
                    .build()?,
                    None => {
                        let width = scan.source.schema().fields().len();
                        let all: Vec<usize> = (0..width).collect();
                        self.planner
                            .view_columns(&source, scan.projection.as_deref().unwrap_or(&all))?
                            .ok_or_else(|| SqlError::Plan(format!("unknown table or view '{source}'")))?
                    }
                };
                Ok(LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
                    Arc::new(real),
                    scan.table_name.clone(),
                )?))
            }
            LogicalPlan::SubqueryAlias(_) | LogicalPlan::Filter(_) | LogicalPlan::Projection(_) => {
                let inputs = plan
                    .inputs()
                    .into_iter()
                    .map(|input| self.versioned_plan(input))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(plan.with_new_exprs(plan.expressions(), inputs)?)
            }
            other => Err(SqlError::Plan(format!("versioned side {}", other.display()))),
        }
    }

    /// The columns identifying the versions of `source` (named as the join reads
    /// them): an updating view's upsert key, or the table's `PRIMARY KEY`.
    fn version_key(&self, source: &str, plan: &LogicalPlan, stream: &SqlStream) -> Option<Vec<String>> {
        if let Some(key) = &stream.upsert_key {
            let fields = plan.schema().fields();
            return key.iter().map(|&k| fields.get(k).map(|f| f.name().clone())).collect();
        }
        let planned = self.planner.table(source)?;
        Some(planned.def.primary_key.clone()).filter(|key| !key.is_empty())
    }

    /// A temporal join with a versioned table or view on its right, if it is one.
    pub(crate) fn temporal_join(&self, join: &Join) -> Result<Option<SqlStream>, SqlError> {
        if let Some(source) = versioned_side(&join.left) {
            return Err(unsupported(format!(
                "'{source}' FOR SYSTEM_TIME AS OF on the left of a join (write it on the right)"
            )));
        }
        let Some(source) = versioned_side(&join.right) else {
            return Ok(None);
        };
        let left_outer = match join.join_type {
            JoinType::Inner => false,
            JoinType::Left => true,
            other => {
                return Err(unsupported(format!(
                    "a {other} temporal join with '{source}' (temporal joins are INNER or LEFT)"
                )))
            }
        };
        let (as_of, filter) = split_as_of(join.filter.as_ref());
        let Some((left_time, right_time)) = as_of else {
            return Err(SqlError::Plan(format!(
                "the temporal join with '{source}' lost its AS OF time in planning"
            )));
        };
        let event_time = matches!(&left_time, Expr::Column(c) if self.is_event_time(&join.left, c));
        if !event_time {
            return Err(unsupported(format!(
                "FOR SYSTEM_TIME AS OF {left_time} with '{source}': the AS OF time of a temporal join with a \
                 versioned table or view must be an event-time column of the left input (a processing-time \
                 temporal join needs a lookup table, as in Flink)"
            )));
        }
        if join.on.is_empty() {
            return Err(unsupported(format!(
                "a temporal join with '{source}' without an equality condition on its key"
            )));
        }
        let right_plan = self.versioned_plan(&join.right)?;
        let right = self.stream(&right_plan)?;
        let Some(key) = self.version_key(&source, &right_plan, &right) else {
            return Err(SqlError::Plan(format!(
                "'{source}' has no key for its versions: a versioned table needs a PRIMARY KEY (...) NOT ENFORCED \
                 (and a WATERMARK); a versioned view keeps one row per key (ROW_NUMBER() OVER (PARTITION BY key \
                 ORDER BY time DESC) = 1), and the join must select that key"
            )));
        };
        let right_schema = right_plan.schema();
        let equated: Vec<&str> = join
            .on
            .iter()
            .filter_map(|(_, r)| match r {
                Expr::Column(c) => Some(c.name.as_str()),
                _ => None,
            })
            .collect();
        if let Some(missing) = key.iter().find(|k| !equated.contains(&k.as_str())) {
            return Err(SqlError::Plan(format!(
                "the temporal join with '{source}' must equate its key column '{missing}' with the left side \
                 (the key of a versioned table or view is part of the join condition, as in Flink)"
            )));
        }
        let left_schema = join.left.schema();
        let (left_side, right_side) = join_sides(&join.on, left_schema, right_schema)?;
        let pair_schema = left_schema.join(right_schema)?;
        let left = self.stream(&join.left)?;
        let plain: SchemaRef = Arc::new(join.schema.as_arrow().clone());
        let mode = ChangelogMode::retract_if(left.is_updating());
        let spec = TemporalSpec {
            left: left_side,
            right: right_side,
            left_outer,
            filter: filter.map(|f| physical(&f, &pair_schema)).transpose()?,
            left_time: physical(&left_time, left_schema)?,
            right_time: physical(&right_time, right_schema)?,
            schema: if left.is_updating() {
                output::with_kind(&plain)
            } else {
                plain
            },
            pair_schema: Arc::new(arrow::datatypes::Schema::new(
                pair_schema
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true))
                    .collect::<Vec<_>>(),
            )),
        };
        let name = format!(
            "Temporal join {source} [{}]{}",
            mode.name(),
            if left_outer { " LEFT" } else { "" }
        );
        let connected = left
            .stream
            .partition_with(spec.left.keys.partitioning())
            .connect(&right.stream.partition_with(spec.right.keys.partitioning()));
        let stream = connected.transform(&name, move |ctx| {
            let mut store = keyed_store::<Vec<u8>>(ctx)?;
            let mut timers = Timers::new("temporal join");
            timers.restore(&mut store)?;
            Ok(TemporalJoin::new(ctx.meta.clone(), spec.clone(), store, timers)?)
        });
        Ok(Some(SqlStream {
            stream,
            mode,
            upsert_key: None,
        }))
    }
}
