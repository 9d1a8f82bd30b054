//! Flink SQL data types and their Arrow equivalents.
//!
//! | Flink | Arrow |
//! | --- | --- |
//! | `BOOLEAN` | `Boolean` |
//! | `TINYINT`, `SMALLINT`, `INT`/`INTEGER`, `BIGINT` | `Int8`, `Int16`, `Int32`, `Int64` |
//! | `FLOAT`/`REAL`, `DOUBLE [PRECISION]` | `Float32`, `Float64` |
//! | `DECIMAL(p, s)`/`DEC`/`NUMERIC` (default `(10, 0)`) | `Decimal128(p, s)` |
//! | `CHAR(n)`, `VARCHAR(n)`, `STRING` | `Utf8` |
//! | `BINARY(n)`, `VARBINARY(n)`, `BYTES` | `Binary` |
//! | `DATE` | `Date32` |
//! | `TIME(p)` | `Time32(Millisecond)` |
//! | `TIMESTAMP(p) [WITHOUT TIME ZONE]` | `Timestamp(Millisecond, None)` |
//! | `TIMESTAMP_LTZ(p)`, `TIMESTAMP(p) WITH LOCAL TIME ZONE` | `Timestamp(Millisecond, "UTC")` |
//! | `ROW<a T, ...>`, `ROW(a T, ...)` | `Struct` |
//! | `ARRAY<T>`, `T ARRAY` | `List` (item field `item`) |
//! | `MAP<K, V>` | `Map` (`entries: struct<key, value>`, keys not null) |
//!
//! All times are kept at millisecond precision whatever `p` says (Flink's event time
//! is `TIMESTAMP(3)`). Any type may be followed by `NOT NULL`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Position, SqlError};
use crate::front::parser::{FrontParser, MAX_DEPTH};

/// The time zone of `TIMESTAMP_LTZ` columns.
pub const LTZ_TIME_ZONE: &str = "UTC";

/// Arrow's `Timestamp(Millisecond, None)`: Flink's `TIMESTAMP(3)`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// Arrow's `Timestamp(Millisecond, "UTC")`: Flink's `TIMESTAMP_LTZ(3)`.
pub fn timestamp_ltz_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(LTZ_TIME_ZONE.into()))
}

/// Whether a type can be an event-time (rowtime) column.
pub fn is_time_attribute_type(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Timestamp(TimeUnit::Millisecond, _))
}

