//! The Avro formats' options, typed, with the names of the `format = 'avro'` and
//! `format = 'avro-confluent'` string options.

use std::collections::BTreeMap;

use apache_avro::Schema;

use crate::datum::Framing;
use crate::schema::{parse_schema, SchemaError};

/// `avro.max-record-bytes` and `avro-confluent.max-record-bytes`: the default limit, 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
/// The default limit on one block of a container file (compressed or not), 64 MiB.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 64 << 20;

/// Option names, as written in `WITH (...)` or passed to the format factories.
pub mod keys {
    /// `avro.schema`: the writer schema as Avro's JSON schema text (required for
    /// `format = 'avro'`).
    pub const SCHEMA: &str = "avro.schema";
    /// `avro.encoding`: `raw` (the datum alone, default) or `single-object` (Avro's
    /// single-object encoding: `C3 01`, the schema's fingerprint, the datum).
    pub const ENCODING: &str = "avro.encoding";
    /// `avro.max-record-bytes`: a message longer than this is an `Oversize` error
    /// without being decoded. Default 1 MiB.
    pub const MAX_RECORD_BYTES: &str = "avro.max-record-bytes";
    /// `avro-confluent.schema.<id>`: the schema registered under id `<id>` (a
    /// decimal `u32`); one key per id the messages may carry.
    pub const CONFLUENT_SCHEMA_PREFIX: &str = "avro-confluent.schema.";
    /// `avro-confluent.write-schema-id`: the id the serializer writes (its schema is
    /// `avro-confluent.schema.<id>`); optional when exactly one schema is given.
    pub const CONFLUENT_WRITE_SCHEMA_ID: &str = "avro-confluent.write-schema-id";
    /// `avro-confluent.max-record-bytes`: as `avro.max-record-bytes`.
    pub const CONFLUENT_MAX_RECORD_BYTES: &str = "avro-confluent.max-record-bytes";
    /// `avro-confluent.url`: Flink's schema-registry address. Not supported (no
    /// registry client): giving it is an error saying so.
    pub const CONFLUENT_URL: &str = "avro-confluent.url";
}

/// How `format = 'avro'` reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct AvroOptions {
    /// The writer schema ([`keys::SCHEMA`]).
    pub schema: Schema,
    /// Raw datums or single-object encoding ([`keys::ENCODING`]).
    pub framing: Framing,
    /// See [`keys::MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
}

impl AvroOptions {
    /// Raw datums of the schema given as JSON text, with the default limit.
    pub fn new(schema: &str) -> Result<Self, SchemaError> {
        Ok(AvroOptions {
            schema: parse_schema(schema)?,
            framing: Framing::Raw,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        })
    }

    /// The same with `framing`.
    pub fn with_framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }
}

/// How `format = 'avro-confluent'` reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfluentOptions {
    /// The schemas by id ([`keys::CONFLUENT_SCHEMA_PREFIX`]).
    pub schemas: BTreeMap<u32, Schema>,
    /// The id the serializer writes ([`keys::CONFLUENT_WRITE_SCHEMA_ID`]).
    pub write_schema_id: Option<u32>,
    /// See [`keys::CONFLUENT_MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
}

impl ConfluentOptions {
    /// The schemas given as (id, JSON text) pairs, with the default limit.
    pub fn new<'a>(schemas: impl IntoIterator<Item = (u32, &'a str)>) -> Result<Self, SchemaError> {
        let mut parsed = BTreeMap::new();
        for (id, text) in schemas {
            let schema = parse_schema(text).map_err(|e| SchemaError {
                message: format!("schema id {id}: {}", e.message),
            })?;
            parsed.insert(id, schema);
        }
        Ok(ConfluentOptions {
            schemas: parsed,
            write_schema_id: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        })
    }

    /// The same, writing with schema id `id`.
    pub fn writing(mut self, id: u32) -> Self {
        self.write_schema_id = Some(id);
        self
    }

    /// The id and schema the serializer writes: [`Self::write_schema_id`], or the one
    /// schema if only one is given.
    pub fn write_schema(&self) -> Result<(u32, &Schema), SchemaError> {
        let id = match (self.write_schema_id, self.schemas.len()) {
            (Some(id), _) => id,
            (None, 1) => self.schemas.keys().next().copied().unwrap_or_default(),
            (None, n) => {
                return Err(SchemaError {
                    message: format!(
                        "{n} schemas are given: say which one to write with {}",
                        keys::CONFLUENT_WRITE_SCHEMA_ID
                    ),
                })
            }
        };
        match self.schemas.get(&id) {
            Some(schema) => Ok((id, schema)),
            None => Err(SchemaError {
                message: format!(
                    "no schema is given for the write schema id {id} (known ids: {:?})",
                    self.schemas.keys().collect::<Vec<_>>()
                ),
            }),
        }
    }
}
