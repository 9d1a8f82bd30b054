//! The translation of interval and window joins: a join (inner or outer) of insert-only
//! inputs whose condition bounds the left side's event time relative to the right
//! side's (`a.t BETWEEN b.t - INTERVAL '5' SECOND AND b.t + INTERVAL '5' SECOND`,
//! `a.t >= b.t AND a.t < b.t + INTERVAL '1' MINUTE`, ...) becomes an
//! [`IntervalJoin`](crate::exec::interval_join::IntervalJoin).
//!
//! The bounds are read from the join filter after DataFusion planning: among its
//! conjuncts, comparisons (`<`, `<=`, `>`, `>=`, `BETWEEN`) of one side's time
//! column plus or minus an interval with the other side's give a lower and an upper
//! bound of `left.t - right.t` (a strict bound is taken as inclusive: the whole
//! condition still decides what matches; the bounds only say how long rows are
//! kept). Both columns must be event-time columns: a table's `WATERMARK FOR`
//! column, a window TVF's time column or `window_time`, or a timestamp column of
//! `VALUES` (bounded rows whose watermark comes at their end), through projections,
//! filters, aliases and `UNION ALL`. Other joins with such conditions run as
//! regular joins (as in Flink, where a time condition on columns that are not time
//! attributes is an ordinary join condition).
//!
//! A join equating both sides' `window_start` and `window_end` (of window TVFs or
//! window aggregates, through projections, filters and aliases) over insert-only
//! inputs is a window join: the same operator with `window_end - 1 ms` as both
//! times, bounds `[0, 0]` and late rows dropped.

use std::sync::Arc;

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Join, LogicalPlan, Operator};
use weir_datastream::custom::{keyed_store, Timers};

use crate::error::SqlError;
use crate::exec::eval::physical;
use crate::exec::interval_join::{IntervalJoin, IntervalSpec};
use crate::exec::join::{JoinKind, JoinSpec};
use crate::exec::translate::is_window_column;
use crate::exec::translate_over::interval_millis;
use crate::exec::{SqlStream, Translator};

/// The time columns of an interval join and the bounds of `left - right`.
pub(crate) struct TimeBounds {
    left: Expr,
    right: Expr,
    lower: i64,
    upper: i64,
    /// A window join: rows the watermark passed are dropped.
    window: bool,
}

