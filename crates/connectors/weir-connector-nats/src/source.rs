//! The NATS JetStream source: a durable pull consumer with explicit acks sent
//! only when a checkpoint that covers the messages completes, and deduplication by
//! stream sequence number in the checkpointed state for exactly-once.

use crate::config::{redact, RetryPolicy};
use crate::sequences::Sequences;
use crate::worker::{self, Command, Event, Message};
use async_nats::jetstream::message::Acker;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy};
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::dedup::StoredId;
use weir_connector_api::format::Deserializer;
use weir_connector_api::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader, SplitStateDistribution,
};
use weir_connector_api::{BoxError, ConnectorError};

/// Messages handled per poll at most.
const BATCH: usize = 1024;

/// Where and how the source reads.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The server URL (`nats://user:password@host:port`).
    pub url: String,
    /// The JetStream stream.
    pub stream: String,
    /// Create the stream (file storage) with these subjects if it does not exist;
    /// `None`: it must exist.
    pub create_stream: Option<Vec<String>>,
    /// The durable consumer's name (created if missing).
    pub durable: String,
    /// Only messages of this subject (default: all of the stream).
    pub filter_subject: Option<String>,
    /// How long the server waits for an ack before redelivering. Messages are
    /// acknowledged when a checkpoint completes, so it must exceed the checkpoint
    /// interval plus the time a checkpoint takes; after a crash, the messages in
    /// flight come back only when it expires.
    pub ack_wait: Duration,
    /// Messages delivered and not yet acknowledged at most: bounds what one
    /// checkpoint interval can read.
    pub max_ack_pending: i64,
    /// Reconnection with backoff.
    pub retry: RetryPolicy,
}

impl SourceConfig {
    /// Reads stream `stream` through durable consumer `durable` at `url`, with
    /// `ack_wait` 60 s and `max_ack_pending` 10,000.
    pub fn new(url: impl Into<String>, stream: impl Into<String>, durable: impl Into<String>) -> Self {
        SourceConfig {
            url: url.into(),
            stream: stream.into(),
            create_stream: None,
            durable: durable.into(),
            filter_subject: None,
            ack_wait: Duration::from_secs(60),
            max_ack_pending: 10_000,
            retry: RetryPolicy::default(),
        }
    }
}

type DeserializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync>;

/// Reads a JetStream stream exactly-once; see the crate documentation.
pub struct NatsSource<T> {
    config: SourceConfig,
    name: String,
    deserializer: DeserializerFactory<T>,
    bad_records: BadRecordHandler,
}

impl<T: Send + 'static> NatsSource<T> {
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
        let name = format!("nats source '{}/{}'", config.stream, config.durable);
        NatsSource {
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

impl<T: Send + 'static> Source<T> for NatsSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Unbounded
    }

    /// One reader: a redelivery can go to any puller of the durable consumer, and
    /// only the reader that emitted a message knows its sequence number.
    fn max_parallelism(&self) -> Option<usize> {
        Some(1)
    }

    fn state_distribution(&self) -> SplitStateDistribution {
        SplitStateDistribution::Union
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let mut stored = Vec::new();
        for element in context.restored.iter().flatten() {
            let ids: Vec<StoredId<u64>> = decode_state(element, &format!("the sequence numbers of {}", self.name))?;
            stored.extend(ids);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("weir-nats-{}", context.info.index))
            .enable_all()
            .build()
            .map_err(|e| format!("{}: cannot start its network thread: {e}", self.name))?;
        let (events_tx, events) = mpsc::channel(4096);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        runtime.spawn(worker::run(
            self.config.clone(),
            self.name.clone(),
            events_tx,
            commands_rx,
            context.waker.clone(),
        ));
        Ok(Box::new(NatsReader {
            name: self.name.clone(),
            address: redact(&self.config.url),
            split: format!("{}/{}", self.config.stream, self.config.durable),
            events,
            commands,
            deserializer: (self.deserializer)()?,
            bad_records: self.bad_records.clone(),
            sequences: Sequences::restore(stored),
            open: Vec::new(),
            sealed: BTreeMap::new(),
            decoded: Vec::new(),
            _runtime: runtime,
        }))
    }
}

struct NatsReader<T> {
    name: String,
    address: String,
    split: String,
    events: mpsc::Receiver<Event>,
    commands: mpsc::UnboundedSender<Command>,
    deserializer: Box<dyn Deserializer<T>>,
    bad_records: BadRecordHandler,
    sequences: Sequences,
    /// Ackers of messages read since the last checkpoint.
    open: Vec<Acker>,
    /// Ackers per checkpoint not yet complete.
    sealed: BTreeMap<u64, Vec<Acker>>,
    decoded: Vec<T>,
    _runtime: tokio::runtime::Runtime,
}

impl<T: Send + 'static> NatsReader<T> {
    fn on_message(&mut self, message: Message, output: &mut SourceOutput<'_, T>) -> Result<(), BoxError> {
        self.open.push(message.acker);
        if !self.sequences.deliver(message.sequence) {
            tracing::debug!("{}: dropped the redelivered message {}", self.name, message.sequence);
            return Ok(());
        }
        self.decoded.clear();
        match self.deserializer.deserialize(&message.data, &mut self.decoded) {
            Ok(()) => {
                for value in self.decoded.drain(..) {
                    output.collect(value);
                }
                Ok(())
            }
            Err(error) => self.bad_records.handle(BadRecord {
                split: &self.split,
                position: &format!("stream sequence {}", message.sequence),
                bytes: &message.data,
                error: &error,
            }),
        }
    }
}

impl<T: Send + 'static> SourceReader<T> for NatsReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        for _ in 0..BATCH {
            match self.events.try_recv() {
                Ok(Event::Message(message)) => self.on_message(*message, output)?,
                Ok(Event::AckFloor(floor)) => self.sequences.ack_floor(floor),
                Ok(Event::Failed(message)) => return Err(message.into()),
                Err(TryRecvError::Empty) => return Ok(PollStatus::Pending { retry_at: None }),
                Err(TryRecvError::Disconnected) => {
                    return Err(format!("{} at {}: the connection task ended", self.name, self.address).into())
                }
            }
        }
        Ok(PollStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let open = std::mem::take(&mut self.open);
        self.sealed.insert(checkpoint_id, open);
        Ok(vec![encode_state(&self.sequences.snapshot(checkpoint_id))?])
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let covered: Vec<u64> = self.sealed.range(..=checkpoint_id).map(|(id, _)| *id).collect();
        let mut ackers = Vec::new();
        for id in covered {
            ackers.extend(self.sealed.remove(&id).unwrap_or_default());
        }
        // A send fails only when the connection task ended; its error comes with
        // the next poll.
        let _ = self.commands.send(Command::Ack { checkpoint_id, ackers });
        Ok(())
    }
}
