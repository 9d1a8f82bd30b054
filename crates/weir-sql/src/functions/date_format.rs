//! Flink's `DATE_FORMAT(timestamp, format)` and `DATE_FORMAT(string, format)`: a
//! timestamp as text in a Java date-time pattern ([`JavaPattern`]). Text is read
//! as Flink casts text to `TIMESTAMP` (`yyyy-MM-dd HH:mm:ss[.fff]`); text that
//! is not a timestamp gives NULL, as in Flink.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray, StringBuilder};
use arrow::datatypes::{
    ArrowTimestampType, DataType, Field, FieldRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow::temporal_conversions::{as_datetime, as_datetime_with_timezone};
use chrono::NaiveDateTime;
use datafusion::common::{exec_err, plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{check_count, is_string, result, result_rows, scalar_string, string_arg, Strings};
use super::cache::LiteralCache;
use super::java_pattern::{parse_timestamp_text, JavaPattern, PatternError};

const NAME: &str = "DATE_FORMAT";

/// `DATE_FORMAT(timestamp | string, format)` returning `STRING`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateFormat {
    signature: Signature,
    patterns: LiteralCache<Result<JavaPattern, PatternError>>,
}

impl DateFormat {
    /// The function.
    pub fn new() -> Self {
        DateFormat {
            signature: Signature::user_defined(Volatility::Immutable),
            patterns: LiteralCache::new(),
        }
    }
}

impl Default for DateFormat {
    fn default() -> Self {
        Self::new()
    }
}

/// The naive (wall-clock) date-time of row `row` of a timestamp array, in the
/// array's time zone if it has one.
pub(crate) fn time_at<T: ArrowTimestampType>(
    array: &PrimitiveArray<T>,
    tz: Option<Tz>,
) -> impl Fn(usize) -> Option<NaiveDateTime> + '_ {
    move |row| {
        if array.is_null(row) {
            return None;
        }
        let value = array.value(row);
        match tz {
            None => as_datetime::<T>(value),
            Some(tz) => as_datetime_with_timezone::<T>(value, tz).map(|t| t.naive_local()),
        }
    }
}

/// Calls `$f` with [`time_at`] over the timestamp array `$values`.
macro_rules! with_times {
    ($values:expr, $f:expr) => {{
        let values: &ArrayRef = $values;
        let DataType::Timestamp(unit, tz) = values.data_type() else {
            return exec_err!("{NAME}: expected a timestamp, got {}", values.data_type());
        };
        let tz: Option<Tz> = tz.as_deref().map(str::parse).transpose()?;
        match unit {
            TimeUnit::Second => $f(time_at(values.as_primitive::<TimestampSecondType>(), tz)),
            TimeUnit::Millisecond => $f(time_at(values.as_primitive::<TimestampMillisecondType>(), tz)),
            TimeUnit::Microsecond => $f(time_at(values.as_primitive::<TimestampMicrosecondType>(), tz)),
            TimeUnit::Nanosecond => $f(time_at(values.as_primitive::<TimestampNanosecondType>(), tz)),
        }
    }};
}

impl DateFormat {
    fn pattern(&self, text: &str) -> Arc<Result<JavaPattern, PatternError>> {
        self.patterns.get(text, JavaPattern::new)
    }

