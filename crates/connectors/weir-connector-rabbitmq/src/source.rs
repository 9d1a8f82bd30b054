//! The RabbitMQ source: manual acks under a prefetch limit, acknowledged only when
//! a checkpoint that covers them completes, and message-id deduplication in the
//! checkpointed state for exactly-once.

use crate::config::{redact, RetryPolicy};
use crate::worker::{self, Command, Event, Message};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy};
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::dedup::{Dedup, StoredId};
use weir_connector_api::format::Deserializer;
use weir_connector_api::source::{
    Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader, SplitStateDistribution,
};
use weir_connector_api::{BoxError, ConnectorError};

/// Messages handled per poll at most.
const BATCH: usize = 1024;

/// What the source guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Guarantee {
    /// Every message is emitted at least once: after a failure, the broker
    /// redelivers what no completed checkpoint acknowledged.
    AtLeastOnce,
    /// Additionally, a redelivered message whose `message-id` was emitted before
    /// the restored checkpoint is dropped. Requires publishers to set unique
    /// message ids (messages without one are emitted at least once) and a
    /// parallelism of 1 (a redelivery can go to any consumer of the queue).
    ExactlyOnce,
}

/// Where and how the source reads.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The AMQP 0-9-1 URI (`amqp://user:password@host:port/vhost`).
    pub uri: String,
    /// The queue to consume.
    pub queue: String,
    /// Declare the queue (durable) before consuming; otherwise it must exist.
    pub declare_queue: bool,
    /// How many unacknowledged messages the broker sends at most. Messages are
    /// acknowledged at checkpoints, so this bounds what one checkpoint interval can
    /// read.
    pub prefetch: u16,
    /// Reconnection with backoff.
    pub retry: RetryPolicy,
    /// Exactly-once (message-id deduplication) or at-least-once.
    pub guarantee: Guarantee,
}

impl SourceConfig {
    /// Reads `queue` at `uri` exactly-once, declaring it durable, with a prefetch
    /// limit of 10,000.
    pub fn new(uri: impl Into<String>, queue: impl Into<String>) -> Self {
        SourceConfig {
            uri: uri.into(),
            queue: queue.into(),
            declare_queue: true,
            prefetch: 10_000,
            retry: RetryPolicy::default(),
            guarantee: Guarantee::ExactlyOnce,
        }
    }
}

type DeserializerFactory<T> = Arc<dyn Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync>;

/// Reads a RabbitMQ queue; see the crate documentation.
pub struct RabbitMqSource<T> {
    config: SourceConfig,
    name: String,
    deserializer: DeserializerFactory<T>,
    bad_records: BadRecordHandler,
}

impl<T: Send + 'static> RabbitMqSource<T> {
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
        let name = format!("rabbitmq source '{}'", config.queue);
        RabbitMqSource {
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

    /// The handler of undecodable messages (its counters).
    pub fn bad_records(&self) -> &BadRecordHandler {
        &self.bad_records
    }
}

impl<T: Send + 'static> Source<T> for RabbitMqSource<T> {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Unbounded
    }

    fn max_parallelism(&self) -> Option<usize> {
        match self.config.guarantee {
            Guarantee::ExactlyOnce => Some(1),
            Guarantee::AtLeastOnce => None,
        }
    }

    fn state_distribution(&self) -> SplitStateDistribution {
        SplitStateDistribution::Union
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let dedup = match self.config.guarantee {
            Guarantee::AtLeastOnce => None,
            Guarantee::ExactlyOnce => {
                let mut stored = Vec::new();
                for element in context.restored.iter().flatten() {
                    let ids: Vec<StoredId<String>> =
                        decode_state(element, &format!("the message ids of {}", self.name))?;
                    stored.extend(ids);
                }
                Some(Dedup::restore(stored))
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("weir-rabbitmq-{}", context.info.index))
            .enable_all()
            .build()
            .map_err(|e| format!("{}: cannot start its network thread: {e}", self.name))?;
        let (events_tx, events) = mpsc::channel(usize::from(self.config.prefetch).clamp(16, 4096));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        runtime.spawn(worker::run(
            self.config.clone(),
            self.name.clone(),
            events_tx,
            commands_rx,
            context.waker.clone(),
        ));
        Ok(Box::new(RabbitMqReader {
            name: self.name.clone(),
            address: redact(&self.config.uri),
            queue: self.config.queue.clone(),
            events,
            commands,
            deserializer: (self.deserializer)()?,
            bad_records: self.bad_records.clone(),
            dedup,
            last: None,
            pending_acks: BTreeMap::new(),
            decoded: Vec::new(),
            without_id: 0,
            duplicates: 0,
            _runtime: runtime,
        }))
    }
}

