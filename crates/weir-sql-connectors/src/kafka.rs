//! The `kafka` and `upsert-kafka` SQL sinks: a table's rows (or changes) written
//! as messages of a Kafka topic through [`weir_connector_kafka`]'s [`KafkaSink`]
//! (at-least-once, or exactly-once through Kafka transactions), with Flink's
//! option names and message formats.
//!
//! ```sql
//! CREATE TABLE clicks (user_id STRING, url STRING, ts TIMESTAMP(3))
//! WITH ('connector' = 'kafka', 'topic' = 'clicks',
//!       'properties.bootstrap.servers' = '127.0.0.1:9092', 'format' = 'json',
//!       'key.format' = 'json', 'key.fields' = 'user_id');
//!
//! CREATE TABLE counts (user_id STRING, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED)
//! WITH ('connector' = 'upsert-kafka', 'topic' = 'counts',
//!       'properties.bootstrap.servers' = '127.0.0.1:9092',
//!       'key.format' = 'json', 'value.format' = 'json');
//! ```
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `topic` | required | the topic (one; it must exist) |
//! | `properties.bootstrap.servers` | required | the brokers |
//! | `properties.*` | | passed to librdkafka (`properties.security.protocol`, `properties.partitioner`, ...) |
//! | `format` (`kafka`), `value.format` | required | `json`, or `debezium-json` (`kafka` only) |
//! | `key.format` | none (`kafka`), required (`upsert-kafka`) | `json` (an object of the key columns) or `raw` (one `STRING` or `BYTES` column's bytes) |
//! | `key.fields` | | `kafka`: the key columns, `a;b` (with `key.format`); `upsert-kafka` takes the `PRIMARY KEY` |
//! | `value.fields-include` | `ALL` | `ALL` or `EXCEPT_KEY` (the value without the key columns) |
//! | `json.timestamp-format.standard`, `debezium-json.timestamp-format.standard`, `key.json.timestamp-format.standard` | `SQL` | `SQL` (`2015-07-15 00:00:04.123`) or `ISO-8601` |
//! | `sink.delivery-guarantee` | `at-least-once` | `none`, `at-least-once`, `exactly-once` (Kafka transactions; needs checkpoints) |
//! | `sink.transactional-id-prefix` | required for `exactly-once` | unique to the job |
//! | `sink.transactional-id-pool-size`, `sink.transaction-timeout` (or `properties.transaction.timeout.ms`), `sink.flush-timeout` | 4, 15 min, 60 s | see the Kafka connector |
//! | `sink.partitioner` | `default` | `default` (the key's murmur2 hash, as Kafka's Java producer) or `round-robin` (a random partition, keys ignored) |
//!
//! The source options of the table ([`kafka_source`](crate::kafka_source)) are
//! checked too and otherwise ignored; any other option is an error naming it.
//!
//! **Messages**, one per row (values as [`json_rows`](crate::json_rows) writes
//! them: Flink's forms of timestamps, decimals, binary strings):
//!
//! * `kafka` with `format = 'json'`: the row's object,
//!   `{"id":1,"name":"a","ts":"2015-07-15 00:00:04.123"}`. Insert-only
//!   queries; an updating query is refused when planned.
//! * `kafka` with `format = 'debezium-json'`: every change as Flink writes it,
//!   `+I` and `+U` as `{"before":null,"after":{...},"op":"c"}`, `-U` and `-D` as
//!   `{"before":{...},"after":null,"op":"d"}`. Any query. Without `key.fields`
//!   the changes of one row may land in different partitions (and be read out of
//!   order): give the key.
//! * `upsert-kafka`: key = the primary key columns in `key.format`, value = the
//!   row in `value.format` for `+I` and `+U`, and a tombstone (no value) for a
//!   `-D` (and a `-U` not followed by its `+U`). Insert-only queries, and updating
//!   queries whose upsert key is the primary key (the planner checks it and turns
//!   their retractions into upserts: an update is one message).
//!
//! The key (when there is one) decides the partition; a `NULL` key column is
//! `null` in a JSON key, no key with `raw`.
//!
//! Several `INSERT`s of a job may write one table (each through a sink of its
//! own), except with `exactly-once`, where that is a planning error.
//!
//! **Guarantees**: `at-least-once` flushes at each checkpoint barrier (a
//! restore writes the messages since the last checkpoint again); `exactly-once`
//! writes each checkpoint interval in one Kafka transaction per subtask,
//! committed when the checkpoint completes, and commits or re-sends the pending
//! ones after a restore: consumers reading with `isolation.level =
//! read_committed` see every message once. `none` waits for nothing.

