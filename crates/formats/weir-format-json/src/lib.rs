//! The JSON record format of Weir.
//!
//! * [`JsonDeserializer`]: JSON messages or lines into Rust structs (`serde`), parsed
//!   by simd-json; every failure a [`FormatError`] of kind `Syntax`, `Type`,
//!   `MissingField` or `Oversize` naming the field.
//! * [`JsonTapeDeserializer`]: the same, but records built by a function over
//!   simd-json's tape instead of serde (the fastest path; serde still explains the
//!   records that fail).
//! * [`JsonSerializer`]: Rust values to JSON lines.
//! * [`schema`]: a [`Schema`](schema::Schema) inferred from sample messages or the
//!   head of a file, printed as a JSON document a user keeps and passes back as the
//!   `schema` option (and, with the `arrow` feature, converted to an Arrow schema).
//! * `arrow` feature: `JsonArrowDecoder`, JSON lines into
//!   Arrow `RecordBatch`es of a given schema and batch size (arrow-json).
//!
//! Options (`format = 'json'`) are listed in [`options::keys`]; `docs/formats.md`
//! describes them with the error messages a user sees.

#[cfg(feature = "arrow")]
mod arrow_decoder;
mod depth;
mod deserializer;
mod error;
mod factory;
mod lines;
pub mod options;
pub mod schema;
mod serializer;
mod tape_deserializer;

#[cfg(feature = "arrow")]
pub use arrow_decoder::JsonArrowDecoder;
pub use depth::MAX_DEPTH;
pub use deserializer::JsonDeserializer;
pub use factory::JsonFormatFactory;
pub use lines::lines;
pub use options::JsonOptions;
pub use serializer::JsonSerializer;
/// simd-json, whose tape [`JsonTapeDeserializer`] hands its decoding function.
pub use simd_json;
pub use tape_deserializer::JsonTapeDeserializer;
pub use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
