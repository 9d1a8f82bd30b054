//! The connection task of one source reader: connects (retrying with backoff),
//! binds the durable pull consumer, hands messages to the reader through a
//! bounded channel, and acknowledges (double ack: the server confirms) what the
//! reader's completed checkpoints cover.

use crate::config::{redact, Backoff};
use crate::source::SourceConfig;
use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use tokio::sync::mpsc;
use weir_connector_api::source::SourceWaker;

/// A message as the reader sees it.
pub(crate) struct Message {
    /// Its stream sequence number.
    pub sequence: u64,
    /// Its payload.
    pub data: Vec<u8>,
    /// Acknowledges it.
    pub acker: Acker,
}

/// What the connection task tells the reader.
pub(crate) enum Event {
    /// A message.
    Message(Box<Message>),
    /// Every message up to this stream sequence is acknowledged (the consumer's
    /// ack floor): none of them is delivered again.
    AckFloor(u64),
    /// The connection failed for good; the message names connector, address and cause.
    Failed(String),
}

/// What the reader asks of the connection task.
pub(crate) enum Command {
    /// Acknowledge these messages, covered by completed checkpoint `checkpoint_id`.
    Ack { checkpoint_id: u64, ackers: Vec<Acker> },
}

enum Failure {
    Transient(String),
    Fatal(String),
}

enum End {
    Stopped,
    Failed(Failure),
}

/// Runs until the reader drops its command sender or the connection fails for good.
pub(crate) async fn run(
    config: SourceConfig,
    context: String,
    events: mpsc::Sender<Event>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    waker: SourceWaker,
) {
    let address = redact(&config.url);
    let mut backoff = Backoff::new(config.retry);
    loop {
        let failure = match session(&config, &events, &mut commands, &waker, &mut backoff).await {
            End::Stopped => return,
            End::Failed(failure) => failure,
        };
        let (cause, wait) = match failure {
            Failure::Fatal(cause) => (cause, None),
            Failure::Transient(cause) => {
                let wait = backoff.next_wait();
                let cause = match wait {
                    Some(_) => cause,
                    None => format!(
                        "{cause} (gave up after {:?} without a connection)",
                        config.retry.give_up_after.unwrap_or_default()
                    ),
                };
                (cause, wait)
            }
        };
        let Some(wait) = wait else {
            if events
                .send(Event::Failed(format!("{context} at {address}: {cause}")))
                .await
                .is_ok()
            {
                waker.wake();
            }
            return;
        };
        tracing::warn!("{context} at {address}: {cause}; retrying in {wait:?}");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = events.closed() => return,
        }
    }
}

async fn session(
    config: &SourceConfig,
    events: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    waker: &SourceWaker,
    backoff: &mut Backoff,
) -> End {
    let client = match crate::config::client_options(&config.url)
        .connect(config.url.as_str())
        .await
    {
        Ok(client) => client,
        Err(e) => {
            let text = format!("cannot connect: {e}");
            return End::Failed(match e.kind() {
                async_nats::ConnectErrorKind::Authentication
                | async_nats::ConnectErrorKind::AuthorizationViolation
                | async_nats::ConnectErrorKind::ServerParse => Failure::Fatal(text),
                _ => Failure::Transient(text),
            });
        }
    };
    let js = jetstream::new(client);
    let stream = match &config.create_stream {
        Some(subjects) => js
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: subjects.clone(),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| Failure::Transient(e.to_string())),
        None => js.get_stream(&config.stream).await.map_err(|e| {
            // A stream that does not exist will not appear by retrying.
            let missing = matches!(
                e.kind(),
                GetStreamErrorKind::JetStream(ref error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND
            );
            match missing {
                true => Failure::Fatal(format!(
                    "{e} (the stream does not exist; create it, or set create_stream)"
                )),
                false => Failure::Transient(e.to_string()),
            }
        }),
    };
    let stream = match stream {
        Ok(stream) => stream,
        Err(Failure::Fatal(e)) => {
            return End::Failed(Failure::Fatal(format!(
                "cannot open the stream '{}': {e}",
                config.stream
            )))
        }
        Err(Failure::Transient(e)) => {
            return End::Failed(Failure::Transient(format!(
                "cannot open the stream '{}': {e}",
                config.stream
            )))
        }
    };
    let consumer: jetstream::consumer::Consumer<pull::Config> = match stream
        .get_or_create_consumer(
            &config.durable,
            pull::Config {
                durable_name: Some(config.durable.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: config.ack_wait,
                max_ack_pending: config.max_ack_pending,
                filter_subject: config.filter_subject.clone().unwrap_or_default(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(consumer) => consumer,
        Err(e) => {
            return End::Failed(Failure::Transient(format!(
                "cannot bind the durable consumer '{}': {e}",
                config.durable
            )))
        }
    };
    backoff.reset();
    let mut consumer = consumer;
    if let Ok(info) = consumer.info().await {
        if events
            .send(Event::AckFloor(info.ack_floor.stream_sequence))
            .await
            .is_err()
        {
            return End::Stopped;
        }
    }
    tracing::info!(
        "bound the durable consumer '{}' of stream '{}'",
        config.durable,
        config.stream
    );
    loop {
        let mut messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(e) => return End::Failed(Failure::Transient(format!("cannot pull messages: {e}"))),
        };
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(Ok(message)) => {
                        let sequence = match message.info() {
                            Ok(info) => info.stream_sequence,
                            Err(e) => return End::Failed(Failure::Transient(format!("a message without JetStream metadata: {e}"))),
                        };
                        let (message, acker) = message.split();
                        let event = Event::Message(Box::new(Message { sequence, data: message.payload.to_vec(), acker }));
                        if events.send(event).await.is_err() {
                            return End::Stopped;
                        }
                        waker.wake();
                    }
                    Some(Err(e)) => {
                        // Missed heartbeats while the server is away: pull again (the
                        // client reconnects by itself).
                        tracing::warn!("pulling messages: {e}; pulling again");
                        break;
                    }
                    None => break,
                },
                command = commands.recv() => match command {
                    None => return End::Stopped,
                    Some(Command::Ack { checkpoint_id, ackers }) => {
                        let results = futures::future::join_all(ackers.iter().map(|acker| acker.double_ack())).await;
                        let failed = results.iter().filter(|r| r.is_err()).count();
                        if failed == 0 {
                            // Only the ack floor forgets sequences (see `sequences`).
                            if let Ok(info) = consumer.info().await {
                                if events.send(Event::AckFloor(info.ack_floor.stream_sequence)).await.is_err() {
                                    return End::Stopped;
                                }
                            }
                        } else {
                            // Unconfirmed: the ids stay, and the server redelivers
                            // whatever it did not get (after ack_wait).
                            tracing::warn!("{failed} acknowledgement(s) of checkpoint {checkpoint_id} were not confirmed");
                        }
                    }
                },
            }
        }
    }
}
