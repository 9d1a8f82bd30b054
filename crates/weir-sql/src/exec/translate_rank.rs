//! The translation of `ROW_NUMBER() OVER (...)` filtered by its rank into a Top-N
//! ([`crate::exec::top_n`]): a filter `rn <= N`, `rn < N` or `rn = 1` above a
//! window node (through projections that pass `rn` along) sets the window's limit;
//! the window node then becomes a [`TopN`]. A `ROW_NUMBER()` without such a
//! filter is unsupported; other OVER windows are OVER aggregates
//! (`translate_over.rs`).

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Filter, LogicalPlan, Operator, Window};
use weir_datastream::custom::keyed_store;

use crate::connector::ChangelogMode;
use crate::error::SqlError;
use crate::exec::keys::GroupKeys;
use crate::exec::output;
use crate::exec::top_n::{SortKey, TopN, TopNSpec};
use crate::exec::{SqlStream, Translator};

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// An integer literal's value.
fn literal(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Literal(value, _) => match value {
            ScalarValue::Int8(Some(v)) => Some(*v as i64),
            ScalarValue::Int16(Some(v)) => Some(*v as i64),
            ScalarValue::Int32(Some(v)) => Some(*v as i64),
            ScalarValue::Int64(Some(v)) => Some(*v),
            ScalarValue::UInt8(Some(v)) => Some(*v as i64),
            ScalarValue::UInt16(Some(v)) => Some(*v as i64),
            ScalarValue::UInt32(Some(v)) => Some(*v as i64),
            ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
            _ => None,
        },
        Expr::Cast(c) => literal(&c.expr),
        Expr::TryCast(c) => literal(&c.expr),
        _ => None,
    }
}

/// The column an expression is (through casts).
fn column(expr: &Expr) -> Option<&Column> {
    match expr {
        Expr::Column(c) => Some(c),
        Expr::Cast(c) => column(&c.expr),
        Expr::TryCast(c) => column(&c.expr),
        _ => None,
    }
}

/// `rn <= N`, `rn < N`, `rn = 1` (either way round) as (column, N).
fn rank_bound(expr: &Expr) -> Option<(&Column, i64)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return None;
    };
    let (col, op, value) = match (column(left), literal(right), column(right), literal(left)) {
        (Some(c), Some(v), _, _) => (c, *op, v),
        (_, _, Some(c), Some(v)) => (c, op.swap()?, v),
        _ => return None,
    };
    let limit = match op {
        Operator::LtEq => value,
        Operator::Lt => value - 1,
        Operator::Eq if value == 1 => 1,
        _ => return None,
    };
    Some((col, limit))
}

/// Whether `expr` is `ROW_NUMBER() OVER (...)`.
fn row_number(expr: &Expr) -> Option<&datafusion::logical_expr::expr::WindowFunction> {
    match expr {
        Expr::WindowFunction(w) if w.fun.name().eq_ignore_ascii_case("row_number") => Some(w),
        Expr::Alias(a) => row_number(&a.expr),
        _ => None,
    }
}

/// The name of the window node's output column that `name` is, following
/// projections, aliases and filters down from `plan`.
fn window_column(plan: &LogicalPlan, name: &str) -> Option<String> {
    match plan {
        LogicalPlan::Projection(p) => {
            let index = p.schema.fields().iter().position(|f| f.name() == name)?;
            let Expr::Column(c) = p.expr.get(index)?.clone().unalias() else {
                return None;
            };
            window_column(&p.input, &c.name)
        }
        LogicalPlan::SubqueryAlias(a) => window_column(&a.input, name),
        LogicalPlan::Filter(f) => window_column(&f.input, name),
        LogicalPlan::Window(w) => {
            let index = w.schema.fields().iter().position(|f| f.name() == name)?;
            let first = w.input.schema().fields().len();
            (index >= first && row_number(w.window_expr.get(index - first)?).is_some()).then(|| name.to_string())
        }
        _ => None,
    }
}

impl Translator<'_> {
    /// Records the rank limits `filter` puts on `ROW_NUMBER()` columns below it.
    pub(crate) fn note_rank_limits(&self, filter: &Filter) -> Result<(), SqlError> {
        for conjunct in split_conjunction(&filter.predicate) {
            if let Some((col, limit)) = rank_bound(conjunct) {
                if let Some(name) = window_column(&filter.input, &col.name) {
                    if limit < 1 {
                        return Err(SqlError::Plan(format!(
                            "the rank filter on '{}' keeps no rows",
                            col.name
                        )));
                    }
                    let mut limits = self.limits.borrow_mut();
                    let entry = limits.entry(name).or_insert(limit);
                    *entry = (*entry).min(limit);
                }
            }
        }
        Ok(())
    }

    /// A window node: a Top-N when its `ROW_NUMBER()` has a rank limit.
    pub(crate) fn window_node(&self, window: &Window) -> Result<SqlStream, SqlError> {
        let input_schema = window.input.schema();
        if !window.window_expr.iter().any(|e| row_number(e).is_some()) {
            return self.over_node(window);
        }
        let [expr] = window.window_expr.as_slice() else {
            return Err(unsupported(
                "ROW_NUMBER() next to other OVER expressions in one SELECT in streaming SQL",
            ));
        };
        let Some(call) = row_number(expr) else {
            return Err(unsupported(format!(
                "OVER window {} in streaming SQL",
                expr.schema_name()
            )));
        };
        let name = window.schema.field(input_schema.fields().len()).name().clone();
        let Some(limit) = self.limits.borrow().get(&name).copied() else {
            return Err(unsupported(
                "ROW_NUMBER() without a filter on its rank in streaming SQL (write WHERE rn <= N for Top-N, rn = 1 to deduplicate)",
            ));
        };
        let limit = usize::try_from(limit).map_err(|_| SqlError::Plan(format!("rank limit {limit}")))?;
        let params = &call.params;
        let partition = GroupKeys::plan(&params.partition_by, input_schema)?;
        let order = SortKey::plan(&params.order_by, input_schema)?;
        let input = self.stream(&window.input)?;
        let spec = TopNSpec {
            partition: partition.clone(),
            order,
            limit,
            skip: 0,
            with_rank: true,
            retracting: input.is_updating(),
            types: input_schema.fields().iter().map(|f| f.data_type().clone()).collect(),
            schema: output::with_kind(window.schema.as_arrow()),
        };
        let ttl = self.state_ttl.clone();
        let stream =
            input.stream.partition_with(partition.partitioning()).transform(
                if limit == 1 {
                    "Deduplicate [retract]"
                } else {
                    "Top-N [retract]"
                },
                move |ctx| {
                    Ok(TopN::new(ctx.meta.clone(), spec.clone(), keyed_store::<Vec<u8>>(ctx)?)?.with_state_ttl(&ttl))
                },
            );
        // A deduplication keeps one row per partition: its partition columns
        // identify the row (a versioned view's key).
        let upsert_key = (limit == 1)
            .then(|| {
                params
                    .partition_by
                    .iter()
                    .map(|e| match e {
                        Expr::Column(c) => input_schema.index_of_column(c).ok(),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .flatten()
            .filter(|key| !key.is_empty());
        Ok(SqlStream {
            stream,
            mode: ChangelogMode::Retract,
            upsert_key,
        })
    }
}
