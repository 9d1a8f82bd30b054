//! Schema inference from sample JSON messages.
//!
//! Each sample is read once with serde (no intermediate `Value`, object keys in their
//! order) into an inferred type, and the types of all samples are merged:
//!
//! * `null`, or a key missing from some samples, makes a field nullable;
//! * integer and float merge to `DOUBLE`;
//! * strings that all look like timestamps (`2024-01-01 00:00:00.123`,
//!   `2024-01-01T00:00:00Z`) become `TIMESTAMP(3)` (unless
//!   [`InferOptions::detect_timestamps`] is off), mixed with other strings `STRING`;
//! * objects become `ROW`s, their fields merged by name in first-seen order;
//! * arrays become `ARRAY`s of the merge of all their elements;
//! * anything else that conflicts (a number here, an object there) becomes `STRING`,
//!   as does a field that was only ever `null` or an empty array's element.

use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{DataType, Field, Schema, SchemaError};

/// How to infer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InferOptions {
    /// Type strings shaped like timestamps as `TIMESTAMP(3)` (default `true`).
    pub detect_timestamps: bool,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            detect_timestamps: true,
        }
    }
}

/// Builds a schema from sample messages, one at a time.
///
/// ```
/// use weir_format_json::schema::{DataType, SchemaInferrer};
///
/// let mut inferrer = SchemaInferrer::default();
/// inferrer.add_message(br#"{"a": 1, "b": "x"}"#)?;
/// inferrer.add_message(br#"{"a": 2.5, "c": null}"#)?;
/// let schema = inferrer.finish()?;
/// assert_eq!(schema.to_ddl(), "a DOUBLE NOT NULL, b STRING, c STRING");
/// # Ok::<(), weir_format_json::schema::SchemaError>(())
/// ```
#[derive(Debug, Default)]
pub struct SchemaInferrer {
    options: InferOptions,
    merged: Option<Inferred>,
    samples: usize,
}

impl SchemaInferrer {
    /// An inferrer with these options.
    pub fn new(options: InferOptions) -> Self {
        SchemaInferrer {
            options,
            merged: None,
            samples: 0,
        }
    }

    /// Adds one message: a JSON object, or a JSON array of objects (each a record).
    pub fn add_message(&mut self, bytes: &[u8]) -> Result<(), SchemaError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        self.samples += 1;
        let sample = self.samples;
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let inferred = Seed(self.options)
            .deserialize(&mut deserializer)
            .and_then(|v| deserializer.end().map(|()| v))
            .map_err(|e| SchemaError::Sample {
                sample,
                message: e.to_string(),
            })?;
        let records = match inferred {
            Inferred::Array(element) => match *element {
                Inferred::Null => return Ok(()),
                other => other,
            },
            other => other,
        };
        if !matches!(records, Inferred::Object(_)) {
            return Err(SchemaError::Sample {
                sample,
                message: format!(
                    "expected a JSON object (or an array of objects), found {}",
                    records.describe()
                ),
            });
        }
        self.merged = Some(match self.merged.take() {
            None => records,
            Some(merged) => merge(merged, records),
        });
        Ok(())
    }

    /// Adds each non-blank line of `bytes` as a message.
    pub fn add_lines(&mut self, bytes: &[u8], max_lines: usize) -> Result<(), SchemaError> {
        for line in bytes.split(|b| *b == b'\n').filter(|l| !is_blank(l)).take(max_lines) {
            self.add_message(line)?;
        }
        Ok(())
    }

    /// How many messages were added.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The schema of everything added.
    pub fn finish(self) -> Result<Schema, SchemaError> {
        match self.merged {
            Some(Inferred::Object(fields)) => Ok(Schema {
                fields: to_fields(fields),
            }),
            _ => Err(SchemaError::NoSample),
        }
    }
}

/// Infers the schema of one sample message (a JSON object, or an array of objects).
pub fn infer_from_message(bytes: &[u8]) -> Result<Schema, SchemaError> {
    let mut inferrer = SchemaInferrer::default();
    inferrer.add_message(bytes)?;
    inferrer.finish()
}

/// Infers the schema of the first `max_lines` non-blank JSON lines of `bytes`.
pub fn infer_from_lines(bytes: &[u8], max_lines: usize, options: InferOptions) -> Result<Schema, SchemaError> {
    let mut inferrer = SchemaInferrer::new(options);
    inferrer.add_lines(bytes, max_lines)?;
    inferrer.finish()
}

