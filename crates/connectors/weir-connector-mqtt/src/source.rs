//! The MQTT source: a QoS 1 subscriber with a persistent session
//! (`clean_session = false`) that acknowledges (PUBACK) a message only when a
//! checkpoint that covers it completes: at-least-once.

use crate::config::{redact, Address, Backoff, RetryPolicy};
use rumqttc::{Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, Publish, QoS};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy};
use weir_connector_api::format::Deserializer;
use weir_connector_api::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader, SourceWaker,
};
use weir_connector_api::{BoxError, ConnectorError};

/// Messages handled per poll at most.
const BATCH: usize = 1024;

/// Where and how the source reads.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The broker (`mqtt://[user[:password]@]host[:port]`).
    pub url: String,
    /// The topic filter to subscribe to (QoS 1).
    pub topic: String,
    /// The client id's prefix; reader `i` connects as `<client_id>-<i>`. It must stay
    /// the same across restarts: the broker keeps the session (subscription and
    /// unacknowledged messages) under it.
    pub client_id: String,
    /// Keep-alive interval.
    pub keep_alive: Duration,
    /// Reconnection with backoff.
    pub retry: RetryPolicy,
}

impl SourceConfig {
    /// Subscribes to `topic` at `url` as `client_id`.
    pub fn new(url: impl Into<String>, topic: impl Into<String>, client_id: impl Into<String>) -> Self {
        SourceConfig {
            url: url.into(),
            topic: topic.into(),
            client_id: client_id.into(),
            keep_alive: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

type DeserializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync>;

/// Reads an MQTT topic at-least-once; see the crate documentation.
pub struct MqttSource<T> {
    config: SourceConfig,
    name: String,
    deserializer: DeserializerFactory<T>,
    bad_records: BadRecordHandler,
}

impl<T: Send + 'static> MqttSource<T> {
    /// A source reading with `config`, decoding each message with a deserializer
    /// made by `deserializer` (one per reader).
    pub fn new<D, F>(config: SourceConfig, deserializer: F) -> Self
    where
        D: Deserializer<T> + 'static,
        F: Fn() -> D + Send + Sync + 'static,
    {
        Self::from_format(config, move || Ok(Box::new(deserializer())))
    }

    /// A source reading with `config`, decoding each message with a deserializer
    /// made by `make` (one per reader; a failure fails the reader's creation): how
    /// the registry builds it from a format.
    pub fn from_format<F>(config: SourceConfig, make: F) -> Self
    where
        F: Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync + 'static,
    {
        let name = format!("mqtt source '{}'", config.topic);
        MqttSource {
            bad_records: BadRecordHandler::new(name.clone(), BadRecordPolicy::Fail),
            config,
            name,
            deserializer: Arc::new(make),
        }
    }

    /// What to do with messages that cannot be decoded (default: fail).
    pub fn with_bad_records(mut self, policy: BadRecordPolicy) -> Self {
        self.bad_records = BadRecordHandler::new(self.name.clone(), policy);
        self
    }
}

enum Message {
    Publish(Box<Publish>),
    Failed(String),
}

impl<T: Send + 'static> Source<T> for MqttSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Unbounded
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let address = Address::parse(&self.config.url).map_err(|e| format!("{}: {e}", self.name))?;
        let client_id = format!("{}-{}", self.config.client_id, context.info.index);
        let mut options = MqttOptions::new(client_id, address.host.clone(), address.port);
        options
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_keep_alive(self.config.keep_alive);
        if let Some((user, password)) = &address.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        let (client, connection) = Client::new(options, 1024);
        let (tx, events) = mpsc::sync_channel(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            stop: stop.clone(),
            context: self.name.clone(),
            address: redact(&self.config.url),
            topic: self.config.topic.clone(),
            client: client.clone(),
            events: tx,
            waker: context.waker.clone(),
            backoff: Backoff::new(self.config.retry),
            give_up_after: self.config.retry.give_up_after,
        };
        std::thread::Builder::new()
            .name(format!("weir-mqtt-{}", context.info.index))
            .spawn(move || worker.run(connection))
            .map_err(|e| format!("{}: cannot start its network thread: {e}", self.name))?;
        Ok(Box::new(MqttReader {
            name: self.name.clone(),
            address: redact(&self.config.url),
            topic: self.config.topic.clone(),
            client,
            stop,
            events,
            deserializer: (self.deserializer)()?,
            bad_records: self.bad_records.clone(),
            open: Vec::new(),
            sealed: BTreeMap::new(),
            to_ack: VecDeque::new(),
            decoded: Vec::new(),
        }))
    }
}