struct RabbitMqReader<T> {
    name: String,
    address: String,
    queue: String,
    events: mpsc::Receiver<Event>,
    commands: mpsc::UnboundedSender<Command>,
    deserializer: Box<dyn Deserializer<T>>,
    bad_records: BadRecordHandler,
    dedup: Option<Dedup<String>>,
    /// The last delivery read: (channel generation, tag).
    last: Option<(u64, u64)>,
    /// Per checkpoint not yet complete: the last delivery it covers.
    pending_acks: BTreeMap<u64, (u64, u64)>,
    decoded: Vec<T>,
    without_id: u64,
    duplicates: u64,
    // Dropped last: the connection task ends when `commands` closes.
    _runtime: tokio::runtime::Runtime,
}

impl<T: Send + 'static> RabbitMqReader<T> {
    fn on_message(&mut self, message: Message, output: &mut SourceOutput<'_, T>) -> Result<(), BoxError> {
        self.last = Some((message.generation, message.tag));
        let emit = match (&mut self.dedup, &message.message_id) {
            (Some(dedup), Some(id)) => dedup.deliver(id.clone(), message.generation),
            (Some(_), None) => {
                self.without_id += 1;
                if self.without_id == 1 || self.without_id.is_multiple_of(10_000) {
                    tracing::warn!(
                        "{}: {} message(s) without a message-id: they cannot be deduplicated and are read at least once",
                        self.name,
                        self.without_id
                    );
                }
                true
            }
            (None, _) => true,
        };
        if !emit {
            self.duplicates += 1;
            tracing::debug!(
                "{}: dropped the redelivered message {:?}",
                self.name,
                message.message_id
            );
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
            Err(error) => {
                let position = match &message.message_id {
                    Some(id) => format!("message-id {id:?}"),
                    None => format!("delivery tag {}", message.tag),
                };
                self.bad_records.handle(BadRecord {
                    split: &self.queue,
                    position: &position,
                    bytes: &message.data,
                    error: &error,
                })
            }
        }
    }
}

impl<T: Send + 'static> SourceReader<T> for RabbitMqReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        for _ in 0..BATCH {
            match self.events.try_recv() {
                Ok(Event::Message(message)) => self.on_message(message, output)?,
                Ok(Event::Confirmed {
                    checkpoint_id,
                    generation,
                }) => {
                    if let Some(dedup) = &mut self.dedup {
                        dedup.confirmed(checkpoint_id, generation);
                    }
                }
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
        if let Some(last) = self.last {
            self.pending_acks.insert(checkpoint_id, last);
        }
        match &mut self.dedup {
            Some(dedup) => Ok(vec![encode_state(&dedup.snapshot(checkpoint_id))?]),
            None => Ok(Vec::new()),
        }
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let covered: Vec<u64> = self.pending_acks.range(..=checkpoint_id).map(|(id, _)| *id).collect();
        let mut newest = None;
        for id in covered {
            newest = self.pending_acks.remove(&id);
        }
        if let Some((generation, tag)) = newest {
            // A send fails only when the connection task ended; its error comes
            // with the next poll.
            let _ = self.commands.send(Command::Ack {
                generation,
                tag,
                checkpoint_id,
            });
        }
        Ok(())
    }
}
