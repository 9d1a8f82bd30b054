//! Reads the partitions assigned to one subtask with a consumer that is assigned
//! explicit offsets (never a group subscription, never a rebalance).

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use crate::source::record::{KafkaRecord, KafkaRecordDeserializer};
use crate::source::split::{KafkaPartitionSplit, StartOffset, StartupMode};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler};
use weir_connector_api::source::{PollStatus, SourceOutput};
use weir_connector_api::split::{SourceSplit, SplitReader};
use weir_core::BoxError;

/// Records emitted per poll at most, so control messages are not held up.
const BATCH: usize = 2_000;
/// How long an idle reader waits before it polls its consumer again if no
/// wake-up came (the consumer's queue wakes the task when data arrives; this is
/// only a safety net).
const IDLE_POLL: Duration = Duration::from_millis(100);

struct Partition {
    split_id: String,
    /// The next offset to read.
    next: i64,
    /// Reading stops before this offset (bounded sources).
    stop: Option<i64>,
}

pub(crate) struct KafkaSplitReader<T> {
    pub(crate) client: KafkaClientConfig,
    pub(crate) consumer: BaseConsumer,
    pub(crate) deserializer: Box<dyn KafkaRecordDeserializer<T>>,
    pub(crate) bad_records: BadRecordHandler,
    pub(crate) bounded: bool,
    pub(crate) commit_offsets: bool,
    pub(crate) topic: String,
    partitions: BTreeMap<i32, Partition>,
    /// Offsets stored at each checkpoint not yet known to be complete.
    snapshots: BTreeMap<u64, Vec<(i32, i64)>>,
    /// Final offsets of the finished partitions, not committed to the group yet.
    finished: BTreeMap<i32, i64>,
    scratch: Vec<T>,
}

impl<T: 'static> KafkaSplitReader<T> {
    pub(crate) fn new(
        client: KafkaClientConfig,
        consumer: BaseConsumer,
        deserializer: Box<dyn KafkaRecordDeserializer<T>>,
        bad_records: BadRecordHandler,
        topic: String,
        bounded: bool,
        commit_offsets: bool,
    ) -> Self {
        KafkaSplitReader {
            client,
            consumer,
            deserializer,
            bad_records,
            bounded,
            commit_offsets,
            topic,
            partitions: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            finished: BTreeMap::new(),
            scratch: Vec::new(),
        }
    }

    fn address(&self) -> &str {
        self.client.bootstrap_servers()
    }

    /// The offset `start` means for `partition`, asking the broker.
    fn resolve(&self, partition: i32, start: StartOffset) -> Result<i64, KafkaConnectorError> {
        let timeout = self.client.timeout();
        let topic = &self.topic;
        let what = |w: &str| format!("finding the {w} offset of {topic}/{partition}");
        let (low, high) = self
            .consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(|e| KafkaConnectorError::client(self.address(), what("first and last"), e))?;
        Ok(match start {
            StartOffset::Offset(offset) => offset,
            StartOffset::Mode(StartupMode::Earliest) => low,
            StartOffset::Mode(StartupMode::Latest) => high,
            StartOffset::Mode(StartupMode::Timestamp(ms)) => {
                let mut query = TopicPartitionList::new();
                query
                    .add_partition_offset(topic, partition, Offset::Offset(ms))
                    .map_err(|e| KafkaConnectorError::client(self.address(), what("timestamp"), e))?;
                let found = self
                    .consumer
                    .offsets_for_times(query, timeout)
                    .map_err(|e| KafkaConnectorError::client(self.address(), what("timestamp"), e))?;
                match found.elements().first().map(|e| e.offset()) {
                    Some(Offset::Offset(offset)) => offset,
                    // No record at or after the timestamp: the end of the log.
                    _ => high,
                }
            }
            StartOffset::Mode(StartupMode::GroupOffsets) => {
                let mut query = TopicPartitionList::new();
                query.add_partition(topic, partition);
                let committed = self
                    .consumer
                    .committed_offsets(query, timeout)
                    .map_err(|e| KafkaConnectorError::client(self.address(), what("group's committed"), e))?;
                match committed.elements().first().map(|e| e.offset()) {
                    Some(Offset::Offset(offset)) => offset,
                    _ => low,
                }
            }
        })
    }

    /// Assigns the consumer every partition at its next offset.
    fn reassign(&self) -> Result<(), KafkaConnectorError> {
        let mut assignment = TopicPartitionList::new();
        for (partition, state) in &self.partitions {
            assignment
                .add_partition_offset(&self.topic, *partition, Offset::Offset(state.next))
                .map_err(|e| KafkaConnectorError::client(self.address(), "assigning partitions", e))?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(|e| KafkaConnectorError::client(self.address(), "assigning partitions", e))
    }

    fn finish_done(&mut self, output: &mut SourceOutput<'_, T>) -> Result<bool, KafkaConnectorError> {
        let done: Vec<i32> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.stop.is_some_and(|stop| p.next >= stop))
            .map(|(id, _)| *id)
            .collect();
        for partition in &done {
            if let Some(state) = self.partitions.remove(partition) {
                self.finished.insert(*partition, state.next);
            }
            output.split_finished(*partition as usize);
        }
        if !done.is_empty() {
            self.reassign()?;
        }
        Ok(!done.is_empty())
    }
}