struct Worker {
    stop: Arc<AtomicBool>,
    context: String,
    address: String,
    topic: String,
    client: Client,
    events: SyncSender<Message>,
    waker: SourceWaker,
    backoff: Backoff,
    give_up_after: Option<Duration>,
}

impl Worker {
    fn fail(&self, cause: String) {
        let _ = self.events.send(Message::Failed(format!(
            "{} at {}: {cause}",
            self.context, self.address
        )));
        self.waker.wake();
    }

    fn run(mut self, mut connection: rumqttc::Connection) {
        for notification in connection.iter() {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            match notification {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    self.backoff.reset();
                    tracing::info!(session_present = ack.session_present, "{} connected", self.context);
                    if !ack.session_present {
                        if let Err(e) = self.client.try_subscribe(self.topic.clone(), QoS::AtLeastOnce) {
                            self.fail(format!("cannot subscribe to '{}': {e}", self.topic));
                            return;
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if self.events.send(Message::Publish(Box::new(publish))).is_err() {
                        return;
                    }
                    self.waker.wake();
                }
                Ok(_) => {}
                Err(ConnectionError::RequestsDone) => return,
                Err(ConnectionError::ConnectionRefused(
                    code @ (ConnectReturnCode::BadUserNamePassword
                    | ConnectReturnCode::NotAuthorized
                    | ConnectReturnCode::BadClientId
                    | ConnectReturnCode::RefusedProtocolVersion),
                )) => {
                    self.fail(format!("the broker refused the connection: {code:?}"));
                    return;
                }
                Err(e) => match self.backoff.next_wait() {
                    Some(wait) => {
                        tracing::warn!("{} at {}: {e}; reconnecting in {wait:?}", self.context, self.address);
                        std::thread::sleep(wait);
                    }
                    None => {
                        self.fail(format!(
                            "cannot connect: {e} (gave up after {:?} without a connection)",
                            self.give_up_after.unwrap_or_default()
                        ));
                        return;
                    }
                },
            }
        }
    }
}

struct MqttReader<T> {
    name: String,
    address: String,
    topic: String,
    client: Client,
    stop: Arc<AtomicBool>,
    events: Receiver<Message>,
    deserializer: Box<dyn Deserializer<T>>,
    bad_records: BadRecordHandler,
    /// Messages read since the last checkpoint.
    open: Vec<Publish>,
    /// Messages per checkpoint not yet complete.
    sealed: BTreeMap<u64, Vec<Publish>>,
    /// Acks not yet handed to the client (its request queue was full).
    to_ack: VecDeque<Publish>,
    decoded: Vec<T>,
}

impl<T> MqttReader<T> {
    fn send_acks(&mut self) {
        while let Some(publish) = self.to_ack.front() {
            if self.client.try_ack(publish).is_err() {
                return;
            }
            self.to_ack.pop_front();
        }
    }
}

impl<T: Send + 'static> SourceReader<T> for MqttReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        self.send_acks();
        for _ in 0..BATCH {
            match self.events.try_recv() {
                Ok(Message::Publish(publish)) => {
                    self.decoded.clear();
                    match self.deserializer.deserialize(&publish.payload, &mut self.decoded) {
                        Ok(()) => {
                            for value in self.decoded.drain(..) {
                                output.collect(value);
                            }
                        }
                        Err(error) => self.bad_records.handle(BadRecord {
                            split: &self.topic,
                            position: &format!("packet id {} on '{}'", publish.pkid, publish.topic),
                            bytes: &publish.payload,
                            error: &error,
                        })?,
                    }
                    self.open.push(*publish);
                }
                Ok(Message::Failed(message)) => return Err(message.into()),
                Err(TryRecvError::Empty) => {
                    let retry_at =
                        (!self.to_ack.is_empty()).then(|| std::time::Instant::now() + Duration::from_millis(10));
                    return Ok(PollStatus::Pending { retry_at });
                }
                Err(TryRecvError::Disconnected) => {
                    return Err(format!("{} at {}: the connection thread ended", self.name, self.address).into())
                }
            }
        }
        Ok(PollStatus::MoreAvailable)
    }

    /// No position: the broker's session holds what is not acknowledged.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let open = std::mem::take(&mut self.open);
        self.sealed.insert(checkpoint_id, open);
        Ok(Vec::new())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let covered: Vec<u64> = self.sealed.range(..=checkpoint_id).map(|(id, _)| *id).collect();
        for id in covered {
            self.to_ack.extend(self.sealed.remove(&id).unwrap_or_default());
        }
        self.send_acks();
        Ok(())
    }
}

impl<T> Drop for MqttReader<T> {
    fn drop(&mut self) {
        // Ends the connection thread; the session (and what is unacknowledged)
        // stays on the broker.
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
    }
}
