//! JSON lines into Arrow record batches (feature `arrow`), with arrow-json's decoder.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::reader::{Decoder, ReaderBuilder};
use arrow_schema::{ArrowError, SchemaRef};

use crate::depth::check_depth;
use crate::error::oversize;
use crate::lines::lines;
use crate::options::{keys, JsonOptions};
use crate::schema::Schema;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};

/// Decodes JSON lines (or concatenated JSON objects) into Arrow `RecordBatch`es of a
/// given schema, [`JsonOptions::batch_size`] rows each.
///
/// Feed bytes with [`decode`](Self::decode) (a chunk may end mid-record: the rest
/// follows in the next call), take the last, short batch with
/// [`flush`](Self::flush). As a [`Deserializer<RecordBatch>`] one call decodes a
/// whole chunk of complete lines and flushes. Fields missing from a record are `null`;
/// `null` or missing in a `NOT NULL` field is an error of kind `MissingField`, a value
/// of the wrong type one of kind `Type` (both name the field), bad JSON one of kind
/// `Syntax`, a record longer than [`JsonOptions::max_record_bytes`] one of kind
/// `Oversize`. Type errors surface when the batch is built, for the whole batch: after
/// any error the rows buffered since the last batch are dropped and decoding starts
/// afresh with the next bytes.
///
/// ```
/// use weir_format_json::schema::Schema;
/// use weir_format_json::{JsonArrowDecoder, JsonOptions};
///
/// let schema = Schema::parse(r#"{"fields":[{"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}"#)?;
/// let mut decoder = JsonArrowDecoder::new(&schema, &JsonOptions { batch_size: 2, ..JsonOptions::default() })?;
/// let mut batches = Vec::new();
/// decoder.decode(b"{\"auction\":1,\"price\":5}\n{\"auction\":2,\"price\":6}\n{\"auction\":3}\n", &mut batches)?;
/// batches.extend(decoder.flush()?);
/// assert_eq!(batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), vec![2, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JsonArrowDecoder {
    schema: SchemaRef,
    batch_size: usize,
    max_record_bytes: usize,
    decoder: Decoder,
    /// The unfinished last line of the bytes given so far, held back until it ends
    /// (so that each line is checked whole before arrow-json sees it).
    partial: Vec<u8>,
}

