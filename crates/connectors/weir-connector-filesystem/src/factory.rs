//! The `filesystem` connector in a [`Registry`]: sources and sinks from string
//! options, close to Flink's filesystem connector.
//!
//! | option | source/sink | default | meaning |
//! | --- | --- | --- | --- |
//! | `path` | both | required | file, directory or glob (source); base directory (sink) |
//! | `format` | both | required | a format registered in the registry (`json`, `csv`, ...) |
//! | `source.monitor-interval` | source | off | list the paths again at this interval (unbounded source) |
//! | `source.split-size` | source | `64 MiB` | byte-range split size |
//! | `source.max-line-size` | source | `16 MiB` | longer lines are bad records (`Oversize`) |
//! | `source.max-block-size` | source (`avro`) | `64 MiB` | a larger Avro block fails the job |
//! | `bad-records` | source | `fail` | `fail`, `skip` or `dead-letter` (the source's side output) |
//! | `sink.rolling-policy.file-size` | sink | `128 MiB` | roll a part at this size |
//! | `sink.rolling-policy.rollover-interval` | sink | `30 min` | roll a part at this age |
//! | `sink.rolling-policy.inactivity-interval` | sink | off | roll a part idle this long |
//! | `sink.partition-commit.trigger` | sink | `process-time` | or `partition-time` |
//! | `sink.partition-commit.delay` | sink | `0 s` | delay after the partition closes |
//! | `sink.partition-commit.policy.kind` | sink | `success-file` | (the only policy) |
//! | `sink.partition-commit.success-file.name` | sink | `_SUCCESS` | marker file name |
//!
//! `format = 'avro'` on the source reads Avro object container files (the schema
//! is in each file's header; no `avro.*` option applies): byte-range splits of
//! blocks, records decoded into the record type with serde. It needs the crate's
//! `avro` feature and a source registered by `register_with_avro` (records
//! must implement `Deserialize`). The sink does not write Avro container files.
//!
//! Partitioning of typed records is given in code
//! ([`FilesystemSinkFactory::with_partitioner`]); `partition.fields` names the
//! fields it uses, for documentation, and is required with it (as in Flink's
//! `PARTITIONED BY`). Partition commit is on when a partitioner is set.
//!
//! ```
//! use std::sync::Arc;
//! use weir_connector_api::format::{Deserializer, FormatError, Serializer, Utf8Text};
//! use weir_connector_api::options::Options;
//! use weir_connector_api::registry::{FormatFactory, Registry, Typed};
//! use weir_connector_api::ConnectorError;
//! use weir_connector_filesystem::factory::register;
//!
//! struct Raw;
//! impl FormatFactory<Typed<String>> for Raw {
//!     fn name(&self) -> &'static str { "raw" }
//!     fn deserializer(&self, _: &(), _: &Options) -> Result<Box<dyn Deserializer<String>>, ConnectorError> {
//!         Ok(Box::new(Utf8Text))
//!     }
//!     fn serializer(&self, _: &(), _: &Options) -> Result<Box<dyn Serializer<String>>, ConnectorError> {
//!         Ok(Box::new(Utf8Text))
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("a.txt"), "x\n").unwrap();
//! let mut registry = Registry::<Typed<String>>::new();
//! registry.register_format(Arc::new(Raw));
//! register(&mut registry, None);
//! let options = Options::new("table 'logs'")
//!     .with("connector", "filesystem")
//!     .with("path", dir.path().display().to_string())
//!     .with("format", "raw")
//!     .with("bad-records", "skip");
//! assert!(registry.source(&(), &options).is_ok());
//! let typo = Options::new("table 'logs'")
//!     .with("connector", "filesystem")
//!     .with("path", dir.path().display().to_string())
//!     .with("format", "raw")
//!     .with("source.monitor-intreval", "1 s");
//! assert!(registry.source(&(), &typo).err().unwrap().to_string().contains("source.monitor-intreval"));
//! ```

use crate::sink::{CommitTrigger, FileSink, LineFormat, PartitionCommit, Partitioner, RollingPolicy};
use crate::source::{FileSource, DEFAULT_MAX_LINE, DEFAULT_SPLIT_SIZE};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{Deserializer, Serializer};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{FormatFactory, RecordKind, Registry, SinkFactory, SourceFactory};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;

