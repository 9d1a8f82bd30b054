//! The exactly-once writer: Kafka transactions driven by Weir's two-phase commit
//! ([`TransactionalSink`]).
//!
//! # Transactional ids
//!
//! Subtask `i` owns the transactional ids `{prefix}-{i}-{n}`, `n < pool size`:
//! one producer per id, each holding one transaction at a time (the open one of
//! the current checkpoint interval, or a pre-committed one waiting for its
//! checkpoint to complete). Ids are taken lowest first and reused after commit.
//!
//! # Commit check
//!
//! Whether a transaction committed is read from the log: the pre-commit
//! remembers where one of its records landed (partition and offset, from the
//! delivery report), and the control batch that closes the transaction in that
//! partition (COMMIT or ABORT marker) tells (see [`commit_check`]). No group
//! offsets are involved: a transaction's records and its markers are all there
//! is. (An earlier design committed a consumer-group offset with
//! `send_offsets_to_transaction` as the marker; the test broker, tansu 0.6,
//! applies such offsets only when no overlapping transaction is open, so after a
//! kill the marker of a committed transaction could be missing.)
//!
//! # Start-up
//!
//! Each subtask records the job's largest parallelism so far in the group
//! `{prefix}-writers` (a plain offset commit) before it begins a transaction, so
//! that after a restart at a lower parallelism (even from a checkpoint older than
//! the run that used more subtasks) the ids of every earlier subtask are fenced.
//!
//! # Recovery
//!
//! librdkafka cannot resume a transaction begun by another producer instance. So
//! the pre-committed transaction stored in a checkpoint carries its records, each
//! with the partition it landed in. On restore, for each one, the connector (1)
//! opens a producer with the transaction's own transactional id, which fences the
//! old producer: once `init_transactions` returns, the broker has aborted the
//! transaction if it was still open or finished a commit in flight, and written
//! the markers; (2) reads the log (see [`commit_check`]): if the transaction (or
//! an earlier re-send of it) committed, nothing is done; (3) otherwise sends the
//! stored records again, each to the partition of the first attempt, in a new
//! transaction on the same id, and commits it. Then every id of the subtask (and
//! of the old subtasks it takes over after a rescale) is fenced, so no
//! transaction of an earlier run is left open to hold back `read_committed`
//! consumers.
//!
//! [`commit_check`]: crate::sink::commit_check

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use crate::metadata::metadata_consumer;
use crate::sink::commit_check::{transaction_outcome, Outcome};
use crate::sink::producer::{flush, send, DeliveryTracker, TrackedProducer};
use crate::sink::record::{OutgoingRecord, SharedSerializer};
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{Producer, PurgeConfig};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use weir_connector_api::transactional::{TransactionContext, TransactionalSink};
use weir_core::BoxError;

/// Settings of the exactly-once writer.
#[derive(Debug, Clone)]
pub(crate) struct TransactionSettings {
    pub(crate) client: KafkaClientConfig,
    pub(crate) topic: String,
    pub(crate) prefix: String,
    pub(crate) pool_size: usize,
    pub(crate) transaction_timeout: Duration,
    pub(crate) flush_timeout: Duration,
}

impl TransactionSettings {
    fn address(&self) -> &str {
        self.client.bootstrap_servers()
    }

    fn transactional_id(&self, writer: usize, slot: usize) -> String {
        format!("{}-{writer}-{slot}", self.prefix)
    }

    fn writers_group(&self) -> String {
        format!("{}-writers", self.prefix)
    }

