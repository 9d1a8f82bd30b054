//! Flink's `HOUR`, `MINUTE`, `SECOND`, `YEAR`, `MONTH`, `DAYOFMONTH` and
//! `DAYOFWEEK` (1 = Sunday to 7 = Saturday): a field of a timestamp (or of a
//! date, for the date fields) as `BIGINT`, NULL for NULL.

use arrow::compute::kernels::cast::cast;
use arrow::compute::kernels::temporal::{date_part, DatePart};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::args::{check_count, result, result_rows};

/// Which field a [`TimePart`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// `HOUR`: 0 to 23.
    Hour,
    /// `MINUTE`: 0 to 59.
    Minute,
    /// `SECOND`: 0 to 59.
    Second,
    /// `YEAR`.
    Year,
    /// `MONTH`: 1 to 12.
    Month,
    /// `DAYOFMONTH`: 1 to 31.
    DayOfMonth,
    /// `DAYOFWEEK`: 1 (Sunday) to 7 (Saturday).
    DayOfWeek,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 7] = [
        Part::Hour,
        Part::Minute,
        Part::Second,
        Part::Year,
        Part::Month,
        Part::DayOfMonth,
        Part::DayOfWeek,
    ];

    /// The function's name, lower case as DataFusion looks functions up.
    pub fn name(self) -> &'static str {
        match self {
            Part::Hour => "hour",
            Part::Minute => "minute",
            Part::Second => "second",
            Part::Year => "year",
            Part::Month => "month",
            Part::DayOfMonth => "dayofmonth",
            Part::DayOfWeek => "dayofweek",
        }
    }

    fn date_part(self) -> DatePart {
        match self {
            Part::Hour => DatePart::Hour,
            Part::Minute => DatePart::Minute,
            Part::Second => DatePart::Second,
            Part::Year => DatePart::Year,
            Part::Month => DatePart::Month,
            Part::DayOfMonth => DatePart::Day,
            Part::DayOfWeek => DatePart::DayOfWeekSunday1,
        }
    }

    fn of_date(self) -> bool {
        !matches!(self, Part::Hour | Part::Minute | Part::Second)
    }
}

/// One of the functions: `part(ts)` returning `BIGINT`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimePart {
    part: Part,
    signature: Signature,
}

impl TimePart {
    /// The function taking `part`.
    pub fn new(part: Part) -> Self {
        TimePart {
            part,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// All the functions.
    pub fn all() -> Vec<TimePart> {
        Part::ALL.into_iter().map(TimePart::new).collect()
    }
}

impl ScalarUDFImpl for TimePart {
    fn name(&self) -> &str {
        self.part.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.part.name().to_uppercase();
        check_count(&name, types, 1, 1)?;
        match &types[0] {
            t @ DataType::Timestamp(_, _) => Ok(vec![t.clone()]),
            t @ (DataType::Date32 | DataType::Date64) if self.part.of_date() => Ok(vec![t.clone()]),
            DataType::Null => Ok(vec![DataType::Timestamp(TimeUnit::Millisecond, None)]),
            t => plan_err!("{name}: the argument must be a timestamp, not {t}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return exec_err!("{} takes 1 argument, got {}", self.part.name(), args.args.len());
        };
        let values = value.to_array(result_rows(&args.args, args.number_rows))?;
        let parts = cast(&date_part(&values, self.part.date_part())?, &DataType::Int64)?;
        result(&args.args, parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::invoke;
    use arrow::array::{AsArray, Date32Array, TimestampMillisecondArray, TimestampSecondArray};
    use arrow::datatypes::Int64Type;
    use datafusion::common::ScalarValue;
    use std::sync::Arc;

    // 2024-03-05 07:08:09.045 UTC, a Tuesday.
    const T: i64 = 1_709_622_489_045;

    fn parts(part: Part, values: ColumnarValue, rows: usize) -> Vec<Option<i64>> {
        let out = invoke(&TimePart::new(part), vec![values], rows).unwrap();
        let array = out.to_array(rows).unwrap();
        assert_eq!(array.data_type(), &DataType::Int64);
        array.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn every_part_of_a_millisecond_timestamp() {
        // 1970-01-04 was a Sunday, 2024-03-09 a Saturday.
        let sunday = 3 * 86_400_000;
        let saturday = T + 4 * 86_400_000;
        let ts = || {
            ColumnarValue::Array(Arc::new(TimestampMillisecondArray::from(vec![
                Some(T),
                None,
                Some(sunday),
                Some(saturday),
            ])))
        };
        let expected = [
            (Part::Hour, [7, 0, 7]),
            (Part::Minute, [8, 0, 8]),
            (Part::Second, [9, 0, 9]),
            (Part::Year, [2024, 1970, 2024]),
            (Part::Month, [3, 1, 3]),
            (Part::DayOfMonth, [5, 4, 9]),
            (Part::DayOfWeek, [3, 1, 7]),
        ];
        for (part, [t, sun, sat]) in expected {
            assert_eq!(
                parts(part, ts(), 4),
                vec![Some(t), None, Some(sun), Some(sat)],
                "{part:?}"
            );
        }
    }

    #[test]
    fn other_units_time_zones_dates_and_constants() {
        let ts = TimestampSecondArray::from(vec![T / 1000]).with_timezone("+02:00");
        assert_eq!(parts(Part::Hour, ColumnarValue::Array(Arc::new(ts)), 1), vec![Some(9)]);
        let date = Date32Array::from(vec![19_787]); // 2024-03-05
        assert_eq!(
            parts(Part::DayOfMonth, ColumnarValue::Array(Arc::new(date)), 1),
            vec![Some(5)]
        );
        let constant = ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(Some(T), None));
        let out = invoke(&TimePart::new(Part::Year), vec![constant], 10).unwrap();
        assert!(matches!(out, ColumnarValue::Scalar(ScalarValue::Int64(Some(2024)))));
    }

    #[test]
    fn arguments_are_checked() {
        let hour = TimePart::new(Part::Hour);
        assert!(hour.coerce_types(&[DataType::Date32]).is_err());
        let error = hour.coerce_types(&[DataType::Utf8]).unwrap_err().to_string();
        assert!(error.contains("HOUR: the argument must be a timestamp"), "{error}");
        assert!(hour.coerce_types(&[]).is_err());
        assert!(TimePart::new(Part::Year).coerce_types(&[DataType::Date32]).is_ok());
    }
}
