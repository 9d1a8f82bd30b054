//! [`SqlValue`]: one column value of a row written by the sinks.
//!
//! A value is converted to the column's type when it is sent: integers fit any
//! integer or floating-point column (range-checked), any value fits a text
//! column, and columns of types without a native conversion here (`numeric`,
//! `date`, `uuid`, `inet`, enums, arrays, ...) receive the value's text form,
//! which the server parses (so `SqlValue::Text("12.50")` fills a `numeric` column).

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use std::error::Error;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type ToSqlResult = Result<IsNull, Box<dyn Error + Sync + Send>>;

/// A column value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// `boolean`.
    Bool(bool),
    /// Any integer column (`smallint`, `integer`, `bigint`), or a float column.
    Int(i64),
    /// `real` or `double precision`.
    Float(f64),
    /// Text, or the text form of a value of any other type (`numeric`, `date`, `uuid`).
    Text(String),
    /// `bytea`.
    Bytes(Vec<u8>),
    /// `json` or `jsonb`.
    Json(serde_json::Value),
    /// `timestamp` or `timestamptz`: microseconds since 1970-01-01 00:00:00 UTC.
    TimestampMicros(i64),
}

impl SqlValue {
    /// Appends a byte form that is equal exactly when the values are equal (for
    /// finding rows of one key within a batch).
    pub(crate) fn fingerprint(&self, out: &mut Vec<u8>) {
        match self {
            SqlValue::Null => out.push(0),
            SqlValue::Bool(b) => out.extend([1, u8::from(*b)]),
            SqlValue::Int(i) => {
                out.push(2);
                out.extend(i.to_le_bytes());
            }
            SqlValue::Float(f) => {
                out.push(3);
                out.extend(f.to_bits().to_le_bytes());
            }
            SqlValue::Text(s) => {
                out.push(4);
                out.extend((s.len() as u64).to_le_bytes());
                out.extend(s.as_bytes());
            }
            SqlValue::Bytes(b) => {
                out.push(5);
                out.extend((b.len() as u64).to_le_bytes());
                out.extend(b);
            }
            SqlValue::Json(j) => {
                let s = j.to_string();
                out.push(6);
                out.extend((s.len() as u64).to_le_bytes());
                out.extend(s.as_bytes());
            }
            SqlValue::TimestampMicros(t) => {
                out.push(7);
                out.extend(t.to_le_bytes());
            }
        }
    }

    /// The value's text form, as the server's input functions read it.
    fn text(&self) -> Result<Option<String>, Box<dyn Error + Sync + Send>> {
        Ok(Some(match self {
            SqlValue::Null => return Ok(None),
            SqlValue::Bool(b) => b.to_string(),
            SqlValue::Int(i) => i.to_string(),
            SqlValue::Float(f) if f.is_nan() => "NaN".to_string(),
            SqlValue::Float(f) if f.is_infinite() => if *f > 0.0 { "Infinity" } else { "-Infinity" }.to_string(),
            SqlValue::Float(f) => f.to_string(),
            SqlValue::Text(s) => s.clone(),
            SqlValue::Bytes(bytes) => {
                let mut text = String::with_capacity(2 + bytes.len() * 2);
                text.push_str("\\x");
                for b in bytes {
                    let _ = write!(text, "{b:02x}");
                }
                text
            }
            SqlValue::Json(j) => j.to_string(),
            SqlValue::TimestampMicros(_) => {
                return Err(
                    "a timestamp goes only into a timestamp or timestamptz column (give other \
                            date/time columns their text form)"
                        .into(),
                )
            }
        }))
    }

    fn system_time(micros: i64) -> SystemTime {
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        if micros >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }
}

/// Whether values for a column of type `ty` are sent in its own binary form
/// (else as text, cast by the server).
pub(crate) fn is_native(ty: &Type) -> bool {
    [
        Type::BOOL,
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::BYTEA,
        Type::JSON,
        Type::JSONB,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
    ]
    .contains(ty)
}

fn mismatch(value: &SqlValue, ty: &Type) -> Box<dyn Error + Sync + Send> {
    format!("cannot write {value:?} into a column of type {ty}").into()
}

