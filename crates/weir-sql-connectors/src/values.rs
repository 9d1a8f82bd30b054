//! Arrow columns as the PostgreSQL connector's [`SqlValue`]s: each column type is
//! checked once when the sink is planned ([`Converter::of`]) and cast to one of a
//! few canonical Arrow types per batch ([`Converter::values`]).

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType};
use arrow::error::ArrowError;
use weir_connector_postgres::SqlValue;

/// How one column's values become [`SqlValue`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Converter {
    /// Signed integers and unsigned ones up to 32 bits, as `Int`.
    Int,
    /// Floating-point numbers, as `Float`.
    Float,
    /// Booleans.
    Bool,
    /// Strings, as `Text`.
    Text,
    /// Decimals, dates and times, as their text form (which PostgreSQL parses into
    /// `numeric`, `date`, `time` columns).
    TextForm,
    /// Timestamps (any unit; with a zone, UTC instants), as microseconds.
    Timestamp(Option<std::sync::Arc<str>>),
    /// Binary strings, as `Bytes`.
    Bytes,
    /// The `NULL` type: every value is `NULL`.
    Null,
}

/// The types [`Converter::of`] takes, for errors.
pub const SUPPORTED: &str = "TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, BOOLEAN, CHAR/VARCHAR/STRING, \
     DECIMAL, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ, BINARY/VARBINARY/BYTES";

impl Converter {
    /// The converter of a column of type `ty`, if the connector can write it.
    pub fn of(ty: &DataType) -> Option<Converter> {
        Some(match ty {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Converter::Int,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Converter::Float,
            DataType::Boolean => Converter::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Converter::Text,
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_) => Converter::TextForm,
            DataType::Timestamp(_, zone) => Converter::Timestamp(zone.clone()),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                Converter::Bytes
            }
            DataType::Null => Converter::Null,
            _ => return None,
        })
    }

    /// The canonical type the column is cast to.
    fn target(&self) -> DataType {
        match self {
            Converter::Int => DataType::Int64,
            Converter::Float => DataType::Float64,
            Converter::Bool => DataType::Boolean,
            Converter::Text | Converter::TextForm => DataType::Utf8,
            Converter::Timestamp(zone) => DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
            Converter::Bytes => DataType::Binary,
            Converter::Null => DataType::Null,
        }
    }

    /// The values of `column`, one per row.
    pub fn values(&self, column: &ArrayRef) -> Result<Vec<SqlValue>, ArrowError> {
        let array = cast(column, &self.target())?;
        let len = array.len();
        let value = |row: usize| -> SqlValue {
            if array.is_null(row) {
                return SqlValue::Null;
            }
            match self {
                Converter::Int => SqlValue::Int(array.as_primitive::<Int64Type>().value(row)),
                Converter::Float => SqlValue::Float(array.as_primitive::<Float64Type>().value(row)),
                Converter::Bool => SqlValue::Bool(array.as_boolean().value(row)),
                Converter::Text | Converter::TextForm => {
                    SqlValue::Text(array.as_string::<i32>().value(row).to_string())
                }
                Converter::Timestamp(_) => {
                    SqlValue::TimestampMicros(array.as_primitive::<TimestampMicrosecondType>().value(row))
                }
                Converter::Bytes => SqlValue::Bytes(array.as_binary::<i32>().value(row).to_vec()),
                Converter::Null => SqlValue::Null,
            }
        };
        Ok((0..len).map(value).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float32Array, Int32Array, StringArray, TimestampMillisecondArray,
        UInt64Array,
    };
    use std::sync::Arc;

    fn values(array: ArrayRef) -> Vec<SqlValue> {
        Converter::of(array.data_type()).unwrap().values(&array).unwrap()
    }

    #[test]
    fn columns_become_connector_values_with_nulls() {
        assert_eq!(
            values(Arc::new(Int32Array::from(vec![Some(7), None]))),
            vec![SqlValue::Int(7), SqlValue::Null]
        );
        assert_eq!(
            values(Arc::new(Float32Array::from(vec![1.5]))),
            vec![SqlValue::Float(1.5)]
        );
        assert_eq!(
            values(Arc::new(BooleanArray::from(vec![Some(true), None]))),
            vec![SqlValue::Bool(true), SqlValue::Null]
        );
        assert_eq!(
            values(Arc::new(StringArray::from(vec![Some("a"), None]))),
            vec![SqlValue::Text("a".into()), SqlValue::Null]
        );
        assert_eq!(
            values(Arc::new(TimestampMillisecondArray::from(vec![1_500]))),
            vec![SqlValue::TimestampMicros(1_500_000)]
        );
        assert_eq!(
            values(Arc::new(Date32Array::from(vec![19_000]))),
            vec![SqlValue::Text("2022-01-08".into())]
        );
        let decimal = Decimal128Array::from(vec![1250])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(values(Arc::new(decimal)), vec![SqlValue::Text("12.50".into())]);
    }

    #[test]
    fn unsupported_types_have_no_converter() {
        assert_eq!(Converter::of(UInt64Array::from(vec![1u64]).data_type()), None);
        assert_eq!(
            Converter::of(&DataType::List(Arc::new(arrow::datatypes::Field::new(
                "item",
                DataType::Int32,
                true
            )))),
            None
        );
    }
}
