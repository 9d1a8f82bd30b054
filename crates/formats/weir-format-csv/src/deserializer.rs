//! CSV into Rust structs through serde (the csv crate's record deserializer).

use std::marker::PhantomData;

use csv::{ByteRecord, DeserializeErrorKind, StringRecord};
use csv_core::ReadRecordResult;
use serde::de::DeserializeOwned;

use crate::options::{keys, CsvOptions, Header};
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};

/// Decodes CSV records into `T`s with serde.
///
/// Each call decodes every record in `bytes`: one line (or message) gives one record,
/// a chunk of a file as many as it holds (quoted fields may span lines); blank lines
/// give none. With a header ([`Header::Names`], or [`Header::FirstLine`]: the first
/// record seen is the header) fields are matched to struct fields by name, without one
/// by position. Failures are [`FormatError`]s naming the column: `Syntax` for a record
/// with another number of fields than the header, `Type` for a field that does not
/// parse (`column 3 \`price\`: invalid digit found in string`), `MissingField` for a
/// short record or a missing column, `Oversize` past
/// [`CsvOptions::max_record_bytes`].
///
/// ```
/// use serde::Deserialize;
/// use weir_format_csv::{CsvDeserializer, CsvOptions, Deserializer, Header};
///
/// #[derive(Debug, PartialEq, Deserialize)]
/// struct Bid { auction: i64, price: i64, channel: Option<String> }
///
/// let options = CsvOptions { header: Header::FirstLine, ..CsvOptions::default() };
/// let mut csv = CsvDeserializer::<Bid>::new(options)?;
/// let mut bids = Vec::new();
/// csv.deserialize(b"price,auction,channel\n250,1,Google\n7,2,\n", &mut bids)?;
/// assert_eq!(bids[0], Bid { auction: 1, price: 250, channel: Some("Google".into()) });
/// assert_eq!(bids[1].channel, None);
/// let err = csv.deserialize(b"x,3,Apple\n", &mut bids).unwrap_err();
/// assert_eq!(err.message, "column 1 `price`: invalid digit found in string");
/// # Ok::<(), weir_format_csv::FormatError>(())
/// ```
pub struct CsvDeserializer<T> {
    options: CsvOptions,
    core: csv_core::Reader,
    headers: Option<ByteRecord>,
    /// The same, if they are UTF-8.
    text_headers: Option<StringRecord>,
    record: ByteRecord,
    output: Vec<u8>,
    ends: Vec<usize>,
    _records: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for CsvDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvDeserializer")
            .field("options", &self.options)
            .field("headers", &self.headers)
            .finish()
    }
}

impl<T> CsvDeserializer<T> {
    /// A deserializer with these options (fails if [`Header::Names`] is empty).
    pub fn new(options: CsvOptions) -> Result<Self, FormatError> {
        let headers = match &options.header {
            Header::Names(names) if names.is_empty() => {
                return Err(FormatError::new(
                    FormatErrorKind::Other,
                    format!("{}: no column names", keys::HEADER),
                ));
            }
            Header::Names(names) => Some(names.iter().collect::<ByteRecord>()),
            Header::None | Header::FirstLine => None,
        };
        let text_headers = headers.clone().and_then(|h| StringRecord::from_byte_record(h).ok());
        Ok(CsvDeserializer {
            core: core_reader(&options),
            options,
            headers,
            text_headers,
            record: ByteRecord::new(),
            output: vec![0; 1024],
            ends: vec![0; 32],
            _records: PhantomData,
        })
    }

    /// The column names, once known.
    pub fn headers(&self) -> Option<Vec<String>> {
        self.headers
            .as_ref()
            .map(|h| h.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect())
    }
}

/// Splits a header line (`csv.header`) into column names with these options.
pub fn parse_header(line: &str, options: &CsvOptions) -> Result<Vec<String>, FormatError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(options.delimiter)
        .quote(options.quote)
        .quoting(options.quoting)
        .escape(options.escape)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(str::to_string).collect()),
        Ok(false) => Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!("{}: empty header", keys::HEADER),
        )),
        Err(e) => Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!("{}: {e}", keys::HEADER),
        )),
    }
}

fn core_reader(options: &CsvOptions) -> csv_core::Reader {
    csv_core::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .quoting(options.quoting)
        .double_quote(options.escape.is_none())
        .escape(options.escape)
        .comment(options.comment)
        .build()
}

impl<T: DeserializeOwned> Deserializer<T> for CsvDeserializer<T> {
    /// Decodes every record in `bytes`; on error nothing is pushed.
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        let len = out.len();
        let result = self.deserialize_all(bytes, out);
        if result.is_err() {
            out.truncate(len);
        }
        result
    }
}

