//! Connectors and formats found by name, for configuration given as strings.
//!
//! SQL DDL (`WITH ('connector' = 'kafka', 'format' = 'json', ...)`) and config
//! files name a connector and a format; a [`Registry`] maps the names to
//! factories, which build sources, sinks, deserializers and serializers from
//! [`Options`]. A registry is for one [`RecordKind`]: Rust structs ([`Typed`],
//! without schema) or, for SQL, rows with a schema (an Arrow kind defined by the
//! SQL crate).
//!
//! ```
//! use std::sync::Arc;
//! use weir_connector_api::format::{Deserializer, Serializer, Utf8Text};
//! use weir_connector_api::options::Options;
//! use weir_connector_api::registry::{FormatFactory, Registry, Typed};
//! use weir_connector_api::ConnectorError;
//!
//! struct Text;
//! impl FormatFactory<Typed<String>> for Text {
//!     fn name(&self) -> &'static str { "raw" }
//!     fn deserializer(&self, _: &(), _: &Options) -> Result<Box<dyn Deserializer<String>>, ConnectorError> {
//!         Ok(Box::new(Utf8Text))
//!     }
//!     fn serializer(&self, _: &(), _: &Options) -> Result<Box<dyn Serializer<String>>, ConnectorError> {
//!         Ok(Box::new(Utf8Text))
//!     }
//! }
//!
//! let mut registry = Registry::<Typed<String>>::new();
//! registry.register_format(Arc::new(Text));
//! let options = Options::new("file source 'logs'").with("format", "raw");
//! let mut format = registry.deserializer(&(), &options).unwrap();
//! let mut lines = Vec::new();
//! format.deserialize(b"hello", &mut lines).unwrap();
//! assert_eq!(lines, ["hello"]);
//! let unknown = registry.deserializer(&(), &Options::new("x").with("format", "avro"));
//! assert!(unknown.err().unwrap().to_string().contains("known: [\"raw\"]"));
//! ```

use crate::error::ConnectorError;
use crate::format::{Deserializer, Serializer};
use crate::options::Options;
use crate::sink::Sink;
use crate::source::Source;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// What a registry's connectors produce and consume.
pub trait RecordKind: 'static {
    /// The record type.
    type Record: Send + 'static;
    /// What describes the records' fields (`()` for Rust structs).
    type Schema: Send + Sync + 'static;
}

/// Rust values of type `T`, described by their type alone.
pub struct Typed<T>(PhantomData<fn() -> T>);

impl<T: Send + 'static> RecordKind for Typed<T> {
    type Record = T;
    type Schema = ();
}

