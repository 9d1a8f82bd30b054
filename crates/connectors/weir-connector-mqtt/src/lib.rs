//! MQTT (3.1.1) source and sink for Weir.
//!
//! * [`MqttSource`] subscribes with QoS 1 in a persistent session
//!   (`clean_session = false`, a client id that stays the same across restarts)
//!   and acknowledges each message (PUBACK, manual acks) only when a checkpoint
//!   that covers it completes. After a failure the broker sends the
//!   unacknowledged messages again: at-least-once (MQTT messages carry no id that
//!   survives redelivery, so duplicates are not dropped).
//! * [`MqttSink`] publishes with QoS 1 and waits for every PUBACK at each
//!   checkpoint barrier: at-least-once.
//!
//! The client is [`rumqttc`]'s blocking client on a thread of its own per reader
//! or writer. See `README.md` for options, the broker settings it needs, and
//! failure behaviour.

pub mod config;
pub mod factory;
pub mod sink;
pub mod source;

pub use config::{redact, Address, RetryPolicy};
pub use factory::MqttFactory;
pub use sink::{MqttSink, SinkConfig};
pub use source::{MqttSource, SourceConfig};
