//! SQL rows as JSON lines (the `filesystem` SQL sink) or messages (the Kafka
//! SQL sinks, [`JsonRows::messages`]):
//!
//! * `json` (Flink's JSON format): one object per row, keys the table's column
//!   names, `NULL` as `null`: `{"id":1,"name":null}`;
//! * `changelog-json` (the format of Ververica's flink-cdc connectors): one
//!   object per change, the row under `data` and its kind under `op` (`+I`,
//!   `-U`, `+U`, `-D`): `{"data":{"id":1,"name":null},"op":"+I"}`;
//! * `debezium-json` (Flink's, as its serializer writes it; the Kafka sink's):
//!   `{"before":null,"after":{"id":1,"name":null},"op":"c"}` for `+I` and `+U`,
//!   `{"before":{...},"after":null,"op":"d"}` for `-U` and `-D`.
//!
//! Values are encoded by arrow-json's encoders, with Flink's forms of
//! timestamps, times and binary strings ([`FlinkValues`]). The kind column of an
//! updating stream is never written as a column.
//!
//! [`JsonRowsFormat`] makes them a [`FormatFactory`] of [`SqlRows`], so the
//! filesystem connector's factory builds part writers from them; its option
//! `<format>.timestamp-format.standard` (`'SQL'`, the default, or `'ISO-8601'`)
//! chooses how timestamps are written, as in Flink.

use crate::flink_json::{FlinkValues, TimestampStandard};
use crate::sql_rows::SqlRows;
use arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use arrow::error::ArrowError;
use arrow_json::writer::{make_encoder, EncoderOptions, NullableEncoder};
use std::sync::Arc;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
use weir_connector_api::options::Options;
use weir_connector_api::registry::FormatFactory;
use weir_connector_api::ConnectorError;
use weir_sql::batch::RowBatch;

/// Which of the two JSON line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// `json`: the row's object.
    Rows,
    /// `changelog-json`: `{"data": <the row's object>, "op": "+I"}`.
    Changelog,
    /// `debezium-json` (written as Flink writes it): `+I` and `+U` as
    /// `{"before":null,"after":<the row's object>,"op":"c"}`, `-U` and `-D` as
    /// `{"before":<the row's object>,"after":null,"op":"d"}`.
    Debezium,
}

impl JsonLayout {
    /// The format's name, as `'format'` gives it.
    pub fn name(self) -> &'static str {
        match self {
            JsonLayout::Rows => "json",
            JsonLayout::Changelog => "changelog-json",
            JsonLayout::Debezium => "debezium-json",
        }
    }
}

/// Encodes batches of a table's rows as JSON lines.
pub struct JsonRows {
    layout: JsonLayout,
    /// The table's columns (nullable, whatever the table says: the object of a
    /// row holds `null` for a `NULL`).
    fields: Vec<FieldRef>,
    /// `"name":` of each column, JSON-escaped.
    keys: Vec<Vec<u8>>,
    options: EncoderOptions,
}

impl JsonRows {
    /// An encoder of rows of `schema` (the table's physical columns) in
    /// `layout`. A column of a type with no JSON form is an error naming it.
    pub fn new(schema: &SchemaRef, layout: JsonLayout, timestamps: TimestampStandard) -> Result<Self, String> {
        let options = EncoderOptions::default()
            .with_explicit_nulls(true)
            .with_encoder_factory(Arc::new(FlinkValues { timestamps }));
        let fields: Vec<FieldRef> = schema
            .fields()
            .iter()
            .map(|f| Arc::new(Field::new(f.name(), f.data_type().clone(), true)))
            .collect();
        for field in &fields {
            json_form(field.data_type()).map_err(|why| {
                format!(
                    "column '{}' of type {} cannot be written as JSON: {why}",
                    field.name(),
                    field.data_type()
                )
            })?;
        }
        let keys = fields
            .iter()
            .map(|f| {
                let mut key = serde_json::to_vec(f.name()).map_err(|e| e.to_string())?;
                key.push(b':');
                Ok(key)
            })
            .collect::<Result<_, String>>()?;
        Ok(JsonRows {
            layout,
            fields,
            keys,
            options,
        })
    }

