//! `format = 'avro'` and `format = 'avro-confluent'`: the Avro formats built from
//! string options.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_connector_api::format::{Deserializer, Serializer};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{FormatFactory, Typed};
use weir_connector_api::ConnectorError;

use crate::datum::Framing;
use crate::options::{keys, AvroOptions, ConfluentOptions};
use crate::schema::parse_schema;
use crate::{AvroDeserializer, AvroSerializer, ConfluentDeserializer, ConfluentSerializer};

fn max_record_bytes(options: &Options, key: &str) -> Result<usize, ConnectorError> {
    let max = options.parse(key, crate::options::DEFAULT_MAX_RECORD_BYTES)?;
    if max == 0 {
        return Err(options.invalid(key, "0", "must be at least 1"));
    }
    Ok(max)
}

impl AvroOptions {
    /// The options of `format = 'avro'`: `avro.schema` (required), `avro.encoding`,
    /// `avro.max-record-bytes`.
    pub fn from_options(options: &Options) -> Result<AvroOptions, ConnectorError> {
        let text = options.required(keys::SCHEMA)?;
        let schema = parse_schema(text).map_err(|e| options.invalid(keys::SCHEMA, text, e))?;
        let framing = match options.one_of(keys::ENCODING, &["raw", "single-object"], "raw")? {
            "single-object" => Framing::SingleObject,
            _ => Framing::Raw,
        };
        Ok(AvroOptions {
            schema,
            framing,
            max_record_bytes: max_record_bytes(options, keys::MAX_RECORD_BYTES)?,
        })
    }
}

impl ConfluentOptions {
    /// The options of `format = 'avro-confluent'`: `avro-confluent.schema.<id>` (at
    /// least one), `avro-confluent.write-schema-id`, `avro-confluent.max-record-bytes`;
    /// `avro-confluent.url` is an error (no schema-registry client).
    pub fn from_options(options: &Options) -> Result<ConfluentOptions, ConnectorError> {
        if let Some(url) = options.get(keys::CONFLUENT_URL) {
            return Err(options.invalid(
                keys::CONFLUENT_URL,
                url,
                format!(
                    "Weir has no schema-registry client: give each schema the messages carry as '{}<id>'",
                    keys::CONFLUENT_SCHEMA_PREFIX
                ),
            ));
        }
        let mut schemas = std::collections::BTreeMap::new();
        for (suffix, text) in options.with_prefix(keys::CONFLUENT_SCHEMA_PREFIX) {
            let key = format!("{}{suffix}", keys::CONFLUENT_SCHEMA_PREFIX);
            let id: u32 = suffix
                .trim()
                .parse()
                .map_err(|e| options.invalid(&key, &text, format!("the key must end with a schema id (u32): {e}")))?;
            let schema = parse_schema(&text).map_err(|e| options.invalid(&key, &text, e))?;
            schemas.insert(id, schema);
        }
        if schemas.is_empty() {
            return Err(ConnectorError::MissingOption {
                context: options.context().to_string(),
                key: format!("{}<id>", keys::CONFLUENT_SCHEMA_PREFIX),
            });
        }
        let write_schema_id = match options.get(keys::CONFLUENT_WRITE_SCHEMA_ID) {
            None => None,
            Some(text) => {
                let id: u32 = text
                    .trim()
                    .parse()
                    .map_err(|e| options.invalid(keys::CONFLUENT_WRITE_SCHEMA_ID, text, e))?;
                if !schemas.contains_key(&id) {
                    return Err(options.invalid(
                        keys::CONFLUENT_WRITE_SCHEMA_ID,
                        text,
                        format!(
                            "no '{}{id}' is given (known ids: {:?})",
                            keys::CONFLUENT_SCHEMA_PREFIX,
                            schemas.keys().collect::<Vec<_>>()
                        ),
                    ));
                }
                Some(id)
            }
        };
        Ok(ConfluentOptions {
            schemas,
            write_schema_id,
            max_record_bytes: max_record_bytes(options, keys::CONFLUENT_MAX_RECORD_BYTES)?,
        })
    }
}

