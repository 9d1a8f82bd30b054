//! The options of a `kafka` or `upsert-kafka` table, checked as a whole: a table
//! may be read by one job and written by another, so its source and its sink
//! take the same options (Flink's names), each using its own part.
//!
//! The options and their meaning are listed in the [`kafka`](crate::kafka)
//! module.

use crate::options::{bad, json_settings, option_error, JsonSettings};
use std::time::Duration;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::options::Options;
use weir_connector_kafka::{DeliveryGuarantee, KafkaConnectorError, StartupMode};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

/// Which of the two Kafka SQL connectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaFlavor {
    /// `kafka`: rows (or Debezium changes) as messages, keys optional.
    Kafka,
    /// `upsert-kafka`: a changelog by primary key, deletes as tombstones.
    Upsert,
}

impl KafkaFlavor {
    /// The connector's name, as `'connector'` gives it.
    pub fn name(self) -> &'static str {
        match self {
            KafkaFlavor::Kafka => "kafka",
            KafkaFlavor::Upsert => "upsert-kafka",
        }
    }
}

/// The value's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueFormat {
    /// `json`: one object per row.
    Json,
    /// `debezium-json`: one `{"before":..,"after":..,"op":..}` object per change.
    DebeziumJson,
}

impl ValueFormat {
    fn name(self) -> &'static str {
        match self {
            ValueFormat::Json => "json",
            ValueFormat::DebeziumJson => "debezium-json",
        }
    }
}

/// The key's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFormat {
    /// `json`: an object of the key columns.
    Json,
    /// `raw`: the bytes of the one key column (`STRING` as UTF-8, `BYTES`).
    Raw,
}

/// `sink.partitioner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Partitioner {
    /// `default`: by the key's murmur2 hash, as Kafka's Java producer; records
    /// without a key sticky to a random partition.
    Default,
    /// `round-robin`: each record to a random partition, keys ignored.
    RoundRobin,
}

/// A `kafka` or `upsert-kafka` table's options, checked.
#[derive(Debug, Clone)]
pub(crate) struct KafkaTable {
    /// The connector.
    pub flavor: KafkaFlavor,
    /// `topic`.
    pub topic: String,
    /// `properties.bootstrap.servers`.
    pub servers: String,
    /// The other `properties.*` (without the prefix), passed to librdkafka.
    pub properties: Vec<(String, String)>,
    /// `properties.group.id`.
    pub group_id: Option<String>,
    /// `properties.commit.offsets.on.checkpoint`.
    pub commit_offsets: bool,
    /// `format` / `value.format`.
    pub value_format: ValueFormat,
    /// The value format's options.
    pub value_json: JsonSettings,
    /// `key.format` and its options.
    pub key_format: Option<(KeyFormat, JsonSettings)>,
    /// The key columns (`key.fields`, or the primary key of `upsert-kafka`), as
    /// indexes into the table's physical columns.
    pub key_columns: Vec<usize>,
    /// The columns in the value (`value.fields-include`).
    pub value_columns: Vec<usize>,
    /// `scan.startup.mode`.
    pub startup: StartupMode,
    /// `scan.bounded.mode = latest-offset`.
    pub bounded: bool,
    /// `scan.topic-partition-discovery.interval` (`None`: off).
    pub discovery: Option<Duration>,
    /// `scan.bad-record-policy` (default `skip` with the format's
    /// `ignore-parse-errors`, else `fail`).
    pub bad_records: BadRecordPolicy,
    /// `sink.delivery-guarantee`.
    pub guarantee: DeliveryGuarantee,
    /// `sink.transactional-id-prefix`.
    pub prefix: Option<String>,
    /// `sink.transactional-id-pool-size`.
    pub pool_size: Option<usize>,
    /// `sink.transaction-timeout` (or `properties.transaction.timeout.ms`).
    pub transaction_timeout: Option<Duration>,
    /// `sink.flush-timeout`.
    pub flush_timeout: Option<Duration>,
    /// `sink.partitioner`.
    pub partitioner: Partitioner,
}

/// Properties the connector reads itself rather than passing them on.
const OWN_PROPERTIES: [&str; 4] = [
    "bootstrap.servers",
    "group.id",
    "commit.offsets.on.checkpoint",
    "transaction.timeout.ms",
];

