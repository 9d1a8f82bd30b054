//! Finds the topic's partitions and assigns them to readers: partition `p` goes to
//! reader `p % parallelism`, so each partition has one reader and assignments are
//! the same in every run.

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use crate::metadata::{metadata_consumer, topic_partitions};
use crate::source::split::{KafkaPartitionSplit, StartOffset, StartupMode};
use rdkafka::consumer::BaseConsumer;
use std::collections::BTreeSet;
use std::time::Duration;
use weir_connector_api::split::{EnumeratorContext, SplitEnumerator};
use weir_core::BoxError;

pub(crate) struct KafkaEnumerator {
    pub(crate) client: KafkaClientConfig,
    pub(crate) topic: String,
    pub(crate) startup: StartupMode,
    pub(crate) bounded: bool,
    pub(crate) discovery: Option<Duration>,
    /// Partitions already assigned (in this run or before the checkpoint it was
    /// restored from).
    pub(crate) known: BTreeSet<i32>,
    pub(crate) consumer: Option<BaseConsumer>,
}

impl KafkaEnumerator {
    fn consumer(&mut self) -> Result<&BaseConsumer, KafkaConnectorError> {
        if self.consumer.is_none() {
            self.consumer = Some(metadata_consumer(&self.client, "weir-kafka-source-metadata")?);
        }
        self.consumer
            .as_ref()
            .ok_or_else(|| KafkaConnectorError::client(self.client.bootstrap_servers(), "metadata", "no consumer"))
    }

    /// Assigns the partitions not seen yet, starting them at `start`.
    fn assign_new(
        &mut self,
        start: StartupMode,
        context: &mut EnumeratorContext<KafkaPartitionSplit>,
    ) -> Result<(), BoxError> {
        let client = self.client.clone();
        let topic = self.topic.clone();
        let partitions = topic_partitions(self.consumer()?, &client, &topic)?;
        for partition in partitions {
            if self.known.insert(partition) {
                tracing::info!("kafka source: assigning {topic}/{partition}");
                context.assign(
                    partition as usize,
                    KafkaPartitionSplit {
                        topic: topic.clone(),
                        partition,
                        start: StartOffset::Mode(start),
                        stop: None,
                    },
                );
            }
        }
        Ok(())
    }
}

impl SplitEnumerator<KafkaPartitionSplit> for KafkaEnumerator {
    fn start(&mut self, context: &mut EnumeratorContext<KafkaPartitionSplit>) -> Result<(), BoxError> {
        // After a restore, partitions unknown to the checkpoint are new: from the
        // earliest offset, as discovered partitions are.
        let start = if self.known.is_empty() {
            self.startup
        } else {
            StartupMode::Earliest
        };
        self.assign_new(start, context)
    }

    fn handle_split_request(
        &mut self,
        subtask: usize,
        context: &mut EnumeratorContext<KafkaPartitionSplit>,
    ) -> Result<(), BoxError> {
        if self.bounded {
            context.signal_no_more_splits(subtask);
        }
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<KafkaPartitionSplit>,
        context: &mut EnumeratorContext<KafkaPartitionSplit>,
    ) -> Result<(), BoxError> {
        for split in splits {
            self.known.insert(split.partition);
            context.assign(split.partition as usize, split);
        }
        Ok(())
    }

    fn discovery_interval(&self) -> Option<Duration> {
        if self.bounded {
            None
        } else {
            self.discovery
        }
    }

    fn discover(&mut self, context: &mut EnumeratorContext<KafkaPartitionSplit>) -> Result<(), BoxError> {
        self.assign_new(StartupMode::Earliest, context)
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<u8>, BoxError> {
        let known: Vec<i32> = self.known.iter().copied().collect();
        Ok(bincode::serde::encode_to_vec(&known, bincode::config::standard())?)
    }
}

/// The partitions an enumerator's checkpointed state knows.
pub(crate) fn decode_known(bytes: &[u8]) -> Result<BTreeSet<i32>, BoxError> {
    let (known, _): (Vec<i32>, usize) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map_err(|e| format!("kafka source: cannot decode the enumerator's checkpointed state: {e}"))?;
    Ok(known.into_iter().collect())
}
