//! # Kafka connector for Weir
//!
//! * [`KafkaSource`]: reads a topic's partitions as splits (assigned to readers,
//!   never by group rebalancing); their offsets are stored in checkpoints and
//!   committed to the consumer group only for monitoring.
//! * [`KafkaSink`]: writes a topic at-least-once (flush at the checkpoint barrier)
//!   or exactly-once (Kafka transactions committed when the checkpoint completes,
//!   re-sent from the checkpoint if the process died before the commit).
//! * [`log`]: a partition's raw log (record batches with their COMMIT and ABORT
//!   markers), which the exactly-once sink reads after a failure.
//!
//! Options follow Flink's names (`properties.bootstrap.servers`, `topic`,
//! `scan.startup.mode`, `sink.delivery-guarantee`, `sink.transactional-id-prefix`);
//! see the crate's README for the guarantees and the failure behaviour.

mod config;
mod error;
mod factory;
pub mod log;
mod metadata;
pub mod sink;
pub mod source;

pub use config::KafkaClientConfig;
pub use error::KafkaConnectorError;
pub use factory::KafkaFactory;
pub use sink::{DeliveryGuarantee, KafkaSink, KafkaSinkBuilder, OutgoingRecord, RecordSerializer};
pub use source::{
    FnDeserializer, KafkaPartitionSplit, KafkaRecord, KafkaRecordDeserializer, KafkaSource, KafkaSourceBuilder,
    StartOffset, StartupMode, ValueDeserializer,
};
