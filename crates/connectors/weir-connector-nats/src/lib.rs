//! NATS JetStream source and sink for Weir.
//!
//! * [`NatsSource`] reads a stream through a durable pull consumer with explicit
//!   acks, sent (as double acks, which the server confirms) only when a checkpoint
//!   that covers the messages completes. The stream sequence numbers of the
//!   messages emitted above the consumer's ack floor are kept in the reader's
//!   checkpointed state; a redelivered message already emitted (or at or below
//!   the ack floor) is dropped: exactly-once.
//! * [`NatsSink`] publishes with a `Nats-Msg-Id` header (when given a message-id
//!   function) and waits for every publish acknowledgement at each checkpoint
//!   barrier: at-least-once, and exactly-once within the stream's duplicate
//!   window when the ids are deterministic.
//!
//! The client is [`async_nats`] on a one-thread tokio runtime owned by each reader
//! or writer. See `README.md` for options and failure behaviour.

pub mod config;
pub mod factory;
mod sequences;
pub mod sink;
pub mod source;
mod worker;

pub use config::{redact, RetryPolicy};
pub use factory::NatsFactory;
pub use sink::{NatsSink, SinkConfig};
pub use source::{NatsSource, SourceConfig};
