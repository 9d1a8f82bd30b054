//! The Avro record format of Weir, through [apache-avro](https://docs.rs/apache-avro).
//!
//! * [`AvroDeserializer`] / [`AvroSerializer`]: one Avro datum per message, written
//!   with a writer schema the user gives (`avro.schema`), either raw (the datum's bytes
//!   alone) or in Avro's single-object encoding (`C3 01`, the schema's 8-byte Rabin
//!   fingerprint, the datum), into and out of serde types.
//! * [`ConfluentDeserializer`] / [`ConfluentSerializer`]: the Confluent wire format
//!   (byte `0`, a 4-byte big-endian schema id, the datum), with the schemas given by
//!   the user as a map id → schema. There is **no schema-registry client**: a message
//!   whose id is not in the map is an error naming the id.
//! * [`AvroFileReader`]: Avro object container files (the header holds the schema),
//!   read whole or as a byte range of blocks (a split), with a resumable position.
//! * [`AvroFormatFactory`] / [`AvroConfluentFormatFactory`]: `format = 'avro'` and
//!   `format = 'avro-confluent'` for a registry, configured by the options of
//!   [`options::keys`].
//!
//! Records are decoded straight from the bytes into `T: DeserializeOwned` by the
//! writer schema (no intermediate `Value`). Fields are matched by name: fields of the
//! writer schema that `T` lacks are skipped, a field `T` needs that the writer schema
//! lacks is a `MissingField` error (unless `T` says `Option` or `#[serde(default)]`).
//! Every failure is a [`FormatError`] of kind `Syntax` (bytes that do not decode),
//! `Type` (the schema's value does not fit `T`'s field), `MissingField`, `Oversize` or
//! `Other` (an unknown schema id), naming the field (`bid.price`). Garbage input never
//! panics (`tests/it/malformed.rs`). `docs/formats.md` has the details.

mod confluent;
mod container;
mod datum;
mod error;
mod factory;
pub mod options;
mod schema;

pub use apache_avro::Schema;
pub use confluent::{ConfluentDeserializer, ConfluentSerializer, CONFLUENT_MAGIC};
pub use container::{AvroFileReader, ContainerError, FilePosition};
pub use datum::{AvroDeserializer, AvroSerializer, Framing};
pub use factory::{AvroConfluentFormatFactory, AvroFormatFactory};
pub use options::{AvroOptions, ConfluentOptions};
pub use schema::{parse_schema, SchemaError};
pub use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
