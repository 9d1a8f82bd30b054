//! The `datagen` source connector: rows of random or sequential values, as Flink's
//! `datagen` connector makes them, for trying queries without a service.
//!
//! ```sql
//! CREATE TABLE orders (
//!   id BIGINT, customer INT, amount DECIMAL(10, 2), note VARCHAR, placed TIMESTAMP(3)
//! ) WITH (
//!   'connector' = 'datagen',
//!   'rows-per-second' = '100',
//!   'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000',
//!   'fields.customer.min' = '1', 'fields.customer.max' = '50',
//!   'fields.note.length' = '12', 'fields.note.null-rate' = '0.1',
//!   'fields.placed.max-past' = '5 min'
//! );
//! ```
//!
//! Options (Flink's): `rows-per-second` (default 10000; the whole source's rate),
//! `number-of-rows` (absent: endless, unless a sequence field ends it), and per
//! column `fields.<col>.kind` (`random`, the default, or `sequence`),
//! `.min`/`.max` (random numbers; default the type's range, for DECIMAL(p, s) the
//! values of p digits), `.length` and `.var-len` (random strings: `length` hex
//! characters, default 100; with `var-len` 1 to `length` of them), `.max-past`
//! (random TIMESTAMP and DATE values at most this long before now, default 0),
//! `.start`/`.end` (sequences, both required: each value of `start..=end` once,
//! and the table ends after the shortest sequence) and `.null-rate` (the share of
//! NULLs, default 0). Unknown options, fields or values are errors naming the
//! table and the option.
//!
//! Weir's difference: a row's random values depend only on its position (a
//! seeded hash), and the positions read are checkpointed, so a restored job
//! makes again exactly the rows it had not made (Flink's random rows differ on
//! every run). TIMESTAMP and DATE values depend on the clock, as in Flink.

use crate::batch::RowBatch;
use crate::connector::{unique_uid, SqlSource};
use crate::error::SqlError;
use crate::front::options::parse_duration;
use crate::front::TableDef;
use crate::source_batches::{to_batches, BatchBuilder, BATCH_ROWS};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, Int8Builder, RecordBatch, RecordBatchOptions, StringBuilder, Time32MillisecondBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder, TimestampNanosecondBuilder, TimestampSecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use std::sync::Arc;
use weir_connectors::GeneratorSource;
use weir_core::BoxError;
use weir_datastream::{DataStream, StreamExecutionEnvironment};

/// The `datagen` connector.
pub struct DatagenConnector;

const CONNECTOR: &str = "datagen";
const TABLE_OPTIONS: [&str; 3] = ["connector", "rows-per-second", "number-of-rows"];
const FIELD_OPTIONS: [&str; 9] = [
    "kind",
    "min",
    "max",
    "max-past",
    "length",
    "var-len",
    "start",
    "end",
    "null-rate",
];
const DEFAULT_ROWS_PER_SECOND: f64 = 10_000.0;
const DEFAULT_STRING_LENGTH: usize = 100;

fn bad(table: &TableDef, option: &str, message: impl Into<String>) -> SqlError {
    SqlError::BadOption {
        table: table.name.clone(),
        option: option.to_string(),
        message: message.into(),
    }
}

/// What makes one column's values.
#[derive(Debug, Clone)]
enum Values {
    /// Uniform integers in `min..=max` (also DECIMAL, unscaled, and BOOLEAN as 0..=1).
    Integers { min: i128, max: i128 },
    /// Uniform floats in `min..max`.
    Floats { min: f64, max: f64 },
    /// Hex strings of `length` characters (1 to `length` with `var_len`).
    Strings { length: usize, var_len: bool },
    /// Times at most `max_past_ms` before the clock.
    Past { max_past_ms: i64 },
    /// Random milliseconds of a day.
    TimeOfDay,
    /// `start + position * step` (the step is 1 in the column's scale).
    Sequence { start: i128, step: i128 },
}

/// One column's generator.
#[derive(Debug, Clone)]
struct Field {
    /// Mixed into the column's randomness: the column's position in the table.
    salt: u64,
    data_type: DataType,
    values: Values,
    null_rate: f64,
}