    /// A producer for `transactional_id`, initialized: earlier producers with the
    /// same id are fenced and their pending transaction settled (an open one
    /// aborted, a commit in flight completed).
    fn producer(&self, transactional_id: &str) -> Result<TrackedProducer, KafkaConnectorError> {
        tracing::debug!("kafka sink: initializing transactions of {transactional_id}");
        let producer: TrackedProducer = self
            .client
            .client_config()
            .set("transactional.id", transactional_id)
            .set("enable.idempotence", "true")
            .set(
                "transaction.timeout.ms",
                self.transaction_timeout.as_millis().to_string(),
            )
            .create_with_context(DeliveryTracker::tracking())
            .map_err(|e| KafkaConnectorError::client(self.address(), "creating a transactional producer", e))?;
        producer.init_transactions(self.client.timeout()).map_err(|e| {
            KafkaConnectorError::client(
                self.address(),
                format!("initializing transactions for transactional id '{transactional_id}'"),
                e,
            )
        })?;
        Ok(producer)
    }
}

/// A producer holding (at most) one transaction.
struct Slot {
    slot: usize,
    producer: TrackedProducer,
}

/// A pre-committed transaction of this process, waiting for its commit.
struct Live {
    subtask: usize,
    slot: Slot,
}

#[derive(Default)]
struct Registry {
    /// Pre-committed transactions by token.
    live: HashMap<u64, Live>,
    /// Initialized producers without a transaction, per subtask.
    idle: HashMap<usize, Vec<Slot>>,
    /// Slot numbers with a producer (idle or busy), per subtask.
    slots: HashMap<usize, BTreeSet<usize>>,
    /// Largest parallelism of the runs whose transactions a subtask restored.
    restored_writers: HashMap<usize, usize>,
}

/// An open Kafka transaction.
pub struct KafkaTransaction {
    slot: Option<Slot>,
    transactional_id: String,
    records: Vec<OutgoingRecord>,
}

impl std::fmt::Debug for KafkaTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaTransaction")
            .field("transactional_id", &self.transactional_id)
            .field("records", &self.records.len())
            .finish()
    }
}

/// A pre-committed transaction as stored in checkpoints: enough to commit it, to
/// tell from the log whether it committed, or to send its records again should it
/// not have.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingTransaction {
    /// The transactional id of the producer that holds it.
    pub transactional_id: String,
    /// Tells this process's own pre-committed transactions from restored ones.
    pub token: u64,
    /// The subtask that wrote it.
    pub writer: usize,
    /// The parallelism of the run that wrote it.
    pub writers: usize,
    /// The checkpoint it belongs to.
    pub checkpoint_id: u64,
    /// Where its first record landed (partition, offset): the control batch that
    /// closes the transaction in that partition tells whether it committed.
    pub check: (i32, i64),
    /// Its records, each with the partition it landed in, to send again after a
    /// failure before the commit.
    pub records: Vec<OutgoingRecord>,
}

/// The Kafka transactions of an exactly-once sink.
pub(crate) struct KafkaTransactionalSink<T> {
    settings: TransactionSettings,
    serializer: SharedSerializer<T>,
    registry: Mutex<Registry>,
}

impl<T> KafkaTransactionalSink<T> {
    pub(crate) fn new(settings: TransactionSettings, serializer: SharedSerializer<T>) -> Self {
        KafkaTransactionalSink {
            settings,
            serializer,
            registry: Mutex::new(Registry::default()),
        }
    }

    fn address(&self) -> &str {
        self.settings.address()
    }

    /// The committed offset of partition 0 of the topic in `consumer`'s group (0: none).
    fn group_offset(&self, consumer: &BaseConsumer, what: &str) -> Result<u64, KafkaConnectorError> {
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition(&self.settings.topic, 0);
        let committed = consumer
            .committed_offsets(partitions, self.settings.client.timeout())
            .map_err(|e| KafkaConnectorError::client(self.address(), what, e))?;
        let elements = committed.elements();
        let Some(element) = elements.first() else {
            return Ok(0);
        };
        if let Err(e) = element.error() {
            return Err(KafkaConnectorError::client(self.address(), what, e));
        }
        Ok(match element.offset() {
            Offset::Offset(offset) => u64::try_from(offset).unwrap_or(0),
            _ => 0,
        })
    }

