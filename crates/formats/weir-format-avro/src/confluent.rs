//! The Confluent wire format: byte `0`, a 4-byte big-endian schema id, the datum.
//!
//! Schemas are given by the user as a map id → schema; there is no client for a
//! schema registry (no HTTP): ids not in the map are errors naming the id.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};

use crate::datum::{DatumReader, DatumWriter};
use crate::error::oversize;
use crate::options::{keys, ConfluentOptions};
use crate::schema::SchemaError;

/// The first byte of every message in the Confluent wire format.
pub const CONFLUENT_MAGIC: u8 = 0;

/// Decodes messages in the Confluent wire format into `T`, with the writer schema
/// the message's id names, out of the schemas the user gave
/// ([`ConfluentOptions::schemas`], `avro-confluent.schema.<id>`).
///
/// A message shorter than the 5-byte header or not starting with byte `0` is a
/// `Syntax` error; an id not among the schemas an `Other` error naming it (this format
/// has no schema-registry client); the datum decodes as in
/// [`AvroDeserializer`](crate::AvroDeserializer).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weir_format_avro::{ConfluentDeserializer, ConfluentOptions, ConfluentSerializer, Deserializer, Serializer};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let schema = r#"{"type":"record","name":"Bid","fields":[{"name":"auction","type":"long"},{"name":"price","type":"long"}]}"#;
/// let options = ConfluentOptions::new([(7, schema)])?;
/// let mut bytes = Vec::new();
/// ConfluentSerializer::<Bid>::new(&options)?.serialize(&Bid { auction: 1, price: 250 }, &mut bytes)?;
/// assert_eq!(bytes, [0, 0, 0, 0, 7, 2, 244, 3]);
/// let mut confluent = ConfluentDeserializer::<Bid>::new(&options)?;
/// let mut bids = Vec::new();
/// confluent.deserialize(&bytes, &mut bids)?;
/// assert_eq!(bids, [Bid { auction: 1, price: 250 }]);
/// let err = confluent.deserialize(&[0, 0, 0, 0, 8, 2, 244, 3], &mut bids).unwrap_err();
/// assert!(err.message.contains("schema id 8"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConfluentDeserializer<T> {
    readers: BTreeMap<u32, DatumReader>,
    max_record_bytes: usize,
    _records: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ConfluentDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfluentDeserializer")
            .field("schema_ids", &self.readers.keys().collect::<Vec<_>>())
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl<T> ConfluentDeserializer<T> {
    /// A deserializer knowing the schemas of `options`.
    pub fn new(options: &ConfluentOptions) -> Result<Self, SchemaError> {
        let mut readers = BTreeMap::new();
        for (id, schema) in &options.schemas {
            readers.insert(*id, DatumReader::new(schema.clone())?);
        }
        Ok(ConfluentDeserializer {
            readers,
            max_record_bytes: options.max_record_bytes,
            _records: PhantomData,
        })
    }
}

/// The schema id and the datum of a message in the Confluent wire format.
pub(crate) fn split_frame(bytes: &[u8]) -> Result<(u32, &[u8]), FormatError> {
    match bytes {
        [CONFLUENT_MAGIC, a, b, c, d, datum @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), datum)),
        [CONFLUENT_MAGIC, ..] | [] => Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!(
                "not in the Confluent wire format: {} bytes are shorter than its 5-byte header",
                bytes.len()
            ),
        )),
        [first, ..] => Err(FormatError::new(
            FormatErrorKind::Syntax,
            format!("not in the Confluent wire format: the first byte is {first}, not the magic byte 0"),
        )),
    }
}

impl<T: DeserializeOwned> ConfluentDeserializer<T> {
    /// Decodes one message into one record.
    pub fn decode(&self, bytes: &[u8]) -> Result<T, FormatError> {
        if bytes.len() > self.max_record_bytes {
            return Err(oversize(
                bytes.len(),
                self.max_record_bytes,
                keys::CONFLUENT_MAX_RECORD_BYTES,
            ));
        }
        let (id, datum) = split_frame(bytes)?;
        let Some(reader) = self.readers.get(&id) else {
            return Err(FormatError::new(
                FormatErrorKind::Other,
                format!(
                    "schema id {id} is not among the schemas given ({:?}; option {}<id>): this format has no schema-registry client",
                    self.readers.keys().collect::<Vec<_>>(),
                    keys::CONFLUENT_SCHEMA_PREFIX
                ),
            ));
        };
        reader.decode(datum)
    }
}

impl<T: DeserializeOwned> Deserializer<T> for ConfluentDeserializer<T> {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError> {
        out.push(self.decode(bytes)?);
        Ok(())
    }
}

/// Encodes values in the Confluent wire format with the schema of
/// [`ConfluentOptions::write_schema_id`] (`avro-confluent.write-schema-id`; the one
/// schema when only one is given). The id must be the one the schema has in the
/// registry the readers use; this format does not register schemas.
pub struct ConfluentSerializer<T> {
    writer: DatumWriter,
    header: [u8; 5],
    _records: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for ConfluentSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfluentSerializer")
            .field("header", &self.header)
            .finish()
    }
}

impl<T> ConfluentSerializer<T> {
    /// A serializer writing with the schema of `options.write_schema_id()`.
    pub fn new(options: &ConfluentOptions) -> Result<Self, SchemaError> {
        let (id, schema) = options.write_schema()?;
        let id = id.to_be_bytes();
        Ok(ConfluentSerializer {
            writer: DatumWriter::new(schema.clone())?,
            header: [CONFLUENT_MAGIC, id[0], id[1], id[2], id[3]],
            _records: PhantomData,
        })
    }
}

impl<T: Serialize> Serializer<T> for ConfluentSerializer<T> {
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        out.extend_from_slice(&self.header);
        self.writer.encode(value, out).inspect_err(|_| out.truncate(start))
    }
}
