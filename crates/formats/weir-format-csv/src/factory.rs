//! `format = 'csv'`: the CSV format built from string options.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_connector_api::format::{Deserializer, Serializer};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{FormatFactory, Typed};
use weir_connector_api::ConnectorError;

use crate::deserializer::parse_header;
use crate::options::{keys, CsvOptions, Header};
use crate::{CsvDeserializer, CsvSerializer};

/// The CSV format for Rust structs (`T: Serialize + DeserializeOwned`), found by a
/// registry as `format = 'csv'`. Reads the `csv.*` options of [`keys`]; other `csv.*`
/// keys are left unread, so the registry reports them.
///
/// ```
/// use std::sync::Arc;
/// use serde::{Deserialize, Serialize};
/// use weir_connector_api::options::Options;
/// use weir_connector_api::registry::{Registry, Typed};
/// use weir_format_csv::CsvFormatFactory;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut registry = Registry::<Typed<Bid>>::new();
/// registry.register_format(Arc::new(CsvFormatFactory::<Bid>::default()));
/// let options = Options::new("file source 'bids'")
///     .with("format", "csv")
///     .with("csv.field-delimiter", ";")
///     .with("csv.header", "price;auction");
/// let mut csv = registry.deserializer(&(), &options)?;
/// let mut bids = Vec::new();
/// csv.deserialize(b"2;1", &mut bids).unwrap();
/// assert_eq!(bids, vec![Bid { auction: 1, price: 2 }]);
/// # Ok::<(), weir_connector_api::ConnectorError>(())
/// ```
pub struct CsvFormatFactory<T>(PhantomData<fn() -> T>);

impl<T> Default for CsvFormatFactory<T> {
    fn default() -> Self {
        CsvFormatFactory(PhantomData)
    }
}

impl<T> std::fmt::Debug for CsvFormatFactory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsvFormatFactory")
    }
}

/// One ASCII character; `\t` may be written as the two characters `\t`.
fn character(options: &Options, key: &str) -> Result<Option<u8>, ConnectorError> {
    let Some(value) = options.get(key) else {
        return Ok(None);
    };
    let byte = match value {
        "\\t" => b'\t',
        _ if value.len() == 1 && value.is_ascii() => value.as_bytes()[0],
        _ => return Err(options.invalid(key, value, "expected one ASCII character (or \\t)")),
    };
    if matches!(byte, b'\n' | b'\r') {
        return Err(options.invalid(key, value, "a line break cannot be used"));
    }
    Ok(Some(byte))
}

impl CsvOptions {
    /// The options of `format = 'csv'` (see [`keys`]).
    pub fn from_options(options: &Options) -> Result<CsvOptions, ConnectorError> {
        let defaults = CsvOptions::default();
        let mut csv = CsvOptions {
            delimiter: character(options, keys::FIELD_DELIMITER)?.unwrap_or(defaults.delimiter),
            quote: character(options, keys::QUOTE_CHARACTER)?.unwrap_or(defaults.quote),
            quoting: !options.parse(keys::DISABLE_QUOTE_CHARACTER, false)?,
            escape: character(options, keys::ESCAPE_CHARACTER)?,
            comment: options.parse(keys::ALLOW_COMMENTS, false)?.then_some(b'#'),
            null_literal: options.get(keys::NULL_LITERAL).map(str::to_string),
            write_header: options.parse(keys::WRITE_HEADER, false)?,
            max_record_bytes: options.parse(keys::MAX_RECORD_BYTES, defaults.max_record_bytes)?,
            header: Header::None,
        };
        if csv.max_record_bytes == 0 {
            return Err(options.invalid(keys::MAX_RECORD_BYTES, "0", "must be at least 1"));
        }
        let from_first_line = options.parse(keys::HEADER_FROM_FIRST_LINE, false)?;
        csv.header = match (options.get(keys::HEADER), from_first_line) {
            (Some(line), true) => {
                return Err(options.invalid(
                    keys::HEADER,
                    line,
                    format!("give the header or {} = 'true', not both", keys::HEADER_FROM_FIRST_LINE),
                ))
            }
            (Some(line), false) => {
                let names = parse_header(line, &csv).map_err(|e| options.invalid(keys::HEADER, line, e.message))?;
                Header::Names(names)
            }
            (None, true) => Header::FirstLine,
            (None, false) => Header::None,
        };
        Ok(csv)
    }
}

impl<T> FormatFactory<Typed<T>> for CsvFormatFactory<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &'static str {
        "csv"
    }

    fn deserializer(&self, _: &(), options: &Options) -> Result<Box<dyn Deserializer<T>>, ConnectorError> {
        let csv = CsvDeserializer::<T>::new(CsvOptions::from_options(options)?)
            .map_err(|e| ConnectorError::Other(format!("{}: {e}", options.context())))?;
        Ok(Box::new(csv))
    }

    fn serializer(&self, _: &(), options: &Options) -> Result<Box<dyn Serializer<T>>, ConnectorError> {
        Ok(Box::new(CsvSerializer::<T>::new(CsvOptions::from_options(options)?)))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        a: i64,
        b: Option<String>,
    }

    #[test]
    fn options_are_read_and_checked() {
        let factory = CsvFormatFactory::<Row>::default();
        let options = Options::new("test")
            .with("csv.field-delimiter", "\\t")
            .with("csv.quote-character", "'")
            .with("csv.escape-character", "\\")
            .with("csv.allow-comments", "true")
            .with("csv.null-literal", "-")
            .with("csv.header-from-first-line", "true")
            .with("csv.max-record-bytes", "100");
        let mut csv = factory.deserializer(&(), &options).unwrap();
        let mut rows = Vec::new();
        csv.deserialize(b"b\ta\n# note\n'x\\'y'\t1\n-\t2\n", &mut rows).unwrap();
        assert_eq!(
            rows,
            vec![
                Row {
                    a: 1,
                    b: Some("x'y".into())
                },
                Row { a: 2, b: None }
            ]
        );
        options.check_all_read().unwrap();

        let cases = [
            ("csv.field-delimiter", "::"),
            ("csv.quote-character", "é"),
            ("csv.field-delimiter", "\n"),
            ("csv.disable-quote-character", "maybe"),
            ("csv.max-record-bytes", "0"),
        ];
        for (key, value) in cases {
            let options = Options::new("csv test").with(key, value);
            let err = factory.deserializer(&(), &options).err().unwrap().to_string();
            assert!(err.contains(key) && err.contains("csv test"), "{err}");
        }
        let both = Options::new("csv test")
            .with("csv.header", "a,b")
            .with("csv.header-from-first-line", "true");
        assert!(factory.deserializer(&(), &both).is_err());

        let options = Options::new("csv test")
            .with("csv.write-header", "true")
            .with("csv.disable-quote-character", "true");
        let mut ser = factory.serializer(&(), &options).unwrap();
        let mut out = Vec::new();
        ser.serialize(
            &Row {
                a: 1,
                b: Some("x,\"y".into()),
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"a,b\n1,x,\"y");
    }
}