impl std::fmt::Debug for JsonArrowDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonArrowDecoder")
            .field("schema", &self.schema)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl JsonArrowDecoder {
    /// A decoder of records of `schema`.
    pub fn new(schema: &Schema, options: &JsonOptions) -> Result<Self, FormatError> {
        Self::from_arrow(Arc::new(schema.to_arrow()), options)
    }

    /// A decoder of records of an Arrow schema (any that arrow-json decodes).
    pub fn from_arrow(schema: SchemaRef, options: &JsonOptions) -> Result<Self, FormatError> {
        let batch_size = options.batch_size.max(1);
        Ok(JsonArrowDecoder {
            decoder: build(&schema, batch_size)?,
            schema,
            batch_size,
            max_record_bytes: options.max_record_bytes,
            partial: Vec::new(),
        })
    }

    /// The schema of the batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes `bytes`, appending every batch of [`JsonOptions::batch_size`] rows that
    /// fills up to `out`. The rows of an unfinished batch stay buffered, and so does an
    /// unfinished last line.
    pub fn decode(&mut self, bytes: &[u8], out: &mut Vec<RecordBatch>) -> Result<(), FormatError> {
        let result = self.decode_lines(bytes, out);
        if result.is_err() {
            self.reset()?;
        }
        result
    }

    /// The batch of the rows buffered so far (an unfinished last line included), if any.
    pub fn flush(&mut self) -> Result<Option<RecordBatch>, FormatError> {
        let result = self.flush_all();
        if result.is_err() {
            self.reset()?;
        }
        result
    }

    fn decode_lines(&mut self, mut bytes: &[u8], out: &mut Vec<RecordBatch>) -> Result<(), FormatError> {
        if self.partial.is_empty() {
            // A byte order mark starting a file (written on Windows) is not JSON.
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        } else {
            let Some(i) = memchr::memchr(b'\n', bytes) else {
                return self.hold(bytes);
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&bytes[..=i]);
            self.check_line(&line[..line.len() - 1])?;
            self.feed(&line, out)?;
            line.clear();
            self.partial = line;
            bytes = &bytes[i + 1..];
        }
        let end = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
        let (complete, tail) = bytes.split_at(end);
        let mut rest = complete;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.check_line(&rest[..i])?;
            rest = &rest[i + 1..];
        }
        self.feed(complete, out)?;
        self.hold(tail)
    }

    fn flush_all(&mut self) -> Result<Option<RecordBatch>, FormatError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.check_line(&line)?;
            self.feed(&line, &mut Vec::new())?;
        }
        self.decoder.flush().map_err(|e| classify(e, false))
    }

    /// Hands complete lines to arrow-json; batches that fill up go to `out`.
    fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<RecordBatch>) -> Result<(), FormatError> {
        while !bytes.is_empty() {
            let read = self.decoder.decode(bytes).map_err(|e| classify(e, true))?;
            bytes = &bytes[read..];
            if self.decoder.len() >= self.batch_size || read == 0 {
                out.extend(self.decoder.flush().map_err(|e| classify(e, false))?);
            }
        }
        Ok(())
    }

    fn hold(&mut self, tail: &[u8]) -> Result<(), FormatError> {
        let len = self.partial.len() + tail.len();
        if len > self.max_record_bytes {
            return Err(oversize(len, self.max_record_bytes, keys::MAX_RECORD_BYTES));
        }
        self.partial.extend_from_slice(tail);
        Ok(())
    }

    fn check_line(&self, line: &[u8]) -> Result<(), FormatError> {
        if line.len() > self.max_record_bytes {
            return Err(oversize(line.len(), self.max_record_bytes, keys::MAX_RECORD_BYTES));
        }
        check_depth(line)
    }

    /// Decodes a chunk of complete JSON lines into batches of at most
    /// [`JsonOptions::batch_size`] rows appended to `out` (the last one short), and
    /// calls `on_bad(number, line, error)` for each line that fails (`number` 0-based
    /// in the chunk): `Ok` goes on without that line (skip, dead-letter), an error
    /// stops with it. The rows of good lines are kept, in order.
    ///
    /// Each group of `batch_size` lines is decoded in one go; a group that fails is
    /// decoded again line by line to find the bad lines, and its batch built from the
    /// others.
    pub fn deserialize_lines_with<F>(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<RecordBatch>,
        mut on_bad: F,
    ) -> Result<(), FormatError>
    where
        F: FnMut(usize, &[u8], FormatError) -> Result<(), FormatError>,
    {
        // Rows buffered by `decode` come first.
        out.extend(self.flush()?);
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        let mut group: Vec<(usize, &[u8])> = Vec::with_capacity(self.batch_size.min(1 << 16));
        for (number, line) in lines(bytes) {
            if let Err(e) = self.check_line(line) {
                on_bad(number, line, e)?;
                continue;
            }
            group.push((number, line));
            if group.len() == self.batch_size {
                self.decode_group(&group, out, &mut on_bad)?;
                group.clear();
            }
        }
        self.decode_group(&group, out, &mut on_bad)
    }

    fn decode_group<F>(
        &mut self,
        group: &[(usize, &[u8])],
        out: &mut Vec<RecordBatch>,
        on_bad: &mut F,
    ) -> Result<(), FormatError>
    where
        F: FnMut(usize, &[u8], FormatError) -> Result<(), FormatError>,
    {
        if group.is_empty() {
            return Ok(());
        }
        let fed = group.iter().try_for_each(|(_, line)| {
            self.decoder.decode(line)?;
            self.decoder.decode(b"\n").map(drop)
        });
        match fed.and_then(|()| self.decoder.flush()) {
            Ok(batch) => {
                out.extend(batch);
                return Ok(());
            }
            Err(_) => self.reset()?,
        }
        // Line by line: each alone in a one-row decoder first.
        let mut single = build(&self.schema, 1)?;
        for &(number, line) in group {
            let alone = single
                .decode(line)
                .map_err(|e| classify(e, true))
                .and_then(|_| single.flush().map_err(|e| classify(e, false)));
            match alone {
                Ok(_) => {
                    if let Err(e) = self.decoder.decode(line) {
                        // Accepted alone, so not expected; reported all the same.
                        self.reset()?;
                        on_bad(number, line, classify(e, true))?;
                    }
                }
                Err(e) => {
                    single = build(&self.schema, 1)?;
                    on_bad(number, line, e)?;
                }
            }
        }
        out.extend(self.flush()?);
        Ok(())
    }

    fn reset(&mut self) -> Result<(), FormatError> {
        self.decoder = build(&self.schema, self.batch_size)?;
        self.partial.clear();
        Ok(())
    }
}

