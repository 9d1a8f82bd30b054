//! The `kafka` SQL source: a table read from a Kafka topic's JSON messages
//! through [`weir_connector_kafka`]'s [`KafkaSource`] (each partition a split,
//! its offset in the checkpoints).
//!
//! ```sql
//! CREATE TABLE clicks (user_id STRING, url STRING, ts TIMESTAMP(3),
//!     WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
//! WITH ('connector' = 'kafka', 'topic' = 'clicks',
//!       'properties.bootstrap.servers' = '127.0.0.1:9092',
//!       'properties.group.id' = 'reports', 'scan.startup.mode' = 'earliest-offset',
//!       'format' = 'json');
//! ```
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `topic`, `properties.bootstrap.servers` | required | the topic (one) and the brokers |
//! | `properties.group.id` | `weir-<topic>` | the consumer group offsets are committed to (for monitoring) and read from with `group-offsets` |
//! | `scan.startup.mode` | `group-offsets` | `earliest-offset`, `latest-offset`, `group-offsets` (earliest where the group has none), `timestamp` (with `scan.startup.timestamp-millis`); `specific-offsets` is not supported |
//! | `scan.bounded.mode` | `unbounded` | `latest-offset`: read up to the end each partition had when the job started, then end |
//! | `scan.topic-partition-discovery.interval` | `5 min` | how often new partitions are looked for (`0 s`: never) |
//! | `format` | required | `json` (one object per message, keys the column names) or `debezium-json` (change events: the table is a retract changelog) |
//! | `json.ignore-parse-errors` | `false` | a field that does not parse is `NULL`, a message that does not parse is skipped |
//! | `json.fail-on-missing-field` | `false` | a key missing from the object is an error instead of `NULL` |
//! | `json.timestamp-format.standard` | `SQL` | `SQL` (`2015-07-15 00:00:04.123`) or `ISO-8601` |
//! | `scan.bad-record-policy` | `fail` | what to do with a message that does not parse: `fail` (the job fails naming the topic, partition and offset), `skip`, `dead-letter` |
//! | `properties.commit.offsets.on.checkpoint` | `true` | commit the offsets to the group after each checkpoint |
//! | `properties.*` | | passed to librdkafka (`properties.isolation.level` is `read_committed` unless set) |
//!
//! The sink options of the table ([`kafka`](crate::kafka)) are checked too and
//! otherwise ignored. Values are read as the filesystem source reads JSON lines
//! ([`text_rows`](crate::text_rows)). With `key.format` and `key.fields` the
//! key columns are read from the value (`value.fields-include = 'ALL'`, the
//! default) or from the key (`EXCEPT_KEY`: a JSON object of the key columns, or
//! with `raw` the key's UTF-8 text as the one `STRING` key column; a message
//! without key has `NULL` key columns). Tombstones are skipped.
//!
//! **Changelogs**: with `debezium-json` each message is a change event
//! (`{"before": ..., "after": ..., "op": "c|r|u|d"}`, read as
//! [`text_rows`](crate::text_rows) says), and the table is a retract changelog
//! (its PRIMARY KEY, if declared, the upsert key). An `upsert-kafka` table is an
//! upsert changelog keyed by its PRIMARY KEY (the message key, `key.format`): a
//! message is the key's new row (`value.format`, JSON), a tombstone (a message
//! without value) deletes the key. The planner keeps the last row of each key
//! to turn that into the retract changelog the operators downstream take.
//!
//! **Restore**: each partition's next offset is in the checkpoints, and rows go
//! on in batches that never straddle a barrier, so a job restored from a
//! checkpoint or savepoint reads on from there without losing or repeating a
//! message. Offsets committed to the group are for monitoring only (and for
//! `group-offsets` on a fresh start).
//!

use crate::filesystem_source::{batch_schema, row_batches};
use crate::kafka_options::{kafka_error, KafkaFlavor, KafkaTable, KeyFormat, ValueFormat};
use crate::options::JsonSettings;
use crate::text_rows::{Column, LineParser, ParserSpec, Row, TextFormat, Value};
use std::sync::Arc;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};
use weir_connector_kafka::{KafkaRecord, KafkaRecordDeserializer, KafkaSource};
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::batch::RowKind;
use weir_sql::connector::{unique_uid, ChangelogMode, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::exec::changelog_normalize::upsert_source_schema;
use weir_sql::front::TableDef;

/// The `kafka` SQL source (and the `upsert-kafka` one).
#[derive(Debug, Clone, Copy)]
pub struct KafkaSqlSource {
    flavor: KafkaFlavor,
}

impl KafkaSqlSource {
    /// The `kafka` source.
    pub fn kafka() -> Self {
        KafkaSqlSource {
            flavor: KafkaFlavor::Kafka,
        }
    }

    /// The `upsert-kafka` source (an upsert changelog).
    pub fn upsert_kafka() -> Self {
        KafkaSqlSource {
            flavor: KafkaFlavor::Upsert,
        }
    }
}

/// A reader's parser of message values (made when the reader starts; the
/// first was made when the table was planned, so it does not fail).
struct ValueParser(Result<LineParser, String>);

impl Deserializer<Row> for ValueParser {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<Row>) -> Result<(), FormatError> {
        match &mut self.0 {
            Ok(parser) => parser.deserialize(bytes, out),
            Err(e) => Err(FormatError::new(FormatErrorKind::Other, e.clone())),
        }
    }
}