    /// Appends the rows of `batch` (the table's columns, then the kind column if
    /// the stream is updating) to `out`, one line each, separated by `\n`, the
    /// last without its line end.
    pub fn write_lines(&self, batch: &RowBatch, out: &mut Vec<u8>) -> Result<(), ArrowError> {
        let mut encoders = self.encoders(batch)?;
        for row in 0..batch.num_rows() {
            if row > 0 {
                out.push(b'\n');
            }
            self.write_row(&mut encoders, batch, row, out);
        }
        Ok(())
    }

    /// The JSON text of each row of `batch` (as [`write_lines`](Self::write_lines)
    /// reads it), one message each.
    pub fn messages(&self, batch: &RowBatch) -> Result<Vec<Vec<u8>>, ArrowError> {
        let mut encoders = self.encoders(batch)?;
        Ok((0..batch.num_rows())
            .map(|row| {
                let mut out = Vec::new();
                self.write_row(&mut encoders, batch, row, &mut out);
                out
            })
            .collect())
    }

    /// The encoders of the table's columns of `batch`.
    fn encoders<'a>(&'a self, batch: &'a RowBatch) -> Result<Vec<NullableEncoder<'a>>, ArrowError> {
        let columns = batch.batch().columns();
        if columns.len() < self.fields.len() {
            return Err(ArrowError::InvalidArgumentError(format!(
                "a batch of {} columns for a table of {}",
                columns.len(),
                self.fields.len()
            )));
        }
        self.fields
            .iter()
            .zip(columns)
            .map(|(field, column)| make_encoder(field, column.as_ref(), &self.options))
            .collect()
    }

    /// Appends row `row` of `batch` in the layout.
    fn write_row(&self, encoders: &mut [NullableEncoder<'_>], batch: &RowBatch, row: usize, out: &mut Vec<u8>) {
        let kind = batch.kind(row);
        match self.layout {
            JsonLayout::Rows => self.write_object(encoders, row, out),
            JsonLayout::Changelog => {
                out.extend_from_slice(b"{\"data\":");
                self.write_object(encoders, row, out);
                out.extend_from_slice(b",\"op\":\"");
                out.extend_from_slice(kind.short().as_bytes());
                out.extend_from_slice(b"\"}");
            }
            JsonLayout::Debezium if kind.is_addition() => {
                out.extend_from_slice(b"{\"before\":null,\"after\":");
                self.write_object(encoders, row, out);
                out.extend_from_slice(b",\"op\":\"c\"}");
            }
            JsonLayout::Debezium => {
                out.extend_from_slice(b"{\"before\":");
                self.write_object(encoders, row, out);
                out.extend_from_slice(b",\"after\":null,\"op\":\"d\"}");
            }
        }
    }

    /// Appends the object of row `row`: `{"name":value,...}`.
    fn write_object(&self, encoders: &mut [NullableEncoder<'_>], row: usize, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (encoder, key)) in encoders.iter_mut().zip(&self.keys).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            if encoder.is_null(row) {
                out.extend_from_slice(b"null");
            } else {
                encoder.encode(row, out);
            }
        }
        out.push(b'}');
    }
}

/// Whether arrow-json's encoders (with [`FlinkValues`]) write values of type
/// `ty`; why not if they do not.
fn json_form(ty: &DataType) -> Result<(), String> {
    match ty {
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _) => json_form(item.data_type()),
        DataType::Struct(fields) => fields.iter().try_for_each(|f| json_form(f.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                if !matches!(
                    kv[0].data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) {
                    return Err(format!(
                        "map keys of type {} (JSON object keys are strings)",
                        kv[0].data_type()
                    ));
                }
                json_form(kv[1].data_type())
            }
            other => Err(format!("map entries of type {other}")),
        },
        DataType::Dictionary(_, values) => json_form(values),
        DataType::RunEndEncoded(_, values) => json_form(values.data_type()),
        DataType::Union(..) => Err("unions have no JSON form".into()),
        ty if ty.is_primitive()
            || ty.is_temporal()
            || matches!(
                ty,
                DataType::Null
                    | DataType::Boolean
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::FixedSizeBinary(_)
            ) =>
        {
            Ok(())
        }
        other => Err(format!("arrow-json has no encoder for {other}")),
    }
}

