//! `connector = 'rabbitmq'` for the connector registry: the source and the sink
//! built from string options, with the message format found by `format`.

use crate::config::RetryPolicy;
use crate::sink::{RabbitMqSink, SinkConfig};
use crate::source::{Guarantee, RabbitMqSource, SourceConfig};
use std::sync::Arc;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, SourceFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;

/// The RabbitMQ source and sink factories (name `rabbitmq`).
///
/// Source options: `uri` (`amqp://user:password@host:port/vhost`), `queue`,
/// `queue.declare` (`true`: declared durable; `false`: it must exist),
/// `scan.prefetch` (10000), `scan.delivery-guarantee` (`exactly-once`, the
/// default: message-id deduplication at parallelism 1; `at-least-once`),
/// `scan.bad-record-policy` (`fail`, `skip`, `dead-letter`),
/// `connect.give-up-after` (`60 s`; `never`), `format` and its options.
/// Sink options: `uri`, `queue` (declared durable; the routing key of the
/// default exchange) or `exchange` with `routing-key`, `connect.give-up-after`,
/// `format`. Messages published through the registry carry no message-id.
#[derive(Debug, Default, Clone, Copy)]
pub struct RabbitMqFactory;

impl RabbitMqFactory {
    /// Registers the RabbitMQ source and sink in `registry`.
    pub fn register<T: Send + 'static>(registry: &mut Registry<Typed<T>>) {
        registry.register_source(Arc::new(RabbitMqFactory));
        registry.register_sink(Arc::new(RabbitMqFactory));
    }
}

impl<T: Send + 'static> SourceFactory<Typed<T>> for RabbitMqFactory {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn create_source(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Source<T>>, ConnectorError> {
        let mut config = SourceConfig::new(options.required("uri")?, options.required("queue")?);
        config.declare_queue = options.parse("queue.declare", true)?;
        config.prefetch = options.parse("scan.prefetch", config.prefetch)?;
        config.guarantee = match options.one_of(
            "scan.delivery-guarantee",
            &["exactly-once", "at-least-once"],
            "exactly-once",
        )? {
            "at-least-once" => Guarantee::AtLeastOnce,
            _ => Guarantee::ExactlyOnce,
        };
        config.retry = RetryPolicy::from_options(options)?;
        let bad_records: BadRecordPolicy = options.parse("scan.bad-record-policy", BadRecordPolicy::Fail)?;
        let source = RabbitMqSource::from_format(config, registry.deserializers(schema, options)?);
        Ok(Arc::new(source.with_bad_records(bad_records)))
    }
}

impl<T: Send + 'static> SinkFactory<Typed<T>> for RabbitMqFactory {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn create_sink(
        &self,
        schema: &(),
        options: &Options,
        registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
        let uri = options.required("uri")?;
        let mut config = match (options.get("queue"), options.get("exchange")) {
            (Some(queue), None) => SinkConfig::to_queue(uri, queue),
            (queue, Some(exchange)) => SinkConfig {
                uri: uri.to_string(),
                exchange: exchange.to_string(),
                routing_key: options.required("routing-key")?.to_string(),
                declare_queue: queue.map(str::to_string),
                retry: RetryPolicy::default(),
            },
            (None, None) => {
                return Err(ConnectorError::MissingOption {
                    context: options.context().to_string(),
                    key: "queue".to_string(),
                })
            }
        };
        if config.exchange.is_empty() && options.get("routing-key").is_some() {
            return Err(options.invalid(
                "routing-key",
                options.get("routing-key").unwrap_or_default(),
                "with the default exchange the routing key is the queue; set 'exchange' too",
            ));
        }
        config.retry = RetryPolicy::from_options(options)?;
        Ok(Arc::new(RabbitMqSink::from_format(
            config,
            registry.serializers(schema, options)?,
        )))
    }
}
