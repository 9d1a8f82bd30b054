//! `format = 'json'`: the JSON format built from string options.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_connector_api::format::{Deserializer, Serializer};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{FormatFactory, Typed};
use weir_connector_api::ConnectorError;

use crate::options::{keys, JsonOptions};
use crate::{JsonDeserializer, JsonSerializer};

/// The JSON format for Rust structs (`T: Serialize + DeserializeOwned`), found by a
/// registry as `format = 'json'`. Reads the options `json.max-record-bytes` and
/// `json.accept-arrays` (see [`keys`]); other `json.*` keys are left unread, so the
/// registry reports them.
///
/// ```
/// use std::sync::Arc;
/// use serde::{Deserialize, Serialize};
/// use weir_connector_api::options::Options;
/// use weir_connector_api::registry::{Registry, Typed};
/// use weir_format_json::JsonFormatFactory;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut registry = Registry::<Typed<Bid>>::new();
/// registry.register_format(Arc::new(JsonFormatFactory::<Bid>::default()));
/// let options = Options::new("kafka source 'bids'").with("format", "json").with("json.max-record-bytes", "4096");
/// let mut json = registry.deserializer(&(), &options)?;
/// let mut bids = Vec::new();
/// json.deserialize(br#"{"auction":1,"price":2}"#, &mut bids).unwrap();
/// assert_eq!(bids, vec![Bid { auction: 1, price: 2 }]);
/// # Ok::<(), weir_connector_api::ConnectorError>(())
/// ```
pub struct JsonFormatFactory<T>(PhantomData<fn() -> T>);

impl<T> Default for JsonFormatFactory<T> {
    fn default() -> Self {
        JsonFormatFactory(PhantomData)
    }
}

impl<T> std::fmt::Debug for JsonFormatFactory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonFormatFactory")
    }
}

impl JsonOptions {
    /// The options of `format = 'json'` for structs: `json.max-record-bytes`,
    /// `json.accept-arrays`; defaults for the others.
    pub fn from_options(options: &Options) -> Result<JsonOptions, ConnectorError> {
        let defaults = JsonOptions::default();
        let max_record_bytes = options.parse(keys::MAX_RECORD_BYTES, defaults.max_record_bytes)?;
        if max_record_bytes == 0 {
            return Err(options.invalid(keys::MAX_RECORD_BYTES, "0", "must be at least 1"));
        }
        Ok(JsonOptions {
            max_record_bytes,
            accept_arrays: options.parse(keys::ACCEPT_ARRAYS, defaults.accept_arrays)?,
            ..defaults
        })
    }
}

impl<T> FormatFactory<Typed<T>> for JsonFormatFactory<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &'static str {
        "json"
    }

    fn deserializer(&self, _: &(), options: &Options) -> Result<Box<dyn Deserializer<T>>, ConnectorError> {
        Ok(Box::new(JsonDeserializer::<T>::new(JsonOptions::from_options(
            options,
        )?)))
    }

    fn serializer(&self, _: &(), options: &Options) -> Result<Box<dyn Serializer<T>>, ConnectorError> {
        // The same keys are accepted (and checked) on both sides of a connector.
        JsonOptions::from_options(options)?;
        Ok(Box::new(JsonSerializer::<T>::new()))
    }
}

#[cfg(feature = "arrow")]
impl crate::JsonArrowDecoder {
    /// A decoder configured by string options: `schema` (required, the schema
    /// document), `json.batch-size`, `json.max-record-bytes`.
    pub fn from_options(options: &Options) -> Result<Self, ConnectorError> {
        let text = options.required(keys::SCHEMA)?;
        let schema = crate::schema::Schema::parse(text).map_err(|e| options.invalid(keys::SCHEMA, text, e))?;
        let mut json = JsonOptions::from_options(options)?;
        json.batch_size = options.parse(keys::BATCH_SIZE, json.batch_size)?;
        if json.batch_size == 0 {
            return Err(options.invalid(keys::BATCH_SIZE, "0", "must be at least 1"));
        }
        Self::new(&schema, &json).map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        a: i64,
    }

    #[test]
    fn options_are_read_and_checked() {
        let factory = JsonFormatFactory::<Row>::default();
        let options = Options::new("test")
            .with("json.max-record-bytes", "10")
            .with("json.accept-arrays", "false");
        let mut json = factory.deserializer(&(), &options).unwrap();
        let err = json.deserialize(b"{\"a\":12345678}", &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, weir_connector_api::format::FormatErrorKind::Oversize);
        options.check_all_read().unwrap();

        for (key, value) in [
            ("json.max-record-bytes", "lots"),
            ("json.max-record-bytes", "0"),
            ("json.accept-arrays", "si"),
        ] {
            let options = Options::new("json test").with(key, value);
            let err = factory.deserializer(&(), &options).err().unwrap().to_string();
            assert!(
                err.contains(key) && err.contains(value) && err.contains("json test"),
                "{err}"
            );
        }
        let options = Options::new("json test").with("json.fail-on-missing-field", "true");
        factory.serializer(&(), &options).unwrap();
        let err = options.check_all_read().unwrap_err().to_string();
        assert!(err.contains("json.fail-on-missing-field"), "{err}");
    }

    #[cfg(feature = "arrow")]
    #[test]
    fn arrow_decoder_from_options() {
        let options = Options::new("t")
            .with("schema", r#"{"fields":[{"name":"a","type":"BIGINT"}]}"#)
            .with("json.batch-size", "2");
        let mut decoder = crate::JsonArrowDecoder::from_options(&options).unwrap();
        let mut batches = Vec::new();
        decoder
            .decode(b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", &mut batches)
            .unwrap();
        assert_eq!(batches.len(), 1);
        let err = crate::JsonArrowDecoder::from_options(&Options::new("t").with("schema", "{}")).unwrap_err();
        assert!(err.to_string().contains("'schema'"), "{err}");
        assert!(crate::JsonArrowDecoder::from_options(&Options::new("t")).is_err());
    }
}