/// The table's row count and rate, and a generator per column of the table.
#[derive(Debug, Clone)]
struct Plan {
    rows: Option<u64>,
    rate: f64,
    fields: Vec<Field>,
}

/// Reads a number option, naming it when it is not one.
fn parsed<T: std::str::FromStr>(table: &TableDef, key: &str) -> Result<Option<T>, SqlError> {
    match table.options.get(key) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(table, key, format!("'{text}' is not a valid value"))),
    }
}

/// A DECIMAL option as an unscaled integer of `scale` digits after the point.
fn decimal(table: &TableDef, key: &str, scale: i8) -> Result<Option<i128>, SqlError> {
    let Some(text) = table.options.get(key) else {
        return Ok(None);
    };
    arrow::compute::kernels::cast_utils::parse_decimal::<arrow::datatypes::Decimal128Type>(text.trim(), 38, scale)
        .map(Some)
        .map_err(|e| bad(table, key, format!("'{text}' is not a decimal: {e}")))
}

fn integer_range(data_type: &DataType) -> Option<(i128, i128)> {
    Some(match data_type {
        DataType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        DataType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        DataType::Int64 => (i64::MIN.into(), i64::MAX.into()),
        DataType::Decimal128(precision, _) => {
            let max = 10i128.pow(u32::from(*precision).min(38)) - 1;
            (-max, max)
        }
        _ => return None,
    })
}