/// Builds deserializers and serializers of one format.
pub trait FormatFactory<K: RecordKind>: Send + Sync {
    /// The format's name (`json`, `csv`).
    fn name(&self) -> &'static str;
    /// A deserializer for records of `schema` configured by `options`.
    fn deserializer(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<Box<dyn Deserializer<K::Record>>, ConnectorError>;
    /// A serializer for records of `schema` configured by `options`.
    fn serializer(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<Box<dyn Serializer<K::Record>>, ConnectorError>;
}

/// Builds sources of one connector.
pub trait SourceFactory<K: RecordKind>: Send + Sync {
    /// The connector's name (`kafka`, `filesystem`).
    fn name(&self) -> &'static str;
    /// A source of records of `schema` configured by `options`; `registry` gives
    /// the format named by the options.
    fn create_source(
        &self,
        schema: &K::Schema,
        options: &Options,
        registry: &Registry<K>,
    ) -> Result<Arc<dyn Source<K::Record>>, ConnectorError>;
}

/// Builds sinks of one connector.
pub trait SinkFactory<K: RecordKind>: Send + Sync {
    /// The connector's name.
    fn name(&self) -> &'static str;
    /// A sink for records of `schema` configured by `options`.
    fn create_sink(
        &self,
        schema: &K::Schema,
        options: &Options,
        registry: &Registry<K>,
    ) -> Result<Arc<dyn Sink<K::Record>>, ConnectorError>;
}

/// Makes a deserializer a call (one per source reader), as
/// [`Registry::deserializers`] returns; any such closure is one.
pub trait MakeDeserializer<T>:
    Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync + 'static
{
}

impl<T, F> MakeDeserializer<T> for F where
    F: Fn() -> Result<Box<dyn Deserializer<T>>, ConnectorError> + Send + Sync + 'static
{
}

/// Makes a serializer a call (one per sink writer), as [`Registry::serializers`]
/// returns; any such closure is one.
pub trait MakeSerializer<T>: Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync + 'static {}

impl<T, F> MakeSerializer<T> for F where
    F: Fn() -> Result<Box<dyn Serializer<T>>, ConnectorError> + Send + Sync + 'static
{
}

/// Connectors and formats by name.
pub struct Registry<K: RecordKind> {
    formats: BTreeMap<&'static str, Arc<dyn FormatFactory<K>>>,
    sources: BTreeMap<&'static str, Arc<dyn SourceFactory<K>>>,
    sinks: BTreeMap<&'static str, Arc<dyn SinkFactory<K>>>,
}

impl<K: RecordKind> Default for Registry<K> {
    fn default() -> Self {
        Registry {
            formats: BTreeMap::new(),
            sources: BTreeMap::new(),
            sinks: BTreeMap::new(),
        }
    }
}

fn not_registered<V>(kind: &'static str, name: &str, map: &BTreeMap<&'static str, V>) -> ConnectorError {
    ConnectorError::NotRegistered {
        kind,
        name: name.to_string(),
        known: map.keys().map(|k| k.to_string()).collect(),
    }
}

impl<K: RecordKind> Registry<K> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a format under its name (replacing one of the same name).
    pub fn register_format(&mut self, factory: Arc<dyn FormatFactory<K>>) {
        self.formats.insert(factory.name(), factory);
    }

    /// Registers a connector's source under its name.
    pub fn register_source(&mut self, factory: Arc<dyn SourceFactory<K>>) {
        self.sources.insert(factory.name(), factory);
    }

    /// Registers a connector's sink under its name.
    pub fn register_sink(&mut self, factory: Arc<dyn SinkFactory<K>>) {
        self.sinks.insert(factory.name(), factory);
    }

    /// The format factory named `name`.
    pub fn format(&self, name: &str) -> Result<&Arc<dyn FormatFactory<K>>, ConnectorError> {
        let key = name.trim().to_ascii_lowercase();
        self.formats
            .get(key.as_str())
            .ok_or_else(|| not_registered("format", name, &self.formats))
    }

    /// A deserializer of the format named by option `format`.
    pub fn deserializer(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<Box<dyn Deserializer<K::Record>>, ConnectorError> {
        self.format(options.required("format")?)?.deserializer(schema, options)
    }

    /// A serializer of the format named by option `format`.
    pub fn serializer(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<Box<dyn Serializer<K::Record>>, ConnectorError> {
        self.format(options.required("format")?)?.serializer(schema, options)
    }

    /// A maker of deserializers of the format named by option `format`, one a
    /// call: a source needs one per reader. The first is made now, which checks
    /// the format's options and marks them read (a bad option fails when the
    /// source is built, not in a reader); the maker makes the others with a copy
    /// of the options.
    pub fn deserializers(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<impl MakeDeserializer<K::Record>, ConnectorError>
    where
        K::Schema: Clone,
    {
        let format = self.format(options.required("format")?)?.clone();
        drop(format.deserializer(schema, options)?);
        let schema = schema.clone();
        let options = Mutex::new(options.clone());
        Ok(move || format.deserializer(&schema, &options.lock()))
    }

    /// A maker of serializers of the format named by option `format`, one a
    /// call (a sink needs one per writer); like [`Registry::deserializers`].
    pub fn serializers(
        &self,
        schema: &K::Schema,
        options: &Options,
    ) -> Result<impl MakeSerializer<K::Record>, ConnectorError>
    where
        K::Schema: Clone,
    {
        let format = self.format(options.required("format")?)?.clone();
        drop(format.serializer(schema, options)?);
        let schema = schema.clone();
        let options = Mutex::new(options.clone());
        Ok(move || format.serializer(&schema, &options.lock()))
    }

    /// The source of the connector named by option `connector`, configured by the
    /// other options; options nothing read are an error.
    pub fn source(&self, schema: &K::Schema, options: &Options) -> Result<Arc<dyn Source<K::Record>>, ConnectorError> {
        let name = options.required("connector")?;
        let factory = self
            .sources
            .get(name.trim().to_ascii_lowercase().as_str())
            .ok_or_else(|| not_registered("source connector", name, &self.sources))?;
        let source = factory.create_source(schema, options, self)?;
        options.check_all_read()?;
        Ok(source)
    }

    /// The sink of the connector named by option `connector`; options nothing read
    /// are an error.
    pub fn sink(&self, schema: &K::Schema, options: &Options) -> Result<Arc<dyn Sink<K::Record>>, ConnectorError> {
        let name = options.required("connector")?;
        let factory = self
            .sinks
            .get(name.trim().to_ascii_lowercase().as_str())
            .ok_or_else(|| not_registered("sink connector", name, &self.sinks))?;
        let sink = factory.create_sink(schema, options, self)?;
        options.check_all_read()?;
        Ok(sink)
    }

    /// The registered format names.
    pub fn format_names(&self) -> Vec<&'static str> {
        self.formats.keys().copied().collect()
    }

    /// The registered source connector names.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.keys().copied().collect()
    }

    /// The registered sink connector names.
    pub fn sink_names(&self) -> Vec<&'static str> {
        self.sinks.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Text with an optional prefix (option `prefix`), counting what it makes.
    struct Prefixed {
        made: Arc<AtomicUsize>,
    }

    struct Prefix(String);

    impl Deserializer<String> for Prefix {
        fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), FormatError> {
            out.push(format!("{}{}", self.0, String::from_utf8_lossy(bytes)));
            Ok(())
        }
    }

    impl Serializer<String> for Prefix {
        fn serialize(&mut self, value: &String, out: &mut Vec<u8>) -> Result<(), FormatError> {
            out.extend_from_slice(format!("{}{value}", self.0).as_bytes());
            Ok(())
        }
    }

    impl Prefixed {
        fn make(&self, options: &Options) -> Result<Prefix, ConnectorError> {
            let prefix = options.get("prefix").unwrap_or_default();
            if prefix.contains(' ') {
                return Err(options.invalid("prefix", prefix, "no spaces"));
            }
            self.made.fetch_add(1, Ordering::SeqCst);
            Ok(Prefix(prefix.to_string()))
        }
    }

    impl FormatFactory<Typed<String>> for Prefixed {
        fn name(&self) -> &'static str {
            "prefixed"
        }
        fn deserializer(&self, _: &(), options: &Options) -> Result<Box<dyn Deserializer<String>>, ConnectorError> {
            Ok(Box::new(self.make(options)?))
        }
        fn serializer(&self, _: &(), options: &Options) -> Result<Box<dyn Serializer<String>>, ConnectorError> {
            Ok(Box::new(self.make(options)?))
        }
    }