/// The Flink spelling of an Arrow type (as `DESCRIBE` shows it), `NOT NULL` added
/// when not nullable. Types Flink cannot express are shown in Arrow's spelling.
pub fn flink_type_name(data_type: &DataType, nullable: bool) -> String {
    let base = match data_type {
        DataType::Boolean => "BOOLEAN".to_string(),
        DataType::Int8 => "TINYINT".to_string(),
        DataType::Int16 => "SMALLINT".to_string(),
        DataType::Int32 => "INT".to_string(),
        DataType::Int64 => "BIGINT".to_string(),
        DataType::Float32 => "FLOAT".to_string(),
        DataType::Float64 => "DOUBLE".to_string(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".to_string(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".to_string(),
        DataType::Date32 => "DATE".to_string(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".to_string(),
        DataType::Timestamp(_, None) => "TIMESTAMP(3)".to_string(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP_LTZ(3)".to_string(),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` {}", f.name(), flink_type_name(f.data_type(), f.is_nullable())))
                .collect();
            format!("ROW<{}>", inner.join(", "))
        }
        DataType::List(item) | DataType::LargeList(item) => {
            format!("ARRAY<{}>", flink_type_name(item.data_type(), item.is_nullable()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "MAP<{}, {}>",
                flink_type_name(kv[0].data_type(), kv[0].is_nullable()),
                flink_type_name(kv[1].data_type(), kv[1].is_nullable())
            ),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    if nullable {
        base
    } else {
        format!("{base} NOT NULL")
    }
}

impl FrontParser<'_> {
    /// A Flink data type and its nullability (`NOT NULL` after it).
    pub(crate) fn data_type(&mut self, depth: usize) -> Result<(DataType, bool), SqlError> {
        let token = self.next();
        if depth > MAX_DEPTH {
            return Err(SqlError::TooDeep);
        }
        let name = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => return Err(self.src.expected("a data type", &token)),
        };
        let position = Position::from_location(token.span.start);
        let data_type = match name.as_str() {
            "BOOLEAN" => DataType::Boolean,
            "TINYINT" => DataType::Int8,
            "SMALLINT" => DataType::Int16,
            "INT" | "INTEGER" => DataType::Int32,
            "BIGINT" => DataType::Int64,
            "FLOAT" | "REAL" => DataType::Float32,
            "DOUBLE" => {
                self.eat_word("PRECISION");
                DataType::Float64
            }
            "DECIMAL" | "DEC" | "NUMERIC" => {
                let (precision, scale) = if self.eat(&Token::LParen) {
                    let p_token = self.peek().clone();
                    let precision = self.uint("a precision")?;
                    let scale = if self.eat(&Token::Comma) {
                        self.uint("a scale")?
                    } else {
                        0
                    };
                    self.expect(&Token::RParen, "')'")?;
                    if !(1..=38).contains(&precision) || scale > precision {
                        return Err(self.src.error_at(
                            &p_token,
                            format!(
                                "DECIMAL({precision}, {scale}): precision must be 1 to 38 and scale 0 to the precision"
                            ),
                        ));
                    }
                    (precision, scale)
                } else {
                    (10, 0)
                };
                // Checked above: both fit.
                DataType::Decimal128(precision as u8, scale as i8)
            }
            "CHAR" | "VARCHAR" | "CHARACTER" => {
                if name == "CHARACTER" {
                    self.eat_word("VARYING");
                }
                self.optional_length()?;
                DataType::Utf8
            }
            "STRING" => DataType::Utf8,
            "BINARY" | "VARBINARY" => {
                self.optional_length()?;
                DataType::Binary
            }
            "BYTES" => DataType::Binary,
            "DATE" => DataType::Date32,
            "TIME" => {
                self.optional_length()?;
                self.eat_words(&["WITHOUT", "TIME", "ZONE"]);
                DataType::Time32(TimeUnit::Millisecond)
            }
            "TIMESTAMP" => {
                self.optional_length()?;
                if self.eat_words(&["WITH", "LOCAL", "TIME", "ZONE"]) {
                    timestamp_ltz_type()
                } else if self.peek_word("WITH") && self.nth_is_word(1, "TIME") {
                    return Err(SqlError::unsupported("TIMESTAMP WITH TIME ZONE", position));
                } else {
                    self.eat_words(&["WITHOUT", "TIME", "ZONE"]);
                    timestamp_type()
                }
            }
            "TIMESTAMP_LTZ" => {
                self.optional_length()?;
                timestamp_ltz_type()
            }
            // `ROW<...>` reaches here as `STRUCT<...>` (see `rewrite_type_spellings`).
            "ROW" | "STRUCT" => {
                let close = if self.eat(&Token::Lt) {
                    Token::Gt
                } else if self.eat(&Token::LParen) {
                    Token::RParen
                } else {
                    let t = self.peek().clone();
                    return Err(self.src.expected("'<' or '(' after ROW", &t));
                };
                let mut fields = Vec::new();
                loop {
                    let (field_name, field_token) = self.ident("a field name")?;
                    if fields.iter().any(|f: &Field| f.name() == &field_name) {
                        return Err(self
                            .src
                            .error_at(&field_token, format!("duplicate field '{field_name}'")));
                    }
                    let (field_type, nullable) = self.data_type(depth + 1)?;
                    // Flink allows a description string after a field's type.
                    if matches!(self.peek().token, Token::SingleQuotedString(_)) {
                        self.next();
                    }
                    fields.push(Field::new(field_name, field_type, nullable));
                    if !self.eat(&Token::Comma) {
                        break;
                    }
                }
                let what = if close == Token::Gt { "'>'" } else { "')'" };
                self.expect(&close, what)?;
                DataType::Struct(Fields::from(fields))
            }
            "ARRAY" => {
                self.expect(&Token::Lt, "'<' after ARRAY")?;
                let (item, nullable) = self.data_type(depth + 1)?;
                self.expect(&Token::Gt, "'>'")?;
                DataType::List(Arc::new(Field::new("item", item, nullable)))
            }
            "MAP" => {
                self.expect(&Token::Lt, "'<' after MAP")?;
                let (key, _) = self.data_type(depth + 1)?;
                self.expect(&Token::Comma, "','")?;
                let (value, value_nullable) = self.data_type(depth + 1)?;
                self.expect(&Token::Gt, "'>'")?;
                map_type(key, value, value_nullable)
            }
            "MULTISET" | "RAW" | "INTERVAL" | "NULL" | "STRUCTURED" | "VARIANT" | "DESCRIPTOR" | "SYMBOL" => {
                return Err(SqlError::unsupported(format!("data type {name}"), position));
            }
            _ => {
                return Err(self.src.error_at(
                    &token,
                    format!("unknown data type '{}'", self.src.span_text(token.span)),
                ));
            }
        };
        let mut nullable = self.nullability();
        let mut data_type = data_type;
        // Postfix `T ARRAY` (Flink's synonym of `ARRAY<T>`).
        while self.peek_word("ARRAY") {
            self.next();
            data_type = DataType::List(Arc::new(Field::new("item", data_type, nullable)));
            nullable = self.nullability();
        }
        Ok((data_type, nullable))
    }

    /// `NOT NULL` → false, `NULL` or nothing → true.
    fn nullability(&mut self) -> bool {
        if self.eat_words(&["NOT", "NULL"]) {
            false
        } else {
            self.eat_word("NULL");
            true
        }
    }

    /// An optional `(n)` after a type name.
    fn optional_length(&mut self) -> Result<Option<u64>, SqlError> {
        if self.eat(&Token::LParen) {
            let n = self.uint("a length or precision")?;
            self.expect(&Token::RParen, "')'")?;
            Ok(Some(n))
        } else {
            Ok(None)
        }
    }
}

/// Arrow's map type with a non-null key: `Map(entries: Struct(key, value))`.
pub fn map_type(key: DataType, value: DataType, value_nullable: bool) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", key, false),
            Field::new("value", value, value_nullable),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}
