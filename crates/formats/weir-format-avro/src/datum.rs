//! One Avro datum per message: raw, or in Avro's single-object encoding.

use std::marker::PhantomData;

use apache_avro::error::Details;
use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::schema::{NamesRef, ResolvedSchema};
use apache_avro::{GenericSingleObjectReader, Schema};
use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};

use crate::error::{decode_error, encode_error, failure_path, oversize, serialize_path, Tracked};
use crate::options::{keys, AvroOptions};
use crate::schema::SchemaError;

/// How a datum is framed in a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// The datum's bytes alone (`avro.encoding = 'raw'`, the default).
    #[default]
    Raw,
    /// Avro's single-object encoding: `C3 01`, the writer schema's 8-byte CRC-64-AVRO
    /// (Rabin) fingerprint, little-endian, then the datum
    /// (`avro.encoding = 'single-object'`).
    SingleObject,
}

/// A reader of datums of one writer schema (resolved once), without a header.
pub(crate) struct DatumReader {
    reader: GenericSingleObjectReader,
}

impl DatumReader {
    pub(crate) fn new(schema: Schema) -> Result<Self, SchemaError> {
        let reader = GenericSingleObjectReader::builder()
            .schema(schema)
            .header(Vec::new())
            .build()
            .map_err(|e| SchemaError {
                message: crate::error::chain(&e),
            })?;
        Ok(DatumReader { reader })
    }

    /// Decodes one datum that must fill `bytes` exactly.
    pub(crate) fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, FormatError> {
        let mut input = bytes;
        let value = self.decode_from::<T>(&mut input)?;
        if input.is_empty() {
            Ok(value)
        } else {
            Err(FormatError::new(
                FormatErrorKind::Syntax,
                format!(
                    "invalid Avro data: {} of the {} bytes are left over after the record (was it written with another schema?)",
                    input.len(),
                    bytes.len()
                ),
            ))
        }
    }

    /// Decodes one datum from the front of `input`, advancing it.
    pub(crate) fn decode_from<T: DeserializeOwned>(&self, input: &mut &[u8]) -> Result<T, FormatError> {
        let start = *input;
        match self.reader.read_deser::<T>(input) {
            Ok(value) => Ok(value),
            // apache-avro 0.22's direct path cannot skip a field of record type that
            // `T` does not have; its `Value` path can (slower, used only then).
            Err(e) if matches!(e.details(), Details::DeserializeIdentifier(_)) => {
                *input = start;
                self.reader
                    .read_value(input)
                    .and_then(|value| apache_avro::from_value::<T>(&value))
                    .map_err(|_| self.explain::<T>(start, &e))
            }
            Err(e) => Err(self.explain::<T>(start, &e)),
        }
    }

    /// The failure `e` of decoding `bytes`, with the path of the field.
    fn explain<T: DeserializeOwned>(&self, bytes: &[u8], e: &apache_avro::Error) -> FormatError {
        let (again, path) = failure_path(|| self.reader.read_deser::<Tracked<T>>(&mut &bytes[..]));
        match again {
            Err(again) => decode_error(&again, &path),
            Ok(_) => decode_error(e, ""),
        }
    }
}

/// A writer of datums of one schema.
///
/// apache-avro's serde writer borrows the schema and its resolved names; a schema
/// without references to named types (the usual case) needs no names, so they are
/// resolved per record only for schemas with references.
pub(crate) struct DatumWriter {
    schema: Schema,
    has_refs: bool,
}

/// Whether `schema` refers to a named type by name.
fn has_refs(schema: &Schema) -> bool {
    match schema {
        Schema::Ref { .. } => true,
        Schema::Array(array) => has_refs(&array.items),
        Schema::Map(map) => has_refs(&map.types),
        Schema::Union(union) => union.variants().iter().any(has_refs),
        Schema::Record(record) => record.fields.iter().any(|field| has_refs(&field.schema)),
        _ => false,
    }
}

impl DatumWriter {
    pub(crate) fn new(schema: Schema) -> Result<Self, SchemaError> {
        // Checks that references resolve.
        ResolvedSchema::new(&schema).map_err(|e| SchemaError {
            message: crate::error::chain(&e),
        })?;
        Ok(DatumWriter {
            has_refs: has_refs(&schema),
            schema,
        })
    }

    /// Appends the datum of `value` to `out`; on error `out` is as it was.
    pub(crate) fn encode<T: Serialize>(&self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let resolved;
        let none = NamesRef::new();
        let names = if self.has_refs {
            resolved = ResolvedSchema::new(&self.schema).map_err(|e| encode_error(&e, ""))?;
            resolved.get_names()
        } else {
            &none
        };
        let start = out.len();
        if let Err(e) = apache_avro::write_avro_datum_ref(&self.schema, names, value, out) {
            out.truncate(start);
            let path = serialize_path(value, |tracked| {
                apache_avro::write_avro_datum_ref(&self.schema, names, tracked, &mut Vec::new()).map(drop)
            });
            return Err(encode_error(&e, &path));
        }
        Ok(())
    }
}

