//! Record schemas a user can read, keep and pass back.
//!
//! A [`Schema`] is a list of named, typed, nullable [`Field`]s with Flink SQL's type
//! names. It prints as a small JSON document ([`Schema::to_json`]) that is also the
//! value of the `schema` option (`schema = '{"fields":[...]}'`, read back with
//! [`Schema::parse`]), as a column list for a `CREATE TABLE` ([`Schema::to_ddl`]), and,
//! with the `arrow` feature, converts to and from an Arrow schema without loss.
//!
//! [`infer`] builds one from a sample message or the first lines of a file (seed 003:
//! "a schema is generated from one sample message").
//!
//! ```
//! use weir_format_json::schema::{infer_from_message, Schema};
//!
//! let schema = infer_from_message(br#"{"id": 7, "price": 1.5, "tags": ["a"], "at": "2024-01-01 00:00:00.1"}"#)?;
//! assert_eq!(
//!     schema.to_json(),
//!     r#"{"fields":[{"name":"id","type":"BIGINT","nullable":false},{"name":"price","type":"DOUBLE","nullable":false},{"name":"tags","type":{"ARRAY":"STRING"},"nullable":false},{"name":"at","type":"TIMESTAMP(3)","nullable":false}]}"#
//! );
//! assert_eq!(Schema::parse(&schema.to_json())?, schema);
//! assert_eq!(schema.to_ddl(), "id BIGINT NOT NULL, price DOUBLE NOT NULL, tags ARRAY<STRING> NOT NULL, at TIMESTAMP(3) NOT NULL");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "arrow")]
mod arrow;
pub mod infer;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use infer::{infer_from_lines, infer_from_message, infer_from_reader, InferOptions, SchemaInferrer};

/// Why a schema could not be read, inferred or converted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema text is not a schema document.
    #[error("invalid schema document: {0}")]
    Document(String),
    /// A sample message is not valid JSON or not an object.
    #[error("cannot infer a schema from sample {sample}: {message}")]
    Sample {
        /// Which sample (1-based line or message number).
        sample: usize,
        /// What is wrong with it.
        message: String,
    },
    /// There was no sample to infer from.
    #[error("no sample message to infer a schema from")]
    NoSample,
    /// An Arrow type this schema has no name for.
    #[error("field `{field}`: Arrow type {data_type} is not supported (use BOOLEAN, BIGINT, DOUBLE, STRING, TIMESTAMP(3), ARRAY or ROW)")]
    Unsupported {
        /// The field's name.
        field: String,
        /// The Arrow type.
        data_type: String,
    },
    /// Reading the sample failed.
    #[error("reading the sample: {0}")]
    Io(#[from] std::io::Error),
}

/// A record schema: named, typed fields in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The fields, in column order.
    pub fields: Vec<Field>,
}

/// One named field of a [`Schema`] or of a `ROW`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The field's name (the JSON key).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Whether it may be `null` or missing (SQL's default, `true`, when the document
    /// leaves it out).
    #[serde(default = "nullable_by_default")]
    pub nullable: bool,
}

fn nullable_by_default() -> bool {
    true
}

/// A field's type, named as in Flink SQL.
///
/// In the JSON document a plain type is its name (`"BIGINT"`), an array is
/// `{"ARRAY": element}` and a nested record is `{"ROW": [fields]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataType {
    /// `true` / `false` (Arrow `Boolean`).
    #[serde(rename = "BOOLEAN")]
    Boolean,
    /// A 64-bit signed integer (Arrow `Int64`).
    #[serde(rename = "BIGINT")]
    Bigint,
    /// A 64-bit float (Arrow `Float64`).
    #[serde(rename = "DOUBLE")]
    Double,
    /// UTF-8 text (Arrow `Utf8`).
    #[serde(rename = "STRING")]
    String,
    /// A timestamp without time zone, milliseconds (Arrow `Timestamp(Millisecond)`);
    /// in JSON a string such as `2024-01-01 00:00:00.123` or `2024-01-01T00:00:00Z`.
    #[serde(rename = "TIMESTAMP(3)")]
    Timestamp,
    /// An array of nullable elements of one type (Arrow `List`).
    #[serde(rename = "ARRAY")]
    Array(Box<DataType>),
    /// A nested record (Arrow `Struct`).
    #[serde(rename = "ROW")]
    Row(Vec<Field>),
}

impl Schema {
    /// Reads a schema document (the `schema` option's value).
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        serde_json::from_str(text).map_err(|e| SchemaError::Document(e.to_string()))
    }

    /// The schema as a one-line JSON document, the form [`parse`](Schema::parse) reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The schema as an indented JSON document, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The column list of a Flink SQL `CREATE TABLE` for this schema, e.g.
    /// `id BIGINT NOT NULL, tags ARRAY<STRING>`.
    pub fn to_ddl(&self) -> String {
        let mut out = String::new();
        write_fields(&self.fields, " ", &mut out);
        out
    }

    /// The field named `name`, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_type(self, &mut out);
        f.write_str(&out)
    }
}

fn write_fields(fields: &[Field], separator: &str, out: &mut String) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_plain_identifier(&field.name) {
            out.push_str(&field.name);
        } else {
            out.push('`');
            out.push_str(&field.name.replace('`', "``"));
            out.push('`');
        }
        out.push_str(separator);
        write_type(&field.data_type, out);
        if !field.nullable {
            out.push_str(" NOT NULL");
        }
    }
}

fn write_type(data_type: &DataType, out: &mut String) {
    match data_type {
        DataType::Boolean => out.push_str("BOOLEAN"),
        DataType::Bigint => out.push_str("BIGINT"),
        DataType::Double => out.push_str("DOUBLE"),
        DataType::String => out.push_str("STRING"),
        DataType::Timestamp => out.push_str("TIMESTAMP(3)"),
        DataType::Array(element) => {
            out.push_str("ARRAY<");
            write_type(element, out);
            out.push('>');
        }
        DataType::Row(fields) => {
            out.push_str("ROW<");
            write_fields(fields, " ", out);
            out.push('>');
        }
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_round_trip_and_defaults() {
        let text = r#"{"fields":[{"name":"a","type":{"ROW":[{"name":"b","type":{"ARRAY":"DOUBLE"}}]}},{"name":"odd name","type":"BOOLEAN","nullable":false}]}"#;
        let schema = Schema::parse(text).unwrap();
        assert!(schema.fields[0].nullable);
        assert_eq!(Schema::parse(&schema.to_json()).unwrap(), schema);
        assert_eq!(Schema::parse(&schema.to_json_pretty()).unwrap(), schema);
        assert_eq!(schema.to_ddl(), "a ROW<b ARRAY<DOUBLE>>, `odd name` BOOLEAN NOT NULL");
    }

    #[test]
    fn bad_documents_are_errors() {
        for text in [
            "",
            "{}",
            r#"{"fields":[{"name":"a","type":"INT"}]}"#,
            r#"{"fields":[],"x":1}"#,
        ] {
            assert!(matches!(Schema::parse(text), Err(SchemaError::Document(_))), "{text}");
        }
    }
}