/// How the key columns are read from the key.
#[derive(Debug, Clone)]
enum KeySpec {
    /// `json`: an object of these columns.
    Json(ParserSpec),
    /// `raw`: the key's bytes as the text of this `STRING` column.
    Raw(Column),
}

impl KeySpec {
    fn reader(&self) -> KeyReader {
        match self {
            KeySpec::Json(spec) => KeyReader::Json(
                ValueParser(spec.parser().map_err(|e| e.to_string())),
                spec.columns.len(),
            ),
            KeySpec::Raw(column) => KeyReader::Raw(column.clone()),
        }
    }
}

/// A reader's parser of keys.
enum KeyReader {
    /// A JSON object of this many columns.
    Json(ValueParser, usize),
    /// The text of one column.
    Raw(Column),
}

/// Reads rows from a message's value and (`value.fields-include` =
/// `EXCEPT_KEY`) its key; for `upsert-kafka` a tombstone is the delete of its key.
struct KeyValueRows {
    key: KeyReader,
    value: ValueParser,
    /// Whether each column read comes from the key.
    from_key: Arc<[bool]>,
    /// `upsert-kafka`: where each column read is in the key's row (key columns
    /// only); rows end with their kind.
    upsert: Option<Arc<[Option<usize>]>>,
    parsed: Vec<Row>,
}

impl KeyValueRows {
    /// The key's columns of `record`: all `NULL` when it has no key (an error
    /// for a `NOT NULL` column).
    fn key_row(&mut self, key: Option<&[u8]>) -> Result<Vec<Value>, FormatError> {
        let missing = |column: &Column| {
            FormatError::new(
                FormatErrorKind::MissingField,
                format!("column `{}` is NOT NULL, the message has no key", column.name),
            )
        };
        match (&mut self.key, key) {
            (KeyReader::Json(parser, _), Some(bytes)) => {
                self.parsed.clear();
                parser.deserialize(bytes, &mut self.parsed)?;
                Ok(self.parsed.pop().map(|row| row.0).unwrap_or_default())
            }
            (KeyReader::Json(parser, width), None) => match &parser.0 {
                Ok(_) => Ok(vec![Value::Null; *width]),
                Err(e) => Err(FormatError::new(FormatErrorKind::Other, e.clone())),
            },
            (KeyReader::Raw(column), Some(bytes)) => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(vec![Value::Text(text.to_string())]),
                Err(e) => Err(FormatError::new(
                    FormatErrorKind::Type,
                    format!("column `{}`: the key is not UTF-8: {e}", column.name),
                )),
            },
            (KeyReader::Raw(column), None) if !column.nullable => Err(missing(column)),
            (KeyReader::Raw(_), None) => Ok(vec![Value::Null]),
        }
    }
}

impl KafkaRecordDeserializer<Row> for KeyValueRows {
    /// The rows of the key's and the value's columns (the value's kind last, if
    /// any); none for a tombstone, but the delete of its key for `upsert-kafka`.
    fn deserialize(&mut self, record: &KafkaRecord<'_>, out: &mut Vec<Row>) -> Result<(), FormatError> {
        let Some(value) = record.value else {
            if let Some(at) = self.upsert.clone() {
                let key = self.key_row(record.key)?;
                let mut row: Vec<Value> = at
                    .iter()
                    .map(|at| at.and_then(|i| key.get(i).cloned()).unwrap_or(Value::Null))
                    .collect();
                row.push(Value::Int(RowKind::Delete as i64));
                out.push(Row(row));
            }
            return Ok(());
        };
        let mut rows = Vec::with_capacity(2);
        self.value.deserialize(value, &mut rows)?;
        if rows.is_empty() {
            return Ok(());
        }
        // (`key_row` parses into `self.parsed`.)
        let key = self.key_row(record.key)?;
        for Row(values) in rows {
            let mut key = key.iter().cloned();
            let mut values = values.into_iter();
            let mut row: Vec<Value> = self
                .from_key
                .iter()
                .map(|from_key| match from_key {
                    true => key.next(),
                    false => values.next(),
                })
                .map(|value| value.unwrap_or(Value::Null))
                .collect();
            // The value's kind, if it is a change event.
            row.extend(values);
            if self.upsert.is_some() {
                row.push(Value::Int(RowKind::Insert as i64));
            }
            out.push(Row(row));
        }
        Ok(())
    }
}

