//! `connector = 'kafka'` for the connector registry: sources and sinks built from
//! string options (Flink's names), with the value format found by `format`.

use crate::error::KafkaConnectorError;
use crate::sink::{DeliveryGuarantee, KafkaSink, OutgoingRecord};
use crate::source::{KafkaSource, StartupMode};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{Deserializer, FormatError};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, SourceFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;

/// The Kafka source and sink factories (name `kafka`).
///
/// Source options: `topic`, `properties.bootstrap.servers`, `properties.group.id`,
/// `scan.startup.mode` (`earliest-offset`, `latest-offset`, `group-offsets`,
/// `timestamp` with `scan.startup.timestamp-millis`), `scan.bounded.mode`
/// (`unbounded`, `latest-offset`), `scan.topic-partition-discovery.interval`,
/// `scan.bad-record-policy` (`fail`, `skip`, `dead-letter`: the stream's
/// `dead_letters()` side output),
/// `format` and its options, any other `properties.*` passed to librdkafka.
/// Sink options: `topic`, `properties.bootstrap.servers`, `sink.delivery-guarantee`,
/// `sink.transactional-id-prefix`, `sink.transactional-id-pool-size`,
/// `sink.transaction-timeout`, `format`, `properties.*`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KafkaFactory;

impl KafkaFactory {
    /// Registers the Kafka source and sink in `registry`.
    pub fn register<T: Send + 'static>(registry: &mut Registry<Typed<T>>) {
        registry.register_source(Arc::new(KafkaFactory));
        registry.register_sink(Arc::new(KafkaFactory));
    }
}

fn convert(options: &Options, error: KafkaConnectorError) -> ConnectorError {
    match error {
        KafkaConnectorError::Option { option, message } => options.invalid(&option, "", message),
        other => ConnectorError::Other(other.to_string()),
    }
}

/// Client settings from `properties.*`.
fn client(options: &Options) -> Result<(String, Vec<(String, String)>), ConnectorError> {
    let servers = options.required("properties.bootstrap.servers")?.to_string();
    let properties = options
        .with_prefix("properties.")
        .into_iter()
        .filter(|(key, _)| key != "bootstrap.servers" && key != "group.id")
        .collect();
    Ok((servers, properties))
}

impl<T: Send + 'static> SourceFactory<Typed<T>> for KafkaFactory {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn create_source(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Source<T>>, ConnectorError> {
        let topic = options.required("topic")?.to_string();
        let group = options.get("properties.group.id").map(str::to_string);
        let (servers, properties) = client(options)?;
        let mode = options.one_of(
            "scan.startup.mode",
            &["earliest-offset", "latest-offset", "group-offsets", "timestamp"],
            "group-offsets",
        )?;
        let startup = match mode {
            "timestamp" => StartupMode::Timestamp(options.parse("scan.startup.timestamp-millis", 0i64)?),
            other => other
                .parse()
                .map_err(|e: String| options.invalid("scan.startup.mode", other, e))?,
        };
        let bounded = options.one_of("scan.bounded.mode", &["unbounded", "latest-offset"], "unbounded")? != "unbounded";
        let bad_records: BadRecordPolicy = options.parse("scan.bad-record-policy", BadRecordPolicy::Fail)?;
        let discovery = options.duration("scan.topic-partition-discovery.interval", Duration::from_secs(300))?;
        let make = registry.deserializers(schema, options)?;
        let mut builder = KafkaSource::<T>::builder(servers, topic)
            .client(|mut c| {
                for (key, value) in properties {
                    c = c.property(key, value);
                }
                c
            })
            .startup_mode(startup)
            .bounded(bounded)
            .bad_record_policy(bad_records)
            .partition_discovery_interval((!discovery.is_zero()).then_some(discovery))
            .value_format(move || FormatDeserializer { inner: make() });
        if let Some(group) = group {
            builder = builder.group_id(group);
        }
        let source = builder.build().map_err(|e| convert(options, e))?;
        Ok(Arc::new(source.into_source(options.context().to_string())))
    }
}

/// A format's deserializer made when a reader is created (its creation was
/// checked when the source was built).
struct FormatDeserializer<T> {
    inner: Result<Box<dyn Deserializer<T>>, ConnectorError>,
}

impl<T> Deserializer<T> for FormatDeserializer<T> {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        match &mut self.inner {
            Ok(inner) => inner.deserialize(bytes, out),
            Err(e) => Err(FormatError::new(
                weir_connector_api::format::FormatErrorKind::Other,
                e.to_string(),
            )),
        }
    }
}

impl<T: Send + 'static> SinkFactory<Typed<T>> for KafkaFactory {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn create_sink(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
        let topic = options.required("topic")?.to_string();
        let (servers, properties) = client(options)?;
        let guarantee: DeliveryGuarantee = options.parse("sink.delivery-guarantee", DeliveryGuarantee::AtLeastOnce)?;
        let prefix = options.get("sink.transactional-id-prefix").map(str::to_string);
        let pool = options.parse("sink.transactional-id-pool-size", 4usize)?;
        let timeout = options.duration("sink.transaction-timeout", Duration::from_secs(15 * 60))?;
        let serializer = Mutex::new(registry.serializer(schema, options)?);
        let mut builder = KafkaSink::builder(servers, topic, move |value: &T, _ts: Option<i64>| {
            let mut bytes = Vec::new();
            serializer.lock().serialize(value, &mut bytes)?;
            Ok(OutgoingRecord::value(bytes))
        })
        .client(|mut c| {
            for (key, value) in properties {
                c = c.property(key, value);
            }
            c
        })
        .delivery_guarantee(guarantee)
        .transactional_id_pool_size(pool)
        .transaction_timeout(timeout);
        if let Some(prefix) = prefix {
            builder = builder.transactional_id_prefix(prefix);
        }
        Ok(Arc::new(builder.build().map_err(|e| convert(options, e))?))
    }
}
