//! The aggregate functions of SQL aggregates: COUNT, SUM, MIN, MAX, AVG and
//! COUNT(DISTINCT), each optionally with `FILTER (WHERE ...)`, and any other
//! DataFusion aggregate function, Rust UDAFs included ([`super::udaf`]).
//!
//! Accumulators are Weir's own ([`Acc`]), serializable, rather than DataFusion's
//! `Accumulator` states: simpler to keep per key in keyed state. Every accumulator
//! can take back a value it was given ([`Acc::apply`] with a negative sign), so an
//! aggregate over an updating input (`-U`, `-D` rows) stays exact; MIN and MAX then
//! keep every value with its multiplicity, as Flink's retracting MIN/MAX do.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::physical_expr::PhysicalExpr;
use serde::{Deserialize, Serialize};

use crate::error::SqlError;
use crate::exec::eval::{evaluate, physical};
use crate::exec::udaf::{UdafArgs, UdafCall};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    /// `COUNT(x)`, `COUNT(*)`.
    Count,
    /// `SUM` of integers.
    SumInt,
    /// `SUM` of floats.
    SumFloat,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `AVG`.
    Avg,
    /// `COUNT(DISTINCT x)`.
    CountDistinct,
    /// A DataFusion aggregate function ([`AggCall::udaf`]): a Rust UDAF, or one of
    /// DataFusion's aggregates Weir has no accumulator of its own for.
    Udaf,
    /// `LAG(x, offset)` in an OVER window: the argument of the row `offset` rows
    /// before (in the window's order, frames aside).
    Lag(u64),
}

/// A value kept by MIN, MAX and COUNT(DISTINCT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Integers, timestamps, dates.
    Int(i64),
    /// Floats.
    Float(f64),
    /// Strings.
    Str(String),
    /// Booleans.
    Bool(bool),
    /// The arguments of a UDAF for one row, in Arrow's row format (see
    /// [`UdafCall::encode_arguments`]).
    Encoded(#[serde(with = "serde_bytes")] Vec<u8>),
}

