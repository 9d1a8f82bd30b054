//! Lines of text as rows of a table's columns, as Flink's `csv` and `json`
//! formats read them: a [`LineParser`] turns one line into a [`Row`] of typed
//! [`Value`]s (a [`Deserializer`] of the filesystem connector's line source),
//! and [`RowBuffer`] collects rows into Arrow record batches.
//!
//! * **CSV**: the fields of a line (split by weir-format-csv's reader: delimiter,
//!   quote and escape characters, `#` comments) are the table's columns by
//!   position; a line with another number of fields is a bad line. The
//!   `csv.null-literal` text is `NULL`; an empty field is the empty string in a
//!   string column (as in Flink) and `NULL` in the others (where Flink's reader
//!   fails on it).
//! * **JSON**: one object per line, keys the column names (JSON lines, Flink's
//!   `json` format). A missing key or `null` is `NULL` (a missing key is an error
//!   with `json.fail-on-missing-field`); other keys are ignored. A string column
//!   takes any JSON value (strings as they are, the rest as their JSON text);
//!   other columns take their JSON type or a string that parses as theirs.
//! * **Debezium JSON**: one change event per line, `{"before": {...}, "after":
//!   {...}, "op": "c"}` (Flink's `debezium-json` without the schema), the row
//!   images read as JSON rows are. `c` (create) and `r` (snapshot read) are `+I`
//!   of `after`, `u` is `-U` of `before` and `+U` of `after`, `d` is `-D` of
//!   `before`. Each row ends with its [`RowKind`] code (an `Int8` value, the
//!   batch's kind column, see [`Column::row_kind`]).
//!
//! Values: integers and floats as Rust parses them, `DECIMAL` by arrow's decimal
//! parser (too many digits for the precision is an error), `BOOLEAN` `true` or
//! `false` (any case), `DATE` `2015-07-15`, `TIME` `00:00:04.123`, `TIMESTAMP`
//! `2015-07-15 00:00:04.123` (the SQL standard) or `2015-07-15T00:00:04.123`
//! (ISO-8601): CSV takes both, JSON the one of `json.timestamp-format.standard`.
//! Fractions of seconds may have up to 9 digits and are kept to milliseconds.
//! `TIMESTAMP_LTZ` values are UTC, with or without a trailing `Z`.
//!
//! A field that does not parse is an error naming the column and the value, or,
//! with `ignore_parse_errors`, `NULL` (as Flink's `*.ignore-parse-errors` sets
//! such fields to null); a `NULL` in a `NOT NULL` column is an error either way.

use crate::flink_json::TimestampStandard;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, Int8Builder, RecordBatch, RecordBatchOptions, StringBuilder, Time32MillisecondBuilder,
    TimestampMillisecondBuilder,
};
use arrow::compute::kernels::cast_utils::parse_decimal;
use arrow::datatypes::{DataType, Decimal128Type, Field, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};
use weir_core::BoxError;
use weir_format_csv::{CsvDeserializer, CsvOptions};
use weir_sql::batch::{RowKind, KIND_COLUMN};
use weir_sql::source_batches::BatchBuilder;

/// One value of a row, in the form its column's type keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// `NULL`.
    Null,
    /// `BOOLEAN`.
    Bool(bool),
    /// `TINYINT`, `SMALLINT`, `INT`, `BIGINT` (in range of the column's type).
    Int(i64),
    /// `FLOAT`, `DOUBLE`.
    Float(f64),
    /// `DECIMAL(p, s)`: the unscaled value.
    Decimal(i128),
    /// `CHAR`, `VARCHAR`, `STRING`.
    Text(String),
    /// `DATE`: days since 1970-01-01.
    Date(i32),
    /// `TIME`: milliseconds since midnight.
    Time(i32),
    /// `TIMESTAMP`, `TIMESTAMP_LTZ`: milliseconds since 1970-01-01 00:00:00 (UTC).
    Timestamp(i64),
}

