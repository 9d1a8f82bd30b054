//! JSON into Rust structs through serde, parsed by simd-json.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::depth::check_depth;
use crate::error::{explain, oversize};
use crate::lines::lines;
use crate::options::{keys, JsonOptions};
use weir_connector_api::format::{Deserializer, FormatError};

/// Decodes JSON messages (or JSON lines, one per call) into `T`s with serde.
///
/// One JSON object per message gives one record; a JSON array gives one record per
/// element (unless [`JsonOptions::accept_arrays`] is off); a blank message gives
/// none. Parsing uses [simd-json](https://docs.rs/simd-json) (AVX2 or SSE4.2 chosen at
/// run time, a portable path elsewhere), with its buffers and a scratch copy of the
/// input reused from record to record. A record that fails is decoded again by
/// `serde_json` to explain it: the [`FormatError`] names the field
/// (`field \`bid.price\` at column 61: invalid type: string "x", expected i64`)
/// and has the kind `Syntax`, `Type`, `MissingField` or `Oversize`.
///
/// ```
/// use serde::Deserialize;
/// use weir_format_json::{Deserializer, JsonDeserializer};
///
/// #[derive(Debug, PartialEq, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut json = JsonDeserializer::<Bid>::default();
/// let mut bids = Vec::new();
/// json.deserialize(br#"{"auction": 1, "price": 250}"#, &mut bids)?;
/// json.deserialize(br#"[{"auction": 2, "price": 7}, {"auction": 3, "price": 8}]"#, &mut bids)?;
/// assert_eq!(bids.len(), 3);
/// let err = json.deserialize(br#"{"auction": 1}"#, &mut bids).unwrap_err();
/// assert_eq!(err.message, "field `price` is missing (the object ends at column 14)");
/// assert_eq!(err.to_string(), "missing field: field `price` is missing (the object ends at column 14)");
/// # Ok::<(), weir_format_json::FormatError>(())
/// ```
pub struct JsonDeserializer<T> {
    options: JsonOptions,
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    _records: PhantomData<fn() -> T>,
}

impl<T> Default for JsonDeserializer<T> {
    fn default() -> Self {
        Self::new(JsonOptions::default())
    }
}

impl<T> std::fmt::Debug for JsonDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonDeserializer")
            .field("options", &self.options)
            .finish()
    }
}

impl<T> JsonDeserializer<T> {
    /// A deserializer with these options.
    pub fn new(options: JsonOptions) -> Self {
        JsonDeserializer {
            options,
            scratch: Vec::new(),
            buffers: simd_json::Buffers::default(),
            _records: PhantomData,
        }
    }

    /// Its options.
    pub fn options(&self) -> &JsonOptions {
        &self.options
    }
}

impl<T: DeserializeOwned> JsonDeserializer<T> {
    /// Decodes every non-blank line of a chunk of JSON lines, appending the records to
    /// `out`; stops at the first bad line, whose error message starts with its 1-based
    /// number in the chunk.
    pub fn deserialize_lines(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        self.deserialize_lines_with(bytes, out, |number, _, e| {
            Err(FormatError::new(e.kind, format!("line {}: {}", number + 1, e.message)))
        })
    }

    /// Decodes every non-blank line of a chunk of JSON lines, appending the records to
    /// `out` in line order, and calls `on_bad(number, line, error)` for each line that
    /// fails (`number` 0-based in the chunk): it returns `Ok` to go on without that
    /// line (skip, dead-letter) or an error to stop with.
    pub fn deserialize_lines_with<F>(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<T>,
        mut on_bad: F,
    ) -> Result<(), FormatError>
    where
        F: FnMut(usize, &[u8], FormatError) -> Result<(), FormatError>,
    {
        for (number, line) in lines(bytes) {
            if let Err(e) = self.decode(line, out) {
                on_bad(number, line, e)?;
            }
        }
        Ok(())
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        let Some((bytes, first)) = record(bytes, &self.options)? else {
            return Ok(());
        };
        check_depth(bytes)?;
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        if first == b'[' && self.options.accept_arrays {
            match simd_json::serde::from_slice_with_buffers::<Vec<T>>(&mut self.scratch, &mut self.buffers) {
                Ok(records) => out.extend(records),
                Err(e) => return Err(explain::<T>(bytes, true, &e)),
            }
        } else {
            match simd_json::serde::from_slice_with_buffers::<T>(&mut self.scratch, &mut self.buffers) {
                Ok(record) => out.push(record),
                Err(e) => return Err(explain::<T>(bytes, false, &e)),
            }
        }
        Ok(())
    }
}

/// The record in a message: without a byte order mark, checked against the size
/// limit; `None` if blank, else with its first non-blank byte.
pub(crate) fn record<'a>(bytes: &'a [u8], options: &JsonOptions) -> Result<Option<(&'a [u8], u8)>, FormatError> {
    // A byte order mark (files written on Windows) is not JSON.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.len() > options.max_record_bytes {
        return Err(oversize(bytes.len(), options.max_record_bytes, keys::MAX_RECORD_BYTES));
    }
    Ok(bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .map(|&first| (bytes, first)))
}

impl<T: DeserializeOwned> Deserializer<T> for JsonDeserializer<T> {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        self.decode(bytes, out)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use weir_connector_api::format::FormatErrorKind;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Inner {
        price: i64,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Outer {
        id: i64,
        name: String,
        bid: Option<Inner>,
        tags: Vec<String>,
    }