impl Plan {
    fn of(table: &TableDef) -> Result<Plan, SqlError> {
        let columns: Vec<&str> = table.schema.fields().iter().map(|f| f.name().as_str()).collect();
        for key in table.options.keys() {
            if TABLE_OPTIONS.contains(&key.as_str()) {
                continue;
            }
            let known = key.strip_prefix("fields.").and_then(|rest| rest.rsplit_once('.'));
            match known {
                Some((column, option)) if columns.contains(&column) && FIELD_OPTIONS.contains(&option) => {}
                Some((column, _)) if !columns.contains(&column) => {
                    return Err(bad(
                        table,
                        key,
                        format!("the table has no physical column '{column}' (columns: {columns:?})"),
                    ))
                }
                _ => {
                    return Err(bad(
                        table,
                        key,
                        format!(
                        "unknown option of the datagen connector (known: {TABLE_OPTIONS:?} and fields.<column>.{{{}}})",
                        FIELD_OPTIONS.join(", ")
                    ),
                    ))
                }
            }
        }
        let rate = parsed::<f64>(table, "rows-per-second")?.unwrap_or(DEFAULT_ROWS_PER_SECOND);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(bad(table, "rows-per-second", "must be a positive number"));
        }
        let mut rows = parsed::<u64>(table, "number-of-rows")?;
        let mut fields = Vec::new();
        for (position, field) in table.schema.fields().iter().enumerate() {
            let (generated, sequence_rows) = Self::field(table, position, field.name(), field.data_type())?;
            if let Some(n) = sequence_rows {
                rows = Some(rows.map_or(n, |r| r.min(n)));
            }
            fields.push(generated);
        }
        Ok(Plan { rows, rate, fields })
    }

    /// The generator of a column, and the rows its sequence has (if it is one).
    fn field(
        table: &TableDef,
        position: usize,
        name: &str,
        data_type: &DataType,
    ) -> Result<(Field, Option<u64>), SqlError> {
        let key = |option: &str| format!("fields.{name}.{option}");
        let given = |option: &str| table.options.contains_key(&key(option));
        let refuse = |options: &[&str], why: &str| -> Result<(), SqlError> {
            match options.iter().find(|o| given(o)) {
                Some(option) => Err(bad(table, &key(option), why)),
                None => Ok(()),
            }
        };
        let scale = match data_type {
            DataType::Decimal128(_, scale) => *scale,
            _ => 0,
        };
        let null_rate = parsed::<f64>(table, &key("null-rate"))?.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&null_rate) {
            return Err(bad(table, &key("null-rate"), "must be between 0 and 1"));
        }
        let kind = table.options.get(&key("kind")).map(|k| k.trim().to_ascii_lowercase());
        let unsupported = |what: &str| {
            bad(
                table,
                &key("kind"),
                format!("{what} for column '{name}' of type {data_type} is not supported by the datagen connector"),
            )
        };
        let mut sequence_rows = None;
        let values = match kind.as_deref() {
            Some("sequence") => {
                refuse(
                    &["min", "max", "max-past", "length", "var-len"],
                    "is an option of random fields (this one is a sequence)",
                )?;
                let integer = integer_range(data_type).is_some() || matches!(data_type, DataType::Utf8);
                if !integer {
                    return Err(unsupported("a sequence"));
                }
                let (Some(start), Some(end)) = (
                    decimal(table, &key("start"), scale)?,
                    decimal(table, &key("end"), scale)?,
                ) else {
                    return Err(bad(table, &key("start"), "a sequence needs both start and end"));
                };
                if end < start {
                    return Err(bad(table, &key("end"), "end is before start"));
                }
                if let Some((min, max)) = integer_range(data_type) {
                    if start < min || end > max {
                        return Err(bad(table, &key("end"), format!("outside the range of {data_type}")));
                    }
                }
                let count =
                    u64::try_from(end - start + 1).map_err(|_| bad(table, &key("end"), "the sequence is too long"))?;
                sequence_rows = Some(count);
                Values::Sequence {
                    start,
                    step: 10i128.pow(u32::try_from(scale).unwrap_or(0)),
                }
            }
            None | Some("random") => {
                refuse(
                    &["start", "end"],
                    "is an option of sequence fields (this one is random)",
                )?;
                match data_type {
                    DataType::Boolean => Values::Integers { min: 0, max: 1 },
                    DataType::Float32 | DataType::Float64 => {
                        let (lo, hi) = if matches!(data_type, DataType::Float32) {
                            (f64::from(f32::MIN), f64::from(f32::MAX))
                        } else {
                            (f64::MIN, f64::MAX)
                        };
                        let min = parsed::<f64>(table, &key("min"))?.unwrap_or(lo);
                        let max = parsed::<f64>(table, &key("max"))?.unwrap_or(hi);
                        if !(min.is_finite() && max.is_finite() && min <= max) {
                            return Err(bad(table, &key("max"), "needs finite min <= max"));
                        }
                        Values::Floats { min, max }
                    }
                    DataType::Utf8 => {
                        refuse(&["min", "max", "max-past"], "is not an option of string fields")?;
                        let length = parsed::<usize>(table, &key("length"))?.unwrap_or(DEFAULT_STRING_LENGTH);
                        let var_len = parsed::<bool>(table, &key("var-len"))?.unwrap_or(false);
                        if length == 0 && var_len {
                            return Err(bad(table, &key("length"), "var-len needs a length of at least 1"));
                        }
                        Values::Strings { length, var_len }
                    }
                    DataType::Timestamp(_, _) | DataType::Date32 => {
                        refuse(&["min", "max", "length", "var-len"], "is not an option of time fields")?;
                        let max_past = match table.options.get(&key("max-past")) {
                            None => 0,
                            Some(text) => {
                                let d = parse_duration(text).map_err(|e| bad(table, &key("max-past"), e))?;
                                i64::try_from(d.as_millis())
                                    .map_err(|_| bad(table, &key("max-past"), "the duration is too long"))?
                            }
                        };
                        Values::Past { max_past_ms: max_past }
                    }
                    DataType::Time32(TimeUnit::Millisecond) => Values::TimeOfDay,
                    _ => {
                        let Some((lo, hi)) = integer_range(data_type) else {
                            return Err(unsupported("a random value"));
                        };
                        refuse(&["max-past", "length", "var-len"], "is not an option of number fields")?;
                        let min = decimal(table, &key("min"), scale)?.unwrap_or(lo);
                        let max = decimal(table, &key("max"), scale)?.unwrap_or(hi);
                        if min > max || min < lo || max > hi {
                            return Err(bad(
                                table,
                                &key("max"),
                                format!("needs min <= max within the range of {data_type}"),
                            ));
                        }
                        Values::Integers { min, max }
                    }
                }
            }
            Some(other) => {
                return Err(bad(
                    table,
                    &key("kind"),
                    format!("'{other}' is not a kind (random or sequence)"),
                ))
            }
        };
        Ok((
            Field {
                salt: position as u64,
                data_type: data_type.clone(),
                values,
                null_rate,
            },
            sequence_rows,
        ))
    }
}