/// Infers the schema of the first `max_lines` non-blank JSON lines read from `reader`
/// (e.g. the head of a file, decompressed or not); reads no further.
pub fn infer_from_reader<R: BufRead>(
    mut reader: R,
    max_lines: usize,
    options: InferOptions,
) -> Result<Schema, SchemaError> {
    let mut inferrer = SchemaInferrer::new(options);
    let mut line = Vec::new();
    let mut lines = 0;
    while lines < max_lines {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if !is_blank(&line) {
            inferrer.add_message(&line)?;
            lines += 1;
        }
    }
    inferrer.finish()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The inferred type of one value (or the merge of several).
#[derive(Clone, Debug, PartialEq)]
enum Inferred {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    Str,
    Array(Box<Inferred>),
    /// Fields in first-seen order; each with whether it may be null or missing.
    Object(Vec<(String, Inferred, bool)>),
}

impl Inferred {
    fn describe(&self) -> &'static str {
        match self {
            Inferred::Null => "null",
            Inferred::Bool => "a boolean",
            Inferred::Int | Inferred::Float => "a number",
            Inferred::Timestamp | Inferred::Str => "a string",
            Inferred::Array(_) => "an array",
            Inferred::Object(_) => "an object",
        }
    }
}

fn merge(a: Inferred, b: Inferred) -> Inferred {
    use Inferred::*;
    match (a, b) {
        (Null, other) | (other, Null) => other,
        (Int, Float) | (Float, Int) => Float,
        (Timestamp, Str) | (Str, Timestamp) => Str,
        (Array(x), Array(y)) => Array(Box::new(merge(*x, *y))),
        (Object(mut fields), Object(other)) => {
            let mut seen = vec![false; fields.len()];
            for (name, value, nullable) in other {
                match fields.iter().position(|(n, ..)| *n == name) {
                    Some(i) => {
                        seen[i] = true;
                        let (_, old, old_nullable) = &mut fields[i];
                        *old = merge(std::mem::replace(old, Null), value);
                        *old_nullable |= nullable;
                    }
                    // Missing from the earlier samples.
                    None => fields.push((name, value, true)),
                }
            }
            for (i, seen) in seen.into_iter().enumerate() {
                if !seen {
                    fields[i].2 = true;
                }
            }
            Object(fields)
        }
        (a, b) if a == b => a,
        _ => Str,
    }
}

fn to_fields(fields: Vec<(String, Inferred, bool)>) -> Vec<Field> {
    fields
        .into_iter()
        .map(|(name, inferred, nullable)| Field {
            name,
            nullable: nullable || inferred == Inferred::Null,
            data_type: to_type(inferred),
        })
        .collect()
}

fn to_type(inferred: Inferred) -> DataType {
    match inferred {
        Inferred::Bool => DataType::Boolean,
        Inferred::Int => DataType::Bigint,
        Inferred::Float => DataType::Double,
        Inferred::Timestamp => DataType::Timestamp,
        Inferred::Null | Inferred::Str => DataType::String,
        Inferred::Array(element) => DataType::Array(Box::new(to_type(*element))),
        Inferred::Object(fields) => DataType::Row(to_fields(fields)),
    }
}

