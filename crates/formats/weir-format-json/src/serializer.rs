//! Rust values to JSON (lines) through serde.

use std::marker::PhantomData;

use serde::Serialize;

use weir_connector_api::format::{FormatError, FormatErrorKind, Serializer};

/// Encodes values as JSON with serde (`serde_json`), one object per record: one
/// message, or one line without its line ending (a file sink adds it), as the
/// connector API's `Serializer` says; [`with_newline`](Self::with_newline) appends
/// `\n` itself, for writing JSON lines without a sink.
///
/// ```
/// use serde::Serialize;
/// use weir_format_json::{JsonSerializer, Serializer};
///
/// #[derive(Serialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut json = JsonSerializer::default();
/// let mut out = Vec::new();
/// json.serialize(&Bid { auction: 1, price: 250 }, &mut out)?;
/// assert_eq!(out, b"{\"auction\":1,\"price\":250}");
///
/// let mut lines = JsonSerializer::new().with_newline(true);
/// let mut out = Vec::new();
/// lines.serialize(&Bid { auction: 1, price: 250 }, &mut out)?;
/// lines.serialize(&Bid { auction: 2, price: 7 }, &mut out)?;
/// assert_eq!(out, b"{\"auction\":1,\"price\":250}\n{\"auction\":2,\"price\":7}\n");
/// # Ok::<(), weir_format_json::FormatError>(())
/// ```
pub struct JsonSerializer<T> {
    newline: bool,
    _records: PhantomData<fn(&T)>,
}

impl<T> Default for JsonSerializer<T> {
    fn default() -> Self {
        JsonSerializer {
            newline: false,
            _records: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for JsonSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSerializer")
            .field("newline", &self.newline)
            .finish()
    }
}

impl<T> JsonSerializer<T> {
    /// A serializer of one record per message (or line, without its ending).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether each record ends with `\n` (JSON lines; default `false`).
    pub fn with_newline(mut self, newline: bool) -> Self {
        self.newline = newline;
        self
    }
}

impl<T: Serialize> Serializer<T> for JsonSerializer<T> {
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, value) {
            out.truncate(start);
            return Err(FormatError::new(
                FormatErrorKind::Type,
                format!("cannot encode as JSON: {e}"),
            ));
        }
        if self.newline {
            out.push(b'\n');
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn errors_leave_the_output_as_it_was() {
        let mut json = JsonSerializer::new();
        let mut out = b"kept".to_vec();
        let bad: HashMap<(i32, i32), i32> = [((1, 2), 3)].into_iter().collect();
        let err = json.serialize(&bad, &mut out).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Type);
        assert_eq!(out, b"kept");
        let good: HashMap<String, i32> = [("a".to_string(), 1)].into_iter().collect();
        JsonSerializer::new().serialize(&good, &mut out).unwrap();
        assert_eq!(out, b"kept{\"a\":1}");
    }
}