/// A connector error of the Kafka connector's builders as the SQL error naming
/// the table and the option.
pub(crate) fn kafka_error(table: &TableDef, error: KafkaConnectorError) -> SqlError {
    match error {
        KafkaConnectorError::Option { option, message } => bad(table, &option, message),
        other => SqlError::Plan(format!("table '{}': {other}", table.name)),
    }
}

impl KafkaTable {
    /// The options of `table` for connector `flavor`, checked: a missing or bad
    /// option, an unknown one, a key column that is not a column, are errors
    /// naming the table and the option.
    pub fn of(table: &TableDef, flavor: KafkaFlavor) -> Result<KafkaTable, SqlError> {
        let connector = flavor.name();
        let options = Options::from_pairs(format!("{connector} table '{}'", table.name), table.options.clone());
        let error = |e| option_error(table, connector, e);
        options.mark_read("connector");
        if options.get("topic-pattern").is_some() {
            return Err(bad(
                table,
                "topic-pattern",
                "not supported: a table reads and writes one topic ('topic')",
            ));
        }
        let topic = options.required("topic").map_err(error)?.trim().to_string();
        if topic.contains(';') {
            return Err(bad(
                table,
                "topic",
                format!("'{topic}': a table reads and writes one topic, not a list"),
            ));
        }
        let servers = options
            .required("properties.bootstrap.servers")
            .map_err(error)?
            .to_string();
        let group_id = options.get("properties.group.id").map(str::to_string);
        let commit_offsets = options
            .parse("properties.commit.offsets.on.checkpoint", true)
            .map_err(error)?;
        let transaction_ms: Option<u64> = match options.get("properties.transaction.timeout.ms") {
            Some(_) => Some(
                options
                    .parse("properties.transaction.timeout.ms", 0u64)
                    .map_err(error)?,
            ),
            None => None,
        };
        let properties: Vec<(String, String)> = options
            .with_prefix("properties.")
            .into_iter()
            .filter(|(key, _)| !OWN_PROPERTIES.contains(&key.as_str()))
            .collect();

        let (value_format, value_json) = value_format(table, flavor, &options)?;
        let key_format = key_format(table, flavor, &options)?;
        let key_columns = key_columns(table, flavor, &options, key_format.is_some())?;
        if let (Some((KeyFormat::Raw, _)), [column]) = (key_format, &key_columns[..]) {
            let field = &table.schema.fields()[*column];
            if !matches!(
                field.data_type(),
                arrow::datatypes::DataType::Utf8 | arrow::datatypes::DataType::Binary
            ) {
                return Err(bad(
                    table,
                    "key.format",
                    format!(
                        "'raw' writes one STRING or BYTES column, not '{}' of type {}",
                        field.name(),
                        field.data_type()
                    ),
                ));
            }
        } else if matches!(key_format, Some((KeyFormat::Raw, _))) {
            return Err(bad(
                table,
                "key.format",
                format!("'raw' takes one key column, not {}", key_columns.len()),
            ));
        }
        if let Some(prefix) = options.get("key.fields-prefix").filter(|p| !p.is_empty()) {
            return Err(bad(
                table,
                "key.fields-prefix",
                format!("'{prefix}': not supported yet (key columns are named as in the key)"),
            ));
        }
        let except_key = options
            .one_of("value.fields-include", &["ALL", "EXCEPT_KEY"], "ALL")
            .map_err(error)?
            == "EXCEPT_KEY";
        let all = 0..table.schema.fields().len();
        let value_columns: Vec<usize> = match except_key {
            true => all.filter(|c| !key_columns.contains(c)).collect(),
            false => all.collect(),
        };
        if value_columns.is_empty() {
            return Err(bad(
                table,
                "value.fields-include",
                "'EXCEPT_KEY' leaves no column for the value",
            ));
        }

        let startup = startup_mode(table, connector, &options)?;
        let bounded = match options
            .one_of(
                "scan.bounded.mode",
                &[
                    "unbounded",
                    "latest-offset",
                    "group-offsets",
                    "timestamp",
                    "specific-offsets",
                ],
                "unbounded",
            )
            .map_err(error)?
        {
            "unbounded" => false,
            "latest-offset" => true,
            other => {
                return Err(bad(
                    table,
                    "scan.bounded.mode",
                    format!(
                        "'{other}' is not supported by Weir's Kafka connector (use 'unbounded' or 'latest-offset')"
                    ),
                ))
            }
        };
        let discovery = options
            .duration("scan.topic-partition-discovery.interval", Duration::from_secs(300))
            .map_err(error)?;
        let default_policy = match value_json.ignore_parse_errors {
            true => BadRecordPolicy::Skip,
            false => BadRecordPolicy::Fail,
        };
        let bad_records = options.parse("scan.bad-record-policy", default_policy).map_err(error)?;

        let guarantee = options
            .parse("sink.delivery-guarantee", DeliveryGuarantee::AtLeastOnce)
            .map_err(error)?;
        let prefix = options.get("sink.transactional-id-prefix").map(str::to_string);
        if guarantee == DeliveryGuarantee::ExactlyOnce && prefix.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(bad(
                table,
                "sink.transactional-id-prefix",
                "required by 'sink.delivery-guarantee' = 'exactly-once': a prefix unique to the job",
            ));
        }
        let pool_size = match options.get("sink.transactional-id-pool-size") {
            Some(_) => Some(
                options
                    .parse("sink.transactional-id-pool-size", 4usize)
                    .map_err(error)?,
            ),
            None => None,
        };
        let transaction_timeout = match options.get("sink.transaction-timeout") {
            Some(_) => Some(
                options
                    .duration("sink.transaction-timeout", Duration::ZERO)
                    .map_err(error)?,
            ),
            None => transaction_ms.map(Duration::from_millis),
        };
        let flush_timeout = match options.get("sink.flush-timeout") {
            Some(_) => Some(options.duration("sink.flush-timeout", Duration::ZERO).map_err(error)?),
            None => None,
        };
        let partitioner = match options
            .get("sink.partitioner")
            .map(|p| p.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("default") => Partitioner::Default,
            Some("round-robin") => Partitioner::RoundRobin,
            Some(other) => {
                return Err(bad(
                    table,
                    "sink.partitioner",
                    format!("'{other}' is not supported (use 'default' or 'round-robin'; 'fixed' and partitioner classes are not available in Weir)"),
                ))
            }
        };
        options.check_all_read().map_err(error)?;
        Ok(KafkaTable {
            flavor,
            topic,
            servers,
            properties,
            group_id,
            commit_offsets,
            value_format,
            value_json,
            key_format,
            key_columns,
            value_columns,
            startup,
            bounded,
            discovery: (!discovery.is_zero()).then_some(discovery),
            bad_records,
            guarantee,
            prefix,
            pool_size,
            transaction_timeout,
            flush_timeout,
            partitioner,
        })
    }

    /// The librdkafka properties of the producer: the table's, and the
    /// partitioner of `sink.partitioner` unless `properties.partitioner` is given.
    pub fn producer_properties(&self) -> Vec<(String, String)> {
        let mut properties = self.properties.clone();
        if !properties.iter().any(|(key, _)| key == "partitioner") {
            let partitioner = match self.partitioner {
                Partitioner::Default => "murmur2_random",
                Partitioner::RoundRobin => "random",
            };
            properties.push(("partitioner".into(), partitioner.into()));
        }
        properties
    }
}