    /// Records that a run with `parallelism` writers starts; returns the largest
    /// parallelism of any run so far (this one included).
    fn register_writers(&self, parallelism: usize) -> Result<usize, KafkaConnectorError> {
        let consumer = metadata_consumer(&self.settings.client, &self.settings.writers_group())?;
        let most = usize::try_from(self.group_offset(&consumer, "reading the largest parallelism so far")?)
            .unwrap_or(usize::MAX);
        if most < parallelism {
            let mut offsets = TopicPartitionList::new();
            offsets
                .add_partition_offset(&self.settings.topic, 0, Offset::Offset(parallelism as i64))
                .map_err(|e| KafkaConnectorError::client(self.address(), "recording the parallelism", e))?;
            consumer
                .commit(&offsets, CommitMode::Sync)
                .map_err(|e| KafkaConnectorError::client(self.address(), "recording the parallelism", e))?;
        }
        Ok(most.max(parallelism))
    }

    /// A producer for subtask `subtask`: an idle one, or a new one on the lowest
    /// free slot.
    fn take_slot(&self, subtask: usize) -> Result<Slot, KafkaConnectorError> {
        let slot = {
            let mut registry = self.registry.lock();
            if let Some(slot) = registry.idle.get_mut(&subtask).and_then(|idle| idle.pop()) {
                return Ok(slot);
            }
            let used = registry.slots.entry(subtask).or_default();
            let Some(free) = (0..self.settings.pool_size).find(|n| !used.contains(n)) else {
                return Err(KafkaConnectorError::Option {
                    option: "sink.transactional-id-pool-size".into(),
                    message: format!(
                        "all {} transactional ids of subtask {subtask} hold transactions waiting for their \
                         checkpoint to complete: raise the pool size or lower the concurrent checkpoints",
                        self.settings.pool_size
                    ),
                });
            };
            used.insert(free);
            free
        };
        match self.settings.producer(&self.settings.transactional_id(subtask, slot)) {
            Ok(producer) => Ok(Slot { slot, producer }),
            Err(e) => {
                self.forget_slot(subtask, slot);
                Err(e)
            }
        }
    }

    fn forget_slot(&self, subtask: usize, slot: usize) {
        if let Some(used) = self.registry.lock().slots.get_mut(&subtask) {
            used.remove(&slot);
        }
    }

    fn release_slot(&self, subtask: usize, slot: Slot) {
        self.registry.lock().idle.entry(subtask).or_default().push(slot);
    }

    /// Flushes the transaction's records and notes where each landed; returns
    /// where the first one landed.
    fn settle_deliveries(
        &self,
        producer: &TrackedProducer,
        records: &mut [OutgoingRecord],
    ) -> Result<(i32, i64), KafkaConnectorError> {
        flush(producer, self.address(), self.settings.flush_timeout)?;
        let mut check = None;
        let mut landed = 0;
        for delivered in producer.context().take_delivered() {
            let Some(record) = records.get_mut(delivered.index) else {
                continue;
            };
            record.partition = Some(delivered.partition);
            landed += 1;
            if delivered.index == 0 {
                check = Some((delivered.partition, delivered.offset));
            }
        }
        match check {
            Some(check) if landed == records.len() => Ok(check),
            _ => Err(KafkaConnectorError::client(
                self.address(),
                "pre-committing",
                format!(
                    "{landed} delivery reports for {} records after the flush",
                    records.len()
                ),
            )),
        }
    }

