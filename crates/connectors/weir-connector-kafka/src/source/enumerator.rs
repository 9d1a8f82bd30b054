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
        for (subtask, split) in new_splits(&mut self.known, &topic, &partitions, start, context.parallelism()) {
            tracing::info!(
                "kafka source: assigning {topic}/{} to reader {subtask}",
                split.partition
            );
            context.assign(subtask, split);
        }
        Ok(())
    }
}

/// The splits of the partitions in `listed` (a metadata snapshot) that `known`
/// lacks, each with the reader it goes to (`partition % parallelism`), starting
/// at `start`; they are added to `known`. Partitions missing from a snapshot are
/// not forgotten (a partial answer unassigns nothing).
fn new_splits(
    known: &mut BTreeSet<i32>,
    topic: &str,
    listed: &[i32],
    start: StartupMode,
    parallelism: usize,
) -> Vec<(usize, KafkaPartitionSplit)> {
    let mut listed = listed.to_vec();
    listed.sort_unstable();
    listed.dedup();
    listed
        .into_iter()
        .filter(|partition| known.insert(*partition))
        .map(|partition| {
            (
                usize::try_from(partition).unwrap_or(0) % parallelism.max(1),
                KafkaPartitionSplit {
                    topic: topic.to_string(),
                    partition,
                    start: StartOffset::Mode(start),
                    stop: None,
                },
            )
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(splits: &[(usize, KafkaPartitionSplit)]) -> Vec<(usize, i32, StartOffset)> {
        splits.iter().map(|(r, s)| (*r, s.partition, s.start)).collect()
    }

    /// Discovery over a series of metadata snapshots, as the enumerator's
    /// `start` and `discover` see them when partitions are added to the topic
    /// (the test broker cannot add partitions, see the README).
    #[test]
    fn new_partitions_in_metadata_snapshots_are_assigned_once_from_the_earliest_offset() {
        let mut known = BTreeSet::new();
        let latest = StartOffset::Mode(StartupMode::Latest);
        let earliest = StartOffset::Mode(StartupMode::Earliest);
        // Start: two partitions, at the configured startup mode.
        let first = new_splits(&mut known, "t", &[1, 0], StartupMode::Latest, 2);
        assert_eq!(assigned(&first), [(0, 0, latest), (1, 1, latest)]);
        // Nothing new: nothing assigned.
        assert!(new_splits(&mut known, "t", &[0, 1], StartupMode::Earliest, 2).is_empty());
        // Three partitions added: assigned round-robin, from the earliest offset.
        let grown = new_splits(&mut known, "t", &[0, 1, 2, 3, 4], StartupMode::Earliest, 2);
        assert_eq!(assigned(&grown), [(0, 2, earliest), (1, 3, earliest), (0, 4, earliest)]);
        // A partial snapshot forgets nothing, and a later full one assigns nothing again.
        assert!(new_splits(&mut known, "t", &[0], StartupMode::Earliest, 2).is_empty());
        assert!(new_splits(&mut known, "t", &[4, 3, 2, 1, 0, 0], StartupMode::Earliest, 2).is_empty());
        assert_eq!(known, BTreeSet::from([0, 1, 2, 3, 4]));
    }

    /// After a restore the checkpoint's known partitions are not assigned again
    /// by the enumerator (their readers restore them); the ones added since are.
    #[test]
    fn partitions_added_since_the_checkpoint_are_new_after_a_restore() {
        let mut known =
            decode_known(&bincode::serde::encode_to_vec(vec![0i32, 1, 2], bincode::config::standard()).unwrap())
                .unwrap();
        let splits = new_splits(&mut known, "t", &[0, 1, 2, 3, 4, 5], StartupMode::Earliest, 4);
        let earliest = StartOffset::Mode(StartupMode::Earliest);
        assert_eq!(
            assigned(&splits),
            [(3, 3, earliest), (0, 4, earliest), (1, 5, earliest)]
        );
    }
}
