//! The Kafka source: the topic's partitions are splits, assigned to readers by the
//! enumerator (never by consumer-group rebalancing); each reader's offsets are
//! stored in checkpoints and committed to the consumer group only for monitoring.

mod enumerator;
mod reader;
mod record;
mod split;

pub use record::{FnDeserializer, KafkaRecord, KafkaRecordDeserializer, ValueDeserializer};
pub use split::{KafkaPartitionSplit, StartOffset, StartupMode};

use crate::config::KafkaClientConfig;
use crate::error::KafkaConnectorError;
use enumerator::{decode_known, KafkaEnumerator};
use reader::KafkaSplitReader;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::{BadRecordHandler, BadRecordPolicy};
use weir_connector_api::format::Deserializer;
use weir_connector_api::source::{Boundedness, ReaderContext};
use weir_connector_api::split::{EnumeratorInit, SplitEnumerator, SplitReader, SplitSource, SplitSourceAdapter};
use weir_core::BoxError;

type DeserializerFactory<T> = Arc<dyn Fn() -> Box<dyn KafkaRecordDeserializer<T>> + Send + Sync>;

/// Reads a Kafka topic.
///
/// ```no_run
/// use weir_connector_kafka::{KafkaSource, StartupMode};
/// use weir_connector_api::format::Utf8Text;
///
/// let source = KafkaSource::<String>::builder("127.0.0.1:9092", "words")
///     .value_format(|| Utf8Text)
///     .startup_mode(StartupMode::Earliest)
///     .build()
///     .unwrap();
/// # let _ = source;
/// ```
pub struct KafkaSource<T> {
    client: KafkaClientConfig,
    topic: String,
    group_id: String,
    startup: StartupMode,
    bounded: bool,
    discovery: Option<Duration>,
    deserializer: DeserializerFactory<T>,
    bad_records: BadRecordPolicy,
    commit_offsets: bool,
}

/// Builds a [`KafkaSource`].
pub struct KafkaSourceBuilder<T> {
    client: KafkaClientConfig,
    topic: String,
    group_id: Option<String>,
    startup: StartupMode,
    bounded: bool,
    discovery: Option<Duration>,
    deserializer: Option<DeserializerFactory<T>>,
    bad_records: BadRecordPolicy,
    commit_offsets: bool,
}

impl<T: Send + 'static> KafkaSource<T> {
    /// A source reading `topic` from the brokers at `bootstrap_servers`.
    pub fn builder(bootstrap_servers: impl Into<String>, topic: impl Into<String>) -> KafkaSourceBuilder<T> {
        KafkaSourceBuilder {
            client: KafkaClientConfig::new(bootstrap_servers),
            topic: topic.into(),
            group_id: None,
            startup: StartupMode::default(),
            bounded: false,
            discovery: Some(Duration::from_secs(5 * 60)),
            deserializer: None,
            bad_records: BadRecordPolicy::default(),
            commit_offsets: true,
        }
    }

    /// The source as the runtime runs it, named `name` in errors.
    pub fn into_source(self, name: impl Into<String>) -> SplitSourceAdapter<T, KafkaSource<T>> {
        SplitSourceAdapter::new(name, self)
    }
}