/// `format = 'avro'` for Rust structs (`T: Serialize + DeserializeOwned`): raw or
/// single-object datums of the schema `avro.schema`. Reads `avro.schema`,
/// `avro.encoding` and `avro.max-record-bytes` (see [`keys`]); other keys are left
/// unread, so the registry reports them.
///
/// ```
/// use std::sync::Arc;
/// use serde::{Deserialize, Serialize};
/// use weir_connector_api::options::Options;
/// use weir_connector_api::registry::{Registry, Typed};
/// use weir_format_avro::AvroFormatFactory;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut registry = Registry::<Typed<Bid>>::new();
/// registry.register_format(Arc::new(AvroFormatFactory::<Bid>::default()));
/// let options = Options::new("kafka source 'bids'")
///     .with("format", "avro")
///     .with("avro.schema", r#"{"type":"record","name":"Bid","fields":[{"name":"auction","type":"long"},{"name":"price","type":"long"}]}"#);
/// let mut avro = registry.deserializer(&(), &options)?;
/// let mut bids = Vec::new();
/// avro.deserialize(&[2, 244, 3], &mut bids).unwrap();
/// assert_eq!(bids, vec![Bid { auction: 1, price: 250 }]);
/// # Ok::<(), weir_connector_api::ConnectorError>(())
/// ```
pub struct AvroFormatFactory<T>(PhantomData<fn() -> T>);

impl<T> Default for AvroFormatFactory<T> {
    fn default() -> Self {
        AvroFormatFactory(PhantomData)
    }
}

impl<T> std::fmt::Debug for AvroFormatFactory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AvroFormatFactory")
    }
}

fn schema_error(options: &Options, e: crate::SchemaError) -> ConnectorError {
    ConnectorError::Other(format!("{}: {e}", options.context()))
}

impl<T> FormatFactory<Typed<T>> for AvroFormatFactory<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &'static str {
        "avro"
    }

    fn deserializer(&self, _: &(), options: &Options) -> Result<Box<dyn Deserializer<T>>, ConnectorError> {
        let avro = AvroOptions::from_options(options)?;
        Ok(Box::new(
            AvroDeserializer::<T>::new(&avro).map_err(|e| schema_error(options, e))?,
        ))
    }

    fn serializer(&self, _: &(), options: &Options) -> Result<Box<dyn Serializer<T>>, ConnectorError> {
        let avro = AvroOptions::from_options(options)?;
        Ok(Box::new(
            AvroSerializer::<T>::new(&avro).map_err(|e| schema_error(options, e))?,
        ))
    }
}

/// `format = 'avro-confluent'` for Rust structs: the Confluent wire format with the
/// schemas `avro-confluent.schema.<id>` given in the options (no schema-registry
/// client). Reads the keys of [`ConfluentOptions::from_options`].
pub struct AvroConfluentFormatFactory<T>(PhantomData<fn() -> T>);

impl<T> Default for AvroConfluentFormatFactory<T> {
    fn default() -> Self {
        AvroConfluentFormatFactory(PhantomData)
    }
}

impl<T> std::fmt::Debug for AvroConfluentFormatFactory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AvroConfluentFormatFactory")
    }
}

impl<T> FormatFactory<Typed<T>> for AvroConfluentFormatFactory<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &'static str {
        "avro-confluent"
    }

    fn deserializer(&self, _: &(), options: &Options) -> Result<Box<dyn Deserializer<T>>, ConnectorError> {
        let confluent = ConfluentOptions::from_options(options)?;
        Ok(Box::new(
            ConfluentDeserializer::<T>::new(&confluent).map_err(|e| schema_error(options, e))?,
        ))
    }

    fn serializer(&self, _: &(), options: &Options) -> Result<Box<dyn Serializer<T>>, ConnectorError> {
        let confluent = ConfluentOptions::from_options(options)?;
        Ok(Box::new(
            ConfluentSerializer::<T>::new(&confluent).map_err(|e| schema_error(options, e))?,
        ))
    }
}
