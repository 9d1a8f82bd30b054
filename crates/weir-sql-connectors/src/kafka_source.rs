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
//! | `format` | required | `json` (one object per message, keys the column names) |
//! | `json.ignore-parse-errors` | `false` | a field that does not parse is `NULL`, a message that does not parse is skipped |
//! | `json.fail-on-missing-field` | `false` | a key missing from the object is an error instead of `NULL` |
//! | `json.timestamp-format.standard` | `SQL` | `SQL` (`2015-07-15 00:00:04.123`) or `ISO-8601` |
//! | `scan.bad-record-policy` | `fail` | what to do with a message that does not parse: `fail` (the job fails naming the topic, partition and offset), `skip`, `dead-letter` |
//! | `properties.commit.offsets.on.checkpoint` | `true` | commit the offsets to the group after each checkpoint |
//! | `properties.*` | | passed to librdkafka (`properties.isolation.level` is `read_committed` unless set) |
//!
//! The sink options of the table ([`kafka`](crate::kafka)) are checked too and
//! otherwise ignored. Values are read as the filesystem source reads JSON lines
//! ([`text_rows`](crate::text_rows)); with `key.format` and `key.fields` the
//! key columns are read from the value (`value.fields-include = 'ALL'`);
//! `EXCEPT_KEY` is not supported by the source yet. Tombstones are skipped.
//!
//! **Restore**: each partition's next offset is in the checkpoints, and rows go
//! on in batches that never straddle a barrier, so a job restored from a
//! checkpoint or savepoint reads on from there without losing or repeating a
//! message. Offsets committed to the group are for monitoring only (and for
//! `group-offsets` on a fresh start).
//!
//! Changelog sources (`debezium-json`, `upsert-kafka`) are not supported yet:
//! they are refused naming the table.

use crate::filesystem_source::row_batches;
use crate::kafka_options::{kafka_error, KafkaFlavor, KafkaTable, ValueFormat};
use crate::options::bad;
use crate::text_rows::{Column, LineParser, ParserSpec, Row, TextFormat};
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};
use weir_connector_kafka::KafkaSource;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{unique_uid, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

/// The `kafka` SQL source (and the `upsert-kafka` one, which refuses to read
/// until changelog sources are supported).
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

    /// The `upsert-kafka` source (refused when planned, for now).
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

impl SqlSource for KafkaSqlSource {
    fn name(&self) -> &'static str {
        self.flavor.name()
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let options = KafkaTable::of(table, self.flavor)?;
        let changelog = match (self.flavor, options.value_format) {
            (KafkaFlavor::Upsert, _) => Some("an upsert-kafka table"),
            (_, ValueFormat::DebeziumJson) => Some("format 'debezium-json'"),
            _ => None,
        };
        if let Some(what) = changelog {
            return Err(SqlError::unsupported(
                format!(
                    "reading table '{}': {what} is a changelog, and changelog sources are not supported yet \
                     (the table can be written)",
                    table.name
                ),
                None,
            ));
        }
        if options.value_columns.len() != table.schema.fields().len() {
            return Err(bad(
                table,
                "value.fields-include",
                "'EXCEPT_KEY' is not supported by the kafka source yet: the value must hold every column",
            ));
        }
        let all: Vec<usize> = (0..table.schema.fields().len()).collect();
        let positions = projection.unwrap_or(&all);
        let plan_error = |e: String| SqlError::Plan(format!("table '{}' (connector 'kafka'): {e}", table.name));
        let spec = Arc::new(ParserSpec {
            format: TextFormat::Json {
                timestamps: options.value_json.timestamps,
                fail_on_missing_field: options.value_json.fail_on_missing_field,
            },
            columns: Column::of(table.schema.fields(), positions).map_err(plan_error)?,
            ignore_parse_errors: options.value_json.ignore_parse_errors,
        });
        spec.parser().map_err(|e| plan_error(e.to_string()))?;
        let schema: SchemaRef = Arc::new(table.schema.project(positions)?);
        let parsers = spec.clone();
        let mut builder = KafkaSource::<Row>::builder(options.servers.clone(), options.topic.clone())
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
            .bad_record_policy(options.bad_records.clone())
            .value_format(move || ValueParser(parsers.parser().map_err(|e| e.to_string())));
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
            spec.columns.clone(),
        ))
    }
}