/// `format` / `value.format` and its options.
fn value_format(
    table: &TableDef,
    flavor: KafkaFlavor,
    options: &Options,
) -> Result<(ValueFormat, JsonSettings), SqlError> {
    let connector = flavor.name();
    let (key, name) = match (flavor, options.get("format"), options.get("value.format")) {
        (KafkaFlavor::Kafka, Some(_), Some(_)) => {
            return Err(bad(table, "value.format", "give 'format' or 'value.format', not both"))
        }
        (KafkaFlavor::Kafka, Some(name), None) => ("format", name),
        (_, _, Some(name)) => ("value.format", name),
        (KafkaFlavor::Kafka, None, None) => {
            return Err(bad(
                table,
                "format",
                "required by the kafka connector ('json' or 'debezium-json')",
            ))
        }
        (KafkaFlavor::Upsert, _, None) => {
            return Err(bad(
                table,
                "value.format",
                "required by the upsert-kafka connector ('json')",
            ))
        }
    };
    let format = match (name.trim().to_ascii_lowercase().as_str(), flavor) {
        ("json", _) => ValueFormat::Json,
        ("debezium-json", KafkaFlavor::Kafka) => ValueFormat::DebeziumJson,
        (other, _) => {
            let known = match flavor {
                KafkaFlavor::Kafka => "'json' or 'debezium-json'",
                KafkaFlavor::Upsert => "'json'",
            };
            return Err(bad(
                table,
                key,
                format!("unknown or unsupported format '{other}' of the {connector} connector (use {known})"),
            ));
        }
    };
    let prefix = format!("{}.", format.name());
    let settings = json_settings(table, connector, options, &prefix, format.name())?;
    Ok((format, settings))
}

