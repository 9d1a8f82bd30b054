//! The JetStream sink: publishes with a `Nats-Msg-Id` header and waits for every
//! publish acknowledgement at each checkpoint barrier.

use crate::config::{redact, Backoff, RetryPolicy};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use std::future::IntoFuture;
use std::sync::Arc;
use weir_connector_api::format::Serializer;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::{BoxError, ConnectorError};

/// Unacknowledged publishes a writer keeps in flight before it waits.
const MAX_IN_FLIGHT: usize = 10_000;

/// Where and how the sink publishes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The server URL (`nats://user:password@host:port`).
    pub url: String,
    /// The subject to publish to (a stream must capture it).
    pub subject: String,
    /// Connecting with backoff at start.
    pub retry: RetryPolicy,
}

impl SinkConfig {
    /// Publishes to `subject` at `url`.
    pub fn new(url: impl Into<String>, subject: impl Into<String>) -> Self {
        SinkConfig {
            url: url.into(),
            subject: subject.into(),
            retry: RetryPolicy::default(),
        }
    }
}

type SerializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync>;
type MessageId<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// Publishes records to JetStream; see the crate documentation.
pub struct NatsSink<T> {
    config: SinkConfig,
    serializer: SerializerFactory<T>,
    message_id: Option<MessageId<T>>,
}

impl<T: Send + 'static> NatsSink<T> {
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
        NatsSink {
            config,
            serializer: Arc::new(make),
            message_id: None,
        }
    }

    /// Sets each message's `Nats-Msg-Id` header from its record. With a
    /// deterministic id, the stream's duplicate window drops what a replay
    /// publishes again: exactly-once as long as the replay comes within the
    /// window (the stream's `duplicate_window`, 2 minutes by default).
    pub fn with_message_id(mut self, id: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.message_id = Some(Arc::new(id));
        self
    }
}

impl<T: Send + 'static> Sink<T> for NatsSink<T> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let name = format!("nats sink '{}'", self.config.subject);
        let address = redact(&self.config.url);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("weir-nats-sink-{}", context.info.index))
            .enable_all()
            .build()
            .map_err(|e| format!("{name}: cannot start its network thread: {e}"))?;
        let mut backoff = Backoff::new(self.config.retry);
        let client = loop {
            let connect = crate::config::client_options(&self.config.url).connect(self.config.url.as_str());
            match runtime.block_on(connect) {
                Ok(client) => break client,
                Err(e) => {
                    let fatal = matches!(
                        e.kind(),
                        async_nats::ConnectErrorKind::Authentication
                            | async_nats::ConnectErrorKind::AuthorizationViolation
                            | async_nats::ConnectErrorKind::ServerParse
                    );
                    match backoff.next_wait().filter(|_| !fatal) {
                        Some(wait) => {
                            tracing::warn!("{name} at {address}: cannot connect: {e}; retrying in {wait:?}");
                            std::thread::sleep(wait);
                        }
                        None => return Err(format!("{name} at {address}: cannot connect: {e}").into()),
                    }
                }
            }
        };
        // The JetStream context spawns its acknowledgement task on the runtime.
        let js = {
            let _inside = runtime.enter();
            jetstream::new(client)
        };
        Ok(Box::new(NatsWriter {
            name,
            address,
            subject: self.config.subject.clone(),
            serializer: (self.serializer)()?,
            message_id: self.message_id.clone(),
            buffer: Vec::new(),
            in_flight: Vec::new(),
            js,
            runtime,
        }))
    }
}

struct NatsWriter<T> {
    name: String,
    address: String,
    subject: String,
    serializer: Box<dyn Serializer<T>>,
    message_id: Option<MessageId<T>>,
    buffer: Vec<u8>,
    in_flight: Vec<PublishAckFuture>,
    js: Context,
    runtime: tokio::runtime::Runtime,
}

impl<T> NatsWriter<T> {
    fn error(&self, doing: &str, cause: impl std::fmt::Display) -> BoxError {
        format!("{} at {}: {doing}: {cause}", self.name, self.address).into()
    }

    fn await_acks(&mut self) -> Result<(), BoxError> {
        let in_flight = std::mem::take(&mut self.in_flight);
        let results = self.runtime.block_on(futures::future::join_all(
            in_flight.into_iter().map(|f| f.into_future()),
        ));
        for result in results {
            result.map_err(|e| self.error("waiting for publish acknowledgements", e))?;
        }
        Ok(())
    }
}

impl<T: Send + 'static> SinkWriter<T> for NatsWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        self.buffer.clear();
        self.serializer
            .serialize(&value, &mut self.buffer)
            .map_err(|e| self.error("cannot encode a record", e))?;
        let mut publish = PublishMessage::build().payload(self.buffer.clone().into());
        if let Some(id) = &self.message_id {
            publish = publish.message_id(id(&value));
        }
        let send = self.js.send_publish(self.subject.clone(), publish);
        let ack = self.runtime.block_on(send).map_err(|e| self.error("publishing", e))?;
        self.in_flight.push(ack);
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            self.await_acks()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.await_acks()
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.await_acks()?;
        Ok(Vec::new())
    }
}