use crate::json_rows::{JsonLayout, JsonRows};
use crate::kafka_options::{kafka_error, KafkaFlavor, KafkaTable, KeyFormat, ValueFormat};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use std::sync::Arc;
use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, OutgoingRecord};
use weir_core::BoxError;
use weir_datastream::{Collector, DataStream, DataStreamSink};
use weir_sql::batch::{RowBatch, KIND_COLUMN};
use weir_sql::connector::{unique_uid, ChangelogMode, SqlSink};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

/// The `kafka` or the `upsert-kafka` SQL sink.
#[derive(Debug, Clone, Copy)]
pub struct KafkaSqlSink {
    flavor: KafkaFlavor,
}

impl KafkaSqlSink {
    /// The `kafka` sink.
    pub fn kafka() -> Self {
        KafkaSqlSink {
            flavor: KafkaFlavor::Kafka,
        }
    }

    /// The `upsert-kafka` sink.
    pub fn upsert_kafka() -> Self {
        KafkaSqlSink {
            flavor: KafkaFlavor::Upsert,
        }
    }
}

/// How the key is written.
#[derive(Clone)]
enum KeyEncoder {
    Json(Arc<JsonRows>),
    /// The bytes of the one key column.
    Raw,
}

/// Turns batches of a table's rows into Kafka records.
#[derive(Clone)]
struct RecordEncoder {
    key: Option<(KeyEncoder, Vec<usize>)>,
    value: Arc<JsonRows>,
    /// The value's columns, `None` for all.
    value_columns: Option<Vec<usize>>,
    /// `-U` and `-D` rows are tombstones (`upsert-kafka`).
    tombstones: bool,
}

impl RecordEncoder {
    fn new(table: &TableDef, options: &KafkaTable) -> Result<Self, SqlError> {
        let schema = &table.schema;
        let project = |columns: &[usize]| -> Result<SchemaRef, SqlError> { Ok(Arc::new(schema.project(columns)?)) };
        let json = |schema: &SchemaRef, layout, timestamps| {
            JsonRows::new(schema, layout, timestamps)
                .map(Arc::new)
                .map_err(|e| SqlError::Plan(format!("table '{}': {e}", table.name)))
        };
        let key = match options.key_format {
            None => None,
            Some((KeyFormat::Raw, _)) => Some((KeyEncoder::Raw, options.key_columns.clone())),
            Some((KeyFormat::Json, settings)) => {
                let schema = project(&options.key_columns)?;
                Some((
                    KeyEncoder::Json(json(&schema, JsonLayout::Rows, settings.timestamps)?),
                    options.key_columns.clone(),
                ))
            }
        };
        let all = options.value_columns.len() == schema.fields().len();
        let layout = match options.value_format {
            ValueFormat::Json => JsonLayout::Rows,
            ValueFormat::DebeziumJson => JsonLayout::Debezium,
        };
        let value = json(&project(&options.value_columns)?, layout, options.value_json.timestamps)?;
        Ok(RecordEncoder {
            key,
            value,
            value_columns: (!all).then(|| options.value_columns.clone()),
            tombstones: options.flavor == KafkaFlavor::Upsert,
        })
    }

    /// The records of `batch` (the table's columns, then the kind column unless
    /// insert-only), one per row.
    fn records(&self, batch: &RowBatch) -> Result<Vec<OutgoingRecord>, ArrowError> {
        let rows = batch.batch();
        let keys: Vec<Option<Vec<u8>>> = match &self.key {
            None => vec![None; batch.num_rows()],
            Some((KeyEncoder::Json(json), columns)) => json
                .messages(&RowBatch(rows.project(columns)?))?
                .into_iter()
                .map(Some)
                .collect(),
            Some((KeyEncoder::Raw, columns)) => raw_keys(rows.column(columns[0]).as_ref())?,
        };
        let values = match &self.value_columns {
            None => self.value.messages(batch)?,
            Some(columns) => {
                let mut columns = columns.clone();
                if batch.kinds().is_some() {
                    columns.push(rows.schema_ref().index_of(KIND_COLUMN)?);
                }
                self.value.messages(&RowBatch(rows.project(&columns)?))?
            }
        };
        Ok(keys
            .into_iter()
            .zip(values)
            .enumerate()
            .map(|(row, (key, value))| OutgoingRecord {
                key,
                value: (!self.tombstones || batch.kind(row).is_addition()).then_some(value),
                ..OutgoingRecord::default()
            })
            .collect())
    }
}

