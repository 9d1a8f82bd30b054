//! Record formats: bytes to records and back.
//!
//! A [`Deserializer`] turns one message (a Kafka value, a queue message, a line of
//! a file) into zero or more records; a [`Serializer`] turns a record into the
//! bytes of one message. Format crates (`weir-format-json`, `weir-format-csv`, ...)
//! implement them; sources hand decoding failures to a
//! [`BadRecordHandler`](crate::bad_record::BadRecordHandler).

use std::fmt;
use thiserror::Error;

/// What kind of malformed input a [`FormatError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatErrorKind {
    /// The bytes are not valid in the format (bad JSON, an unterminated quote).
    Syntax,
    /// A field has a value of the wrong type.
    Type,
    /// A required field is missing.
    MissingField,
    /// The record is larger than the configured maximum.
    Oversize,
    /// Anything else (bad encoding, an I/O error of a decompressor).
    Other,
}

impl fmt::Display for FormatErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormatErrorKind::Syntax => "syntax error",
            FormatErrorKind::Type => "wrong type",
            FormatErrorKind::MissingField => "missing field",
            FormatErrorKind::Oversize => "record too large",
            FormatErrorKind::Other => "malformed record",
        })
    }
}

/// A record that could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}: {message}")]
pub struct FormatError {
    /// What kind of problem it is.
    pub kind: FormatErrorKind,
    /// What is wrong, naming the field or column where known.
    pub message: String,
}

impl FormatError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: FormatErrorKind, message: impl Into<String>) -> Self {
        FormatError {
            kind,
            message: message.into(),
        }
    }

    /// The record exceeds `limit` bytes.
    pub fn oversize(size: usize, limit: usize) -> Self {
        FormatError::new(
            FormatErrorKind::Oversize,
            format!("the record has {size} bytes, more than the limit of {limit}"),
        )
    }
}

/// Decodes messages into records.
pub trait Deserializer<T>: Send {
    /// Decodes one message (or one line), pushing the records it holds onto `out`.
    /// On error nothing is pushed.
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError>;
}

/// Encodes records into messages.
pub trait Serializer<T>: Send {
    /// Appends the encoding of `value` (one message, or one line without its line
    /// ending) to `out`.
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError>;
}

impl<T, F> Deserializer<T> for F
where
    F: FnMut(&[u8], &mut Vec<T>) -> Result<(), FormatError> + Send,
{
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        self(bytes, out)
    }
}

/// Raw bytes as records: the identity format.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytes;

impl Deserializer<Vec<u8>> for RawBytes {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), FormatError> {
        out.push(bytes.to_vec());
        Ok(())
    }
}

impl Serializer<Vec<u8>> for RawBytes {
    fn serialize(&mut self, value: &Vec<u8>, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(value);
        Ok(())
    }
}

/// UTF-8 text as records (one `String` per message or line).
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8Text;

impl Deserializer<String> for Utf8Text {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), FormatError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push(text.to_string());
                Ok(())
            }
            Err(e) => Err(FormatError::new(FormatErrorKind::Syntax, format!("not UTF-8: {e}"))),
        }
    }
}

impl Serializer<String> for Utf8Text {
    fn serialize(&mut self, value: &String, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(value.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_and_builtin_formats_decode() {
        let mut numbers = |bytes: &[u8], out: &mut Vec<u32>| {
            let text =
                std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
            let n = text
                .trim()
                .parse()
                .map_err(|e| FormatError::new(FormatErrorKind::Type, format!("field 'n': {e}")))?;
            out.push(n);
            Ok(())
        };
        let mut out = Vec::new();
        numbers.deserialize(b"17", &mut out).unwrap();
        let error = numbers.deserialize(b"x", &mut out).unwrap_err();
        assert_eq!(error.kind, FormatErrorKind::Type);
        assert_eq!(out, vec![17]);

        let mut text = Vec::new();
        assert!(Utf8Text.deserialize(&[0xff, 0xfe], &mut text).is_err());
        Utf8Text.deserialize("größe".as_bytes(), &mut text).unwrap();
        assert_eq!(text, vec!["größe".to_string()]);
        assert_eq!(
            FormatError::oversize(10, 4).to_string(),
            "record too large: the record has 10 bytes, more than the limit of 4"
        );
    }
}