impl Deserializer<RecordBatch> for JsonArrowDecoder {
    /// Decodes a chunk of complete JSON lines into batches and flushes the last one.
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<RecordBatch>) -> Result<(), FormatError> {
        self.decode(bytes, out)?;
        out.extend(self.flush()?);
        Ok(())
    }
}

/// UTF-8's byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn build(schema: &SchemaRef, batch_size: usize) -> Result<Decoder, FormatError> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        .build_decoder()
        .map_err(|e| {
            FormatError::new(
                FormatErrorKind::Other,
                format!("cannot decode JSON into this schema: {e}"),
            )
        })
}

/// The kind of an arrow-json failure: while reading bytes (`tape`) it is bad JSON;
/// while building the batch, a type or a null where none may be.
fn classify(e: ArrowError, tape: bool) -> FormatError {
    let text = match &e {
        ArrowError::JsonError(s) | ArrowError::InvalidArgumentError(s) => s.clone(),
        other => other.to_string(),
    };
    let kind = if tape
        || text.starts_with("Truncated record")
        || text.contains("non-UTF-8")
        || text.contains("truncated UTF-8")
    {
        FormatErrorKind::Syntax
    } else if text.contains("unmasked nulls") {
        FormatErrorKind::MissingField
    } else if matches!(e, ArrowError::JsonError(_)) {
        FormatErrorKind::Type
    } else {
        FormatErrorKind::Other
    };
    let message = match (kind, field_name(&text)) {
        (FormatErrorKind::MissingField, Some(name)) => format!("null or missing NOT NULL field `{name}`: {text}"),
        (FormatErrorKind::Syntax, _) => format!("invalid JSON: {text}"),
        _ => text,
    };
    FormatError::new(kind, message)
}

