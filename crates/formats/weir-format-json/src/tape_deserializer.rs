//! JSON into Rust values by a function over simd-json's tape (no serde on the
//! fast path).

use std::fmt::Display;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use simd_json::tape::Value;
use simd_json::Tape;

use crate::deserializer::record;
use crate::error::{explain, explain_or};
use crate::options::JsonOptions;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind};

/// Decodes JSON messages (or JSON lines, one per call) into `T`s with a function
/// over the [tape](https://docs.rs/simd-json/latest/simd_json/tape/index.html) that
/// simd-json parses each record into: the fastest path, for record types whose
/// decoding is written by hand (`weir_nexmark::event_from_tape` is one).
///
/// Messages are taken as by [`JsonDeserializer`](crate::JsonDeserializer) (one record
/// per object, one per element of an array unless
/// [`JsonOptions::accept_arrays`] is off, none for a blank message, byte order mark
/// and size limit). The parser's buffers, a scratch copy of the input and the tape
/// are reused from record to record, so a record costs no allocation but what
/// `from_tape` makes. `T`'s serde `Deserialize` (or that of the type given to
/// [`explained_by`](Self::explained_by)) must accept the same records as
/// `from_tape`: a record that fails is decoded again by `serde_json` with it to
/// explain the failure, naming the field (as `JsonDeserializer` does); if serde
/// takes a record `from_tape` rejects, the error is of kind `Type` with
/// `from_tape`'s message. Unlike `JsonDeserializer`, nesting is not limited
/// (simd-json builds the tape without recursion).
///
/// `from_tape` gets the record as a `simd_json::tape::Value` (simd-json 0.15,
/// re-exported as [`crate::simd_json`]); it must not recurse without bound into
/// nested values (objects nest as deep as the input says).
///
/// ```
/// use serde::Deserialize;
/// use weir_format_json::simd_json::prelude::*;
/// use weir_format_json::{Deserializer, JsonOptions, JsonTapeDeserializer};
///
/// #[derive(Debug, PartialEq, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let mut json = JsonTapeDeserializer::new(JsonOptions::default(), |v| {
///     match (v.get_i64("auction"), v.get_i64("price")) {
///         (Some(auction), Some(price)) => Ok(Bid { auction, price }),
///         _ => Err("not a bid"),
///     }
/// });
/// let mut bids = Vec::new();
/// json.deserialize(br#"{"auction": 1, "price": 250}"#, &mut bids)?;
/// assert_eq!(bids, vec![Bid { auction: 1, price: 250 }]);
/// let err = json.deserialize(br#"{"auction": 1}"#, &mut bids).unwrap_err();
/// assert_eq!(err.message, "field `price` is missing (the object ends at column 14)");
/// # Ok::<(), weir_format_json::FormatError>(())
/// ```
pub struct JsonTapeDeserializer<T, F, S = T> {
    options: JsonOptions,
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    /// Empty between calls; holds its allocation.
    tape: Option<Tape<'static>>,
    from_tape: F,
    /// Records are `T`s; failures are explained by decoding an `S` with serde.
    _records: PhantomData<fn() -> (T, S)>,
}

impl<T, F, S> std::fmt::Debug for JsonTapeDeserializer<T, F, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonTapeDeserializer")
            .field("options", &self.options)
            .finish()
    }
}

impl<T, F> JsonTapeDeserializer<T, F> {
    /// A deserializer with these options, building records with `from_tape`;
    /// `T`'s serde `Deserialize` explains the records that fail.
    pub fn new<E>(options: JsonOptions, from_tape: F) -> Self
    where
        F: for<'t, 'i> FnMut(Value<'t, 'i>) -> Result<T, E>,
        E: Display,
    {
        JsonTapeDeserializer {
            options,
            scratch: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: None,
            from_tape,
            _records: PhantomData,
        }
    }
}

impl<T, F, S> JsonTapeDeserializer<T, F, S> {
    /// The same deserializer, but failures are explained by decoding the record
    /// as an `S` with serde (for records of a type whose own `Deserialize`, if any,
    /// does not describe the JSON: `S` is then a serde wrapper of `T`).
    pub fn explained_by<S2>(self) -> JsonTapeDeserializer<T, F, S2> {
        JsonTapeDeserializer {
            options: self.options,
            scratch: self.scratch,
            buffers: self.buffers,
            tape: self.tape,
            from_tape: self.from_tape,
            _records: PhantomData,
        }
    }

    /// Its options.
    pub fn options(&self) -> &JsonOptions {
        &self.options
    }
}