    fn decode(text: &str) -> Result<Vec<Outer>, FormatError> {
        let mut out = Vec::new();
        JsonDeserializer::<Outer>::default().deserialize(text.as_bytes(), &mut out)?;
        Ok(out)
    }

    #[test]
    fn objects_arrays_and_blanks() {
        let one = decode(r#"{"id":1,"name":"a\"b","bid":{"price":5},"tags":["x"],"unknown":[1,{"y":2}]}"#).unwrap();
        assert_eq!(
            one,
            vec![Outer {
                id: 1,
                name: "a\"b".into(),
                bid: Some(Inner { price: 5 }),
                tags: vec!["x".into()]
            }]
        );
        let many = decode(r#" [{"id":1,"name":"","bid":null,"tags":[]},{"id":2,"name":"é","tags":[]}] "#).unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(many[1].name, "é");
        assert!(decode("").unwrap().is_empty());
        assert!(decode(" \r\n").unwrap().is_empty());
        let bom = decode("\u{feff}{\"id\":3,\"name\":\"\",\"tags\":[]}").unwrap();
        assert_eq!(bom[0].id, 3);
    }

    #[test]
    fn error_kinds_and_fields() {
        let cases = [
            (
                r#"{"id":1,"name":"a","tags":[]"#,
                FormatErrorKind::Syntax,
                "invalid JSON at column",
            ),
            (
                r#"{"id":1,"name":"a","tags":[]} x"#,
                FormatErrorKind::Syntax,
                "trailing characters",
            ),
            (
                r#"{"id":"1","name":"a","tags":[]}"#,
                FormatErrorKind::Type,
                "field `id`",
            ),
            (
                r#"{"id":1,"name":"a","bid":{"price":1.5},"tags":[]}"#,
                FormatErrorKind::Type,
                "field `bid.price`",
            ),
            (
                r#"{"id":1,"name":"a","tags":[1]}"#,
                FormatErrorKind::Type,
                "field `tags[0]`",
            ),
            (
                r#"{"id":1,"tags":[]}"#,
                FormatErrorKind::MissingField,
                "field `name` is missing",
            ),
            (
                r#"{"id":1,"name":"a","bid":{},"tags":[]}"#,
                FormatErrorKind::MissingField,
                "field `bid.price` is missing",
            ),
            (
                r#"[{"id":1,"name":"a","tags":[]},{"id":2}]"#,
                FormatErrorKind::MissingField,
                "field `[1].name` is missing",
            ),
            ("7", FormatErrorKind::Type, "the record"),
        ];
        for (text, kind, needle) in cases {
            let err = decode(text).unwrap_err();
            assert_eq!(err.kind, kind, "{text}: {err}");
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn oversize_records_are_not_parsed() {
        let options = JsonOptions {
            max_record_bytes: 10,
            ..JsonOptions::default()
        };
        let mut json = JsonDeserializer::<Outer>::new(options);
        let err = json
            .deserialize(b"{\"id\":1,\"name\":\"abc\"}", &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Oversize);
        assert!(err.message.contains("json.max-record-bytes"), "{err}");
    }

    #[test]
    fn arrays_can_be_records() {
        let options = JsonOptions {
            accept_arrays: false,
            ..JsonOptions::default()
        };
        let mut json = JsonDeserializer::<(i64, String)>::new(options);
        let mut out = Vec::new();
        json.deserialize(br#"[1, "a"]"#, &mut out).unwrap();
        assert_eq!(out, vec![(1, "a".to_string())]);
    }

    #[test]
    fn lines_stop_at_the_first_bad_one() {
        let mut json = JsonDeserializer::<Inner>::default();
        let mut out = Vec::new();
        json.deserialize_lines(b"{\"price\":1}\n\n{\"price\":2}\r\n", &mut out)
            .unwrap();
        assert_eq!(out, vec![Inner { price: 1 }, Inner { price: 2 }]);
        let err = json
            .deserialize_lines(b"{\"price\":1}\n\n{\"price\":\"2\"}\n", &mut out)
            .unwrap_err();
        assert!(err.message.starts_with("line 3: field `price`"), "{err}");
    }

    #[test]
    fn bad_lines_go_to_the_callback() {
        // Good lines, a bad one, two values on one line, an array line, an oversize
        // line: the same records and bad lines as one call per line.
        let mut text = String::new();
        for i in 0..600 {
            match i {
                5 => text.push_str("{\"price\":\"x\"}\n"),
                300 => text.push_str("{\"price\":1},{\"price\":2}\n"),
                301 => text.push_str("[{\"price\":3},{\"price\":4}]\n"),
                400 => text.push_str(&format!("{{\"price\":{}}}\n", "1".repeat(100))),
                _ => text.push_str(&format!("{{\"price\":{i}}}\n")),
            }
        }
        let options = JsonOptions {
            max_record_bytes: 50,
            ..JsonOptions::default()
        };
        let mut json = JsonDeserializer::<Inner>::new(options);
        let (mut out, mut bad) = (Vec::new(), Vec::new());
        json.deserialize_lines_with(text.as_bytes(), &mut out, |n, _, e| {
            bad.push((n, e.kind));
            Ok(())
        })
        .unwrap();
        assert_eq!(out.len(), 600 - 3 + 1);
        assert_eq!(out[299], Inner { price: 3 });
        assert_eq!(
            bad,
            vec![
                (5, FormatErrorKind::Type),
                (300, FormatErrorKind::Syntax),
                (400, FormatErrorKind::Oversize)
            ]
        );
    }
}
