//! Flink's conversions between times and text: `UNIX_TIMESTAMP()` (the current
//! time in epoch seconds), `UNIX_TIMESTAMP(string [, format])` (text read in a
//! Java date-time pattern, default `yyyy-MM-dd HH:mm:ss`, as epoch seconds),
//! `FROM_UNIXTIME(seconds [, format])` (epoch seconds as text in a pattern) and
//! `TO_TIMESTAMP(string [, format])` (text as `TIMESTAMP(3)`) and
//! `TO_TIMESTAMP_LTZ(epoch [, precision])` (epoch milliseconds or seconds as
//! `TIMESTAMP_LTZ(3)`). Weir's session
//! time zone is UTC. Text that does not match the pattern gives NULL; an invalid
//! literal pattern is an error when the query is planned.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use chrono::DateTime;
use datafusion::common::{exec_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{check_count, integer_arg, result, result_rows, scalar_string, string_arg, Ints, Strings};
use super::cache::LiteralCache;
use super::java_pattern::{parse_timestamp_text, JavaPattern, PatternError, DEFAULT_PATTERN};
use super::proctime::now_millis;

type Patterns = LiteralCache<Result<JavaPattern, PatternError>>;

/// The translated pattern of `text`, or an execution error naming the function.
fn pattern(patterns: &Patterns, name: &str, text: &str) -> Result<Arc<Result<JavaPattern, PatternError>>> {
    let pattern = patterns.get(text, JavaPattern::new);
    if let Err(e) = pattern.as_ref() {
        return exec_err!("{name}: {e}");
    }
    Ok(pattern)
}

/// A planning error if argument `index` is a literal pattern that cannot be translated.
fn check_literal(patterns: &Patterns, name: &str, args: &ReturnFieldArgs, index: usize) -> Result<()> {
    if let Some(Some(value)) = args.scalar_arguments.get(index) {
        if let Some(text) = scalar_string(value)? {
            if let Err(e) = patterns.get(&text, JavaPattern::new).as_ref() {
                return plan_err!("{name}: {e}");
            }
        }
    }
    Ok(())
}

/// The pattern argument, or the default pattern if there is none.
fn pattern_arg(args: &[ColumnarValue], index: usize) -> Result<Strings> {
    match args.get(index) {
        Some(value) => Strings::new(value),
        None => Ok(Strings::Scalar(Some(DEFAULT_PATTERN.to_string()))),
    }
}

/// `UNIX_TIMESTAMP([string [, format]])` returning `BIGINT`. Volatile: without
/// arguments it is the time of processing.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UnixTimestamp {
    signature: Signature,
    patterns: Patterns,
}

impl UnixTimestamp {
    /// The function.
    pub fn new() -> Self {
        UnixTimestamp {
            signature: Signature::user_defined(Volatility::Volatile),
            patterns: LiteralCache::new(),
        }
    }
}