    /// Commits a pre-committed transaction of an earlier process (or of a
    /// producer this process lost): fence, read the outcome from the log, send
    /// again if it did not commit.
    fn recover(&self, context: &TransactionContext, pending: &PendingTransaction) -> Result<(), KafkaConnectorError> {
        let subtask = context.info.index;
        {
            let mut registry = self.registry.lock();
            let writers = registry.restored_writers.entry(subtask).or_insert(0);
            *writers = (*writers).max(pending.writers);
        }
        // Fences the producer of the original transaction; the broker aborts it if
        // it was still open, and finishes a commit that was in flight.
        let producer = self.settings.producer(&pending.transactional_id)?;
        let (partition, offset) = pending.check;
        let outcome = transaction_outcome(
            &self.settings.client,
            &self.settings.topic,
            partition,
            offset,
            self.settings.flush_timeout,
        )?;
        if outcome == Outcome::Committed {
            tracing::info!(
                "kafka sink: the transaction of checkpoint {} of writer {} ({}) had committed",
                pending.checkpoint_id,
                pending.writer,
                pending.transactional_id
            );
            return Ok(());
        }
        tracing::info!(
            "kafka sink: sending the {} records of checkpoint {} of writer {} again (its transaction {} did not commit)",
            pending.records.len(),
            pending.checkpoint_id,
            pending.writer,
            pending.transactional_id
        );
        let address = self.address();
        producer
            .begin_transaction()
            .map_err(|e| KafkaConnectorError::client(address, "beginning a transaction", e))?;
        // Each record to the partition it landed in the first time (the log check
        // of a later recovery follows the re-send in the same partition).
        for (index, record) in pending.records.iter().enumerate() {
            send(&producer, address, &self.settings.topic, record, None, index)?;
        }
        flush(&producer, address, self.settings.flush_timeout)?;
        producer
            .commit_transaction(self.settings.client.timeout())
            .map_err(|e| KafkaConnectorError::client(address, "committing a re-sent transaction", e))
    }
}