    fn registry() -> (Registry<Typed<String>>, Arc<AtomicUsize>) {
        let made = Arc::new(AtomicUsize::new(0));
        let mut registry = Registry::new();
        registry.register_format(Arc::new(Prefixed { made: made.clone() }));
        (registry, made)
    }

    #[test]
    fn makers_check_the_options_once_and_make_one_per_call() {
        let (registry, made) = registry();
        let options = Options::new("test source")
            .with("format", "Prefixed")
            .with("prefix", "> ");
        assert!(
            registry.deserializers(&(), &options).is_err(),
            "a bad option fails at once"
        );
        assert!(registry.serializers(&(), &options).is_err());
        assert_eq!(made.load(Ordering::SeqCst), 0);

        let options = Options::new("test source")
            .with("format", "prefixed")
            .with("prefix", ">");
        let make = registry.deserializers(&(), &options).unwrap();
        assert_eq!(made.load(Ordering::SeqCst), 1, "the first is made (and checked) now");
        options.check_all_read().unwrap();
        let (mut a, mut b) = (make().unwrap(), make().unwrap());
        assert_eq!(made.load(Ordering::SeqCst), 3);
        let mut out = Vec::new();
        a.deserialize(b"x", &mut out).unwrap();
        b.deserialize(b"y", &mut out).unwrap();
        assert_eq!(out, [">x", ">y"]);

        let make = registry.serializers(&(), &options).unwrap();
        let mut bytes = Vec::new();
        make().unwrap().serialize(&"z".to_string(), &mut bytes).unwrap();
        assert_eq!(bytes, b">z");
    }

    #[test]
    fn makers_name_a_missing_or_unknown_format() {
        let (registry, _) = registry();
        let missing = registry.deserializers(&(), &Options::new("test source")).err().unwrap();
        assert!(matches!(missing, ConnectorError::MissingOption { .. }), "{missing}");
        let unknown = registry
            .serializers(&(), &Options::new("test sink").with("format", "avro"))
            .err()
            .unwrap();
        assert!(unknown.to_string().contains("known: [\"prefixed\"]"), "{unknown}");
    }
}
