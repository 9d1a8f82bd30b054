//! RabbitMQ (AMQP 0-9-1) source and sink for Weir.
//!
//! * [`RabbitMqSource`] consumes a queue with manual acknowledgements under a
//!   prefetch limit. Messages are acknowledged (`basic.ack`, `multiple`) only when
//!   a checkpoint that covers them completes, so after a failure the broker
//!   redelivers exactly what the restored checkpoint does not cover. With
//!   [`Guarantee::ExactlyOnce`] (the default) the ids of the messages emitted and
//!   not yet acknowledged are kept in the reader's checkpointed state, and a
//!   redelivered message already emitted is dropped: exactly-once for messages
//!   with a unique `message-id` (at-least-once for messages without one).
//! * [`RabbitMqSink`] publishes persistent messages with publisher confirms and
//!   waits for every confirm at each checkpoint barrier: at-least-once.
//!
//! The client is [`lapin`] on a one-thread tokio runtime owned by each reader or
//! writer; deliveries reach the reader through a bounded channel, and the reader's
//! task is woken by its [`SourceWaker`](weir_connector_api::source::SourceWaker).
//! See `README.md` for options and failure behaviour.

pub mod config;
mod error;
pub mod factory;
pub mod sink;
pub mod source;
mod worker;

pub use config::{redact, RetryPolicy};
pub use factory::RabbitMqFactory;
pub use sink::{RabbitMqSink, SinkConfig};
pub use source::{Guarantee, RabbitMqSource, SourceConfig};