/// The field name in arrow's "non-nullable ... child: Field { "x": Int64 }" or
/// "field \"x\"" messages.
fn field_name(text: &str) -> Option<&str> {
    let start = ["Field { \"", "name: \"", "field \""]
        .iter()
        .find_map(|p| text.find(p).map(|i| i + p.len()))?;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMillisecondType};
    use arrow_array::Array;

    use super::*;

    fn schema() -> Schema {
        Schema::parse(
            r#"{"fields":[{"name":"id","type":"BIGINT","nullable":false},{"name":"at","type":"TIMESTAMP(3)"},{"name":"bid","type":{"ROW":[{"name":"price","type":"BIGINT","nullable":false}]}},{"name":"tags","type":{"ARRAY":"STRING"}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn batches_of_the_batch_size() {
        let options = JsonOptions {
            batch_size: 3,
            ..JsonOptions::default()
        };
        let mut decoder = JsonArrowDecoder::new(&schema(), &options).unwrap();
        let mut text = String::new();
        for i in 0..7 {
            text.push_str(&format!(
                "{{\"id\":{i},\"at\":\"2024-01-01 00:00:00.{i}\",\"bid\":{{\"price\":{}}},\"tags\":[\"t{i}\"]}}\n",
                i * 10
            ));
        }
        let mut batches = Vec::new();
        // Split mid-record: the decoder carries the partial record over.
        let (a, b) = text.as_bytes().split_at(50);
        decoder.decode(a, &mut batches).unwrap();
        decoder.decode(b, &mut batches).unwrap();
        batches.extend(decoder.flush().unwrap());
        assert_eq!(batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), vec![3, 3, 1]);
        let ids = batches[1].column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.values().to_vec(), vec![3, 4, 5]);
        let at = batches[0].column(1).as_primitive::<TimestampMillisecondType>();
        assert_eq!(at.value(1), 1_704_067_200_100);
        let bid = batches[2].column(2).as_struct();
        assert_eq!(bid.column(0).as_primitive::<Int64Type>().value(0), 60);
        assert_eq!(batches[0].column(3).as_list::<i32>().value(2).len(), 1);
    }

    #[test]
    fn missing_nullable_fields_are_null() {
        let mut decoder = JsonArrowDecoder::new(&schema(), &JsonOptions::default()).unwrap();
        let mut batches = Vec::new();
        decoder
            .deserialize(b"{\"id\":1}\n{\"id\":2,\"bid\":null,\"extra\":true}", &mut batches)
            .unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].column(2).null_count(), 2);
    }

    #[test]
    fn errors_have_kinds_and_fields() {
        let cases: [(&[u8], FormatErrorKind, &str); 7] = [
            (b"{\"id\":1,", FormatErrorKind::Syntax, "invalid JSON"),
            (b"{\"id\":1}}", FormatErrorKind::Syntax, "invalid JSON"),
            (b"{\"id\":\"x\"}", FormatErrorKind::Type, "'id'"),
            (
                b"{\"id\":1,\"bid\":{\"price\":\"x\"}}",
                FormatErrorKind::Type,
                "'price'",
            ),
            (
                b"{\"at\":\"2024-01-01 00:00:00\"}",
                FormatErrorKind::MissingField,
                "`id`",
            ),
            (b"{\"id\":1,\"bid\":{}}", FormatErrorKind::MissingField, "`price`"),
            (b"{\"id\":1,\"at\":\"2024\"}", FormatErrorKind::Type, "'at'"),
        ];
        let mut decoder = JsonArrowDecoder::new(&schema(), &JsonOptions::default()).unwrap();
        for (text, kind, needle) in cases {
            let err = decoder.deserialize(text, &mut Vec::new()).unwrap_err();
            assert_eq!(err.kind, kind, "{}: {err}", String::from_utf8_lossy(text));
            assert!(err.message.contains(needle), "{}: {err}", String::from_utf8_lossy(text));
            // The decoder starts afresh after an error.
            let mut batches = Vec::new();
            decoder.deserialize(b"{\"id\":9}\n", &mut batches).unwrap();
            assert_eq!(batches[0].num_rows(), 1);
        }
    }

    #[test]
    fn oversize_lines() {
        let options = JsonOptions {
            max_record_bytes: 12,
            ..JsonOptions::default()
        };
        let mut decoder = JsonArrowDecoder::new(&schema(), &options).unwrap();
        let mut batches = Vec::new();
        decoder.decode(b"{\"id\":1}\n{\"id\":", &mut batches).unwrap();
        let err = decoder.decode(b"1000000}\n", &mut batches).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Oversize);
        assert!(err.message.contains("14 bytes"), "{err}");
    }

    #[test]
    fn bad_lines_are_isolated() {
        let options = JsonOptions {
            batch_size: 4,
            max_record_bytes: 60,
            ..JsonOptions::default()
        };
        let mut decoder = JsonArrowDecoder::new(&schema(), &options).unwrap();
        let mut text = String::new();
        for i in 0..10 {
            match i {
                2 => text.push_str("{\"id\":\"two\"}\n"),
                3 => text.push_str("{\"id\":3,\n"),
                7 => text.push_str("{\"tags\":[]}\n"),
                8 => text.push_str(&format!("{{\"id\":8,\"tags\":[\"{}\"]}}\n", "x".repeat(60))),
                _ => text.push_str(&format!("{{\"id\":{i}}}\n")),
            }
        }
        let mut batches = Vec::new();
        let mut bad = Vec::new();
        decoder
            .deserialize_lines_with(text.as_bytes(), &mut batches, |n, _, e| {
                bad.push((n, e.kind));
                Ok(())
            })
            .unwrap();
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(ids, vec![0, 1, 4, 5, 6, 9]);
        assert_eq!(
            bad,
            vec![
                (2, FormatErrorKind::Type),
                (3, FormatErrorKind::Syntax),
                (7, FormatErrorKind::MissingField),
                (8, FormatErrorKind::Oversize)
            ]
        );
        // A callback error stops.
        let err = decoder
            .deserialize_lines_with(text.as_bytes(), &mut Vec::new(), |_, _, e| Err(e))
            .unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Type);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let mut decoder = JsonArrowDecoder::new(&schema(), &JsonOptions::default()).unwrap();
        let mut batches = Vec::new();
        decoder.deserialize(b"\xEF\xBB\xBF{\"id\":1}\n", &mut batches).unwrap();
        decoder
            .decode(b"\xEF\xBB\xBF{\"id\":2}\n{\"id\"", &mut batches)
            .unwrap();
        decoder.decode(b":3}\n", &mut batches).unwrap();
        batches.extend(decoder.flush().unwrap());
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 3);
    }
}
