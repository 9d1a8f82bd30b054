//! The translation of OVER aggregates (`AVG(x) OVER (PARTITION BY k ORDER BY t
//! ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)`) into an
//! [`OverAggregate`](crate::exec::over_aggregate::OverAggregate).
//!
//! As in Flink, the window must be ordered by an event-time (timestamp) column,
//! ascending, and end at the current row; all OVER aggregates of one SELECT share
//! one window. Weir also accepts further `ORDER BY` keys after the time, which order
//! the rows of the same time (Flink takes them in arrival order). `LAG(x [, n [,
//! default]])` is computed next to the aggregates: the value of `x` `n` rows back
//! in the window's order (rows of one time in a RANGE frame are peers and share
//! it, as in Flink).

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction, WindowFunctionParams};
use datafusion::logical_expr::{
    Expr, ExprSchemable, Window, WindowFrame, WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
};
use weir_datastream::custom::{keyed_store, Timers};

use crate::error::SqlError;
use crate::exec::accumulator::AggCall;
use crate::exec::eval::physical;
use crate::exec::keys::GroupKeys;
use crate::exec::over_aggregate::{Frame, OverAggregate, OverSpec};
use crate::exec::top_n::SortKey;
use crate::exec::{SqlStream, Translator};

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// The window function call of an OVER expression (through aliases).
fn window_call(expr: &Expr) -> Option<&WindowFunction> {
    match expr {
        Expr::WindowFunction(w) => Some(w),
        Expr::Alias(a) => window_call(&a.expr),
        _ => None,
    }
}

/// An interval literal of days, hours, minutes or seconds as milliseconds.
pub(crate) fn interval_millis(value: &ScalarValue) -> Option<i64> {
    const DAY: i64 = 86_400_000;
    match value {
        ScalarValue::IntervalDayTime(Some(v)) => Some(v.days as i64 * DAY + v.milliseconds as i64),
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
            Some(v.days as i64 * DAY + v.nanoseconds.div_euclid(1_000_000))
        }
        _ => None,
    }
}

/// A frame's start as milliseconds before the current row's time (RANGE).
fn range_millis(value: &ScalarValue) -> Result<i64, SqlError> {
    interval_millis(value).ok_or_else(|| {
        unsupported(format!(
            "a RANGE frame of {value} (give an INTERVAL of days, hours, minutes or seconds)"
        ))
    })
}

/// The frame of a window: it must end at the current row.
fn frame(frame: &WindowFrame) -> Result<Frame, SqlError> {
    if frame.end_bound != WindowFrameBound::CurrentRow {
        return Err(unsupported(format!(
            "an OVER window ending at {} (streaming OVER windows end at CURRENT ROW)",
            frame.end_bound
        )));
    }
    match (&frame.units, &frame.start_bound) {
        (WindowFrameUnits::Rows, WindowFrameBound::CurrentRow) => Ok(Frame::Rows(Some(0))),
        (WindowFrameUnits::Range, WindowFrameBound::CurrentRow) => Ok(Frame::Range(Some(0))),
        (WindowFrameUnits::Rows, WindowFrameBound::Preceding(v)) if v.is_null() => Ok(Frame::Rows(None)),
        (WindowFrameUnits::Range, WindowFrameBound::Preceding(v)) if v.is_null() => Ok(Frame::Range(None)),
        (WindowFrameUnits::Rows, WindowFrameBound::Preceding(ScalarValue::UInt64(Some(n)))) => {
            Ok(Frame::Rows(Some(*n)))
        }
        (WindowFrameUnits::Range, WindowFrameBound::Preceding(v)) => Ok(Frame::Range(Some(range_millis(v)?))),
        (units, start) => Err(unsupported(format!("an OVER window frame {units} starting at {start}"))),
    }
}

impl Translator<'_> {
    /// A window node of OVER aggregates.
    pub(crate) fn over_node(&self, window: &Window) -> Result<SqlStream, SqlError> {
        let input_schema = window.input.schema();
        let mut params: Option<&WindowFunctionParams> = None;
        let mut aggs = Vec::new();
        for expr in &window.window_expr {
            let Some(call) = window_call(expr) else {
                return Err(unsupported(format!("OVER expression {}", expr.schema_name())));
            };
            let p = &call.params;
            let udaf = match &call.fun {
                WindowFunctionDefinition::AggregateUDF(udaf) => Some(udaf),
                WindowFunctionDefinition::WindowUDF(f) if f.name().eq_ignore_ascii_case("lag") => None,
                other => {
                    return Err(unsupported(format!(
                        "window function {} in streaming SQL (aggregates, LAG and ROW_NUMBER() for Top-N work)",
                        other.name()
                    )))
                }
            };
            match params {
                None => params = Some(p),
                Some(first)
                    if first.partition_by != p.partition_by
                        || first.order_by != p.order_by
                        || first.window_frame != p.window_frame =>
                {
                    return Err(unsupported(
                        "OVER aggregates over different windows in one SELECT (as in Flink, they must share one window)",
                    ));
                }
                Some(_) => {}
            }
            let Some(udaf) = udaf else {
                aggs.push(AggCall::plan_lag(&p.args, input_schema)?);
                continue;
            };
            let agg = Expr::AggregateFunction(AggregateFunction::new_udf(
                udaf.clone(),
                p.args.clone(),
                p.distinct,
                p.filter.clone(),
                Vec::new(),
                p.null_treatment,
            ));
            // A bounded frame takes rows back out of its aggregates.
            // A bounded frame takes rows back out of its aggregates (a frame that
            // is refused is refused below).
            let bounded = frame(&p.window_frame).is_ok_and(|f| f.bounded());
            aggs.push(AggCall::plan(&agg, input_schema, bounded)?);
        }
        let Some(params) = params else {
            return Err(SqlError::Plan("a window node without expressions".into()));
        };
        let Some((time, ties)) = params.order_by.split_first() else {
            return Err(unsupported(
                "an OVER window without ORDER BY (streaming OVER windows are ordered by an event-time column)",
            ));
        };
        let time_type = time.expr.get_type(input_schema.as_ref())?;
        if !matches!(time_type, arrow::datatypes::DataType::Timestamp(_, _)) || !time.asc {
            return Err(unsupported(format!(
                "an OVER window ordered by {}{} (streaming OVER windows are ordered by an ascending event-time column first)",
                time.expr,
                if time.asc { format!(" of type {time_type}") } else { " DESC".into() }
            )));
        }
        let partition = GroupKeys::plan(&params.partition_by, input_schema)?;
        let ties = SortKey::plan(ties, input_schema)?;
        let spec = OverSpec {
            partition: partition.clone(),
            time: physical(&time.expr, input_schema)?,
            ties,
            frame: frame(&params.window_frame)?,
            aggs,
            types: input_schema.fields().iter().map(|f| f.data_type().clone()).collect(),
            schema: std::sync::Arc::new(window.schema.as_arrow().clone()),
        };
        let input = self.stream(&window.input)?;
        let name = if input.is_updating() {
            "OVER aggregate [insert-only, from updates]"
        } else {
            "OVER aggregate [insert-only]"
        };
        let stream = input
            .stream
            .partition_with(partition.partitioning())
            .transform(name, move |ctx| {
                let mut store = keyed_store::<Vec<u8>>(ctx)?;
                let mut timers = Timers::new("over");
                timers.restore(&mut store)?;
                Ok(OverAggregate::new(ctx.meta.clone(), spec.clone(), store, timers)?)
            });
        Ok(SqlStream::insert_only(stream))
    }
}