impl SqlSource for KafkaSqlSource {
    fn name(&self) -> &'static str {
        self.flavor.name()
    }

    /// Upsert for `upsert-kafka`, retract for `debezium-json`, else insert-only.
    fn changelog_mode(&self, table: &TableDef) -> Result<ChangelogMode, SqlError> {
        let options = KafkaTable::of(table, self.flavor)?;
        Ok(match (self.flavor, options.value_format) {
            (KafkaFlavor::Upsert, _) => ChangelogMode::Upsert,
            (_, ValueFormat::DebeziumJson) => ChangelogMode::Retract,
            _ => ChangelogMode::InsertOnly,
        })
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let options = KafkaTable::of(table, self.flavor)?;
        let upsert = self.flavor == KafkaFlavor::Upsert;
        let width = table.schema.fields().len();
        let all: Vec<usize> = (0..width).collect();
        let positions = projection.unwrap_or(&all);
        let plan_error = |e: String| SqlError::Plan(format!("table '{}' (connector 'kafka'): {e}", table.name));
        let columns = Column::of(table.schema.fields(), positions).map_err(plan_error)?;
        // With EXCEPT_KEY the key columns are read from the key.
        let from_key: Vec<bool> = positions.iter().map(|p| !options.value_columns.contains(p)).collect();
        let split = |key: bool| -> Vec<Column> {
            columns
                .iter()
                .zip(&from_key)
                .filter(|(_, k)| **k == key)
                .map(|(c, _)| c.clone())
                .collect()
        };
        let json_spec = |columns: Vec<Column>, json: JsonSettings| ParserSpec {
            format: TextFormat::Json {
                timestamps: json.timestamps,
                fail_on_missing_field: json.fail_on_missing_field,
            },
            columns,
            ignore_parse_errors: json.ignore_parse_errors,
        };
        let mut value_spec = json_spec(split(false), options.value_json);
        if options.value_format == ValueFormat::DebeziumJson {
            value_spec.format = TextFormat::DebeziumJson {
                timestamps: options.value_json.timestamps,
            };
        }
        value_spec.parser().map_err(|e| plan_error(e.to_string()))?;
        // The key's columns: those read from it (in the order read) or, for
        // upsert-kafka, the primary key (a tombstone's row).
        let key_columns = match upsert {
            true => Column::of(table.schema.fields(), &options.key_columns).map_err(plan_error)?,
            false => split(true),
        };
        let key_index: Vec<Option<usize>> = match upsert {
            true => positions
                .iter()
                .map(|p| options.key_columns.iter().position(|k| k == p))
                .collect(),
            false => {
                let mut next = 0..;
                from_key.iter().map(|k| k.then(|| next.next()).flatten()).collect()
            }
        };
        let key_spec = match (options.key_format, key_columns.first()) {
            (_, None) | (None, _) => None,
            (Some((KeyFormat::Json, json)), Some(_)) => Some(KeySpec::Json(json_spec(key_columns, json))),
            (Some((KeyFormat::Raw, _)), Some(column)) => Some(KeySpec::Raw(column.clone())),
        };
        if upsert && key_spec.is_none() {
            return Err(plan_error(
                "an upsert-kafka table needs 'key.format' to read its key".into(),
            ));
        }
        let mut row_columns = columns.clone();
        if upsert || value_spec.format.is_changelog() {
            row_columns.push(Column::row_kind(width));
        }
        let schema = match upsert {
            true => {
                let key: Vec<usize> = key_index.iter().enumerate().filter_map(|(i, k)| k.map(|_| i)).collect();
                upsert_source_schema(&table.schema.project(positions)?, &key)
            }
            false => batch_schema(table, positions, value_spec.format.is_changelog())?,
        };
        let builder = KafkaSource::<Row>::builder(options.servers.clone(), options.topic.clone())
            .client(|mut client| {
                for (key, value) in &options.properties {
                    client = client.property(key.clone(), value.clone());
                }
                client
            })
            .startup_mode(options.startup)
            .bounded(options.bounded)
            .partition_discovery_interval(options.discovery)
            .commit_offsets_on_checkpoint(options.commit_offsets)
            .bad_record_policy(options.bad_records.clone());
        let mut builder = match key_spec {
            None => builder.value_format(move || ValueParser(value_spec.parser().map_err(|e| e.to_string()))),
            Some(key) => {
                let from_key: Arc<[bool]> = from_key.into();
                let upsert: Option<Arc<[Option<usize>]>> = upsert.then(|| key_index.into());
                builder.deserializer(move || KeyValueRows {
                    key: key.reader(),
                    value: ValueParser(value_spec.parser().map_err(|e| e.to_string())),
                    from_key: from_key.clone(),
                    upsert: upsert.clone(),
                    parsed: Vec::with_capacity(2),
                })
            }
        };
        if let Some(group) = &options.group_id {
            builder = builder.group_id(group.clone());
        }
        let source = builder.build().map_err(|e| kafka_error(table, e))?;
        let name = format!("kafka source '{}'", table.name);
        let source_uid = unique_uid(env, &format!("source/{}", table.name));
        let rows = env
            .add_source(source.into_source(name.clone()))
            .name(&name)
            .uid(&source_uid);
        Ok(row_batches(
            &rows,
            &format!("kafka batches '{}'", table.name),
            &source_uid,
            schema,
            row_columns,
        ))
    }
}