/// Parses a size such as `128MB`, `64 MiB`, `1 kb` or `4096` (bytes); units are
/// powers of 1024, as in Flink's `MemorySize`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (such as 128MB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit '{other}' (use b, kb, mb, gb or tb)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn size(options: &Options, key: &str, default: u64) -> Result<u64, ConnectorError> {
    match options.get(key) {
        None => Ok(default),
        Some(value) => parse_size(value).map_err(|e| options.invalid(key, value, e)),
    }
}

/// What a reader or part writer needs to make its own deserializer or
/// serializer later: the format, the schema and the options.
struct FormatRecipe<K: RecordKind> {
    format: Arc<dyn FormatFactory<K>>,
    schema: K::Schema,
    options: Mutex<Options>,
}

impl<K: RecordKind> FormatRecipe<K>
where
    K::Schema: Clone,
{
    fn new(schema: &K::Schema, options: &Options, registry: &Registry<K>) -> Result<Self, ConnectorError> {
        let format = registry.format(options.required("format")?)?.clone();
        Ok(FormatRecipe {
            format,
            schema: schema.clone(),
            options: Mutex::new(options.clone()),
        })
    }

    fn deserializer(&self) -> Result<Box<dyn Deserializer<K::Record>>, ConnectorError> {
        self.format.deserializer(&self.schema, &self.options.lock())
    }

    fn serializer(&self) -> Result<Box<dyn Serializer<K::Record>>, ConnectorError> {
        self.format.serializer(&self.schema, &self.options.lock())
    }
}

/// Builds the source of `format = 'avro'` (Avro container files) for records of
/// type `R` from the connector's options.
#[cfg(feature = "avro")]
type AvroSourceMaker<R> = Arc<dyn Fn(&Options) -> Result<Arc<dyn Source<R>>, ConnectorError> + Send + Sync>;

/// The `filesystem` source connector for records of type `R`.
///
/// `format = 'avro'` reads Avro object container files (as Flink's filesystem
/// connector does), which needs records serde can deserialize: a factory made by
/// `with_avro` (feature `avro`; or registered by `register_with_avro`) reads
/// them; the others say so. Every other format decodes lines.
pub struct FilesystemSourceFactory<R> {
    #[cfg(feature = "avro")]
    avro: Option<AvroSourceMaker<R>>,
    _records: std::marker::PhantomData<fn() -> R>,
}

impl<R> Default for FilesystemSourceFactory<R> {
    fn default() -> Self {
        FilesystemSourceFactory {
            #[cfg(feature = "avro")]
            avro: None,
            _records: std::marker::PhantomData,
        }
    }
}

impl<R> FilesystemSourceFactory<R> {
    /// A factory of line-file sources.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(feature = "avro")]
impl<R: serde::de::DeserializeOwned + Send + 'static> FilesystemSourceFactory<R> {
    /// A factory that also reads `format = 'avro'`: Avro object container files,
    /// records decoded into `R` by each file's writer schema. Options: `path`,
    /// `source.split-size`, `source.max-block-size` (default 64 MiB),
    /// `source.monitor-interval`, `bad-records`.
    pub fn with_avro() -> Self {
        FilesystemSourceFactory {
            avro: Some(Arc::new(avro_source::<R>)),
            _records: std::marker::PhantomData,
        }
    }
}

/// The Avro container-file source configured by `options`.
#[cfg(feature = "avro")]
fn avro_source<R: serde::de::DeserializeOwned + Send + 'static>(
    options: &Options,
) -> Result<Arc<dyn Source<R>>, ConnectorError> {
    use crate::source::{AvroSource, DEFAULT_MAX_BLOCK_BYTES};
    let path = options.required("path")?.to_string();
    let policy: BadRecordPolicy = options.parse("bad-records", BadRecordPolicy::Fail)?;
    let split_size = size(options, "source.split-size", DEFAULT_SPLIT_SIZE)?;
    let max_block = size(options, "source.max-block-size", DEFAULT_MAX_BLOCK_BYTES as u64)?;
    let mut builder = AvroSource::<R>::builder([path])
        .name(options.context())
        .split_size(split_size)
        .max_block_bytes(usize::try_from(max_block).unwrap_or(usize::MAX))
        .bad_records(policy);
    if options.get("source.monitor-interval").is_some() {
        builder = builder.monitor(options.duration("source.monitor-interval", Duration::ZERO)?);
    }
    let source = builder
        .build()
        .map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))?;
    Ok(Arc::new(source.into_source()))
}

