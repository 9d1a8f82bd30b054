//! Avro schemas given as JSON text.

use apache_avro::Schema;
use thiserror::Error;

/// A schema that cannot be used.
#[derive(Debug, Error)]
#[error("invalid Avro schema: {message}")]
pub struct SchemaError {
    /// What is wrong with it.
    pub message: String,
}

/// Parses an Avro schema from its JSON text (`{"type": "record", ...}`, or a
/// primitive type name such as `"long"`).
///
/// ```
/// let schema = weir_format_avro::parse_schema(r#"{"type":"record","name":"Bid","fields":[{"name":"price","type":"long"}]}"#)?;
/// assert_eq!(schema.name().map(|n| n.fullname(None)).as_deref(), Some("Bid"));
/// assert!(weir_format_avro::parse_schema(r#"{"type":"recrod"}"#).is_err());
/// # Ok::<(), weir_format_avro::SchemaError>(())
/// ```
pub fn parse_schema(text: &str) -> Result<Schema, SchemaError> {
    Schema::parse_str(text).map_err(|e| SchemaError {
        message: crate::error::chain(&e),
    })
}