/// The values of one line, one per column read, in the order of the columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row(pub Vec<Value>);

/// The column types the text formats read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `BOOLEAN`.
    Bool,
    /// `TINYINT`.
    Int8,
    /// `SMALLINT`.
    Int16,
    /// `INT`.
    Int32,
    /// `BIGINT`.
    Int64,
    /// `FLOAT`.
    Float32,
    /// `DOUBLE`.
    Float64,
    /// `DECIMAL(precision, scale)`.
    Decimal(u8, i8),
    /// `CHAR`, `VARCHAR`, `STRING`.
    Text,
    /// `DATE`.
    Date,
    /// `TIME`.
    Time,
    /// `TIMESTAMP(3)` (no zone) or `TIMESTAMP_LTZ(3)` (this zone).
    Timestamp(Option<Arc<str>>),
}

/// The types [`Kind::of`] takes, for errors.
pub const SUPPORTED: &str = "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, CHAR/VARCHAR/STRING, \
     DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ";

impl Kind {
    /// The kind of a column of Arrow type `ty` (as `weir-sql` maps Flink's types),
    /// if the text formats read it.
    pub fn of(ty: &DataType) -> Option<Kind> {
        Some(match ty {
            DataType::Boolean => Kind::Bool,
            DataType::Int8 => Kind::Int8,
            DataType::Int16 => Kind::Int16,
            DataType::Int32 => Kind::Int32,
            DataType::Int64 => Kind::Int64,
            DataType::Float32 => Kind::Float32,
            DataType::Float64 => Kind::Float64,
            DataType::Decimal128(p, s) => Kind::Decimal(*p, *s),
            DataType::Utf8 => Kind::Text,
            DataType::Date32 => Kind::Date,
            DataType::Time32(TimeUnit::Millisecond) => Kind::Time,
            DataType::Timestamp(TimeUnit::Millisecond, zone) => Kind::Timestamp(zone.clone()),
            _ => return None,
        })
    }

    /// The SQL name of the type, for errors.
    fn sql_name(&self) -> String {
        match self {
            Kind::Bool => "BOOLEAN".into(),
            Kind::Int8 => "TINYINT".into(),
            Kind::Int16 => "SMALLINT".into(),
            Kind::Int32 => "INT".into(),
            Kind::Int64 => "BIGINT".into(),
            Kind::Float32 => "FLOAT".into(),
            Kind::Float64 => "DOUBLE".into(),
            Kind::Decimal(p, s) => format!("DECIMAL({p}, {s})"),
            Kind::Text => "STRING".into(),
            Kind::Date => "DATE".into(),
            Kind::Time => "TIME".into(),
            Kind::Timestamp(None) => "TIMESTAMP(3)".into(),
            Kind::Timestamp(Some(_)) => "TIMESTAMP_LTZ(3)".into(),
        }
    }
}

/// One column a parser produces.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column's name (the JSON key; CSV errors name it).
    pub name: String,
    /// Its type.
    pub kind: Kind,
    /// Whether it takes `NULL`.
    pub nullable: bool,
    /// Its position among the table's physical columns (the CSV field).
    pub position: usize,
}

impl Column {
    /// The kind column of a changelog's rows ([`KIND_COLUMN`], the [`RowKind`]
    /// code as an `Int8` value), after the table's `width` physical columns.
    pub fn row_kind(width: usize) -> Column {
        Column {
            name: KIND_COLUMN.to_string(),
            kind: Kind::Int8,
            nullable: false,
            position: width,
        }
    }