/// `expr` as a column plus a constant number of milliseconds.
fn time_term(expr: &Expr) -> Option<(Column, i64)> {
    match expr {
        Expr::Column(c) => Some((c.clone(), 0)),
        Expr::Cast(c) => time_term(&c.expr),
        Expr::TryCast(c) => time_term(&c.expr),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let sign = match op {
                Operator::Plus => 1,
                Operator::Minus => -1,
                _ => return None,
            };
            match (left.as_ref(), right.as_ref()) {
                (Expr::Literal(v, _), other) if sign == 1 => {
                    let (c, offset) = time_term(other)?;
                    Some((c, offset.checked_add(interval_millis(v)?)?))
                }
                (other, Expr::Literal(v, _)) => {
                    let (c, offset) = time_term(other)?;
                    Some((c, offset.checked_add(interval_millis(v)?.checked_mul(sign)?)?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `a op b` as `b op' a`.
fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        other => other,
    }
}

impl Translator<'_> {
    /// The time bounds of `join`'s condition, when it is an interval join.
    pub(crate) fn interval_bounds(&self, join: &Join) -> Result<Option<TimeBounds>, SqlError> {
        use datafusion::common::JoinType;
        if !matches!(
            join.join_type,
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full
        ) {
            return Ok(None);
        }
        let Some(filter) = &join.filter else {
            return Ok(None);
        };
        let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
        let mut columns: Option<(Column, Column)> = None;
        let (mut lower, mut upper): (Option<i64>, Option<i64>) = (None, None);
        for conjunct in split_conjunction(filter) {
            let comparisons: Vec<(&Expr, Operator, &Expr)> = match conjunct {
                Expr::BinaryExpr(b)
                    if matches!(b.op, Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq) =>
                {
                    vec![(&b.left, b.op, &b.right)]
                }
                Expr::Between(b) if !b.negated => {
                    vec![(&b.expr, Operator::GtEq, &b.low), (&b.expr, Operator::LtEq, &b.high)]
                }
                _ => continue,
            };
            for (a, op, b) in comparisons {
                let (Some((ca, oa)), Some((cb, ob))) = (time_term(a), time_term(b)) else {
                    continue;
                };
                // As `left - right op bound`.
                let (l, r, op, bound) = if left_schema.has_column(&ca) && right_schema.has_column(&cb) {
                    (ca, cb, op, ob.checked_sub(oa))
                } else if right_schema.has_column(&ca) && left_schema.has_column(&cb) {
                    (cb, ca, flip(op), oa.checked_sub(ob))
                } else {
                    continue;
                };
                let Some(bound) = bound else { continue };
                if *columns.get_or_insert_with(|| (l.clone(), r.clone())) != (l, r) {
                    continue;
                }
                match op {
                    Operator::Gt | Operator::GtEq => lower = Some(lower.map_or(bound, |b| b.max(bound))),
                    _ => upper = Some(upper.map_or(bound, |b| b.min(bound))),
                }
            }
        }
        let (Some((left, right)), Some(lower), Some(upper)) = (columns, lower, upper) else {
            return Ok(None);
        };
        for (column, schema) in [(&left, left_schema), (&right, right_schema)] {
            let time_type = Expr::Column(column.clone()).get_type(schema.as_ref())?;
            if !matches!(time_type, arrow::datatypes::DataType::Timestamp(_, _)) {
                return Ok(None);
            }
        }
        if !self.is_event_time(&join.left, &left) || !self.is_event_time(&join.right, &right) {
            return Ok(None);
        }
        Ok(Some(TimeBounds {
            left: Expr::Column(left),
            right: Expr::Column(right),
            lower,
            upper,
            window: false,
        }))
    }

    /// A window join's times (`window_end` less a millisecond on both sides, to
    /// match exactly), when `join` equates both sides' `window_start` and
    /// `window_end` of window TVFs or window aggregates.
    pub(crate) fn window_join_times(&self, join: &Join) -> Option<TimeBounds> {
        let equated = |name: &str| {
            join.on.iter().find_map(|(l, r)| match (l, r) {
                (Expr::Column(l), Expr::Column(r))
                    if is_window_column(&join.left, l, name) && is_window_column(&join.right, r, name) =>
                {
                    Some((l.clone(), r.clone()))
                }
                _ => None,
            })
        };
        equated("window_start")?;
        let (left, right) = equated("window_end")?;
        let last_moment =
            |c: Column| Expr::Column(c) - Expr::Literal(ScalarValue::new_interval_mdn(0, 0, 1_000_000), None);
        Some(TimeBounds {
            left: last_moment(left),
            right: last_moment(right),
            lower: 0,
            upper: 0,
            window: true,
        })
    }

    /// Whether `column` of `plan`'s rows is an event-time column (see the module
    /// documentation).
    pub(crate) fn is_event_time(&self, plan: &LogicalPlan, column: &Column) -> bool {
        self.planner.is_event_time(plan, column)
    }

    /// The interval join computing `spec` (its inputs `inputs`, insert-only) with
    /// `bounds`.
    pub(crate) fn interval_join(
        &self,
        join: &Join,
        spec: JoinSpec,
        inputs: (SqlStream, SqlStream),
        bounds: TimeBounds,
    ) -> Result<SqlStream, SqlError> {
        let (left, right) = inputs;
        let kind = spec.kind;
        let spec = IntervalSpec {
            left_time: physical(&bounds.left, join.left.schema())?,
            right_time: physical(&bounds.right, join.right.schema())?,
            bounds: (bounds.lower, bounds.upper),
            drop_late: bounds.window,
            kind,
            filter: spec.filter,
            schema: Arc::new(join.schema.as_arrow().clone()),
            pair_schema: spec.pair_schema,
            left: spec.left,
            right: spec.right,
        };
        let what = if bounds.window { "window join" } else { "interval join" };
        let name = match kind {
            JoinKind::Outer {
                left: true,
                right: false,
            } => format!("Left outer {what} [insert-only]"),
            JoinKind::Outer {
                left: false,
                right: true,
            } => format!("Right outer {what} [insert-only]"),
            JoinKind::Outer { .. } => format!("Full outer {what} [insert-only]"),
            _ if bounds.window => "Window join [insert-only]".to_string(),
            _ => "Interval join [insert-only]".to_string(),
        };
        let connected = left
            .stream
            .partition_with(spec.left.keys.partitioning())
            .connect(&right.stream.partition_with(spec.right.keys.partitioning()));
        let stream = connected.transform(&name, move |ctx| {
            let mut store = keyed_store::<Vec<u8>>(ctx)?;
            let mut timers = Timers::new("interval join");
            timers.restore(&mut store)?;
            Ok(IntervalJoin::new(ctx.meta.clone(), spec.clone(), store, timers)?)
        });
        Ok(SqlStream::insert_only(stream))
    }
}
