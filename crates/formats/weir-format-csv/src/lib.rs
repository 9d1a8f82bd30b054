//! The CSV record format of Weir.
//!
//! * [`CsvDeserializer`]: CSV records into Rust structs (`serde`, the csv crate), by
//!   header name or by position; delimiter, quote, escape, comments and a null
//!   literal; every failure a [`FormatError`] of kind `Syntax`, `Type`,
//!   `MissingField` or `Oversize` naming the column.
//! * [`CsvSerializer`]: Rust values to CSV lines.
//!
//! Options (`format = 'csv'`) are listed in [`options::keys`]; `docs/formats.md`
//! describes them with the error messages a user sees.

mod deserializer;
mod factory;
pub mod options;
mod serializer;

pub use deserializer::{parse_header, CsvDeserializer};
pub use factory::CsvFormatFactory;
pub use options::{CsvOptions, Header};
pub use serializer::CsvSerializer;
pub use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
