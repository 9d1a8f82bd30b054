//! `connector = 'nats'` for the connector registry: the JetStream source and sink
//! built from string options, with the message format found by `format`.

use crate::config::RetryPolicy;
use crate::sink::{NatsSink, SinkConfig};
use crate::source::{NatsSource, SourceConfig};
use std::sync::Arc;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, SourceFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;

/// The NATS JetStream source and sink factories (name `nats`).
///
/// Source options: `url` (`nats://user:password@host:port`), `stream`,
/// `consumer` (the durable consumer's name), `stream.subjects` (comma-separated:
/// create the stream with these subjects when it does not exist; without it the
/// stream must exist), `scan.filter-subject`, `scan.ack-wait` (`60 s`: more than
/// the checkpoint interval), `scan.max-ack-pending` (10000),
/// `scan.bad-record-policy` (`fail`, `skip`, `dead-letter`),
/// `connect.give-up-after` (`60 s`; `never`), `format` and its options.
/// Sink options: `url`, `subject`, `connect.give-up-after`, `format`. Messages
/// published through the registry carry no `Nats-Msg-Id`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NatsFactory;

impl NatsFactory {
    /// Registers the NATS source and sink in `registry`.
    pub fn register<T: Send + 'static>(registry: &mut Registry<Typed<T>>) {
        registry.register_source(Arc::new(NatsFactory));
        registry.register_sink(Arc::new(NatsFactory));
    }
}

impl<T: Send + 'static> SourceFactory<Typed<T>> for NatsFactory {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn create_source(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Source<T>>, ConnectorError> {
        let mut config = SourceConfig::new(
            options.required("url")?,
            options.required("stream")?,
            options.required("consumer")?,
        );
        config.create_stream = options.get("stream.subjects").map(|subjects| {
            subjects
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        });
        config.filter_subject = options.get("scan.filter-subject").map(str::to_string);
        config.ack_wait = options.duration("scan.ack-wait", config.ack_wait)?;
        config.max_ack_pending = options.parse("scan.max-ack-pending", config.max_ack_pending)?;
        config.retry = RetryPolicy::from_options(options)?;
        let bad_records: BadRecordPolicy = options.parse("scan.bad-record-policy", BadRecordPolicy::Fail)?;
        let source = NatsSource::from_format(config, registry.deserializers(schema, options)?);
        Ok(Arc::new(source.with_bad_records(bad_records)))
    }
}

impl<T: Send + 'static> SinkFactory<Typed<T>> for NatsFactory {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn create_sink(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
        let mut config = SinkConfig::new(options.required("url")?, options.required("subject")?);
        config.retry = RetryPolicy::from_options(options)?;
        Ok(Arc::new(NatsSink::from_format(
            config,
            registry.serializers(schema, options)?,
        )))
    }
}
