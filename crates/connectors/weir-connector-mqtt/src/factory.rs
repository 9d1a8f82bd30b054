//! `connector = 'mqtt'` for the connector registry: the source and the sink built
//! from string options, with the message format found by `format`.

use crate::config::{Address, RetryPolicy};
use crate::sink::{MqttSink, SinkConfig};
use crate::source::{MqttSource, SourceConfig};
use std::sync::Arc;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, SourceFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;

/// The MQTT source and sink factories (name `mqtt`).
///
/// Source options: `url` (`mqtt://[user[:password]@]host[:port]`), `topic` (a
/// topic filter, QoS 1), `client-id` (the prefix of the readers' client ids: keep
/// it the same across restarts, the broker keeps the session under it),
/// `keep-alive` (`30 s`), `scan.bad-record-policy` (`fail`, `skip`,
/// `dead-letter`), `connect.give-up-after` (`60 s`; `never`), `format` and its
/// options. Sink options: `url`, `topic`, `client-id`, `retain` (`false`),
/// `connect.give-up-after`, `format`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MqttFactory;

impl MqttFactory {
    /// Registers the MQTT source and sink in `registry`.
    pub fn register<T: Send + 'static>(registry: &mut Registry<Typed<T>>) {
        registry.register_source(Arc::new(MqttFactory));
        registry.register_sink(Arc::new(MqttFactory));
    }
}

/// `url`, checked now rather than when a reader connects.
fn url(options: &Options) -> Result<String, ConnectorError> {
    let url = options.required("url")?;
    Address::parse(url).map_err(|e| options.invalid("url", &crate::config::redact(url), e))?;
    Ok(url.to_string())
}

impl<T: Send + 'static> SourceFactory<Typed<T>> for MqttFactory {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    fn create_source(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Source<T>>, ConnectorError> {
        let mut config = SourceConfig::new(
            url(options)?,
            options.required("topic")?,
            options.required("client-id")?,
        );
        config.keep_alive = options.duration("keep-alive", config.keep_alive)?;
        config.retry = RetryPolicy::from_options(options)?;
        let bad_records: BadRecordPolicy = options.parse("scan.bad-record-policy", BadRecordPolicy::Fail)?;
        let source = MqttSource::from_format(config, registry.deserializers(schema, options)?);
        Ok(Arc::new(source.with_bad_records(bad_records)))
    }
}

impl<T: Send + 'static> SinkFactory<Typed<T>> for MqttFactory {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    fn create_sink(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
        let mut config = SinkConfig::new(
            url(options)?,
            options.required("topic")?,
            options.required("client-id")?,
        );
        config.retain = options.parse("retain", false)?;
        config.retry = RetryPolicy::from_options(options)?;
        Ok(Arc::new(MqttSink::from_format(
            config,
            registry.serializers(schema, options)?,
        )))
    }
}