impl Value {
    /// The value of a scalar, `None` for NULL and types aggregates do not keep.
    pub fn from_scalar(value: &ScalarValue) -> Option<Value> {
        Some(match value {
            ScalarValue::Int8(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int16(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int64(Some(v)) => Value::Int(*v),
            ScalarValue::UInt8(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt16(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt64(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Float32(Some(v)) => Value::Float(*v as f64),
            ScalarValue::Float64(Some(v)) => Value::Float(*v),
            ScalarValue::TimestampMillisecond(Some(v), _)
            | ScalarValue::TimestampSecond(Some(v), _)
            | ScalarValue::TimestampMicrosecond(Some(v), _)
            | ScalarValue::TimestampNanosecond(Some(v), _)
            | ScalarValue::Date64(Some(v)) => Value::Int(*v),
            ScalarValue::Date32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) => {
                Value::Str(v.clone())
            }
            ScalarValue::Boolean(Some(v)) => Value::Bool(*v),
            _ => return None,
        })
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    fn compare(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    fn to_scalar(&self) -> ScalarValue {
        match self {
            Value::Int(v) => ScalarValue::Int64(Some(*v)),
            Value::Float(v) => ScalarValue::Float64(Some(*v)),
            Value::Str(v) => ScalarValue::Utf8(Some(v.clone())),
            Value::Bool(v) => ScalarValue::Boolean(Some(*v)),
            Value::Encoded(_) => ScalarValue::Null,
        }
    }
}

/// Values with their multiplicities, sorted by value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Counted(Vec<(Value, i64)>);

impl Counted {
    /// Adds `sign` (±1) occurrences of `value`; a value whose count drops to zero
    /// is removed.
    fn apply(&mut self, value: Value, sign: i64) {
        match self.0.binary_search_by(|(v, _)| v.compare(&value)) {
            Ok(at) => {
                self.0[at].1 += sign;
                if self.0[at].1 <= 0 {
                    self.0.remove(at);
                }
            }
            Err(at) if sign > 0 => self.0.insert(at, (value, sign)),
            Err(_) => {}
        }
    }
}

/// The state of one aggregate of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acc {
    /// Non-null rows.
    Count(i64),
    /// Integer sum and the number of values in it (NULL when none).
    SumInt(i64, i64),
    /// Float sum and the number of values in it.
    SumFloat(f64, i64),
    /// Smallest value (insert-only input).
    Min(Option<Value>),
    /// Largest value (insert-only input).
    Max(Option<Value>),
    /// Every value with its count: MIN over an updating input.
    MinOf(Counted),
    /// Every value with its count: MAX over an updating input.
    MaxOf(Counted),
    /// Sum and count.
    Avg(f64, i64),
    /// The distinct values seen, with their counts.
    Distinct(Counted),
    /// A UDAF's state and last result in Arrow's row format (empty before the first
    /// row), kept and read by its [`UdafCall`].
    Udaf(#[serde(with = "serde_bytes")] Vec<u8>),
    /// `LAG`: the arguments of the last `offset + 1` rows (NULLs included), and the
    /// result while there are fewer.
    Lag {
        /// How many rows back.
        offset: u64,
        /// The result before there is a row that far back.
        default: Option<Value>,
        /// The last arguments, oldest first.
        seen: std::collections::VecDeque<Option<Value>>,
    },
}

impl Acc {
    /// A fresh accumulator; `retracting` when the input may take rows back.
    pub fn new(kind: AggKind, retracting: bool) -> Acc {
        match kind {
            AggKind::Count => Acc::Count(0),
            AggKind::SumInt => Acc::SumInt(0, 0),
            AggKind::SumFloat => Acc::SumFloat(0.0, 0),
            AggKind::Min if retracting => Acc::MinOf(Counted::default()),
            AggKind::Max if retracting => Acc::MaxOf(Counted::default()),
            AggKind::Min => Acc::Min(None),
            AggKind::Max => Acc::Max(None),
            AggKind::Avg => Acc::Avg(0.0, 0),
            AggKind::CountDistinct => Acc::Distinct(Counted::default()),
            AggKind::Udaf => Acc::Udaf(Vec::new()),
            AggKind::Lag(offset) => Acc::Lag {
                offset,
                default: None,
                seen: Default::default(),
            },
        }
    }

    /// Adds a value (`sign` 1) or takes one back (`sign` -1); NULLs are ignored.
    /// UDAFs take whole batches instead ([`UdafCall::update`]).
    pub fn apply(&mut self, value: Option<Value>, sign: i64) {
        if let Acc::Lag { offset, seen, .. } = self {
            // Rows leaving a frame are not taken back: LAG looks at rows, not
            // frames.
            if sign > 0 {
                seen.push_back(value);
                while seen.len() as u64 > offset.saturating_add(1) {
                    seen.pop_front();
                }
            }
            return;
        }
        let Some(value) = value else { return };
        match self {
            Acc::Count(n) => *n += sign,
            Acc::SumInt(s, n) => {
                if let Value::Int(v) = value {
                    *s = s.wrapping_add(v.wrapping_mul(sign));
                    *n += sign;
                }
            }
            Acc::SumFloat(s, n) | Acc::Avg(s, n) => {
                if let Some(v) = value.as_f64() {
                    *s += v * sign as f64;
                    *n += sign;
                }
            }
            Acc::Min(m) => {
                if m.as_ref().is_none_or(|m| value.compare(m) == Ordering::Less) {
                    *m = Some(value);
                }
            }
            Acc::Max(m) => {
                if m.as_ref().is_none_or(|m| value.compare(m) == Ordering::Greater) {
                    *m = Some(value);
                }
            }
            Acc::MinOf(values) | Acc::MaxOf(values) | Acc::Distinct(values) => values.apply(value, sign),
            Acc::Udaf(_) | Acc::Lag { .. } => {}
        }
    }

    /// The result (to be cast to the aggregate's type); NULL for a UDAF, whose
    /// result [`AggCall::result`] gives.
    pub fn result(&self) -> ScalarValue {
        match self {
            Acc::Count(n) => ScalarValue::Int64(Some(*n)),
            Acc::SumInt(s, n) => ScalarValue::Int64((*n > 0).then_some(*s)),
            Acc::SumFloat(s, n) => ScalarValue::Float64((*n > 0).then_some(*s)),
            Acc::Min(m) | Acc::Max(m) => m.as_ref().map(Value::to_scalar).unwrap_or(ScalarValue::Null),
            Acc::MinOf(values) => values
                .0
                .first()
                .map(|(v, _)| v.to_scalar())
                .unwrap_or(ScalarValue::Null),
            Acc::MaxOf(values) => values.0.last().map(|(v, _)| v.to_scalar()).unwrap_or(ScalarValue::Null),
            Acc::Avg(sum, count) => ScalarValue::Float64((*count > 0).then(|| sum / *count as f64)),
            Acc::Distinct(values) => ScalarValue::Int64(Some(values.0.len() as i64)),
            Acc::Udaf(_) => ScalarValue::Null,
            Acc::Lag { offset, default, seen } => {
                let back = match seen.front() {
                    Some(value) if seen.len() as u64 > *offset => value,
                    _ => default,
                };
                back.as_ref().map(Value::to_scalar).unwrap_or(ScalarValue::Null)
            }
        }
    }
}

/// One aggregate call: its function, argument and filter.
#[derive(Debug, Clone)]
pub struct AggCall {
    /// The function.
    pub kind: AggKind,
    /// The argument (a literal for `COUNT(*)`; for a UDAF, its first argument).
    pub arg: Arc<dyn PhysicalExpr>,
    /// `FILTER (WHERE ...)`: only rows where it is true are aggregated.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// The DataFusion aggregate function ([`AggKind::Udaf`]).
    pub udaf: Option<Arc<UdafCall>>,
    /// `LAG`'s result before there is a row that far back (its third argument).
    pub default: Option<Value>,
}

/// The arguments of one aggregate call for every row of a batch.
#[derive(Debug)]
pub enum AggArgs {
    /// A built-in aggregate's argument, NULL where the filter is not true.
    Value(ArrayRef),
    /// A UDAF's arguments and filter.
    Udaf(UdafArgs),
}

impl AggArgs {
    /// The argument of a built-in aggregate (`None` for a UDAF).
    pub fn value(&self) -> Option<&ArrayRef> {
        match self {
            AggArgs::Value(values) => Some(values),
            AggArgs::Udaf(_) => None,
        }
    }
}

impl AggCall {
    /// A fresh accumulator; `retracting` when the input may take rows back.
    pub fn new_acc(&self, retracting: bool) -> Acc {
        let mut acc = Acc::new(self.kind, retracting);
        if let Acc::Lag { default, .. } = &mut acc {
            default.clone_from(&self.default);
        }
        acc
    }

    /// `LAG(x [, offset [, default]])` over rows of `input` (`args` as DataFusion
    /// planned them; offset and default must be literals).
    pub fn plan_lag(args: &[Expr], input: &DFSchema) -> Result<AggCall, SqlError> {
        let unsupported = |feature: String| SqlError::Unsupported {
            feature,
            position: None,
        };
        let literal = |e: &Expr| match e.clone().unalias() {
            Expr::Literal(value, _) => Some(value),
            Expr::Cast(c) => match c.expr.as_ref() {
                Expr::Literal(value, _) => value.cast_to(c.field.data_type()).ok(),
                _ => None,
            },
            _ => None,
        };
        let (arg, rest) = args
            .split_first()
            .ok_or_else(|| SqlError::Plan("LAG without an argument".into()))?;
        let arg_type = arg.get_type(input)?;
        if !kept_type(&arg_type) {
            return Err(unsupported(format!("LAG of {arg_type} (yet)")));
        }
        let offset = match rest.first() {
            None => 1,
            Some(e) => match literal(e).and_then(|v| v.cast_to(&arrow::datatypes::DataType::Int64).ok()) {
                Some(ScalarValue::Int64(Some(n))) if n >= 0 => n as u64,
                _ => {
                    return Err(unsupported(format!(
                        "LAG with the offset {e} (give a literal count of rows back)"
                    )))
                }
            },
        };
        let default = match rest.get(1) {
            None => None,
            Some(e) => match literal(e) {
                Some(value) if value.is_null() => None,
                Some(value) => Some(
                    Value::from_scalar(&value.cast_to(&arg_type)?)
                        .ok_or_else(|| unsupported(format!("LAG with the default {e}")))?,
                ),
                None => return Err(unsupported(format!("LAG with the default {e} (give a literal)"))),
            },
        };
        if rest.len() > 2 {
            return Err(unsupported("LAG with more than three arguments".into()));
        }
        Ok(AggCall {
            kind: AggKind::Lag(offset),
            arg: physical(arg, input)?,
            filter: None,
            udaf: None,
            default,
        })
    }

    /// The result of `acc`, an accumulator of this call.
    pub fn result(&self, acc: &Acc) -> Result<ScalarValue, SqlError> {
        match (acc, &self.udaf) {
            (Acc::Udaf(state), Some(udaf)) => udaf.result(state),
            (acc, _) => Ok(acc.result()),
        }
    }

    /// The arguments of every row of `batch`.
    pub fn args(&self, batch: &RecordBatch) -> Result<AggArgs, SqlError> {
        match &self.udaf {
            Some(udaf) => Ok(AggArgs::Udaf(udaf.arguments(batch, self.filter.as_ref())?)),
            None => Ok(AggArgs::Value(self.arguments(batch)?)),
        }
    }

    /// Applies runs of rows (added or taken back, in order) to `acc` when it is a
    /// UDAF's; built-in accumulators take rows one by one ([`Acc::apply`]).
    pub fn update_udaf(&self, acc: &mut Acc, args: &AggArgs, runs: &[(bool, Vec<usize>)]) -> Result<(), SqlError> {
        match (acc, args, &self.udaf) {
            (Acc::Udaf(state), AggArgs::Udaf(args), Some(udaf)) => udaf.update(state, args, runs),
            _ => Ok(()),
        }
    }

    /// The call of aggregate expression `expr` over rows of `input`; `retracting`
    /// when the input may take rows back (a UDAF must then be able to retract).
    pub fn plan(expr: &Expr, input: &DFSchema, retracting: bool) -> Result<AggCall, SqlError> {
        let unsupported = |feature: String| SqlError::Unsupported {
            feature,
            position: None,
        };
        let Expr::AggregateFunction(call) = expr.clone().unalias() else {
            return Err(unsupported(format!("aggregate expression {expr}")));
        };
        let name = call.func.name().to_ascii_lowercase();
        if !is_builtin(&name) {
            return AggCall::plan_udaf(&call, input, retracting);
        }
        if call.params.distinct && name != "count" {
            return Err(unsupported(format!("{}(DISTINCT) (yet)", name.to_uppercase())));
        }
        if !call.params.order_by.is_empty() {
            return Err(unsupported(format!("ORDER BY in {name}")));
        }
        let arg = match call.params.args.as_slice() {
            [] => Expr::Literal(ScalarValue::Int64(Some(1)), None),
            [arg] => arg.clone(),
            _ => return AggCall::plan_udaf(&call, input, retracting),
        };
        let arg_type = arg.get_type(input)?;
        let kind = match name.as_str() {
            "count" if call.params.distinct => {
                if !kept_type(&arg_type) {
                    return Err(unsupported(format!("COUNT(DISTINCT) of {arg_type} (yet)")));
                }
                AggKind::CountDistinct
            }
            "count" => AggKind::Count,
            "sum" if arg_type.is_integer() => AggKind::SumInt,
            "sum" if arg_type.is_floating() => AggKind::SumFloat,
            "avg" if arg_type.is_integer() || arg_type.is_floating() => AggKind::Avg,
            "min" if kept_type(&arg_type) => AggKind::Min,
            "max" if kept_type(&arg_type) => AggKind::Max,
            // Other types: DataFusion's accumulator.
            _ => return AggCall::plan_udaf(&call, input, retracting),
        };
        let filter = match &call.params.filter {
            Some(filter) => Some(physical(filter, input)?),
            None => None,
        };
        Ok(AggCall {
            kind,
            arg: physical(&arg, input)?,
            filter,
            udaf: None,
            default: None,
        })
    }

    /// A call of a DataFusion aggregate function (see [`super::udaf`]).
    fn plan_udaf(call: &AggregateFunction, input: &DFSchema, retracting: bool) -> Result<AggCall, SqlError> {
        let udaf = UdafCall::plan(call, input, retracting)?;
        let filter = match &call.params.filter {
            Some(filter) => Some(physical(filter, input)?),
            None => None,
        };
        let arg = match call.params.args.first() {
            Some(arg) => physical(arg, input)?,
            None => physical(&Expr::Literal(ScalarValue::Int64(Some(1)), None), input)?,
        };
        Ok(AggCall {
            kind: AggKind::Udaf,
            arg,
            filter,
            udaf: Some(Arc::new(udaf)),
            default: None,
        })
    }

    /// The argument of every row of `batch`, NULL where the filter is not true.
    pub fn arguments(&self, batch: &RecordBatch) -> Result<ArrayRef, SqlError> {
        let arg = evaluate(&self.arg, batch)?;
        let Some(filter) = &self.filter else {
            return Ok(arg);
        };
        let mask = evaluate(filter, batch)?;
        let Some(mask) = mask.as_any().downcast_ref::<BooleanArray>() else {
            return Err(SqlError::Plan(format!("FILTER is {}, not boolean", mask.data_type())));
        };
        // Rows the filter rejects (false or NULL) become NULL, which no aggregate counts.
        let keep: BooleanArray = mask.iter().map(|m| Some(m == Some(true))).collect();
        let nulls = arrow::array::new_null_array(arg.data_type(), arg.len());
        Ok(arrow::compute::kernels::zip::zip(&keep, &arg, &nulls)?)
    }
}

/// The aggregate functions Weir has accumulators of its own for (for some argument
/// types, see [`AggCall::plan`]).
fn is_builtin(name: &str) -> bool {
    matches!(name, "count" | "sum" | "avg" | "min" | "max")
}

/// Types whose values MIN, MAX and COUNT(DISTINCT) keep.
fn kept_type(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(
            t,
            DataType::Timestamp(_, _)
                | DataType::Date32
                | DataType::Date64
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retracting_min_max_and_distinct_follow_the_values_left() {
        let mut min = Acc::new(AggKind::Min, true);
        let mut max = Acc::new(AggKind::Max, true);
        let mut distinct = Acc::new(AggKind::CountDistinct, true);
        for v in [5, 3, 9, 3] {
            for acc in [&mut min, &mut max, &mut distinct] {
                acc.apply(Some(Value::Int(v)), 1);
            }
        }
        assert_eq!(min.result(), ScalarValue::Int64(Some(3)));
        assert_eq!(max.result(), ScalarValue::Int64(Some(9)));
        assert_eq!(distinct.result(), ScalarValue::Int64(Some(3)));
        for acc in [&mut min, &mut max, &mut distinct] {
            acc.apply(Some(Value::Int(3)), -1);
            acc.apply(Some(Value::Int(9)), -1);
        }
        // One 3 is left.
        assert_eq!(min.result(), ScalarValue::Int64(Some(3)));
        assert_eq!(max.result(), ScalarValue::Int64(Some(5)));
        assert_eq!(distinct.result(), ScalarValue::Int64(Some(2)));
    }

    #[test]
    fn sums_are_null_once_every_value_is_taken_back() {
        let mut sum = Acc::new(AggKind::SumInt, true);
        sum.apply(Some(Value::Int(4)), 1);
        sum.apply(None, 1);
        assert_eq!(sum.result(), ScalarValue::Int64(Some(4)));
        sum.apply(Some(Value::Int(4)), -1);
        assert_eq!(sum.result(), ScalarValue::Int64(None));
        let mut avg = Acc::new(AggKind::Avg, true);
        avg.apply(Some(Value::Float(1.0)), 1);
        avg.apply(Some(Value::Float(3.0)), 1);
        avg.apply(Some(Value::Float(1.0)), -1);
        assert_eq!(avg.result(), ScalarValue::Float64(Some(3.0)));
    }
}
