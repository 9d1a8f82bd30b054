//! The MQTT sink: QoS 1 publishes; every PUBACK is awaited at each checkpoint
//! barrier (at-least-once).

use crate::config::{redact, Address, Backoff, RetryPolicy};
use parking_lot::{Condvar, Mutex};
use rumqttc::{Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::format::Serializer;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::{BoxError, ConnectorError};

/// Where and how the sink publishes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The broker (`mqtt://[user[:password]@]host[:port]`).
    pub url: String,
    /// The topic to publish to.
    pub topic: String,
    /// The client id's prefix; writer `i` connects as `<client_id>-<i>`.
    pub client_id: String,
    /// Whether messages are retained by the broker.
    pub retain: bool,
    /// Reconnection with backoff.
    pub retry: RetryPolicy,
}

impl SinkConfig {
    /// Publishes to `topic` at `url` as `client_id`.
    pub fn new(url: impl Into<String>, topic: impl Into<String>, client_id: impl Into<String>) -> Self {
        SinkConfig {
            url: url.into(),
            topic: topic.into(),
            client_id: client_id.into(),
            retain: false,
            retry: RetryPolicy::default(),
        }
    }
}

type SerializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync>;

/// Publishes records with QoS 1; see the crate documentation.
pub struct MqttSink<T> {
    config: SinkConfig,
    serializer: SerializerFactory<T>,
}

impl<T: Send + 'static> MqttSink<T> {
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
        MqttSink {
            config,
            serializer: Arc::new(make),
        }
    }
}

#[derive(Default)]
struct Progress {
    acked: u64,
    failed: Option<String>,
}

#[derive(Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
    stop: AtomicBool,
}

impl<T: Send + 'static> Sink<T> for MqttSink<T> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let name = format!("mqtt sink '{}'", self.config.topic);
        let address = Address::parse(&self.config.url).map_err(|e| format!("{name}: {e}"))?;
        let mut options = MqttOptions::new(
            format!("{}-{}", self.config.client_id, context.info.index),
            address.host.clone(),
            address.port,
        );
        // The client keeps unacknowledged publishes and sends them again after a
        // reconnect.
        options.set_clean_session(false);
        if let Some((user, password)) = &address.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        let (client, mut connection) = Client::new(options, 1024);
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let context_name = name.clone();
        let redacted = redact(&self.config.url);
        let mut backoff = Backoff::new(self.config.retry);
        let give_up_after = self.config.retry.give_up_after;
        std::thread::Builder::new()
            .name(format!("weir-mqtt-sink-{}", context.info.index))
            .spawn(move || {
                let fail = |cause: String| {
                    thread_shared.progress.lock().failed = Some(format!("{context_name} at {redacted}: {cause}"));
                    thread_shared.changed.notify_all();
                };
                for notification in connection.iter() {
                    if thread_shared.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match notification {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => backoff.reset(),
                        Ok(Event::Incoming(Packet::PubAck(_))) => {
                            thread_shared.progress.lock().acked += 1;
                            thread_shared.changed.notify_all();
                        }
                        Ok(_) => {}
                        Err(ConnectionError::RequestsDone) => return,
                        Err(ConnectionError::ConnectionRefused(
                            code @ (ConnectReturnCode::BadUserNamePassword
                            | ConnectReturnCode::NotAuthorized
                            | ConnectReturnCode::BadClientId
                            | ConnectReturnCode::RefusedProtocolVersion),
                        )) => return fail(format!("the broker refused the connection: {code:?}")),
                        Err(e) => match backoff.next_wait() {
                            Some(wait) => {
                                tracing::warn!("{context_name} at {redacted}: {e}; reconnecting in {wait:?}");
                                std::thread::sleep(wait);
                            }
                            None => {
                                return fail(format!(
                                    "cannot connect: {e} (gave up after {:?} without a connection)",
                                    give_up_after.unwrap_or_default()
                                ))
                            }
                        },
                    }
                }
            })
            .map_err(|e| format!("{name}: cannot start its network thread: {e}"))?;
        Ok(Box::new(MqttWriter {
            topic: self.config.topic.clone(),
            retain: self.config.retain,
            serializer: (self.serializer)()?,
            buffer: Vec::new(),
            published: 0,
            client,
            shared,
            name,
            address: redact(&self.config.url),
        }))
    }
}

struct MqttWriter<T> {
    topic: String,
    retain: bool,
    serializer: Box<dyn Serializer<T>>,
    buffer: Vec<u8>,
    published: u64,
    client: Client,
    shared: Arc<Shared>,
    name: String,
    address: String,
}

impl<T> MqttWriter<T> {
    /// Waits until the broker acknowledged every publish (or the connection failed
    /// for good).
    fn await_acks(&mut self) -> Result<(), BoxError> {
        let mut progress = self.shared.progress.lock();
        loop {
            if let Some(failed) = &progress.failed {
                return Err(failed.clone().into());
            }
            if progress.acked >= self.published {
                return Ok(());
            }
            self.shared.changed.wait_for(&mut progress, Duration::from_secs(1));
        }
    }
}

impl<T: Send + 'static> SinkWriter<T> for MqttWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        if let Some(failed) = &self.shared.progress.lock().failed {
            return Err(failed.clone().into());
        }
        self.buffer.clear();
        self.serializer
            .serialize(&value, &mut self.buffer)
            .map_err(|e| format!("{} at {}: cannot encode a record: {e}", self.name, self.address))?;
        self.client
            .publish(self.topic.clone(), QoS::AtLeastOnce, self.retain, self.buffer.clone())
            .map_err(|e| format!("{} at {}: publishing: {e}", self.name, self.address))?;
        self.published += 1;
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

impl<T> Drop for MqttWriter<T> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
    }
}
