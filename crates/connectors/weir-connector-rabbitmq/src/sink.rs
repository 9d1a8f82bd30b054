//! The RabbitMQ sink: persistent messages with publisher confirms; every confirm
//! is awaited at each checkpoint barrier (at-least-once).

use crate::config::{redact, Backoff, RetryPolicy};
use crate::error::Failure;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, PublisherConfirm};
use std::sync::Arc;
use weir_connector_api::format::Serializer;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::{BoxError, ConnectorError};

/// Unconfirmed messages a writer keeps in flight before it waits for confirms.
const MAX_IN_FLIGHT: usize = 10_000;

/// Where and how the sink publishes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The AMQP 0-9-1 URI (`amqp://user:password@host:port/vhost`).
    pub uri: String,
    /// The exchange (`""`: the default exchange, which routes by queue name).
    pub exchange: String,
    /// The routing key (with the default exchange: the queue's name).
    pub routing_key: String,
    /// A durable queue to declare at start (e.g. the routing key's queue).
    pub declare_queue: Option<String>,
    /// Connecting with backoff at start.
    pub retry: RetryPolicy,
}

impl SinkConfig {
    /// Publishes to `queue` through the default exchange, declaring it durable.
    pub fn to_queue(uri: impl Into<String>, queue: impl Into<String>) -> Self {
        let queue = queue.into();
        SinkConfig {
            uri: uri.into(),
            exchange: String::new(),
            routing_key: queue.clone(),
            declare_queue: Some(queue),
            retry: RetryPolicy::default(),
        }
    }
}

type SerializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync>;
type MessageId<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// Publishes records to RabbitMQ; see the crate documentation.
pub struct RabbitMqSink<T> {
    config: SinkConfig,
    serializer: SerializerFactory<T>,
    message_id: Option<MessageId<T>>,
}

impl<T: Send + 'static> RabbitMqSink<T> {
    /// A sink publishing with `config`, encoding each record with a serializer made
    /// by `serializer` (one per writer).
    pub fn new<S, F>(config: SinkConfig, serializer: F) -> Self
    where
        S: Serializer<T> + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        Self::from_format(config, move || Ok(Box::new(serializer())))
    }

    /// A sink publishing with `config`, encoding each record with a serializer made
    /// by `make` (one per writer; a failure fails the writer's creation): how the
    /// registry builds it from a format.
    pub fn from_format<F>(config: SinkConfig, make: F) -> Self
    where
        F: Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync + 'static,
    {
        RabbitMqSink {
            config,
            serializer: Arc::new(make),
            message_id: None,
        }
    }

    /// Sets each message's `message-id` from its record. A deterministic id (one
    /// that a replay gives again) lets a deduplicating consumer, such as
    /// [`RabbitMqSource`](crate::RabbitMqSource) with exactly-once, drop the
    /// messages a replay publishes twice.
    pub fn with_message_id(mut self, id: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.message_id = Some(Arc::new(id));
        self
    }
}

impl<T: Send + 'static> Sink<T> for RabbitMqSink<T> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let name = format!("rabbitmq sink '{}{}'", self.config.exchange, self.config.routing_key);
        let address = redact(&self.config.uri);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("weir-rabbitmq-sink-{}", context.info.index))
            .enable_all()
            .build()
            .map_err(|e| format!("{name}: cannot start its network thread: {e}"))?;
        let mut backoff = Backoff::new(self.config.retry);
        let (connection, channel) = loop {
            match runtime.block_on(open(&self.config, &name)) {
                Ok(opened) => break opened,
                Err(Failure::Fatal(cause)) => return Err(format!("{name} at {address}: {cause}").into()),
                Err(Failure::Transient(cause)) => match backoff.next_wait() {
                    Some(wait) => {
                        tracing::warn!("{name} at {address}: {cause}; retrying in {wait:?}");
                        std::thread::sleep(wait);
                    }
                    None => {
                        return Err(format!(
                            "{name} at {address}: {cause} (gave up after {:?})",
                            self.config.retry.give_up_after.unwrap_or_default()
                        )
                        .into())
                    }
                },
            }
        };
        Ok(Box::new(RabbitMqWriter {
            name,
            address,
            exchange: self.config.exchange.clone(),
            routing_key: self.config.routing_key.clone(),
            serializer: (self.serializer)()?,
            message_id: self.message_id.clone(),
            buffer: Vec::new(),
            in_flight: Vec::new(),
            channel,
            _connection: connection,
            runtime,
        }))
    }
}

async fn open(config: &SinkConfig, name: &str) -> Result<(Connection, Channel), Failure> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connection = Connection::connect(&config.uri, properties)
        .await
        .map_err(|e| Failure::of("cannot connect", &e))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| Failure::of("cannot open a channel", &e))?;
    if let Some(queue) = &config.declare_queue {
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| Failure::of(&format!("cannot declare the durable queue '{queue}'"), &e))?;
    }
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| Failure::of("cannot enable publisher confirms", &e))?;
    Ok((connection, channel))
}

struct RabbitMqWriter<T> {
    name: String,
    address: String,
    exchange: String,
    routing_key: String,
    serializer: Box<dyn Serializer<T>>,
    message_id: Option<MessageId<T>>,
    buffer: Vec<u8>,
    in_flight: Vec<PublisherConfirm>,
    channel: Channel,
    _connection: Connection,
    runtime: tokio::runtime::Runtime,
}

impl<T> RabbitMqWriter<T> {
    fn error(&self, doing: &str, cause: impl std::fmt::Display) -> BoxError {
        format!("{} at {}: {doing}: {cause}", self.name, self.address).into()
    }

    /// Waits until the broker confirmed every message published so far.
    fn await_confirms(&mut self) -> Result<(), BoxError> {
        let in_flight = std::mem::take(&mut self.in_flight);
        let results = self.runtime.block_on(futures::future::join_all(in_flight));
        for result in results {
            match result {
                Ok(Confirmation::Ack(_)) | Ok(Confirmation::NotRequested) => {}
                Ok(Confirmation::Nack(_)) => {
                    return Err(self.error("publishing", "the broker refused a message (negative confirm)"))
                }
                Err(e) => return Err(self.error("waiting for publisher confirms", e)),
            }
        }
        Ok(())
    }
}

impl<T: Send + 'static> SinkWriter<T> for RabbitMqWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        self.buffer.clear();
        self.serializer
            .serialize(&value, &mut self.buffer)
            .map_err(|e| self.error("cannot encode a record", e))?;
        let mut properties = BasicProperties::default().with_delivery_mode(2);
        if let Some(id) = &self.message_id {
            properties = properties.with_message_id(id(&value).into());
        }
        let publish = self.channel.basic_publish(
            self.exchange.as_str().into(),
            self.routing_key.as_str().into(),
            BasicPublishOptions::default(),
            &self.buffer,
            properties,
        );
        let confirm = self
            .runtime
            .block_on(publish)
            .map_err(|e| self.error("publishing", e))?;
        self.in_flight.push(confirm);
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            self.await_confirms()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.await_confirms()
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.await_confirms()?;
        Ok(Vec::new())
    }
}