    /// The columns of `fields` (a table's physical columns) at `positions`, or the
    /// first field whose type the text formats do not read.
    pub fn of(fields: &[Arc<Field>], positions: &[usize]) -> Result<Vec<Column>, String> {
        positions
            .iter()
            .map(|&position| {
                let field = fields
                    .get(position)
                    .ok_or_else(|| format!("the table has no column {position}"))?;
                let kind = Kind::of(field.data_type()).ok_or_else(|| {
                    format!(
                        "column '{}' of type {} cannot be read from text (types read: {SUPPORTED})",
                        field.name(),
                        field.data_type()
                    )
                })?;
                Ok(Column {
                    name: field.name().clone(),
                    kind,
                    nullable: field.is_nullable(),
                    position,
                })
            })
            .collect()
    }
}

/// Which text format, with its settings.
#[derive(Debug, Clone)]
pub enum TextFormat {
    /// CSV with these options (their null literal is handled by the parser); lines
    /// have `width` fields (the table's physical columns).
    Csv {
        /// The reader's options.
        options: CsvOptions,
        /// The number of fields of a line.
        width: usize,
    },
    /// JSON lines.
    Json {
        /// How timestamps are written.
        timestamps: TimestampStandard,
        /// A key missing from an object is an error rather than `NULL`.
        fail_on_missing_field: bool,
    },
    /// Debezium JSON change events, one per line: a changelog (each row ends with
    /// its kind).
    DebeziumJson {
        /// How timestamps are written.
        timestamps: TimestampStandard,
    },
}

impl TextFormat {
    /// Whether rows are changes (each ends with its kind).
    pub fn is_changelog(&self) -> bool {
        matches!(self, TextFormat::DebeziumJson { .. })
    }
}

/// What makes [`LineParser`]s: the format and the columns, shared by the readers.
#[derive(Debug, Clone)]
pub struct ParserSpec {
    /// The format.
    pub format: TextFormat,
    /// The columns produced, in order.
    pub columns: Vec<Column>,
    /// Fields that do not parse are `NULL` (in nullable columns).
    pub ignore_parse_errors: bool,
}

impl ParserSpec {
    /// The columns of the rows the parser produces: [`columns`](ParserSpec::columns)
    /// and, for a changelog format, the kind column after the table's `width`
    /// physical columns.
    pub fn row_columns(&self, width: usize) -> Vec<Column> {
        let mut columns = self.columns.clone();
        if self.format.is_changelog() {
            columns.push(Column::row_kind(width));
        }
        columns
    }

    /// A parser (fails on CSV options the reader refuses).
    pub fn parser(&self) -> Result<LineParser, FormatError> {
        let format = match &self.format {
            TextFormat::Csv { options, width } => {
                let mut options = options.clone();
                let null_literal = options.null_literal.take();
                Parsing::Csv {
                    comment: options.comment,
                    reader: Box::new(CsvDeserializer::new(options)?),
                    null_literal,
                    width: *width,
                    records: Vec::with_capacity(1),
                }
            }
            TextFormat::Json {
                timestamps,
                fail_on_missing_field,
            } => Parsing::Json {
                timestamps: *timestamps,
                fail_on_missing_field: *fail_on_missing_field,
            },
            TextFormat::DebeziumJson { timestamps } => Parsing::DebeziumJson {
                timestamps: *timestamps,
            },
        };
        Ok(LineParser {
            columns: self.columns.clone(),
            ignore_parse_errors: self.ignore_parse_errors,
            format,
        })
    }
}

enum Parsing {
    Csv {
        /// Lines starting with it are comments (csv-core sees a comment only
        /// when a line end follows, and lines come without theirs).
        comment: Option<u8>,
        reader: Box<CsvDeserializer<Vec<String>>>,
        null_literal: Option<String>,
        width: usize,
        records: Vec<Vec<String>>,
    },
    Json {
        timestamps: TimestampStandard,
        fail_on_missing_field: bool,
    },
    DebeziumJson {
        timestamps: TimestampStandard,
    },
}

/// Parses lines into [`Row`]s of its columns (see the [module](self) for how).
pub struct LineParser {
    columns: Vec<Column>,
    ignore_parse_errors: bool,
    format: Parsing,
}