impl Default for UnixTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for UnixTimestamp {
    fn name(&self) -> &str {
        "unix_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count("UNIX_TIMESTAMP", types, 0, 2)?;
        types
            .iter()
            .enumerate()
            .map(|(i, t)| string_arg("UNIX_TIMESTAMP", i + 1, t))
            .collect()
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_literal(&self.patterns, "UNIX_TIMESTAMP", &args, 1)?;
        let nullable = !args.arg_fields.is_empty();
        Ok(Arc::new(Field::new(self.name(), DataType::Int64, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(text) = args.args.first() else {
            let now = now_millis()?.div_euclid(1000);
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(now))));
        };
        let text = Strings::new(text)?;
        let formats = pattern_arg(&args.args, 1)?;
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = Int64Builder::with_capacity(rows);
        for row in 0..rows {
            let (Some(t), Some(f)) = (text.get(row), formats.get(row)) else {
                builder.append_null();
                continue;
            };
            let pattern = pattern(&self.patterns, "UNIX_TIMESTAMP", f)?;
            let seconds = pattern
                .as_ref()
                .as_ref()
                .ok()
                .and_then(|p| p.parse(t))
                .map(|time| time.and_utc().timestamp());
            builder.append_option(seconds);
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

/// `FROM_UNIXTIME(seconds [, format])` returning `STRING`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FromUnixtime {
    signature: Signature,
    patterns: Patterns,
}

impl FromUnixtime {
    /// The function.
    pub fn new() -> Self {
        FromUnixtime {
            signature: Signature::user_defined(Volatility::Immutable),
            patterns: LiteralCache::new(),
        }
    }
}

impl Default for FromUnixtime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        "from_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count("FROM_UNIXTIME", types, 1, 2)?;
        let mut coerced = vec![integer_arg("FROM_UNIXTIME", 1, &types[0])?];
        if let Some(format) = types.get(1) {
            coerced.push(string_arg("FROM_UNIXTIME", 2, format)?);
        }
        Ok(coerced)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_literal(&self.patterns, "FROM_UNIXTIME", &args, 1)?;
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(seconds) = args.args.first() else {
            return exec_err!("FROM_UNIXTIME takes 1 or 2 arguments, got none");
        };
        let seconds = Ints::new(seconds)?;
        let formats = pattern_arg(&args.args, 1)?;
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = StringBuilder::with_capacity(rows, rows * 20);
        let mut buffer = String::new();
        for row in 0..rows {
            let (Some(s), Some(f)) = (seconds.get(row), formats.get(row)) else {
                builder.append_null();
                continue;
            };
            let Some(time) = DateTime::from_timestamp(s, 0) else {
                builder.append_null();
                continue;
            };
            let pattern = pattern(&self.patterns, "FROM_UNIXTIME", f)?;
            let Ok(pattern) = pattern.as_ref() else {
                builder.append_null();
                continue;
            };
            buffer.clear();
            pattern
                .format(&time.naive_utc(), &mut buffer)
                .map_err(|_| DataFusionError::Execution(format!("FROM_UNIXTIME: cannot format {time}")))?;
            builder.append_value(&buffer);
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

/// `TO_TIMESTAMP(string [, format])` returning `TIMESTAMP(3)`: without a format,
/// text as Flink casts it to a timestamp (`yyyy-MM-dd[ HH:mm[:ss[.fff]]]`).
/// DataFusion's `to_timestamp` (chrono patterns, nanoseconds) is replaced.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToTimestamp {
    signature: Signature,
    patterns: Patterns,
}

impl ToTimestamp {
    /// The function.
    pub fn new() -> Self {
        ToTimestamp {
            signature: Signature::user_defined(Volatility::Immutable),
            patterns: LiteralCache::new(),
        }
    }
}

impl Default for ToTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ToTimestamp {
    fn name(&self) -> &str {
        "to_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count("TO_TIMESTAMP", types, 1, 2)?;
        types
            .iter()
            .enumerate()
            .map(|(i, t)| string_arg("TO_TIMESTAMP", i + 1, t))
            .collect()
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_literal(&self.patterns, "TO_TIMESTAMP", &args, 1)?;
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(text) = args.args.first() else {
            return exec_err!("TO_TIMESTAMP takes 1 or 2 arguments, got none");
        };
        let text = Strings::new(text)?;
        let formats = match args.args.get(1) {
            Some(format) => Some(Strings::new(format)?),
            None => None,
        };
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = TimestampMillisecondBuilder::with_capacity(rows);
        for row in 0..rows {
            let Some(t) = text.get(row) else {
                builder.append_null();
                continue;
            };
            let time = match &formats {
                None => parse_timestamp_text(t),
                Some(formats) => match formats.get(row) {
                    None => None,
                    Some(f) => pattern(&self.patterns, "TO_TIMESTAMP", f)?
                        .as_ref()
                        .as_ref()
                        .ok()
                        .and_then(|p| p.parse(t)),
                },
            };
            builder.append_option(time.map(|t| t.and_utc().timestamp_millis()));
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

/// `TO_TIMESTAMP_LTZ(n [, precision])`: epoch time `n` as `TIMESTAMP_LTZ(3)`, in
/// milliseconds (precision 3, the default) or seconds (precision 0).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToTimestampLtz {
    signature: Signature,
}

impl ToTimestampLtz {
    /// The function.
    pub fn new() -> Self {
        ToTimestampLtz {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for ToTimestampLtz {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ToTimestampLtz {
    fn name(&self) -> &str {
        "to_timestamp_ltz"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count("TO_TIMESTAMP_LTZ", types, 1, 2)?;
        types
            .iter()
            .enumerate()
            .map(|(i, t)| integer_arg("TO_TIMESTAMP_LTZ", i + 1, t))
            .collect()
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(crate::front::types::timestamp_ltz_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(epoch) = args.args.first() else {
            return exec_err!("TO_TIMESTAMP_LTZ takes 1 or 2 arguments, got none");
        };
        let scale = match args.args.get(1) {
            None => 1,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(3)))) => 1,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(0)))) => 1_000,
            Some(other) => {
                return exec_err!(
                    "TO_TIMESTAMP_LTZ: the precision must be the literal 0 (seconds) or 3 (milliseconds), got {other}"
                )
            }
        };
        let epoch = Ints::new(epoch)?;
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = TimestampMillisecondBuilder::with_capacity(rows);
        for row in 0..rows {
            builder.append_option(epoch.get(row).and_then(|n| n.checked_mul(scale)));
        }
        let out: ArrayRef = Arc::new(builder.finish().with_timezone(crate::front::types::LTZ_TIME_ZONE));
        result(&args.args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::{invoke, literal};
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn unix_timestamp_reads_text_in_a_pattern() {
        let f = UnixTimestamp::new();
        let text = ColumnarValue::Array(Arc::new(StringArray::from(vec![
            Some("2017-09-15 00:00:00"),
            Some("not a time"),
            None,
        ])));
        let out = invoke(&f, vec![text], 3).unwrap().to_array(3).unwrap();
        let got: Vec<_> = out.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(got, vec![Some(1_505_433_600), None, None]);
        let out = invoke(&f, vec![literal("15.09.2017"), literal("dd.MM.yyyy")], 1).unwrap();
        assert!(matches!(
            out,
            ColumnarValue::Scalar(ScalarValue::Int64(Some(1_505_433_600)))
        ));
    }

    #[test]
    fn unix_timestamp_without_arguments_is_now() {
        let f = UnixTimestamp::new();
        assert_eq!(f.signature().volatility, Volatility::Volatile);
        let before = now_millis().unwrap() / 1000;
        let ColumnarValue::Scalar(ScalarValue::Int64(Some(now))) = invoke(&f, vec![], 1).unwrap() else {
            panic!("not a BIGINT");
        };
        assert!(now >= before && now <= before + 2, "{before} {now}");
    }

    #[test]
    fn from_unixtime_formats_seconds() {
        let f = FromUnixtime::new();
        let seconds = ColumnarValue::Array(Arc::new(Int64Array::from(vec![
            Some(1_505_433_600),
            None,
            Some(i64::MAX),
        ])));
        let out = invoke(&f, vec![seconds.clone()], 3).unwrap().to_array(3).unwrap();
        let got: Vec<_> = out.as_string::<i32>().iter().collect();
        assert_eq!(got, vec![Some("2017-09-15 00:00:00"), None, None]);
        let out = invoke(&f, vec![seconds, literal("MMdd-yyyy")], 3)
            .unwrap()
            .to_array(3)
            .unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "0915-2017");
    }

    #[test]
    fn invalid_patterns_are_errors() {
        let f = FromUnixtime::new();
        let seconds = ColumnarValue::Scalar(ScalarValue::Int64(Some(0)));
        let error = invoke(&f, vec![seconds, literal("yyyy-QQ")], 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unsupported letter 'Q'"), "{error}");
        let fields = [
            Arc::new(Field::new("a", DataType::Utf8, true)),
            Arc::new(Field::new("b", DataType::Utf8, true)),
        ];
        let pattern = ScalarValue::Utf8(Some("yyyy 'x".into()));
        let error = UnixTimestamp::new()
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &[None, Some(&pattern)],
            })
            .unwrap_err()
            .to_string();
        assert!(error.contains("unterminated quote"), "{error}");
    }

    #[test]
    fn to_timestamp_reads_text_as_milliseconds() {
        let f = ToTimestamp::new();
        let text = ColumnarValue::Array(Arc::new(StringArray::from(vec![
            Some("2017-09-15 00:00:00.250"),
            Some("2017-09-15"),
            Some("garbage"),
            None,
        ])));
        let out = invoke(&f, vec![text], 4).unwrap().to_array(4).unwrap();
        assert_eq!(out.data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None));
        let got: Vec<_> = out
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .iter()
            .collect();
        assert_eq!(got, vec![Some(1_505_433_600_250), Some(1_505_433_600_000), None, None]);
        let out = invoke(&f, vec![literal("15/09/2017 01"), literal("dd/MM/yyyy HH")], 1).unwrap();
        assert!(matches!(
            out,
            ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(Some(1_505_437_200_000), None))
        ));
        let out = invoke(&f, vec![literal("2017-09-15"), literal("yyyy-MM-dd HH:mm")], 1).unwrap();
        assert!(matches!(
            out,
            ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(None, None))
        ));
    }
}