impl ToSql for SqlValue {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> ToSqlResult {
        if *self == SqlValue::Null {
            return Ok(IsNull::Yes);
        }
        if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME, Type::UNKNOWN].contains(ty) {
            return match self.text()? {
                Some(text) => text.as_str().to_sql(&Type::TEXT, out),
                None => Ok(IsNull::Yes),
            };
        }
        match (self, ty) {
            (SqlValue::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (SqlValue::Int(i), &Type::INT2) => i16::try_from(*i)
                .map_err(|_| format!("{i} is out of range for a smallint column"))?
                .to_sql(ty, out),
            (SqlValue::Int(i), &Type::INT4) => i32::try_from(*i)
                .map_err(|_| format!("{i} is out of range for an integer column"))?
                .to_sql(ty, out),
            (SqlValue::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (SqlValue::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (SqlValue::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (SqlValue::Float(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (SqlValue::Float(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (SqlValue::Bytes(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (SqlValue::Json(j), &Type::JSON | &Type::JSONB) => j.to_sql(ty, out),
            (SqlValue::Text(s), &Type::JSON | &Type::JSONB) => {
                // A JSON document given as text: checked here, not by the server.
                let value: serde_json::Value =
                    serde_json::from_str(s).map_err(|e| format!("not a JSON document ({e}): {s:.80}"))?;
                value.to_sql(ty, out)
            }
            (SqlValue::TimestampMicros(t), &Type::TIMESTAMP | &Type::TIMESTAMPTZ) => {
                SqlValue::system_time(*t).to_sql(ty, out)
            }
            (value, ty) => Err(mismatch(value, ty)),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, against the column's type.
        true
    }

    postgres::types::to_sql_checked!();
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for SqlValue {
            fn from(value: $t) -> Self {
                SqlValue::Int(i64::from(value))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for SqlValue {
    fn from(value: bool) -> Self {
        SqlValue::Bool(value)
    }
}

impl From<f32> for SqlValue {
    fn from(value: f32) -> Self {
        SqlValue::Float(f64::from(value))
    }
}

impl From<f64> for SqlValue {
    fn from(value: f64) -> Self {
        SqlValue::Float(value)
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_string())
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(value: Vec<u8>) -> Self {
        SqlValue::Bytes(value)
    }
}

impl From<serde_json::Value> for SqlValue {
    fn from(value: serde_json::Value) -> Self {
        SqlValue::Json(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

impl From<SystemTime> for SqlValue {
    fn from(value: SystemTime) -> Self {
        let micros = match value.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
        };
        SqlValue::TimestampMicros(micros)
    }
}

/// A JSON value as a column value: numbers as integers or floats, strings as
/// text, arrays and objects as JSON.
pub(crate) fn from_json(value: serde_json::Value) -> SqlValue {
    match value {
        serde_json::Value::Null => SqlValue::Null,
        serde_json::Value::Bool(b) => SqlValue::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Int(i),
            None => match n.as_f64() {
                Some(f) if n.is_f64() => SqlValue::Float(f),
                // A u64 beyond i64: its digits (fits numeric or text columns).
                _ => SqlValue::Text(n.to_string()),
            },
        },
        serde_json::Value::String(s) => SqlValue::Text(s),
        other => SqlValue::Json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &SqlValue, ty: &Type) -> Result<Vec<u8>, String> {
        let mut out = BytesMut::new();
        match value.to_sql(ty, &mut out) {
            Ok(IsNull::Yes) => Ok(b"NULL".to_vec()),
            Ok(IsNull::No) => Ok(out.to_vec()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn values_convert_to_the_column_type() {
        assert_eq!(encode(&SqlValue::Int(7), &Type::INT4).unwrap(), 7i32.to_be_bytes());
        assert_eq!(encode(&SqlValue::Int(7), &Type::INT2).unwrap(), 7i16.to_be_bytes());
        assert_eq!(encode(&SqlValue::Int(7), &Type::FLOAT8).unwrap(), 7f64.to_be_bytes());
        assert!(encode(&SqlValue::Int(1 << 40), &Type::INT4)
            .unwrap_err()
            .contains("out of range"));
        assert_eq!(encode(&SqlValue::Int(12), &Type::TEXT).unwrap(), b"12");
        assert_eq!(encode(&SqlValue::Bytes(vec![1, 255]), &Type::TEXT).unwrap(), b"\\x01ff");
        assert_eq!(encode(&SqlValue::Float(f64::NAN), &Type::TEXT).unwrap(), b"NaN");
        assert_eq!(encode(&SqlValue::Null, &Type::INT8).unwrap(), b"NULL");
        assert!(encode(&SqlValue::Text("x".into()), &Type::INT8)
            .unwrap_err()
            .contains("int8"));
        assert!(encode(&SqlValue::Text("{".into()), &Type::JSONB)
            .unwrap_err()
            .contains("JSON"));
        // 2000-01-01 is PostgreSQL's epoch: zero.
        let y2k = SqlValue::TimestampMicros(946_684_800_000_000);
        assert_eq!(encode(&y2k, &Type::TIMESTAMPTZ).unwrap(), 0i64.to_be_bytes());
        assert!(encode(&y2k, &Type::TEXT).is_err());
    }

    #[test]
    fn fingerprints_tell_values_apart() {
        let print = |v: &[SqlValue]| {
            let mut out = Vec::new();
            v.iter().for_each(|v| v.fingerprint(&mut out));
            out
        };
        assert_ne!(print(&["ab".into(), "c".into()]), print(&["a".into(), "bc".into()]));
        assert_ne!(print(&[SqlValue::Int(1)]), print(&[SqlValue::Float(1.0)]));
        assert_eq!(print(&[SqlValue::Int(1)]), print(&[1i32.into()]));
    }

    #[test]
    fn json_values_map_to_column_values() {
        let value = serde_json::json!({"a": [1]});
        assert_eq!(from_json(serde_json::json!(3)), SqlValue::Int(3));
        assert_eq!(from_json(serde_json::json!(2.5)), SqlValue::Float(2.5));
        assert_eq!(
            from_json(serde_json::json!(u64::MAX)),
            SqlValue::Text(u64::MAX.to_string())
        );
        assert_eq!(from_json(value.clone()), SqlValue::Json(value));
    }
}