    /// Formats `time(row)` in `formats`' pattern of each row.
    fn format_rows(
        &self,
        rows: usize,
        time: impl Fn(usize) -> Option<NaiveDateTime>,
        formats: &Strings,
    ) -> Result<ArrayRef> {
        let mut builder = StringBuilder::with_capacity(rows, rows * 20);
        let mut buffer = String::new();
        let mut last: Option<(&str, Arc<Result<JavaPattern, PatternError>>)> = None;
        for row in 0..rows {
            let (Some(time), Some(format)) = (time(row), formats.get(row)) else {
                builder.append_null();
                continue;
            };
            let pattern = match &last {
                Some((text, pattern)) if *text == format => pattern.clone(),
                _ => {
                    let pattern = self.pattern(format);
                    last = Some((format, pattern.clone()));
                    pattern
                }
            };
            let pattern = pattern
                .as_ref()
                .as_ref()
                .map_err(|e| DataFusionError::Execution(format!("{NAME}: {e}")))?;
            buffer.clear();
            pattern
                .format(&time, &mut buffer)
                .map_err(|_| DataFusionError::Execution(format!("{NAME}: cannot format {time}")))?;
            builder.append_value(&buffer);
        }
        Ok(Arc::new(builder.finish()))
    }
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count(NAME, types, 2, 2)?;
        let value = match &types[0] {
            t @ DataType::Timestamp(_, _) => t.clone(),
            DataType::Date32 | DataType::Date64 | DataType::Null => DataType::Timestamp(TimeUnit::Millisecond, None),
            t if is_string(t) => DataType::Utf8,
            t => return plan_err!("{NAME}: argument 1 must be a timestamp or a string, not {t}"),
        };
        Ok(vec![value, string_arg(NAME, 2, &types[1])?])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        // A literal pattern is checked when the query is planned.
        if let Some(Some(format)) = args.scalar_arguments.get(1) {
            if let Some(text) = scalar_string(format)? {
                if let Err(e) = self.pattern(&text).as_ref() {
                    return plan_err!("{NAME}: {e}");
                }
            }
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value, format] = args.args.as_slice() else {
            return exec_err!("{NAME} takes 2 arguments, got {}", args.args.len());
        };
        let rows = result_rows(&args.args, args.number_rows);
        let values = value.to_array(rows)?;
        let formats = Strings::new(format)?;
        let out = match values.data_type() {
            DataType::Timestamp(_, _) => with_times!(&values, |time| self.format_rows(rows, time, &formats))?,
            _ => {
                let Strings::Array(text) = Strings::new(&ColumnarValue::Array(values))? else {
                    return exec_err!("{NAME}: expected text");
                };
                let time = |row: usize| {
                    text.is_valid(row)
                        .then(|| parse_timestamp_text(text.value(row)))
                        .flatten()
                };
                self.format_rows(rows, time, &formats)?
            }
        };
        result(&args.args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::{invoke, literal, strings};
    use arrow::array::{StringArray, TimestampMillisecondArray, TimestampSecondArray};
    use datafusion::common::ScalarValue;

    // 2024-03-05 07:08:09.045 UTC
    const T: i64 = 1_709_622_489_045;

    #[test]
    fn formats_millisecond_timestamps_with_nulls() {
        let f = DateFormat::new();
        let ts = TimestampMillisecondArray::from(vec![Some(T), None, Some(0)]);
        let out = invoke(
            &f,
            vec![ColumnarValue::Array(Arc::new(ts)), literal("yyyy-MM-dd HH:mm:ss.SSS")],
            3,
        )
        .unwrap();
        assert_eq!(
            strings(out),
            vec![
                Some("2024-03-05 07:08:09.045".to_string()),
                None,
                Some("1970-01-01 00:00:00.000".to_string())
            ]
        );
    }

    #[test]
    fn formats_other_units_time_zones_and_per_row_patterns() {
        let f = DateFormat::new();
        let ts = TimestampSecondArray::from(vec![T / 1000, T / 1000]).with_timezone("+01:00");
        let formats = StringArray::from(vec![Some("HH:mm"), None]);
        let out = invoke(
            &f,
            vec![
                ColumnarValue::Array(Arc::new(ts)),
                ColumnarValue::Array(Arc::new(formats)),
            ],
            2,
        )
        .unwrap();
        assert_eq!(strings(out), vec![Some("08:08".to_string()), None]);
    }

    #[test]
    fn formats_text_and_gives_null_for_text_that_is_no_timestamp() {
        let f = DateFormat::new();
        let text = StringArray::from(vec![Some("2024-03-05 07:08:09"), Some("yesterday"), None]);
        let out = invoke(&f, vec![ColumnarValue::Array(Arc::new(text)), literal("dd.MM.yyyy")], 3).unwrap();
        assert_eq!(strings(out), vec![Some("05.03.2024".to_string()), None, None]);
    }

    #[test]
    fn constants_give_a_constant() {
        let f = DateFormat::new();
        let ts = ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(Some(T), None));
        let out = invoke(&f, vec![ts, literal("yyyy")], 5).unwrap();
        assert!(matches!(&out, ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) if s == "2024"));
        let null = ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(None, None));
        let out = invoke(&f, vec![null, literal("yyyy")], 5).unwrap();
        assert!(matches!(&out, ColumnarValue::Scalar(ScalarValue::Utf8(None))));
    }

    #[test]
    fn an_unsupported_letter_is_an_error_naming_it() {
        let f = DateFormat::new();
        let ts = TimestampMillisecondArray::from(vec![T]);
        let error = invoke(&f, vec![ColumnarValue::Array(Arc::new(ts)), literal("yyyy-ww")], 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unsupported letter 'w'"), "{error}");
        let fields = [
            Arc::new(Field::new("a", DataType::Timestamp(TimeUnit::Millisecond, None), true)),
            Arc::new(Field::new("b", DataType::Utf8, true)),
        ];
        let pattern = ScalarValue::Utf8(Some("QQ".into()));
        let error = f
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &[None, Some(&pattern)],
            })
            .unwrap_err()
            .to_string();
        assert!(error.contains("unsupported letter 'Q'"), "{error}");
    }

    #[test]
    fn argument_types_are_checked() {
        let f = DateFormat::new();
        assert_eq!(
            f.coerce_types(&[DataType::Date32, DataType::LargeUtf8]).unwrap(),
            vec![DataType::Timestamp(TimeUnit::Millisecond, None), DataType::Utf8]
        );
        assert!(f.coerce_types(&[DataType::Int64, DataType::Utf8]).is_err());
        assert!(f.coerce_types(&[DataType::Utf8]).is_err());
    }
}