impl std::fmt::Debug for LineParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineParser")
            .field("columns", &self.columns)
            .field("ignore_parse_errors", &self.ignore_parse_errors)
            .finish()
    }
}

/// How timestamps may be written.
#[derive(Debug, Clone, Copy)]
enum Timestamps {
    /// Either standard (CSV).
    Any,
    /// This one (JSON).
    Only(TimestampStandard),
}

impl Deserializer<Row> for LineParser {
    /// Parses one line: no row for a CSV comment, one row otherwise; on error none.
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<Row>) -> Result<(), FormatError> {
        match &mut self.format {
            Parsing::Csv {
                comment,
                reader,
                null_literal,
                width,
                records,
            } => {
                if comment.is_some() && bytes.first() == comment.as_ref() {
                    return Ok(());
                }
                records.clear();
                reader.deserialize(bytes, records)?;
                for fields in records.drain(..) {
                    if fields.len() != *width {
                        return Err(FormatError::new(
                            FormatErrorKind::Syntax,
                            format!("the line has {} fields, the table {} columns", fields.len(), width),
                        ));
                    }
                    let row = self
                        .columns
                        .iter()
                        .map(|column| {
                            let text = fields.get(column.position).map(String::as_str).unwrap_or_default();
                            let value = if null_literal.as_deref() == Some(text)
                                || (text.trim().is_empty() && column.kind != Kind::Text)
                            {
                                Ok(Value::Null)
                            } else {
                                parse_text(&column.kind, text, Timestamps::Any)
                            };
                            checked(column, value, self.ignore_parse_errors, text)
                        })
                        .collect::<Result<Vec<Value>, FormatError>>()?;
                    out.push(Row(row));
                }
                Ok(())
            }
            Parsing::Json {
                timestamps,
                fail_on_missing_field,
            } => {
                let object = json_object(bytes)?;
                let row = json_row(
                    &self.columns,
                    &object,
                    *timestamps,
                    *fail_on_missing_field,
                    self.ignore_parse_errors,
                )?;
                out.push(Row(row));
                Ok(())
            }
            Parsing::DebeziumJson { timestamps } => {
                let event = json_object(bytes)?;
                let image = |name: &str| -> Result<Option<&serde_json::Map<String, serde_json::Value>>, FormatError> {
                    match event.get(name) {
                        None | Some(serde_json::Value::Null) => Ok(None),
                        Some(serde_json::Value::Object(image)) => Ok(Some(image)),
                        Some(other) => Err(FormatError::new(
                            FormatErrorKind::Type,
                            format!("`{name}` is {}, not an object", json_type(other)),
                        )),
                    }
                };
                let required =
                    |name: &str, op: &str| -> Result<&serde_json::Map<String, serde_json::Value>, FormatError> {
                        let hint = match name {
                        "before" => {
                            " (a Debezium PostgreSQL connector writes it only for tables with REPLICA IDENTITY FULL)"
                        }
                        _ => "",
                    };
                        image(name)?.ok_or_else(|| {
                            FormatError::new(
                                FormatErrorKind::MissingField,
                                format!("the `{name}` of an `op: \"{op}\"` event is missing or null{hint}"),
                            )
                        })
                    };
                let ignore = self.ignore_parse_errors;
                let columns = &self.columns;
                let row = |image: &serde_json::Map<String, serde_json::Value>, kind: RowKind| {
                    let mut values = json_row(columns, image, *timestamps, false, ignore)?;
                    values.push(Value::Int(kind as i64));
                    Ok::<Row, FormatError>(Row(values))
                };
                let op = match event.get("op") {
                    Some(serde_json::Value::String(op)) => op.as_str(),
                    None | Some(serde_json::Value::Null) => {
                        return Err(FormatError::new(FormatErrorKind::MissingField, "no `op` in the event"))
                    }
                    Some(other) => {
                        return Err(FormatError::new(
                            FormatErrorKind::Type,
                            format!("`op` is {}, not a string", json_type(other)),
                        ))
                    }
                };
                match op {
                    "c" | "r" => out.push(row(required("after", op)?, RowKind::Insert)?),
                    "u" => {
                        let before = row(required("before", op)?, RowKind::UpdateBefore)?;
                        let after = row(required("after", op)?, RowKind::UpdateAfter)?;
                        out.push(before);
                        out.push(after);
                    }
                    "d" => out.push(row(required("before", op)?, RowKind::Delete)?),
                    other => {
                        return Err(FormatError::new(
                            FormatErrorKind::Other,
                            format!("unknown `op` '{other}' (known: c, r, u, d)"),
                        ))
                    }
                }
                Ok(())
            }
        }
    }
}