/// The single-object header (`C3 01` + fingerprint) of `schema`.
pub(crate) fn single_object_header(schema: &Schema) -> Vec<u8> {
    RabinFingerprintHeader::from_schema(schema).build_header()
}

/// Decodes one Avro datum per message into `T` with serde, by the writer schema of the
/// options (`avro.schema`), raw or in the single-object encoding ([`Framing`]).
///
/// A message longer than `avro.max-record-bytes` is an `Oversize` error without being
/// decoded; bytes left over after the datum are a `Syntax` error (usually a message
/// written with another schema); a single-object message whose fingerprint is not the
/// schema's is a `Type` error.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weir_format_avro::{AvroDeserializer, AvroOptions, AvroSerializer, Deserializer, Serializer};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let options = AvroOptions::new(r#"{"type":"record","name":"Bid","fields":[
///     {"name":"auction","type":"long"},{"name":"price","type":"long"}]}"#)?;
/// let mut bytes = Vec::new();
/// AvroSerializer::<Bid>::new(&options)?.serialize(&Bid { auction: 1, price: 250 }, &mut bytes)?;
/// assert_eq!(bytes, [2, 244, 3]);
/// let mut bids = Vec::new();
/// AvroDeserializer::<Bid>::new(&options)?.deserialize(&bytes, &mut bids)?;
/// assert_eq!(bids, [Bid { auction: 1, price: 250 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AvroDeserializer<T> {
    reader: DatumReader,
    header: Option<Vec<u8>>,
    max_record_bytes: usize,
    _records: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for AvroDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroDeserializer")
            .field("single_object", &self.header.is_some())
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl<T> AvroDeserializer<T> {
    /// A deserializer of datums written with `options.schema`.
    pub fn new(options: &AvroOptions) -> Result<Self, SchemaError> {
        Ok(AvroDeserializer {
            reader: DatumReader::new(options.schema.clone())?,
            header: (options.framing == Framing::SingleObject).then(|| single_object_header(&options.schema)),
            max_record_bytes: options.max_record_bytes,
            _records: PhantomData,
        })
    }
}

impl<T: DeserializeOwned> AvroDeserializer<T> {
    /// Decodes one message into one record.
    pub fn decode(&self, bytes: &[u8]) -> Result<T, FormatError> {
        if bytes.len() > self.max_record_bytes {
            return Err(oversize(bytes.len(), self.max_record_bytes, keys::MAX_RECORD_BYTES));
        }
        let datum = match &self.header {
            None => bytes,
            Some(header) => strip_single_object_header(bytes, header)?,
        };
        self.reader.decode(datum)
    }
}

/// The datum after a single-object header, which must be `expected`.
fn strip_single_object_header<'a>(bytes: &'a [u8], expected: &[u8]) -> Result<&'a [u8], FormatError> {
    if bytes.len() < 2 || bytes[..2] != [0xC3, 0x01] {
        return Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!(
                "not in Avro's single-object encoding: it starts with {:02X?}, not C3 01",
                &bytes[..bytes.len().min(2)]
            ),
        ));
    }
    if bytes.len() < expected.len() {
        return Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!("{} bytes are too short for a single-object header", bytes.len()),
        ));
    }
    if bytes[..expected.len()] != *expected {
        return Err(FormatError::new(
            FormatErrorKind::Type,
            format!(
                "written with another schema: its fingerprint is {:02X?}, the schema of avro.schema has {:02X?}",
                &bytes[2..expected.len()],
                &expected[2..]
            ),
        ));
    }
    Ok(&bytes[expected.len()..])
}

impl<T: DeserializeOwned> Deserializer<T> for AvroDeserializer<T> {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        out.push(self.decode(bytes)?);
        Ok(())
    }
}

/// Encodes values as one Avro datum per message with the schema of the options,
/// raw or in the single-object encoding. A value that does not fit the schema is a
/// `Type` error naming the field, and leaves the output as it was.
pub struct AvroSerializer<T> {
    writer: DatumWriter,
    header: Vec<u8>,
    _records: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for AvroSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSerializer")
            .field("single_object", &!self.header.is_empty())
            .finish()
    }
}

impl<T> AvroSerializer<T> {
    /// A serializer writing with `options.schema` in `options.framing`.
    pub fn new(options: &AvroOptions) -> Result<Self, SchemaError> {
        let header = match options.framing {
            Framing::Raw => Vec::new(),
            Framing::SingleObject => single_object_header(&options.schema),
        };
        Ok(AvroSerializer {
            writer: DatumWriter::new(options.schema.clone())?,
            header,
            _records: PhantomData,
        })
    }
}

impl<T: Serialize> Serializer<T> for AvroSerializer<T> {
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        out.extend_from_slice(&self.header);
        self.writer.encode(value, out).inspect_err(|_| out.truncate(start))
    }
}
