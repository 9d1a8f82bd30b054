//! Argument helpers of the functions: argument counts, type classes, and per-row
//! access to arguments that are either constants or one value per row.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;

/// Fails unless `min <= types.len() <= max`, naming the function as Flink spells it.
pub(crate) fn check_count(name: &str, types: &[DataType], min: usize, max: usize) -> Result<()> {
    if types.len() < min || types.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return plan_err!("{name} takes {expected} arguments, got {}", types.len());
    }
    Ok(())
}

/// Text types (and NULL), coerced to `Utf8`.
pub(crate) fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// Integer types (and NULL), coerced to `Int64`.
pub(crate) fn is_integer(t: &DataType) -> bool {
    t.is_integer() || *t == DataType::Null
}

/// `Utf8` for a text type, or a planning error naming the argument.
pub(crate) fn string_arg(name: &str, position: usize, t: &DataType) -> Result<DataType> {
    if is_string(t) {
        Ok(DataType::Utf8)
    } else {
        plan_err!("{name}: argument {position} must be a string, not {t}")
    }
}

/// `Int64` for an integer type, or a planning error naming the argument.
pub(crate) fn integer_arg(name: &str, position: usize, t: &DataType) -> Result<DataType> {
    if is_integer(t) {
        Ok(DataType::Int64)
    } else {
        plan_err!("{name}: argument {position} must be an integer, not {t}")
    }
}

/// The text of a string constant (`None` for NULL).
pub(crate) fn scalar_string(value: &ScalarValue) -> Result<Option<String>> {
    match value {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => Ok(s.clone()),
        v if v.is_null() => Ok(None),
        v => Err(DataFusionError::Execution(format!(
            "expected a string, got {}",
            v.data_type()
        ))),
    }
}

/// A string argument.
pub(crate) enum Strings {
    /// The same value on every row.
    Scalar(Option<String>),
    /// One value per row.
    Array(StringArray),
}

impl Strings {
    /// The argument `value` (of a text type).
    pub(crate) fn new(value: &ColumnarValue) -> Result<Self> {
        Ok(match value {
            ColumnarValue::Scalar(s) => Strings::Scalar(scalar_string(s)?),
            ColumnarValue::Array(a) => Strings::Array(cast(a, &DataType::Utf8)?.as_string::<i32>().clone()),
        })
    }

    /// The value on row `row`.
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        match self {
            Strings::Scalar(s) => s.as_deref(),
            Strings::Array(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// An integer argument.
pub(crate) enum Ints {
    /// The same value on every row.
    Scalar(Option<i64>),
    /// One value per row.
    Array(Int64Array),
}

impl Ints {
    /// The argument `value` (of an integer type).
    pub(crate) fn new(value: &ColumnarValue) -> Result<Self> {
        Ok(match value {
            ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(v) => Ints::Scalar(v),
                _ => Ints::Scalar(None),
            },
            ColumnarValue::Array(a) => Ints::Array(
                cast(a, &DataType::Int64)?
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .clone(),
            ),
        })
    }

    /// The value on row `row`.
    pub(crate) fn get(&self, row: usize) -> Option<i64> {
        match self {
            Ints::Scalar(v) => *v,
            Ints::Array(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// The rows to compute: 1 if every argument is a constant, else the batch's rows.
pub(crate) fn result_rows(args: &[ColumnarValue], number_rows: usize) -> usize {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        1
    } else {
        number_rows
    }
}

/// `array` as the function's result: a constant if every argument was one.
pub(crate) fn result(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Calls `f` on `args` as DataFusion would on a batch of `rows` rows.
#[cfg(test)]
pub(crate) fn invoke(
    f: &dyn datafusion::logical_expr::ScalarUDFImpl,
    args: Vec<ColumnarValue>,
    rows: usize,
) -> Result<ColumnarValue> {
    use arrow::datatypes::Field;
    use std::sync::Arc;
    let arg_fields: Vec<_> = args
        .iter()
        .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
        .collect();
    let types: Vec<_> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
    f.invoke_with_args(datafusion::logical_expr::ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new("r", f.return_type(&types)?, true)),
        config_options: Arc::new(datafusion::common::config::ConfigOptions::new()),
    })
}

/// The strings of a function's result (tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn strings(value: ColumnarValue) -> Vec<Option<String>> {
    use arrow::array::AsArray;
    let array = value.to_array(1).unwrap();
    array.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect()
}

/// A text literal argument (tests).
#[cfg(test)]
pub(crate) fn literal(s: &str) -> ColumnarValue {
    ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some(s.into())))
}

/// `value` as an Arrow datum (an array, or a constant of one row) for the
/// kernels that take either.
pub(crate) fn datum(value: &ColumnarValue) -> Result<Box<dyn arrow::array::Datum>> {
    Ok(match value {
        ColumnarValue::Array(a) => Box::new(a.clone()),
        ColumnarValue::Scalar(s) => Box::new(s.to_scalar()?),
    })
}