/// One serializer call writes a whole batch: its rows as lines, the part
/// writer adding the last line's end. An empty batch would make an empty line,
/// so the sink drops empty batches before they get here.
impl Serializer<RowBatch> for JsonRows {
    fn serialize(&mut self, value: &RowBatch, out: &mut Vec<u8>) -> Result<(), FormatError> {
        self.write_lines(value, out)
            .map_err(|e| FormatError::new(FormatErrorKind::Other, e.to_string()))
    }
}

/// `json` or `changelog-json` as a format of a connector registry of
/// [`SqlRows`] (writing only).
pub struct JsonRowsFormat(pub JsonLayout);

impl JsonRowsFormat {
    /// The option choosing how timestamps are written:
    /// `<format>.timestamp-format.standard`.
    pub fn timestamp_option(&self) -> String {
        format!("{}.timestamp-format.standard", self.0.name())
    }
}

impl FormatFactory<SqlRows> for JsonRowsFormat {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn deserializer(
        &self,
        _: &SchemaRef,
        options: &Options,
    ) -> Result<Box<dyn Deserializer<RowBatch>>, ConnectorError> {
        Err(ConnectorError::Other(format!(
            "{}: the '{}' format of SQL rows is written only",
            options.context(),
            self.0.name()
        )))
    }