impl<T: Send + 'static> SplitReader<T, KafkaPartitionSplit> for KafkaSplitReader<T> {
    fn add_splits(&mut self, splits: Vec<KafkaPartitionSplit>) -> Result<(), BoxError> {
        for split in splits {
            let next = self.resolve(split.partition, split.start)?;
            let stop = match (self.bounded, split.stop) {
                (false, _) => None,
                (true, Some(stop)) => Some(stop),
                (true, None) => Some(self.resolve(split.partition, StartOffset::Mode(StartupMode::Latest))?),
            };
            tracing::debug!("kafka source: reading {} from offset {next}", split.split_id());
            self.partitions.insert(
                split.partition,
                Partition {
                    split_id: format!("{}/{}", split.topic, split.partition),
                    next,
                    stop,
                },
            );
        }
        self.reassign()?;
        Ok(())
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        self.finish_done(output)?;
        if self.partitions.is_empty() {
            return Ok(PollStatus::Finished);
        }
        let mut emitted = 0;
        let mut polled = 0;
        let mut headers: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        while polled < BATCH {
            polled += 1;
            let Some(message) = self.consumer.poll(Duration::ZERO) else {
                break;
            };
            let message = message.map_err(|e| {
                KafkaConnectorError::client(
                    self.client.bootstrap_servers(),
                    format!("reading topic '{}'", self.topic),
                    e,
                )
            })?;
            let partition = message.partition();
            let offset = message.offset();
            let Some(state) = self.partitions.get_mut(&partition) else {
                continue;
            };
            if offset < state.next || state.stop.is_some_and(|stop| offset >= stop) {
                // Fetched before a reassignment, or past the end of a bounded split.
                continue;
            }
            state.next = offset + 1;
            headers.clear();
            if let Some(h) = message.headers() {
                headers.extend(h.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))));
            }
            let header_view: Vec<(&str, Option<&[u8]>)> =
                headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
            let timestamp = message.timestamp().to_millis();
            let record = KafkaRecord {
                key: message.key(),
                value: message.payload(),
                headers: &header_view,
                topic: message.topic(),
                partition,
                offset,
                timestamp,
            };
            self.scratch.clear();
            match self.deserializer.deserialize(&record, &mut self.scratch) {
                Ok(()) => {
                    for value in self.scratch.drain(..) {
                        match timestamp {
                            Some(ts) => output.collect_with_timestamp_in(partition as usize, value, ts),
                            None => output.collect_in(partition as usize, value),
                        }
                        emitted += 1;
                    }
                }
                Err(error) => {
                    let position = format!("{}/{partition}@{offset}", self.topic);
                    output.bad_record(
                        &self.bad_records,
                        BadRecord {
                            split: &state.split_id,
                            position: &position,
                            bytes: message.payload().unwrap_or_default(),
                            error: &error,
                        },
                    )?;
                }
            }
        }
        if self.finish_done(output)? && self.partitions.is_empty() {
            return Ok(PollStatus::Finished);
        }
        if emitted > 0 || polled >= BATCH {
            Ok(PollStatus::MoreAvailable)
        } else {
            Ok(PollStatus::Pending {
                retry_at: Some(Instant::now() + IDLE_POLL),
            })
        }
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<KafkaPartitionSplit>, BoxError> {
        let splits: Vec<KafkaPartitionSplit> = self
            .partitions
            .iter()
            .map(|(partition, state)| KafkaPartitionSplit {
                topic: self.topic.clone(),
                partition: *partition,
                start: StartOffset::Offset(state.next),
                stop: state.stop,
            })
            .collect();
        if self.commit_offsets {
            let finished = std::mem::take(&mut self.finished);
            let offsets = self
                .partitions
                .iter()
                .map(|(p, s)| (*p, s.next))
                .chain(finished)
                .collect();
            self.snapshots.insert(checkpoint_id, offsets);
        }
        Ok(splits)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let Some(offsets) = self.snapshots.remove(&checkpoint_id).filter(|o| !o.is_empty()) else {
            return Ok(());
        };
        self.snapshots.retain(|id, _| *id > checkpoint_id);
        // For monitoring only (consumer lag): the checkpoint holds the positions.
        let mut list = TopicPartitionList::new();
        for (partition, next) in offsets {
            if list
                .add_partition_offset(&self.topic, partition, Offset::Offset(next))
                .is_err()
            {
                return Ok(());
            }
        }
        if let Err(e) = self.consumer.commit(&list, CommitMode::Async) {
            tracing::warn!(
                "kafka source: committing offsets of checkpoint {checkpoint_id} to the group failed (monitoring only): {e}"
            );
        }
        Ok(())
    }
}