impl<T: DeserializeOwned> CsvDeserializer<T> {
    fn deserialize_all(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        self.core.reset();
        let mut input = bytes;
        let (mut nout, mut nends, mut record_start) = (0, 0, 0);
        loop {
            let (result, nin, n_out, n_ends) =
                self.core
                    .read_record(input, &mut self.output[nout..], &mut self.ends[nends..]);
            input = &input[nin..];
            nout += n_out;
            nends += n_ends;
            let consumed = bytes.len() - input.len();
            match result {
                ReadRecordResult::InputEmpty => {
                    if consumed - record_start > self.options.max_record_bytes {
                        return Err(self.oversize(consumed - record_start));
                    }
                }
                ReadRecordResult::OutputFull => {
                    if nout > self.options.max_record_bytes {
                        return Err(self.oversize(nout));
                    }
                    let len = self.output.len() * 2;
                    self.output.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if consumed - record_start > self.options.max_record_bytes {
                        return Err(self.oversize(consumed - record_start));
                    }
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    let raw = &bytes[record_start..consumed];
                    if raw.len() > self.options.max_record_bytes {
                        return Err(self.oversize(raw.len()));
                    }
                    self.record_fields(nout, nends);
                    nout = 0;
                    nends = 0;
                    if let Err(e) = self.decode_record(out) {
                        return Err(at_line(bytes, record_start, e));
                    }
                    record_start = consumed;
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    }
}

impl<T: DeserializeOwned> CsvDeserializer<T> {
    fn set_headers(&mut self, headers: ByteRecord) {
        self.text_headers = StringRecord::from_byte_record(headers.clone()).ok();
        self.headers = Some(headers);
    }

    fn decode_record(&mut self, out: &mut Vec<T>) -> Result<(), FormatError> {
        if self.headers.is_none() && self.options.header == Header::FirstLine {
            self.set_headers(self.record.clone());
            return Ok(());
        }
        if let Some(headers) = &self.headers {
            if headers.len() != self.record.len() {
                let kind = if self.record.len() < headers.len() {
                    FormatErrorKind::MissingField
                } else {
                    FormatErrorKind::Syntax
                };
                return Err(FormatError::new(
                    kind,
                    format!("record has {} fields, the header {}", self.record.len(), headers.len()),
                ));
            }
        }
        // Valid UTF-8 (checked once for the record, fast for ASCII) decodes from a
        // StringRecord without checking each field again; otherwise from the bytes, to
        // name the field that is not text (or give bytes to a field that takes them).
        let record = std::mem::take(&mut self.record);
        let result = match (StringRecord::from_byte_record(record), &self.headers) {
            (Ok(text), None) => {
                let result = text.deserialize::<T>(None);
                self.record = text.into_byte_record();
                result
            }
            (Ok(text), Some(_)) if self.text_headers.is_some() => {
                let result = text.deserialize::<T>(self.text_headers.as_ref());
                self.record = text.into_byte_record();
                result
            }
            (Ok(text), Some(_)) => {
                self.record = text.into_byte_record();
                self.record.deserialize::<T>(self.headers.as_ref())
            }
            (Err(e), _) => {
                self.record = e.into_byte_record();
                self.record.deserialize::<T>(self.headers.as_ref())
            }
        };
        match result {
            Ok(value) => {
                out.push(value);
                Ok(())
            }
            Err(e) => Err(self.explain(&e)),
        }
    }

    fn record_fields(&mut self, nout: usize, nends: usize) {
        self.record.clear();
        let mut start = 0;
        for &end in &self.ends[..nends] {
            let field = &self.output[start..end];
            match &self.options.null_literal {
                Some(null) if field == null.as_bytes() => self.record.push_field(b""),
                _ => self.record.push_field(field),
            }
            start = end;
        }
        debug_assert!(start <= nout);
    }

    fn oversize(&mut self, len: usize) -> FormatError {
        self.core.reset();
        FormatError::new(
            FormatErrorKind::Oversize,
            format!(
                "record of more than {} bytes ({len} read) exceeds the limit ({})",
                self.options.max_record_bytes,
                keys::MAX_RECORD_BYTES
            ),
        )
    }

    fn explain(&self, e: &csv::Error) -> FormatError {
        let csv::ErrorKind::Deserialize { err, .. } = e.kind() else {
            return FormatError::new(FormatErrorKind::Other, e.to_string());
        };
        let column = err.field().map(|i| {
            let index = usize::try_from(i).unwrap_or(usize::MAX);
            match self.headers.as_ref().and_then(|h| h.get(index)) {
                Some(name) => format!("column {} `{}`", index + 1, String::from_utf8_lossy(name)),
                None => format!("column {}", index + 1),
            }
        });
        let (kind, text) = match err.kind() {
            DeserializeErrorKind::UnexpectedEndOfRow => (
                FormatErrorKind::MissingField,
                "the record ends before this field".to_string(),
            ),
            DeserializeErrorKind::Message(m) if m.starts_with("missing field") => {
                let name = m.split('`').nth(1).unwrap_or(m);
                (
                    FormatErrorKind::MissingField,
                    format!("field `{name}` is not in the header"),
                )
            }
            // A record without header shorter than the struct.
            DeserializeErrorKind::Message(m) if m.starts_with("invalid length") => {
                (FormatErrorKind::MissingField, m.clone())
            }
            DeserializeErrorKind::InvalidUtf8(_)
            | DeserializeErrorKind::ParseBool(_)
            | DeserializeErrorKind::ParseInt(_)
            | DeserializeErrorKind::ParseFloat(_)
            | DeserializeErrorKind::Message(_) => (FormatErrorKind::Type, err.kind().to_string()),
            DeserializeErrorKind::Unsupported(_) => (FormatErrorKind::Other, err.kind().to_string()),
        };
        let message = match column {
            Some(column) => format!("{column}: {text}"),
            None => text,
        };
        FormatError::new(kind, message)
    }
}

/// Prefixes `error` with the 1-based line its record starts on, when `bytes` holds
/// more than one line (a single message or line needs no position).
fn at_line(bytes: &[u8], record_start: usize, error: FormatError) -> FormatError {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if memchr_newline(body).is_none() {
        return error;
    }
    // Blank lines before the record belong to it as read; skip them.
    let skipped = bytes[record_start..]
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .count();
    let line = bytes[..record_start + skipped].iter().filter(|&&b| b == b'\n').count() + 1;
    FormatError::new(error.kind, format!("line {line}: {}", error.message))
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}