/// The random numbers of one cell (a row's position and a column): SplitMix64
/// seeded by a hash of both, so a cell's values never depend on other rows.
struct CellRandom(u64);

impl CellRandom {
    fn new(position: u64, salt: u64) -> Self {
        let mut seed = CellRandom(position ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let first = seed.next_u64();
        CellRandom(first)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `min..=max`.
    fn between(&mut self, min: i128, max: i128) -> i128 {
        // At most 2 * 10^38 (DECIMAL(38)): more than i128 holds, less than u128.
        let span = max.abs_diff(min) + 1;
        let wide = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        // min + an offset within the span: in min..=max, so the sum fits.
        min.wrapping_add_unsigned(wide % span)
    }
}

/// A column's value at one position, before it is put into an array.
enum Value {
    Null,
    Int(i128),
    Float(f64),
    Text(String),
}

impl Field {
    fn value(&self, position: u64, now_ms: i64) -> Value {
        let mut random = CellRandom::new(position, self.salt);
        if self.null_rate > 0.0 && random.unit() < self.null_rate {
            return Value::Null;
        }
        match &self.values {
            Values::Integers { min, max } => Value::Int(random.between(*min, *max)),
            Values::Floats { min, max } => Value::Float(min + (max - min) * random.unit()),
            Values::Strings { length, var_len } => {
                let n = if *var_len {
                    random.between(1, *length as i128) as usize
                } else {
                    *length
                };
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let text = (0..n).map(|_| HEX[(random.next_u64() & 15) as usize] as char).collect();
                Value::Text(text)
            }
            Values::Past { max_past_ms } => {
                Value::Int(i128::from(now_ms) - random.between(0, i128::from(*max_past_ms)))
            }
            Values::TimeOfDay => Value::Int(random.between(0, 86_399_999)),
            Values::Sequence { start, step } => {
                let value = start + i128::from(position) * step;
                match self.data_type {
                    DataType::Utf8 => Value::Text(value.to_string()),
                    _ => Value::Int(value),
                }
            }
        }
    }
}

/// Builds one column of the rows at `positions`.
fn column(field: &Field, positions: &[u64], now_ms: i64) -> Result<ArrayRef, BoxError> {
    let values = positions.iter().map(|p| field.value(*p, now_ms));
    macro_rules! ints {
        ($builder:expr, $t:ty) => {{
            let mut b = $builder;
            for v in values {
                match v {
                    Value::Int(i) => b.append_value(<$t>::try_from(i)?),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    let n = positions.len();
    Ok(match &field.data_type {
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for v in values {
                match v {
                    Value::Int(i) => b.append_value(i == 1),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int8 => ints!(Int8Builder::with_capacity(n), i8),
        DataType::Int16 => ints!(Int16Builder::with_capacity(n), i16),
        DataType::Int32 => ints!(Int32Builder::with_capacity(n), i32),
        DataType::Int64 => ints!(Int64Builder::with_capacity(n), i64),
        DataType::Decimal128(p, s) => {
            let mut b = Decimal128Builder::with_capacity(n).with_precision_and_scale(*p, *s)?;
            for v in values {
                match v {
                    Value::Int(i) => b.append_value(i),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float32 => {
            let mut b = Float32Builder::with_capacity(n);
            for v in values {
                match v {
                    Value::Float(f) => b.append_value(f as f32),
                    Value::Int(i) => b.append_value(i as f32),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(n);
            for v in values {
                match v {
                    Value::Float(f) => b.append_value(f),
                    Value::Int(i) => b.append_value(i as f64),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for v in values {
                match v {
                    Value::Text(t) => b.append_value(t),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Date32 => {
            let mut b = Date32Builder::with_capacity(n);
            for v in values {
                match v {
                    Value::Int(ms) => b.append_value(i32::try_from(ms.div_euclid(86_400_000))?),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Time32(TimeUnit::Millisecond) => ints!(Time32MillisecondBuilder::with_capacity(n), i32),
        DataType::Timestamp(unit, zone) => {
            let scaled = |ms: i128| -> Result<i64, BoxError> {
                let v = match unit {
                    TimeUnit::Second => ms.div_euclid(1000),
                    TimeUnit::Millisecond => ms,
                    TimeUnit::Microsecond => ms * 1000,
                    TimeUnit::Nanosecond => ms * 1_000_000,
                };
                Ok(i64::try_from(v)?)
            };
            let mut out: Vec<Option<i64>> = Vec::with_capacity(n);
            for v in values {
                out.push(match v {
                    Value::Int(ms) => Some(scaled(ms)?),
                    _ => None,
                });
            }
            match unit {
                TimeUnit::Second => {
                    let mut b = TimestampSecondBuilder::with_capacity(n).with_timezone_opt(zone.clone());
                    b.extend(out);
                    Arc::new(b.finish())
                }
                TimeUnit::Millisecond => {
                    let mut b = TimestampMillisecondBuilder::with_capacity(n).with_timezone_opt(zone.clone());
                    b.extend(out);
                    Arc::new(b.finish())
                }
                TimeUnit::Microsecond => {
                    let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone_opt(zone.clone());
                    b.extend(out);
                    Arc::new(b.finish())
                }
                TimeUnit::Nanosecond => {
                    let mut b = TimestampNanosecondBuilder::with_capacity(n).with_timezone_opt(zone.clone());
                    b.extend(out);
                    Arc::new(b.finish())
                }
            }
        }
        other => return Err(format!("the datagen connector cannot make values of type {other}").into()),
    })
}

/// Collects row positions and builds the projected columns' batches.
struct PositionBatches {
    schema: SchemaRef,
    fields: Vec<Field>,
    positions: Vec<u64>,
}

impl BatchBuilder<u64> for PositionBatches {
    fn push(&mut self, position: u64) {
        self.positions.push(position);
    }

    fn len(&self) -> usize {
        self.positions.len()
    }

    fn take_batch(&mut self) -> Result<Option<RecordBatch>, BoxError> {
        if self.positions.is_empty() {
            return Ok(None);
        }
        let now_ms = weir_core::processing_time_now();
        let arrays = self
            .fields
            .iter()
            .map(|f| column(f, &self.positions, now_ms))
            .collect::<Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.positions.len()));
        self.positions.clear();
        Ok(Some(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &options,
        )?))
    }
}

impl SqlSource for DatagenConnector {
    fn name(&self) -> &'static str {
        CONNECTOR
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let plan = Plan::of(table)?;
        let (schema, fields) = match projection {
            Some(indexes) => {
                let fields = indexes
                    .iter()
                    .map(|i| {
                        plan.fields
                            .get(*i)
                            .cloned()
                            .ok_or_else(|| SqlError::Plan(format!("column {i} of table '{}'", table.name)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (Arc::new(table.schema.project(indexes)?), fields)
            }
            None => (table.schema.clone(), plan.fields.clone()),
        };
        let mut source = GeneratorSource::new(|position| position).with_rate_limit(plan.rate);
        if let Some(rows) = plan.rows {
            source = source.with_count(rows);
        }
        let source_uid = unique_uid(env, &format!("source/{}", table.name));
        let batches_uid = source_uid.replacen("source/", "batches/", 1);
        let positions = env
            .add_source(source)
            .name(&format!("datagen source '{}'", table.name))
            .uid(&source_uid);
        Ok(
            to_batches(&positions, &format!("datagen batches '{}'", table.name), move |_| {
                Ok(PositionBatches {
                    schema: schema.clone(),
                    fields: fields.clone(),
                    positions: Vec::with_capacity(BATCH_ROWS),
                })
            })
            .uid(&batches_uid),
        )
    }
}