/// `key.format` and its options.
fn key_format(
    table: &TableDef,
    flavor: KafkaFlavor,
    options: &Options,
) -> Result<Option<(KeyFormat, JsonSettings)>, SqlError> {
    let connector = flavor.name();
    let Some(name) = options.get("key.format") else {
        if flavor == KafkaFlavor::Upsert {
            return Err(bad(
                table,
                "key.format",
                "required by the upsert-kafka connector ('json' or 'raw')",
            ));
        }
        return Ok(None);
    };
    match name.trim().to_ascii_lowercase().as_str() {
        "json" => Ok(Some((
            KeyFormat::Json,
            json_settings(table, connector, options, "key.json.", "json")?,
        ))),
        "raw" => Ok(Some((KeyFormat::Raw, JsonSettings::default()))),
        other => Err(bad(
            table,
            "key.format",
            format!("unknown or unsupported key format '{other}' of the {connector} connector (use 'json' or 'raw')"),
        )),
    }
}

/// The key columns: `key.fields` (`kafka`) or the primary key (`upsert-kafka`).
fn key_columns(
    table: &TableDef,
    flavor: KafkaFlavor,
    options: &Options,
    has_key_format: bool,
) -> Result<Vec<usize>, SqlError> {
    let position = |name: &str, option: &str| {
        table
            .schema
            .fields()
            .iter()
            .position(|f| f.name() == name)
            .ok_or_else(|| bad(table, option, format!("'{name}' is not a physical column of the table")))
    };
    match flavor {
        KafkaFlavor::Upsert => {
            if options.get("key.fields").is_some() {
                return Err(bad(
                    table,
                    "key.fields",
                    "not an option of upsert-kafka: the key is the table's PRIMARY KEY",
                ));
            }
            if table.primary_key.is_empty() {
                return Err(SqlError::Plan(format!(
                    "table '{}' (connector 'upsert-kafka') needs a PRIMARY KEY (...) NOT ENFORCED: its columns are \
                     the message key",
                    table.name
                )));
            }
            table
                .primary_key
                .iter()
                .map(|name| position(name, "PRIMARY KEY"))
                .collect()
        }
        KafkaFlavor::Kafka => match (options.get("key.fields"), has_key_format) {
            (None, false) => Ok(Vec::new()),
            (Some(_), false) => Err(bad(table, "key.fields", "needs 'key.format'")),
            (None, true) => Err(bad(
                table,
                "key.fields",
                "required with 'key.format': the key columns, separated by ';'",
            )),
            (Some(fields), true) => {
                let columns = fields
                    .split(';')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(|name| position(name, "key.fields"))
                    .collect::<Result<Vec<usize>, SqlError>>()?;
                if columns.is_empty() {
                    return Err(bad(table, "key.fields", "no column given"));
                }
                Ok(columns)
            }
        },
    }
}

/// `scan.startup.mode` (and `scan.startup.timestamp-millis`).
fn startup_mode(table: &TableDef, connector: &str, options: &Options) -> Result<StartupMode, SqlError> {
    let error = |e| option_error(table, connector, e);
    let mode = options
        .one_of(
            "scan.startup.mode",
            &[
                "earliest-offset",
                "latest-offset",
                "group-offsets",
                "timestamp",
                "specific-offsets",
            ],
            "group-offsets",
        )
        .map_err(error)?;
    let millis = options.get("scan.startup.timestamp-millis");
    if options.get("scan.startup.specific-offsets").is_some() || mode == "specific-offsets" {
        return Err(bad(
            table,
            "scan.startup.mode",
            "'specific-offsets' is not supported by Weir's Kafka connector yet (use 'earliest-offset', \
             'latest-offset', 'group-offsets' or 'timestamp')",
        ));
    }
    match (mode, millis) {
        ("timestamp", None) => Err(bad(
            table,
            "scan.startup.timestamp-millis",
            "required by 'scan.startup.mode' = 'timestamp'",
        )),
        ("timestamp", Some(_)) => Ok(StartupMode::Timestamp(
            options.parse("scan.startup.timestamp-millis", 0i64).map_err(error)?,
        )),
        ("earliest-offset", _) => Ok(StartupMode::Earliest),
        ("latest-offset", _) => Ok(StartupMode::Latest),
        _ => Ok(StartupMode::GroupOffsets),
    }
}
