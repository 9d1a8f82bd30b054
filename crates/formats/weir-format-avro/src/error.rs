//! apache-avro's errors as [`FormatError`]s of the right kind, naming the field.
//!
//! A record that fails to decode is decoded once more with `serde_path_to_error`
//! wrapped around the target type, which gives the path of the field that failed
//! (`bid.price`); that second decode runs only for bad records.

use std::cell::RefCell;
use std::marker::PhantomData;

use apache_avro::error::Details;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use weir_connector_api::format::{FormatError, FormatErrorKind};

/// The message of `e` with its sources (`Failed to read bytes: failed to fill whole buffer`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What kind of failure an apache-avro error is when decoding.
fn kind_of(details: &Details, message: &str) -> FormatErrorKind {
    match details {
        Details::DeserializeValue(text) if text.starts_with("missing field `") => FormatErrorKind::MissingField,
        Details::DeserializeValue(_)
        | Details::DeserializeSchemaAware { .. }
        | Details::DeserializeIdentifier(_)
        | Details::SerializeValue(_)
        | Details::SerializeValueWithSchema { .. }
        | Details::SerializeRecordUnknownFieldIndex { .. }
        | Details::SerializeRecordFieldWithSchema { .. }
        | Details::MissingDefaultForSkippedField { .. }
        | Details::SerializeTupleMissingElements { .. }
        | Details::Validation
        | Details::ValidationWithReason { .. }
        | Details::FindUnionVariant { .. }
        | Details::MapKeyType(_) => {
            if message.contains("missing field `") {
                FormatErrorKind::MissingField
            } else {
                FormatErrorKind::Type
            }
        }
        // Everything else comes from bytes that are not a datum of the schema:
        // truncated values, bad varints, union or enum indexes out of range,
        // invalid UTF-8, lengths over the allocation limit, headers that do not match.
        _ => FormatErrorKind::Syntax,
    }
}

/// A short name of `schema` for messages (`record nexmark.Bid`, `Long`).
fn describe(schema: &apache_avro::Schema) -> String {
    match schema.name() {
        Some(name) => format!(
            "{:?} {}",
            apache_avro::schema::SchemaKind::from(schema),
            name.fullname(None)
        ),
        None => format!("{:?}", apache_avro::schema::SchemaKind::from(schema)),
    }
}

/// apache-avro's message without the whole schema it prints, with a hint where the
/// cause is a known rule of its serde mapping.
fn message_of(e: &apache_avro::Error) -> String {
    let (schema, ty, value) = match e.details() {
        Details::DeserializeSchemaAware {
            value_type,
            value,
            schema,
        }
        | Details::SerializeValueWithSchema {
            value_type,
            value,
            schema,
        } => (schema, *value_type, value),
        Details::SerializeRecordFieldWithSchema {
            field_name,
            record_schema,
            error,
        } => {
            return format!(
                "field '{field_name}' of record {}: {error}",
                record_schema.name.fullname(None)
            )
        }
        _ => return chain(e),
    };
    let mut text = format!(
        "the schema has {} where the Rust type has a {ty}: {value}",
        describe(schema)
    );
    if ty == "struct" && schema.name().is_some() {
        text.push_str(
            " (apache-avro matches a struct to a record by name: the struct's name, or its #[serde(rename = \"...\")], must be the record's name without namespace)",
        );
    }
    text
}

/// `e` (from decoding) as a [`FormatError`]; `path` is where in the record it failed.
pub(crate) fn decode_error(e: &apache_avro::Error, path: &str) -> FormatError {
    let message = message_of(e);
    let kind = kind_of(e.details(), &message);
    let text = match kind {
        FormatErrorKind::MissingField => {
            let field = missing_field(&message).unwrap_or("?");
            return FormatError::new(
                kind,
                format!("field `{}` is missing from the record", join(path, field)),
            );
        }
        _ => message,
    };
    let at = if path.is_empty() || path == "." {
        "the record".to_string()
    } else {
        format!("field `{path}`")
    };
    let what = match kind {
        FormatErrorKind::Syntax => "invalid Avro data at",
        _ => "at",
    };
    FormatError::new(kind, format!("{what} {at}: {text}"))
}

/// `e` (from encoding) as a [`FormatError`] of kind `Type`.
pub(crate) fn encode_error(e: &apache_avro::Error, path: &str) -> FormatError {
    let message = message_of(e);
    let at = if path.is_empty() || path == "." {
        "the record".to_string()
    } else {
        format!("field `{path}`")
    };
    FormatError::new(
        FormatErrorKind::Type,
        format!("cannot encode {at} with the Avro schema: {message}"),
    )
}

/// `missing field `x`` → `x`.
fn missing_field(text: &str) -> Option<&str> {
    let at = text.find("missing field `")?;
    text[at + "missing field `".len()..].split('`').next()
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

thread_local! {
    /// The path of the last failure inside a [`Tracked`] decode on this thread.
    static PATH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// `T` decoded through `serde_path_to_error`, which notes where a failure happened.
pub(crate) struct Tracked<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Tracked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(_) => Ok(Tracked(PhantomData)),
            Err(e) => {
                let path = e.path().to_string();
                PATH.with(|p| *p.borrow_mut() = path);
                Err(e.into_inner())
            }
        }
    }
}

/// Runs `decode` (a decode of [`Tracked<T>`]) and returns the path of its failure.
pub(crate) fn failure_path<R>(decode: impl FnOnce() -> R) -> (R, String) {
    PATH.with(|p| p.borrow_mut().clear());
    let result = decode();
    let path = PATH.with(|p| std::mem::take(&mut *p.borrow_mut()));
    (result, path)
}

/// A `serde::Serialize` wrapper noting where serialization failed.
pub(crate) fn serialize_path<T: serde::Serialize>(
    value: &T,
    write: impl FnOnce(&TrackedSer<'_, T>) -> Result<(), apache_avro::Error>,
) -> String {
    let tracked = TrackedSer(value);
    PATH.with(|p| p.borrow_mut().clear());
    let _ = write(&tracked);
    PATH.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// `T` serialized through `serde_path_to_error`.
pub(crate) struct TrackedSer<'a, T>(&'a T);

impl<T: serde::Serialize> serde::Serialize for TrackedSer<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_path_to_error::serialize(self.0, serializer) {
            Ok(ok) => Ok(ok),
            Err(e) => {
                let path = e.path().to_string();
                PATH.with(|p| *p.borrow_mut() = path);
                Err(e.into_inner())
            }
        }
    }
}

/// The record is over the size limit.
pub(crate) fn oversize(len: usize, max: usize, option: &str) -> FormatError {
    FormatError::new(
        FormatErrorKind::Oversize,
        format!("record of {len} bytes exceeds the limit of {max} bytes ({option})"),
    )
}