impl<T, F, S, E> JsonTapeDeserializer<T, F, S>
where
    S: DeserializeOwned,
    F: for<'t, 'i> FnMut(Value<'t, 'i>) -> Result<T, E>,
    E: Display,
{
    fn decode(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        let Some((bytes, first)) = record(bytes, &self.options)? else {
            return Ok(());
        };
        let array = first == b'[' && self.options.accept_arrays;
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        let mut tape = self.tape.take().map_or_else(|| Tape(Vec::new()), Tape::reset);
        let result = match simd_json::fill_tape(&mut self.scratch, &mut self.buffers, &mut tape) {
            Err(e) => Err(explain::<S>(bytes, array, &e)),
            Ok(()) => {
                let value = tape.as_value();
                match value.as_array().filter(|_| array) {
                    Some(elements) => {
                        let before = out.len();
                        let mut result = Ok(());
                        for element in elements.iter() {
                            match (self.from_tape)(element) {
                                Ok(record) => out.push(record),
                                Err(e) => {
                                    out.truncate(before);
                                    result = Err(explain_record::<S>(bytes, true, &e));
                                    break;
                                }
                            }
                        }
                        result
                    }
                    None => match (self.from_tape)(value) {
                        Ok(record) => {
                            out.push(record);
                            Ok(())
                        }
                        Err(e) => Err(explain_record::<S>(bytes, false, &e)),
                    },
                }
            }
        };
        self.tape = Some(tape.reset());
        result
    }
}

/// A record `from_tape` rejected, explained by serde; of kind `Type` with
/// `from_tape`'s message if serde accepts it.
fn explain_record<T: DeserializeOwned>(bytes: &[u8], array: bool, error: &dyn Display) -> FormatError {
    explain_or::<T>(bytes, array, || {
        FormatError::new(FormatErrorKind::Type, error.to_string())
    })
}

impl<T, F, S, E> Deserializer<T> for JsonTapeDeserializer<T, F, S>
where
    T: Send,
    S: DeserializeOwned,
    F: for<'t, 'i> FnMut(Value<'t, 'i>) -> Result<T, E> + Send,
    E: Display,
{
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        self.decode(bytes, out)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use simd_json::prelude::*;

    use super::*;
    use weir_connector_api::format::FormatErrorKind;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Item {
        n: i64,
        s: String,
    }

    fn item(v: Value<'_, '_>) -> Result<Item, &'static str> {
        match (v.get_i64("n"), v.get_str("s")) {
            (Some(n), Some(s)) => Ok(Item { n, s: s.to_owned() }),
            _ => Err("not an item"),
        }
    }

    #[test]
    fn records_arrays_blanks_and_errors() {
        let mut json = JsonTapeDeserializer::new(JsonOptions::default(), item);
        let mut out = Vec::new();
        json.deserialize(br#"{"n":1,"s":"a\"b","x":[1,{"y":2}]}"#, &mut out)
            .unwrap();
        json.deserialize(b" \r\n", &mut out).unwrap();
        json.deserialize(
            "\u{feff}[{\"n\":2,\"s\":\"\u{e9}\"},{\"n\":3,\"s\":\"\"}]".as_bytes(),
            &mut out,
        )
        .unwrap();
        let long = format!(r#"{{"n":4,"s":"{}"}}"#, "z".repeat(10_000));
        json.deserialize(long.as_bytes(), &mut out).unwrap();
        json.deserialize(br#"{"n":5,"s":"short"}"#, &mut out).unwrap();
        let got: Vec<_> = out.iter().map(|i| (i.n, i.s.len())).collect();
        assert_eq!(got, vec![(1, 3), (2, 2), (3, 0), (4, 10_000), (5, 5)]);

        // One bad element: nothing of the array is kept, the error names the field.
        let before = out.len();
        let err = json
            .deserialize(br#"[{"n":6,"s":""},{"n":"7","s":""}]"#, &mut out)
            .unwrap_err();
        assert_eq!(out.len(), before);
        assert_eq!(err.kind, FormatErrorKind::Type);
        assert!(err.message.contains("field `[1].n`"), "{err}");
        let err = json.deserialize(br#"{"n":1,"s":"a""#, &mut out).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Syntax);
        let err = json.deserialize(br#"{"s":"a"}"#, &mut out).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::MissingField);
        // Still decoding after errors.
        json.deserialize(br#"{"n":8,"s":"x"}"#, &mut out).unwrap();
        assert_eq!(out.last(), Some(&Item { n: 8, s: "x".into() }));
    }

    #[test]
    fn options_apply() {
        let options = JsonOptions {
            max_record_bytes: 10,
            accept_arrays: false,
            ..JsonOptions::default()
        };
        let mut json = JsonTapeDeserializer::new(options, item);
        let err = json.deserialize(br#"{"n":1,"s":"abc"}"#, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Oversize);
        // An array is the record itself (and not an item here).
        let err = json.deserialize(br#"[1]"#, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Type);
    }
}
