//! Rust values to CSV records through serde (the csv crate's writer).

use std::marker::PhantomData;

use serde::Serialize;

use crate::options::CsvOptions;
use weir_connector_api::format::{FormatError, FormatErrorKind, Serializer};

/// Encodes values as CSV records with serde, one line each without its line ending (a
/// file sink adds it; [`with_newline`](Self::with_newline) ends each with `\n`), with
/// the delimiter and quote of the options; quotes only fields that need it. With
/// [`CsvOptions::write_header`] the first call also writes the header line from the
/// struct's field names. `None` is an empty field.
///
/// ```
/// use serde::Serialize;
/// use weir_format_csv::{CsvOptions, CsvSerializer, Serializer};
///
/// #[derive(Serialize)]
/// struct Bid { auction: i64, channel: String }
///
/// let mut csv = CsvSerializer::new(CsvOptions { write_header: true, ..CsvOptions::default() }).with_newline(true);
/// let mut out = Vec::new();
/// csv.serialize(&Bid { auction: 1, channel: "a,b".into() }, &mut out)?;
/// csv.serialize(&Bid { auction: 2, channel: "c".into() }, &mut out)?;
/// assert_eq!(out, b"auction,channel\n1,\"a,b\"\n2,c\n");
/// # Ok::<(), weir_format_csv::FormatError>(())
/// ```
pub struct CsvSerializer<T> {
    options: CsvOptions,
    header_pending: bool,
    newline: bool,
    _records: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for CsvSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSerializer").field("options", &self.options).finish()
    }
}

impl<T> Default for CsvSerializer<T> {
    fn default() -> Self {
        Self::new(CsvOptions::default())
    }
}

impl<T> CsvSerializer<T> {
    /// A serializer with these options.
    pub fn new(options: CsvOptions) -> Self {
        CsvSerializer {
            header_pending: options.write_header,
            newline: false,
            options,
            _records: PhantomData,
        }
    }
}

impl<T> CsvSerializer<T> {
    /// Sets whether each record ends with `\n` (default `false`: the connector API's
    /// `Serializer` writes a line without its ending, a file sink adds it).
    pub fn with_newline(mut self, newline: bool) -> Self {
        self.newline = newline;
        self
    }
}

fn writer<'a>(options: &CsvOptions, header: bool, out: &'a mut Vec<u8>) -> csv::Writer<&'a mut Vec<u8>> {
    let mut builder = csv::WriterBuilder::new();
    builder
        .has_headers(header)
        .delimiter(options.delimiter)
        .quote(options.quote)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(512);
    if !options.quoting {
        builder.quote_style(csv::QuoteStyle::Never);
    }
    if let Some(escape) = options.escape {
        builder.double_quote(false).escape(escape);
    }
    builder.from_writer(out)
}

impl<T: Serialize> Serializer<T> for CsvSerializer<T> {
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        let mut writer = writer(&self.options, self.header_pending, out);
        let result = writer
            .serialize(value)
            .and_then(|()| writer.flush().map_err(csv::Error::from));
        drop(writer);
        match result {
            Ok(()) => {
                self.header_pending = false;
                if !self.newline && out.last() == Some(&b'\n') {
                    out.pop();
                }
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(FormatError::new(
                    FormatErrorKind::Type,
                    format!("cannot encode as CSV: {e}"),
                ))
            }
        }
    }
}