impl<R> FilesystemSourceFactory<R> {
    /// The source of `format = 'avro'`, or why there is none.
    fn avro(&self, options: &Options) -> Result<Arc<dyn Source<R>>, ConnectorError> {
        #[cfg(feature = "avro")]
        if let Some(make) = &self.avro {
            return make(options);
        }
        let why = if cfg!(feature = "avro") {
            "records must be deserializable with serde: register the connector with \
             `weir_connector_filesystem::factory::register_with_avro`"
        } else {
            "weir-connector-filesystem is built without its `avro` feature"
        };
        Err(ConnectorError::Other(format!(
            "{}: format 'avro' reads Avro object container files, and {why}",
            options.context()
        )))
    }
}

impl<K: RecordKind> SourceFactory<K> for FilesystemSourceFactory<K::Record>
where
    K::Schema: Clone,
{
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn create_source(
        &self,
        schema: &K::Schema,
        options: &Options,
        registry: &Registry<K>,
    ) -> Result<Arc<dyn Source<K::Record>>, ConnectorError> {
        if options.required("format")?.trim().eq_ignore_ascii_case("avro") {
            return self.avro(options);
        }
        let path = options.required("path")?.to_string();
        // Made once now, so format options are checked (and count as read).
        registry.deserializer(schema, options)?;
        let recipe = Arc::new(FormatRecipe::new(schema, options, registry)?);
        let policy: BadRecordPolicy = options.parse("bad-records", BadRecordPolicy::Fail)?;
        let split_size = size(options, "source.split-size", DEFAULT_SPLIT_SIZE)?;
        let max_line = size(options, "source.max-line-size", DEFAULT_MAX_LINE as u64)?;
        let monitor = match options.get("source.monitor-interval") {
            Some(_) => Some(options.duration("source.monitor-interval", Duration::ZERO)?),
            None => None,
        };
        let mut builder = FileSource::lines_with(
            [path],
            Arc::new(move || recipe.deserializer().map_err(|e| e.to_string().into())),
        )
        .name(options.context())
        .split_size(split_size)
        .max_line_bytes(usize::try_from(max_line).unwrap_or(usize::MAX))
        .bad_records(policy);
        if let Some(interval) = monitor {
            builder = builder.monitor(interval);
        }
        let source = builder
            .build()
            .map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))?;
        Ok(Arc::new(source.into_source()))
    }
}

/// The `filesystem` sink connector, with an optional partition function for
/// records of type `R`.
pub struct FilesystemSinkFactory<R> {
    partitioner: Option<Partitioner<R>>,
}

impl<R> Default for FilesystemSinkFactory<R> {
    fn default() -> Self {
        FilesystemSinkFactory { partitioner: None }
    }
}

impl<R> FilesystemSinkFactory<R> {
    /// A factory of unpartitioned sinks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sinks partition records with `partitioner` (and commit partitions).
    pub fn with_partitioner(mut self, partitioner: Partitioner<R>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }
}