/// The JSON object of a line or message.
fn json_object(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, FormatError> {
    serde_json::from_slice(bytes)
        .map_err(|e| FormatError::new(FormatErrorKind::Syntax, format!("not a JSON object: {e}")))
}

/// The values of `columns` in `object` (see the [module](self) for how).
fn json_row(
    columns: &[Column],
    object: &serde_json::Map<String, serde_json::Value>,
    timestamps: TimestampStandard,
    fail_on_missing_field: bool,
    ignore_parse_errors: bool,
) -> Result<Vec<Value>, FormatError> {
    columns
        .iter()
        .map(|column| {
            let (value, shown) = match object.get(&column.name) {
                None if fail_on_missing_field => {
                    return Err(FormatError::new(
                        FormatErrorKind::MissingField,
                        format!("no field `{}` (json.fail-on-missing-field)", column.name),
                    ))
                }
                None | Some(serde_json::Value::Null) => (Ok(Value::Null), String::new()),
                Some(json) => (json_value(&column.kind, json, timestamps), json.to_string()),
            };
            checked(column, value, ignore_parse_errors, &shown)
        })
        .collect()
}

/// `value` of `column`, or the error naming them; a failure is `NULL` when
/// `ignore` (in a nullable column).
fn checked(column: &Column, value: Result<Value, String>, ignore: bool, text: &str) -> Result<Value, FormatError> {
    let value = match value {
        Ok(value) => value,
        Err(_) if ignore && column.nullable => Value::Null,
        Err(reason) => {
            return Err(FormatError::new(
                FormatErrorKind::Type,
                format!(
                    "column `{}` ({}): cannot read {:?}: {reason}",
                    column.name,
                    column.kind.sql_name(),
                    text
                ),
            ))
        }
    };
    if value == Value::Null && !column.nullable {
        return Err(FormatError::new(
            FormatErrorKind::MissingField,
            format!("column `{}` is NOT NULL, the line has no value for it", column.name),
        ));
    }
    Ok(value)
}

fn int_in<T: TryFrom<i64>>(value: i64, kind: &Kind) -> Result<Value, String> {
    T::try_from(value)
        .map(|_| Value::Int(value))
        .map_err(|_| format!("{value} is out of the range of {}", kind.sql_name()))
}

/// A value of `kind` from its text.
fn parse_text(kind: &Kind, text: &str, timestamps: Timestamps) -> Result<Value, String> {
    let trimmed = text.trim();
    let int = |t: &str| t.parse::<i64>().map_err(|e| e.to_string());
    match kind {
        Kind::Text => Ok(Value::Text(text.to_string())),
        Kind::Bool => {
            if trimmed.eq_ignore_ascii_case("true") {
                Ok(Value::Bool(true))
            } else if trimmed.eq_ignore_ascii_case("false") {
                Ok(Value::Bool(false))
            } else {
                Err("expected true or false".into())
            }
        }
        Kind::Int8 => int_in::<i8>(int(trimmed)?, kind),
        Kind::Int16 => int_in::<i16>(int(trimmed)?, kind),
        Kind::Int32 => int_in::<i32>(int(trimmed)?, kind),
        Kind::Int64 => int(trimmed).map(Value::Int),
        Kind::Float32 => trimmed
            .parse::<f32>()
            .map(|v| Value::Float(f64::from(v)))
            .map_err(|e| e.to_string()),
        Kind::Float64 => trimmed.parse::<f64>().map(Value::Float).map_err(|e| e.to_string()),
        Kind::Decimal(p, s) => parse_decimal::<Decimal128Type>(trimmed, *p, *s)
            .map(Value::Decimal)
            .map_err(|e| e.to_string()),
        Kind::Date => NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
            .map_err(|e| format!("{e} (expected a date such as 2015-07-15)"))
            .and_then(|d| {
                let days = d.signed_duration_since(epoch_day()).num_days();
                i32::try_from(days).map(Value::Date).map_err(|e| e.to_string())
            }),
        Kind::Time => NaiveTime::parse_from_str(trimmed, "%H:%M:%S%.f")
            .map_err(|e| format!("{e} (expected a time such as 00:00:04.123)"))
            .map(|t| {
                let millis = t.num_seconds_from_midnight() * 1000 + (t.nanosecond() / 1_000_000).min(999);
                // At most 86 400 000: fits.
                Value::Time(i32::try_from(millis).unwrap_or(i32::MAX))
            }),
        Kind::Timestamp(zone) => {
            let body = match zone {
                Some(_) => trimmed.strip_suffix(['Z', 'z']).unwrap_or(trimmed),
                None => trimmed,
            };
            let iso = body.as_bytes().get(10) == Some(&b'T');
            let standard = match timestamps {
                Timestamps::Any if iso => TimestampStandard::Iso8601,
                Timestamps::Any => TimestampStandard::Sql,
                Timestamps::Only(standard) => standard,
            };
            let (format, example) = match standard {
                TimestampStandard::Sql => (
                    "%Y-%m-%d %H:%M:%S%.f",
                    "2015-07-15 00:00:04.123 (json.timestamp-format.standard 'SQL')",
                ),
                TimestampStandard::Iso8601 => (
                    "%Y-%m-%dT%H:%M:%S%.f",
                    "2015-07-15T00:00:04.123 (json.timestamp-format.standard 'ISO-8601')",
                ),
            };
            let example = match timestamps {
                Timestamps::Any => "2015-07-15 00:00:04.123 or 2015-07-15T00:00:04.123",
                Timestamps::Only(_) => example,
            };
            NaiveDateTime::parse_from_str(body, format)
                .map(|t| Value::Timestamp(t.and_utc().timestamp_millis()))
                .map_err(|e| format!("{e} (expected a timestamp such as {example})"))
        }
    }
}

fn epoch_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// A value of `kind` from a JSON value (not `null`).
fn json_value(kind: &Kind, json: &serde_json::Value, timestamps: TimestampStandard) -> Result<Value, String> {
    use serde_json::Value as Json;
    let timestamps = Timestamps::Only(timestamps);
    match (kind, json) {
        (Kind::Text, Json::String(s)) => Ok(Value::Text(s.clone())),
        (Kind::Text, other) => Ok(Value::Text(other.to_string())),
        (_, Json::String(s)) => parse_text(kind, s, timestamps),
        (Kind::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64, Json::Number(n)) => match n.as_i64() {
            Some(_) => parse_text(kind, &n.to_string(), timestamps),
            None => Err("not an integer".into()),
        },
        (Kind::Float32 | Kind::Float64, Json::Number(n)) => {
            n.as_f64().map(Value::Float).ok_or_else(|| "not a number".into())
        }
        (Kind::Decimal(..), Json::Number(n)) => parse_text(kind, &n.to_string(), timestamps),
        (_, other) => Err(format!("a JSON {} is not a {}", json_type(other), kind.sql_name())),
    }
}

fn json_type(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Rows waiting to become a record batch of `schema` (the columns of the rows, in
/// order).
#[derive(Debug)]
pub struct RowBuffer {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    rows: Vec<Row>,
}

impl BatchBuilder<Row> for RowBuffer {
    fn push(&mut self, row: Row) {
        RowBuffer::push(self, row);
    }

    fn len(&self) -> usize {
        RowBuffer::len(self)
    }

    fn take_batch(&mut self) -> Result<Option<RecordBatch>, BoxError> {
        Ok(RowBuffer::take_batch(self)?)
    }
}

impl RowBuffer {
    /// An empty buffer of rows of `columns`, batches of `schema` (the same columns).
    pub fn new(schema: SchemaRef, columns: &[Column]) -> Self {
        RowBuffer {
            schema,
            kinds: columns.iter().map(|c| c.kind.clone()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The number of rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The batch of the rows held (emptied), or `None` when there are none.
    pub fn take_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        let arrays = (0..self.kinds.len())
            .map(|i| self.column(i))
            .collect::<Result<Vec<ArrayRef>, ArrowError>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows.len()));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)?;
        // Cleared, not replaced: the next batch reuses the allocation.
        self.rows.clear();
        Ok(Some(batch))
    }

    fn column(&self, index: usize) -> Result<ArrayRef, ArrowError> {
        let rows = &self.rows;
        let n = rows.len();
        let mismatch = |value: &Value| {
            ArrowError::InvalidArgumentError(format!(
                "column {index} holds {value:?}, not a value of {}",
                self.kinds[index].sql_name()
            ))
        };
        // The parser made each value of its column's kind (and range).
        macro_rules! build {
            ($builder:expr, $pattern:pat => $append:expr) => {{
                let mut builder = $builder;
                for row in rows {
                    match row.0.get(index) {
                        None | Some(Value::Null) => builder.append_null(),
                        Some($pattern) => builder.append_value($append),
                        Some(other) => return Err(mismatch(other)),
                    }
                }
                Arc::new(builder.finish()) as ArrayRef
            }};
        }
        let narrow = |v: &i64| mismatch(&Value::Int(*v));
        Ok(match &self.kinds[index] {
            Kind::Bool => build!(BooleanBuilder::with_capacity(n), Value::Bool(v) => *v),
            Kind::Int8 => {
                build!(Int8Builder::with_capacity(n), Value::Int(v) => i8::try_from(*v).map_err(|_| narrow(v))?)
            }
            Kind::Int16 => {
                build!(Int16Builder::with_capacity(n), Value::Int(v) => i16::try_from(*v).map_err(|_| narrow(v))?)
            }
            Kind::Int32 => {
                build!(Int32Builder::with_capacity(n), Value::Int(v) => i32::try_from(*v).map_err(|_| narrow(v))?)
            }
            Kind::Int64 => build!(Int64Builder::with_capacity(n), Value::Int(v) => *v),
            // FLOAT values were parsed as f32: exact.
            Kind::Float32 => build!(Float32Builder::with_capacity(n), Value::Float(v) => *v as f32),
            Kind::Float64 => build!(Float64Builder::with_capacity(n), Value::Float(v) => *v),
            Kind::Decimal(p, s) => build!(
                Decimal128Builder::with_capacity(n).with_precision_and_scale(*p, *s)?,
                Value::Decimal(v) => *v
            ),
            Kind::Text => {
                let bytes = rows
                    .iter()
                    .map(|row| match row.0.get(index) {
                        Some(Value::Text(v)) => v.len(),
                        _ => 0,
                    })
                    .sum();
                build!(StringBuilder::with_capacity(n, bytes), Value::Text(v) => v)
            }
            Kind::Date => build!(Date32Builder::with_capacity(n), Value::Date(v) => *v),
            Kind::Time => build!(Time32MillisecondBuilder::with_capacity(n), Value::Time(v) => *v),
            Kind::Timestamp(zone) => build!(
                TimestampMillisecondBuilder::with_capacity(n).with_timezone_opt(zone.clone()),
                Value::Timestamp(v) => *v
            ),
        })
    }
}
