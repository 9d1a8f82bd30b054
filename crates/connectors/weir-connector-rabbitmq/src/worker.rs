//! The connection task of one source reader: connects (retrying with backoff),
//! consumes with manual acks under a prefetch limit, hands deliveries to the reader
//! through a bounded channel, and acknowledges what the reader's completed
//! checkpoints cover.

use crate::config::{redact, Backoff};
use crate::error::Failure;
use crate::source::SourceConfig;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use tokio::sync::mpsc;
use weir_connector_api::source::SourceWaker;

/// How long the broker may take to answer a request.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A message as the reader sees it.
#[derive(Debug)]
pub(crate) struct Message {
    /// The channel it came on (acks are valid only on that channel).
    pub generation: u64,
    /// Its delivery tag on that channel.
    pub tag: u64,
    /// Its `message-id` property.
    pub message_id: Option<String>,
    /// Its body.
    pub data: Vec<u8>,
}

/// What the connection task tells the reader.
#[derive(Debug)]
pub(crate) enum Event {
    /// A delivery.
    Message(Message),
    /// The broker processed the ack of everything checkpoint `checkpoint_id`
    /// covers on channel `generation`.
    Confirmed { checkpoint_id: u64, generation: u64 },
    /// The connection failed for good; the message names connector, address and
    /// cause.
    Failed(String),
}

/// What the reader asks of the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Acknowledge every delivery up to `tag` on channel `generation`.
    Ack {
        generation: u64,
        tag: u64,
        checkpoint_id: u64,
    },
}

enum End {
    /// The reader went away.
    Stopped,
    Failed(Failure),
}

impl From<Failure> for End {
    fn from(failure: Failure) -> Self {
        End::Failed(failure)
    }
}

/// Runs until the reader drops its command sender or the connection fails for good.
pub(crate) async fn run(
    config: SourceConfig,
    context: String,
    events: mpsc::Sender<Event>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    waker: SourceWaker,
) {
    let address = redact(&config.uri);
    let mut backoff = Backoff::new(config.retry);
    let mut generation = 0;
    loop {
        generation += 1;
        let failure = match session(
            &config,
            &context,
            generation,
            &events,
            &mut commands,
            &waker,
            &mut backoff,
        )
        .await
        {
            End::Stopped => return,
            End::Failed(failure) => failure,
        };
        let (cause, fatal) = match failure {
            Failure::Transient(cause) => (cause, false),
            Failure::Fatal(cause) => (cause, true),
        };
        let wait = if fatal { None } else { backoff.next_wait() };
        let Some(wait) = wait else {
            let message = if fatal {
                format!("{context} at {address}: {cause}")
            } else {
                format!(
                    "{context} at {address}: {cause} (gave up after {:?} without a connection)",
                    config.retry.give_up_after.unwrap_or_default()
                )
            };
            if events.send(Event::Failed(message)).await.is_ok() {
                waker.wake();
            }
            return;
        };
        tracing::warn!("{context} at {address}: {cause}; reconnecting in {wait:?}");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = events.closed() => return,
        }
    }
}

async fn session(
    config: &SourceConfig,
    context: &str,
    generation: u64,
    events: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    waker: &SourceWaker,
    backoff: &mut Backoff,
) -> End {
    let properties = ConnectionProperties::default().with_connection_name(context.into());
    let connection = match tokio::time::timeout(REPLY_TIMEOUT, Connection::connect(&config.uri, properties)).await {
        Ok(connected) => connected.map_err(|e| Failure::of("cannot connect", &e)),
        Err(_) => Err(Failure::Transient(format!(
            "cannot connect: no answer within {REPLY_TIMEOUT:?}"
        ))),
    };
    let connection = match connection {
        Ok(connection) => connection,
        Err(failure) => return failure.into(),
    };
    let end = consume(&connection, config, generation, events, commands, waker, backoff).await;
    if matches!(end, End::Stopped) {
        let _ = connection.close(200, "reader closed".into()).await;
    }
    end
}

async fn consume(
    connection: &Connection,
    config: &SourceConfig,
    generation: u64,
    events: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    waker: &SourceWaker,
    backoff: &mut Backoff,
) -> End {
    let channel = match connection.create_channel().await {
        Ok(channel) => channel,
        Err(e) => return Failure::of("cannot open a channel", &e).into(),
    };
    let queue = config.queue.as_str();
    if config.declare_queue {
        let options = QueueDeclareOptions::durable();
        if let Err(e) = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
        {
            return Failure::of(&format!("cannot declare the durable queue '{queue}'"), &e).into();
        }
    }
    let qos = |channel: &lapin::Channel| {
        let channel = channel.clone();
        async move { channel.basic_qos(config.prefetch, BasicQosOptions::default()).await }
    };
    if let Err(e) = qos(&channel).await {
        return Failure::of("cannot set the prefetch limit", &e).into();
    }
    let options = BasicConsumeOptions::default();
    let mut consumer = match channel
        .basic_consume(queue.into(), "".into(), options, FieldTable::default())
        .await
    {
        Ok(consumer) => consumer,
        Err(e) => return Failure::of(&format!("cannot consume from queue '{queue}'"), &e).into(),
    };
    backoff.reset();
    // The highest tag acknowledged on this channel: acknowledging a tag twice is a
    // channel error.
    let mut acked = 0;
    tracing::info!(generation, "connected, consuming from queue '{queue}'");
    // The consumer's stream does not always end when the broker closes the
    // connection: check the channel's state too.
    let mut health = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = health.tick() => {
                if !channel.status().connected() || !connection.status().connected() {
                    return Failure::Transient("the broker closed the connection".to_string()).into();
                }
            }
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    let message = Message {
                        generation,
                        tag: delivery.delivery_tag,
                        message_id: delivery.properties.message_id().as_ref().map(|id| id.as_str().to_string()),
                        data: delivery.data,
                    };
                    if events.send(Event::Message(message)).await.is_err() {
                        return End::Stopped;
                    }
                    waker.wake();
                }
                Some(Err(e)) => return Failure::of("consuming", &e).into(),
                None => return Failure::Transient(format!("the broker cancelled the consumer of queue '{queue}'")).into(),
            },
            command = commands.recv() => match command {
                None => return End::Stopped,
                Some(Command::Ack { generation: of, tag, checkpoint_id }) => {
                    if of != generation {
                        // The channel those deliveries came on is gone: the broker
                        // requeued them, and they come again.
                        continue;
                    }
                    // A broker that went away may never answer: bounded waits.
                    let confirm = async {
                        if tag > acked {
                            channel.basic_ack(tag, BasicAckOptions { multiple: true }).await?;
                        }
                        // Methods on a channel are processed in order: once
                        // basic.qos-ok is back, the broker has processed the ack.
                        qos(&channel).await
                    };
                    match tokio::time::timeout(REPLY_TIMEOUT, confirm).await {
                        Ok(Ok(())) => acked = acked.max(tag),
                        Ok(Err(e)) => return Failure::of("acknowledging", &e).into(),
                        Err(_) => return Failure::Transient(format!("no reply to an acknowledgement within {REPLY_TIMEOUT:?}")).into(),
                    }
                    if events.send(Event::Confirmed { checkpoint_id, generation }).await.is_err() {
                        return End::Stopped;
                    }
                    waker.wake();
                }
            },
        }
    }
}