impl<T: Send + 'static> TransactionalSink<T> for KafkaTransactionalSink<T> {
    type Transaction = KafkaTransaction;
    type Pending = PendingTransaction;

    fn begin(&self, context: &TransactionContext) -> Result<KafkaTransaction, BoxError> {
        let subtask = context.info.index;
        let slot = self.take_slot(subtask)?;
        let transactional_id = self.settings.transactional_id(subtask, slot.slot);
        // Reports of an earlier transaction on this producer, if any, are stale.
        slot.producer.context().take_delivered();
        if let Err(e) = slot.producer.begin_transaction() {
            self.forget_slot(subtask, slot.slot);
            return Err(KafkaConnectorError::client(self.address(), "beginning a transaction", e).into());
        }
        Ok(KafkaTransaction {
            slot: Some(slot),
            transactional_id,
            records: Vec::new(),
        })
    }

    fn write(
        &self,
        _context: &TransactionContext,
        transaction: &mut KafkaTransaction,
        value: T,
        timestamp: Option<i64>,
    ) -> Result<(), BoxError> {
        let mut record = self.serializer.serialize(&value, timestamp)?;
        record.timestamp = record.timestamp.or(timestamp);
        let slot = transaction.slot.as_ref().ok_or("the transaction has no producer")?;
        send(
            &slot.producer,
            self.address(),
            &self.settings.topic,
            &record,
            None,
            transaction.records.len(),
        )?;
        transaction.records.push(record);
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        mut transaction: KafkaTransaction,
        checkpoint_id: u64,
    ) -> Result<Option<PendingTransaction>, BoxError> {
        let subtask = context.info.index;
        let slot = transaction.slot.take().ok_or("the transaction has no producer")?;
        if transaction.records.is_empty() {
            self.abort(
                context,
                KafkaTransaction {
                    slot: Some(slot),
                    ..transaction
                },
            )?;
            return Ok(None);
        }
        let check = match self.settle_deliveries(&slot.producer, &mut transaction.records) {
            Ok(check) => check,
            Err(e) => {
                self.forget_slot(subtask, slot.slot);
                return Err(e.into());
            }
        };
        let token = fastrand::u64(..);
        self.registry.lock().live.insert(token, Live { subtask, slot });
        Ok(Some(PendingTransaction {
            transactional_id: transaction.transactional_id,
            token,
            writer: subtask,
            writers: context.info.parallelism,
            checkpoint_id,
            check,
            records: std::mem::take(&mut transaction.records),
        }))
    }

    fn commit(&self, context: &TransactionContext, pending: &PendingTransaction) -> Result<(), BoxError> {
        let live = self.registry.lock().live.remove(&pending.token);
        let Some(live) = live else {
            return Ok(self.recover(context, pending)?);
        };
        tracing::debug!(
            "kafka sink: committing the transaction of checkpoint {} on {}",
            pending.checkpoint_id,
            pending.transactional_id
        );
        match live.slot.producer.commit_transaction(self.settings.client.timeout()) {
            Ok(()) => {
                self.release_slot(live.subtask, live.slot);
                Ok(())
            }
            Err(e) => {
                self.forget_slot(live.subtask, live.slot.slot);
                Err(KafkaConnectorError::client(
                    self.address(),
                    format!(
                        "committing the transaction of checkpoint {} ({})",
                        pending.checkpoint_id, pending.transactional_id
                    ),
                    e,
                )
                .into())
            }
        }
    }

    fn abort(&self, context: &TransactionContext, mut transaction: KafkaTransaction) -> Result<(), BoxError> {
        let subtask = context.info.index;
        let Some(slot) = transaction.slot.take() else {
            return Ok(());
        };
        slot.producer.purge(PurgeConfig::default().queue().inflight());
        let _ = slot.producer.flush(self.settings.client.timeout());
        slot.producer.context().take_delivered();
        slot.producer.context().take_failure();
        match slot.producer.abort_transaction(self.settings.client.timeout()) {
            Ok(()) => {
                self.release_slot(subtask, slot);
                Ok(())
            }
            Err(e) => {
                self.forget_slot(subtask, slot.slot);
                Err(KafkaConnectorError::client(self.address(), "aborting a transaction", e).into())
            }
        }
    }

    fn clean_up(&self, context: &TransactionContext) -> Result<(), BoxError> {
        let subtask = context.info.index;
        let parallelism = context.info.parallelism.max(1);
        let most_writers = self.register_writers(parallelism)?;
        // Producers of earlier attempts of this subtask in this process: dropped
        // (their open transactions are aborted by the fencing below).
        let writers = {
            let mut registry = self.registry.lock();
            registry.live.retain(|_, live| live.subtask != subtask);
            registry.idle.remove(&subtask);
            registry.slots.remove(&subtask);
            registry
                .restored_writers
                .get(&subtask)
                .copied()
                .unwrap_or(0)
                .max(parallelism)
                .max(most_writers)
        };
        let ids: Vec<(usize, usize)> = (subtask..writers)
            .step_by(parallelism)
            .flat_map(|writer| (0..self.settings.pool_size).map(move |slot| (writer, slot)))
            .collect();
        let settings = &self.settings;
        let fenced: Vec<Result<(usize, usize, TrackedProducer), KafkaConnectorError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .iter()
                .map(|&(writer, slot)| {
                    scope.spawn(move || {
                        settings
                            .producer(&settings.transactional_id(writer, slot))
                            .map(|producer| (writer, slot, producer))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(KafkaConnectorError::client(
                            self.address(),
                            "fencing",
                            "a fencing thread panicked",
                        ))
                    })
                })
                .collect()
        });
        let mut registry = self.registry.lock();
        for result in fenced {
            let (writer, slot, producer) = result?;
            if writer == subtask {
                // This subtask's own ids: keep the initialized producers for use.
                registry.slots.entry(subtask).or_default().insert(slot);
                registry.idle.entry(subtask).or_default().push(Slot { slot, producer });
            }
        }
        if let Some(idle) = registry.idle.get_mut(&subtask) {
            // Lowest slots first (`pop` takes from the end).
            idle.sort_unstable_by_key(|s| std::cmp::Reverse(s.slot));
        }
        Ok(())
    }
}