impl<K: RecordKind> SinkFactory<K> for FilesystemSinkFactory<K::Record>
where
    K::Schema: Clone,
{
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn create_sink(
        &self,
        schema: &K::Schema,
        options: &Options,
        registry: &Registry<K>,
    ) -> Result<Arc<dyn Sink<K::Record>>, ConnectorError> {
        let path = options.required("path")?.to_string();
        let format_name = options.required("format")?.trim().to_ascii_lowercase();
        registry.serializer(schema, options)?;
        let recipe = Arc::new(FormatRecipe::new(schema, options, registry)?);
        let defaults = RollingPolicy::default();
        let rolling = RollingPolicy {
            max_part_bytes: size(options, "sink.rolling-policy.file-size", defaults.max_part_bytes)?,
            rollover_interval: options.duration("sink.rolling-policy.rollover-interval", defaults.rollover_interval)?,
            inactivity_interval: match options.get("sink.rolling-policy.inactivity-interval") {
                Some(_) => Some(options.duration("sink.rolling-policy.inactivity-interval", Duration::ZERO)?),
                None => None,
            },
        };
        let trigger = match options.one_of(
            "sink.partition-commit.trigger",
            &["process-time", "partition-time"],
            "process-time",
        )? {
            "partition-time" => CommitTrigger::PartitionTime,
            _ => CommitTrigger::ProcessTime,
        };
        options.one_of("sink.partition-commit.policy.kind", &["success-file"], "success-file")?;
        let commit = PartitionCommit {
            trigger,
            delay: options.duration("sink.partition-commit.delay", Duration::ZERO)?,
            success_file: options
                .get("sink.partition-commit.success-file.name")
                .map(str::to_string)
                .unwrap_or_else(|| "_SUCCESS".to_string()),
        };
        let fields = options.get("partition.fields").map(str::to_string);
        let format = LineFormat::boxed(
            format_name,
            Arc::new(move || match recipe.serializer() {
                Ok(serializer) => serializer,
                // Made once successfully above; a later failure becomes an
                // encoding error of the first record.
                Err(e) => Box::new(FailingSerializer(e.to_string())),
            }),
        );
        let mut builder = FileSink::builder(&path, format).rolling(rolling);
        match (&self.partitioner, fields) {
            (Some(partitioner), Some(_)) => {
                builder = builder.partitioner(partitioner.clone()).partition_commit(commit);
            }
            (Some(_), None) => {
                return Err(ConnectorError::MissingOption {
                    context: options.context().to_string(),
                    key: "partition.fields".to_string(),
                })
            }
            (None, Some(fields)) => return Err(options.invalid(
                "partition.fields",
                &fields,
                "typed records are partitioned by a function given in code (FilesystemSinkFactory::with_partitioner)",
            )),
            (None, None) => {}
        }
        let sink = builder
            .build()
            .map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))?;
        Ok(Arc::new(sink))
    }
}

struct FailingSerializer(String);

impl<T> Serializer<T> for FailingSerializer {
    fn serialize(&mut self, _: &T, _: &mut Vec<u8>) -> Result<(), weir_connector_api::format::FormatError> {
        Err(weir_connector_api::format::FormatError::new(
            weir_connector_api::format::FormatErrorKind::Other,
            self.0.clone(),
        ))
    }
}

/// Registers the `filesystem` source and sink (with `partitioner`, if given) in
/// `registry`.
pub fn register<K: RecordKind>(registry: &mut Registry<K>, partitioner: Option<Partitioner<K::Record>>)
where
    K::Schema: Clone,
{
    registry.register_source(Arc::new(FilesystemSourceFactory::new()));
    register_sink(registry, partitioner);
}

/// Like [`register`], with a source that also reads `format = 'avro'` (Avro
/// object container files, records decoded with serde).
#[cfg(feature = "avro")]
pub fn register_with_avro<K: RecordKind>(registry: &mut Registry<K>, partitioner: Option<Partitioner<K::Record>>)
where
    K::Schema: Clone,
    K::Record: serde::de::DeserializeOwned,
{
    registry.register_source(Arc::new(FilesystemSourceFactory::with_avro()));
    register_sink(registry, partitioner);
}

fn register_sink<K: RecordKind>(registry: &mut Registry<K>, partitioner: Option<Partitioner<K::Record>>)
where
    K::Schema: Clone,
{
    let sink = match partitioner {
        Some(partitioner) => FilesystemSinkFactory::new().with_partitioner(partitioner),
        None => FilesystemSinkFactory::new(),
    };
    registry.register_sink(Arc::new(sink));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128MB"), Ok(128 << 20));
        assert_eq!(parse_size(" 64 mib "), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MB").is_err());
    }
}