/// The bytes of each value of a `STRING` or `BYTES` column (`None` for `NULL`).
fn raw_keys(column: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, ArrowError> {
    match column.data_type() {
        DataType::Utf8 => Ok(column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|s| s.as_bytes().to_vec()))
            .collect()),
        DataType::Binary => Ok(column
            .as_binary::<i32>()
            .iter()
            .map(|v| v.map(<[u8]>::to_vec))
            .collect()),
        other => Err(ArrowError::InvalidArgumentError(format!("a raw key of type {other}"))),
    }
}

impl SqlSink for KafkaSqlSink {
    fn name(&self) -> &'static str {
        self.flavor.name()
    }

    /// `kafka`: `json` takes insert-only changelogs, `debezium-json` insert-only
    /// and retract ones. `upsert-kafka`: insert-only and upsert (the planner
    /// then checks that the primary key is the query's upsert key). A missing or
    /// unknown format is left to [`create_sink`](Self::create_sink), which names
    /// it.
    fn accepts(&self, table: &TableDef, mode: ChangelogMode) -> bool {
        if mode == ChangelogMode::InsertOnly {
            return true;
        }
        match self.flavor {
            KafkaFlavor::Upsert => mode == ChangelogMode::Upsert,
            KafkaFlavor::Kafka => {
                let format = table
                    .options
                    .get("format")
                    .or_else(|| table.options.get("value.format"))
                    .map(|f| f.trim().to_ascii_lowercase());
                mode == ChangelogMode::Retract && format.as_deref() != Some("json")
            }
        }
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        let connector = self.flavor.name();
        let options = KafkaTable::of(table, self.flavor)?;
        let accepted = match (self.flavor, options.value_format, mode) {
            (_, _, ChangelogMode::InsertOnly) => true,
            (KafkaFlavor::Kafka, ValueFormat::DebeziumJson, ChangelogMode::Retract) => true,
            // Retractions are tombstones too, should a caller hand them.
            (KafkaFlavor::Upsert, _, ChangelogMode::Upsert | ChangelogMode::Retract) => true,
            _ => false,
        };
        if !accepted {
            return Err(SqlError::ChangelogMismatch {
                table: table.name.clone(),
                connector: connector.to_string(),
                mode: mode.name(),
                hint: match self.flavor {
                    KafkaFlavor::Kafka => "format 'json' takes insert-only rows; 'debezium-json' writes updates \
                                           (or use the 'upsert-kafka' connector)"
                        .into(),
                    KafkaFlavor::Upsert => "upsert-kafka takes insert-only and upsert changelogs".into(),
                },
            });
        }
        let encoder = RecordEncoder::new(table, &options)?;
        let mut builder = KafkaSink::builder(
            options.servers.clone(),
            options.topic.clone(),
            |record: &OutgoingRecord, _: Option<i64>| -> Result<OutgoingRecord, BoxError> { Ok(record.clone()) },
        )
        .client(|mut client| {
            for (key, value) in options.producer_properties() {
                client = client.property(key, value);
            }
            client
        })
        .delivery_guarantee(options.guarantee);
        if let Some(prefix) = &options.prefix {
            builder = builder.transactional_id_prefix(prefix.clone());
        }
        if let Some(size) = options.pool_size {
            builder = builder.transactional_id_pool_size(size);
        }
        if let Some(timeout) = options.transaction_timeout {
            builder = builder.transaction_timeout(timeout);
        }
        if let Some(timeout) = options.flush_timeout {
            builder = builder.flush_timeout(timeout);
        }
        let sink = builder.build().map_err(|e| kafka_error(table, e))?;
        // Several INSERTs may write one table, each through a sink of its own,
        // but not exactly once: their transactional ids would fence each other.
        let base_uid = format!("sink/{}", table.name);
        let sink_uid = unique_uid(input.environment(), &base_uid);
        if sink_uid != base_uid && options.guarantee == DeliveryGuarantee::ExactlyOnce {
            return Err(SqlError::Plan(format!(
                "table '{}' (connector '{connector}', 'sink.delivery-guarantee' = 'exactly-once') is written by \
                 another INSERT of this job: the transactional ids of two writers would fence each other (UNION \
                 ALL the queries into one INSERT)",
                table.name
            )));
        }
        Ok(input
            .process_fn(
                move |batch: RowBatch, _, out: &mut Collector<'_, OutgoingRecord>| -> Result<(), BoxError> {
                    for record in encoder.records(&batch)? {
                        out.collect(record);
                    }
                    Ok(())
                },
            )
            .name(&format!("{connector} records '{}'", table.name))
            .uid(&sink_uid.replacen("sink/", "records/", 1))
            .add_sink(sink)
            .name(&format!("{connector} sink '{}'", table.name))
            .uid(&sink_uid))
    }
}