    fn serializer(
        &self,
        schema: &SchemaRef,
        options: &Options,
    ) -> Result<Box<dyn Serializer<RowBatch>>, ConnectorError> {
        let key = self.timestamp_option();
        let standard = options.one_of(&key, &TimestampStandard::NAMES, "SQL")?;
        let timestamps = TimestampStandard::from_name(standard).unwrap_or_default();
        let rows = JsonRows::new(schema, self.0, timestamps)
            .map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))?;
        Ok(Box::new(rows))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow::array::{
        ArrayRef, BinaryArray, Date32Array, Decimal128Array, Float64Array, Int64Array, Int8Array, RecordBatch,
        StringArray, Time32MillisecondArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::{Schema, TimeUnit};
    use weir_sql::batch::{kind_field, RowKind};

    fn lines(layout: JsonLayout, standard: TimestampStandard, schema: &SchemaRef, batch: RecordBatch) -> Vec<String> {
        let rows = JsonRows::new(schema, layout, standard).unwrap();
        let mut out = Vec::new();
        rows.write_lines(&RowBatch(batch), &mut out).unwrap();
        String::from_utf8(out).unwrap().split('\n').map(String::from).collect()
    }

    fn table() -> (SchemaRef, Vec<ArrayRef>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("na\"me", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new(
                "ltz",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Time32(TimeUnit::Millisecond), true),
            Field::new("bytes", DataType::Binary, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(StringArray::from(vec![Some("a\nb"), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1_436_918_404_123), Some(-1)])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1_436_918_404_100), None]).with_timezone("UTC")),
            Arc::new(
                Decimal128Array::from(vec![Some(1250), Some(-5)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(Date32Array::from(vec![Some(16_631), None])),
            Arc::new(Time32MillisecondArray::from(vec![Some(4_123), Some(0)])),
            Arc::new(BinaryArray::from(vec![Some(&b"hi"[..]), None])),
            Arc::new(Float64Array::from(vec![Some(1.5), None])),
        ];
        (schema, columns)
    }

    #[test]
    fn rows_are_objects_with_flinks_value_forms() {
        let (schema, columns) = table();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        assert_eq!(
            lines(JsonLayout::Rows, TimestampStandard::Sql, &schema, batch.clone()),
            [
                r#"{"id":1,"na\"me":"a\nb","ts":"2015-07-15 00:00:04.123","ltz":"2015-07-15 00:00:04.1Z","price":12.50,"d":"2015-07-15","t":"00:00:04.123","bytes":"aGk=","x":1.5}"#,
                r#"{"id":2,"na\"me":null,"ts":"1969-12-31 23:59:59.999","ltz":null,"price":-0.05,"d":null,"t":"00:00:00","bytes":null,"x":null}"#,
            ]
        );
        let iso = lines(JsonLayout::Rows, TimestampStandard::Iso8601, &schema, batch);
        assert!(
            iso[0].contains(r#""ts":"2015-07-15T00:00:04.123","ltz":"2015-07-15T00:00:04.1Z""#),
            "{iso:?}"
        );
    }

    /// A column `n` and a batch of it with the kind column: `+I 1`, `-U 1`,
    /// `+U 2`, `-D 2`.
    fn changes() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let updating = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true), kind_field()]));
        let kinds = [
            RowKind::Insert,
            RowKind::UpdateBefore,
            RowKind::UpdateAfter,
            RowKind::Delete,
        ];
        let batch = RecordBatch::try_new(
            updating,
            vec![
                Arc::new(Int64Array::from(vec![1, 1, 2, 2])),
                Arc::new(Int8Array::from(kinds.iter().map(|k| *k as i8).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    #[test]
    fn changelog_rows_carry_their_kind_and_not_the_kind_column() {
        let (schema, batch) = changes();
        assert_eq!(
            lines(JsonLayout::Changelog, TimestampStandard::Sql, &schema, batch),
            [
                r#"{"data":{"n":1},"op":"+I"}"#,
                r#"{"data":{"n":1},"op":"-U"}"#,
                r#"{"data":{"n":2},"op":"+U"}"#,
                r#"{"data":{"n":2},"op":"-D"}"#,
            ]
        );
    }

    #[test]
    fn debezium_messages_are_flinks() {
        let (schema, batch) = changes();
        let rows = JsonRows::new(&schema, JsonLayout::Debezium, TimestampStandard::Sql).unwrap();
        let messages: Vec<String> = rows
            .messages(&RowBatch(batch))
            .unwrap()
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect();
        assert_eq!(
            messages,
            [
                r#"{"before":null,"after":{"n":1},"op":"c"}"#,
                r#"{"before":{"n":1},"after":null,"op":"d"}"#,
                r#"{"before":null,"after":{"n":2},"op":"c"}"#,
                r#"{"before":{"n":2},"after":null,"op":"d"}"#,
            ]
        );
    }

    #[test]
    fn a_type_without_json_form_is_named() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "u",
            DataType::Union(
                arrow::datatypes::UnionFields::empty(),
                arrow::datatypes::UnionMode::Sparse,
            ),
            true,
        )]));
        let error = JsonRows::new(&schema, JsonLayout::Rows, TimestampStandard::Sql)
            .err()
            .unwrap();
        assert!(error.contains("column 'u'"), "{error}");
        let map = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(
                    vec![
                        Field::new("key", DataType::Int32, false),
                        Field::new("value", DataType::Utf8, true),
                    ]
                    .into(),
                ),
                false,
            )),
            false,
        );
        let schema = Arc::new(Schema::new(vec![Field::new("m", map, true)]));
        let error = JsonRows::new(&schema, JsonLayout::Rows, TimestampStandard::Sql)
            .err()
            .unwrap();
        assert!(error.contains("column 'm'") && error.contains("map keys"), "{error}");
    }

    #[test]
    fn a_batch_short_of_columns_is_an_error() {
        let (schema, _) = table();
        let rows = JsonRows::new(&schema, JsonLayout::Rows, TimestampStandard::Sql).unwrap();
        let narrow = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(narrow, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        assert!(rows.write_lines(&RowBatch(batch), &mut Vec::new()).is_err());
    }
}