impl<T: Send + 'static> KafkaSourceBuilder<T> {
    /// The client settings (extra properties, start-up retries, request timeout).
    pub fn client(mut self, configure: impl FnOnce(KafkaClientConfig) -> KafkaClientConfig) -> Self {
        self.client = configure(self.client);
        self
    }

    /// `properties.group.id`: the group offsets are committed to (after each
    /// completed checkpoint, for monitoring) and read from with
    /// [`StartupMode::GroupOffsets`]. Default `weir-<topic>`.
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// `scan.startup.mode` (default group-offsets, falling back to earliest).
    pub fn startup_mode(mut self, mode: StartupMode) -> Self {
        self.startup = mode;
        self
    }

    /// `scan.bounded.mode = latest-offset`: stop at the end each partition had when
    /// it was assigned; the job then ends by itself.
    pub fn bounded(mut self, bounded: bool) -> Self {
        self.bounded = bounded;
        self
    }

    /// `scan.topic-partition-discovery.interval` (default 5 min; `None`: never).
    pub fn partition_discovery_interval(mut self, interval: Option<Duration>) -> Self {
        self.discovery = interval;
        self
    }

    /// Commit offsets to the group after each completed checkpoint (default on;
    /// `properties.commit.offsets.on.checkpoint`).
    pub fn commit_offsets_on_checkpoint(mut self, commit: bool) -> Self {
        self.commit_offsets = commit;
        self
    }

    /// Decodes each record with a deserializer of the [`KafkaRecord`] view (key,
    /// value, headers, position, timestamp); one is made per reader.
    pub fn deserializer<D>(mut self, make: impl Fn() -> D + Send + Sync + 'static) -> Self
    where
        D: KafkaRecordDeserializer<T> + 'static,
    {
        self.deserializer = Some(Arc::new(move || Box::new(make())));
        self
    }

    /// Decodes the value with a format's deserializer (`format = 'json'`); one is
    /// made per reader.
    pub fn value_format<D>(self, make: impl Fn() -> D + Send + Sync + 'static) -> Self
    where
        D: Deserializer<T> + 'static,
    {
        self.deserializer(move || ValueDeserializer::new(make()))
    }

    /// What to do with records the deserializer rejects (default: fail).
    pub fn bad_record_policy(mut self, policy: BadRecordPolicy) -> Self {
        self.bad_records = policy;
        self
    }

    /// Checks the settings and builds the source.
    pub fn build(self) -> Result<KafkaSource<T>, KafkaConnectorError> {
        self.client.check()?;
        if self.topic.trim().is_empty() {
            return Err(KafkaConnectorError::Option {
                option: "topic".into(),
                message: "no topic given".into(),
            });
        }
        let deserializer = self.deserializer.ok_or_else(|| KafkaConnectorError::Option {
            option: "format".into(),
            message: "no deserializer or value format given".into(),
        })?;
        Ok(KafkaSource {
            group_id: self.group_id.unwrap_or_else(|| format!("weir-{}", self.topic)),
            client: self.client,
            topic: self.topic,
            startup: self.startup,
            bounded: self.bounded,
            discovery: self.discovery,
            deserializer,
            bad_records: self.bad_records,
            commit_offsets: self.commit_offsets,
        })
    }
}

impl<T: Send + 'static> SplitSource<T> for KafkaSource<T> {
    type Split = KafkaPartitionSplit;

    fn boundedness(&self) -> Boundedness {
        if self.bounded {
            Boundedness::Bounded
        } else {
            Boundedness::Unbounded
        }
    }

    fn create_enumerator(
        &self,
        _init: &EnumeratorInit,
        restored: Option<&[u8]>,
    ) -> Result<Box<dyn SplitEnumerator<KafkaPartitionSplit>>, BoxError> {
        let known = match restored {
            Some(bytes) => decode_known(bytes)?,
            None => BTreeSet::new(),
        };
        Ok(Box::new(KafkaEnumerator {
            client: self.client.clone(),
            topic: self.topic.clone(),
            startup: self.startup,
            bounded: self.bounded,
            discovery: self.discovery,
            known,
            consumer: None,
        }))
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SplitReader<T, KafkaPartitionSplit>>, BoxError> {
        let mut config = self.client.client_config();
        if config.get("isolation.level").is_none() {
            config.set("isolation.level", "read_committed");
        }
        let mut consumer: rdkafka::consumer::BaseConsumer = config
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .map_err(|e| KafkaConnectorError::client(self.client.bootstrap_servers(), "creating a consumer", e))?;
        // librdkafka calls this from its own thread when the consumer's queue goes
        // from empty to non-empty (a fetched batch, an error): the task polls the
        // reader again at once instead of at its next retry.
        let waker = context.waker.clone();
        consumer.set_nonempty_callback(move || waker.wake());
        let name = format!("kafka source '{}' (subtask {})", self.topic, context.info.index);
        Ok(Box::new(KafkaSplitReader::new(
            self.client.clone(),
            consumer,
            (self.deserializer)(),
            BadRecordHandler::new(name, self.bad_records.clone()),
            self.topic.clone(),
            self.bounded,
            self.commit_offsets,
        )))
    }
}