/// Whether `s` is shaped like a timestamp: `yyyy-MM-dd[ T]HH:mm:ss`, then optionally
/// a fraction and a `Z` or `±hh:mm` offset.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 19
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b' ' | b'T')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some((b'.', tail)) = rest.split_first() {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &tail[n..];
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[derive(Clone, Copy)]
struct Seed(InferOptions);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Inferred;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Inferred, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Inferred;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Inferred, E> {
        Ok(Inferred::Bool)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Inferred, E> {
        Ok(Inferred::Int)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Inferred, E> {
        // Above i64::MAX a BIGINT cannot hold it.
        Ok(if i64::try_from(v).is_ok() {
            Inferred::Int
        } else {
            Inferred::Float
        })
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Inferred, E> {
        Ok(Inferred::Float)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Inferred, E> {
        Ok(if self.0.detect_timestamps && looks_like_timestamp(v) {
            Inferred::Timestamp
        } else {
            Inferred::Str
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Inferred, E> {
        Ok(Inferred::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Inferred, E> {
        Ok(Inferred::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Inferred, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inferred, A::Error> {
        let mut element = Inferred::Null;
        while let Some(value) = seq.next_element_seed(self)? {
            element = merge(element, value);
        }
        Ok(Inferred::Array(Box::new(element)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inferred, A::Error> {
        let mut fields: Vec<(String, Inferred, bool)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            let nullable = value == Inferred::Null;
            match fields.iter_mut().find(|(n, ..)| *n == name) {
                // A repeated key: keep one field, of both types.
                Some((_, old, old_nullable)) => {
                    *old = merge(std::mem::replace(old, Inferred::Null), value);
                    *old_nullable |= nullable;
                }
                None => fields.push((name, value, nullable)),
            }
        }
        Ok(Inferred::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ddl(lines: &str) -> String {
        infer_from_lines(lines.as_bytes(), usize::MAX, InferOptions::default())
            .unwrap()
            .to_ddl()
    }

    #[test]
    fn merges_types() {
        assert_eq!(ddl("{\"a\":1}\n{\"a\":2.5}"), "a DOUBLE NOT NULL");
        assert_eq!(ddl("{\"a\":1}\n{\"a\":null}"), "a BIGINT");
        assert_eq!(ddl("{\"a\":1}\n{\"b\":true}"), "a BIGINT, b BOOLEAN");
        assert_eq!(ddl("{\"a\":1}\n{\"a\":\"x\"}"), "a STRING NOT NULL");
        assert_eq!(ddl("{\"a\":{\"x\":1}}\n{\"a\":[1]}"), "a STRING NOT NULL");
        assert_eq!(ddl("{\"a\":null}"), "a STRING");
        assert_eq!(ddl("{\"a\":[]}"), "a ARRAY<STRING> NOT NULL");
        assert_eq!(ddl("{\"a\":[1, 2.0, null]}"), "a ARRAY<DOUBLE> NOT NULL");
        assert_eq!(
            ddl("{\"a\":{\"x\":1}}\n{\"a\":{\"y\":\"2024-01-01T00:00:00Z\"}}\n\n"),
            "a ROW<x BIGINT, y TIMESTAMP(3)> NOT NULL"
        );
        assert_eq!(
            ddl("{\"t\":\"2024-01-01 00:00:00\"}\n{\"t\":\"soon\"}"),
            "t STRING NOT NULL"
        );
        assert_eq!(ddl("{\"u\":18446744073709551615}"), "u DOUBLE NOT NULL");
        assert_eq!(ddl("[{\"a\":1},{\"a\":2,\"b\":false}]"), "a BIGINT NOT NULL, b BOOLEAN");
    }

    #[test]
    fn only_the_first_lines() {
        let schema = infer_from_lines(b"{\"a\":1}\n{\"a\":\"x\"}", 1, InferOptions::default()).unwrap();
        assert_eq!(schema.to_ddl(), "a BIGINT NOT NULL");
        let schema = infer_from_reader(&b"{\"a\":1}\n\n{\"b\":1}\n{\"c\":1}"[..], 2, InferOptions::default()).unwrap();
        assert_eq!(schema.to_ddl(), "a BIGINT, b BIGINT");
    }

    #[test]
    fn timestamp_shapes() {
        for yes in [
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00.123Z",
            "2024-01-01 00:00:00.1+02:00",
        ] {
            assert!(looks_like_timestamp(yes), "{yes}");
        }
        for no in [
            "2024-01-01",
            "2024-01-01 00:00:00.",
            "2024-01-01x00:00:00",
            "2024-01-01 00:00:00 UTC",
        ] {
            assert!(!looks_like_timestamp(no), "{no}");
        }
        let off = InferOptions {
            detect_timestamps: false,
        };
        let schema = infer_from_lines(b"{\"t\":\"2024-01-01 00:00:00\"}", 9, off).unwrap();
        assert_eq!(schema.to_ddl(), "t STRING NOT NULL");
    }

    #[test]
    fn bad_samples() {
        assert!(matches!(
            infer_from_message(b"{\"a\":"),
            Err(SchemaError::Sample { sample: 1, .. })
        ));
        assert!(matches!(infer_from_message(b"[1,2]"), Err(SchemaError::Sample { .. })));
        assert!(matches!(infer_from_message(b"{} x"), Err(SchemaError::Sample { .. })));
        assert!(matches!(
            infer_from_lines(b"\n \n", 5, InferOptions::default()),
            Err(SchemaError::NoSample)
        ));
        let err = infer_from_lines(b"{}\n7", 5, InferOptions::default()).unwrap_err();
        assert!(err.to_string().contains("sample 2"), "{err}");
    }
}
