//! Decode failures as [`FormatError`]s of the right kind, naming the field.
//!
//! The fast parser only says that a record failed; its error is then explained by
//! decoding the record again with `serde_json` and `serde_path_to_error`, which
//! classify the failure and give the path of the field (`bid.price`). That second
//! decode runs only for bad records.

use serde::de::DeserializeOwned;

use weir_connector_api::format::{FormatError, FormatErrorKind};

/// The failure of decoding `bytes` as `T` (or as `Vec<T>` if `array`), explained.
/// `fast` is the fast parser's message, used if `serde_json` accepts the record.
pub(crate) fn explain<T: DeserializeOwned>(bytes: &[u8], array: bool, fast: &dyn std::fmt::Display) -> FormatError {
    explain_or::<T>(bytes, array, || {
        FormatError::new(FormatErrorKind::Syntax, format!("invalid JSON: {fast}"))
    })
}

/// [`explain`], with `otherwise` the error if `serde_json` accepts the record.
pub(crate) fn explain_or<T: DeserializeOwned>(
    bytes: &[u8],
    array: bool,
    otherwise: impl FnOnce() -> FormatError,
) -> FormatError {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result = if array {
        serde_path_to_error::deserialize::<_, Vec<T>>(&mut deserializer).map(drop)
    } else {
        serde_path_to_error::deserialize::<_, T>(&mut deserializer).map(drop)
    };
    match result {
        Err(e) => classify(e.inner(), &e.path().to_string()),
        Ok(()) => match deserializer.end() {
            Err(e) => classify(&e, "."),
            Ok(()) => otherwise(),
        },
    }
}

fn classify(inner: &serde_json::Error, path: &str) -> FormatError {
    // Within the record: a one-line record (a JSON line) needs only the column.
    let at = match inner.line() {
        1 => format!("column {}", inner.column()),
        line => format!("line {line} column {}", inner.column()),
    };
    let text = strip_position(&inner.to_string());
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            FormatError::new(FormatErrorKind::Syntax, format!("invalid JSON at {at}: {text}"))
        }
        serde_json::error::Category::Data => {
            if let Some(field) = missing_field(&text) {
                let full = join(path, field);
                FormatError::new(
                    FormatErrorKind::MissingField,
                    format!("field `{full}` is missing (the object ends at {at})"),
                )
            } else {
                let field = if path == "." {
                    "the record".to_string()
                } else {
                    format!("field `{path}`")
                };
                FormatError::new(FormatErrorKind::Type, format!("{field} at {at}: {text}"))
            }
        }
        serde_json::error::Category::Io => FormatError::new(FormatErrorKind::Other, text),
    }
}

/// `missing field `x`` → `x`.
fn missing_field(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// serde_json appends " at line L column C"; the message says where itself.
fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// The record is over the size limit.
pub(crate) fn oversize(len: usize, max: usize, option: &str) -> FormatError {
    FormatError::new(
        FormatErrorKind::Oversize,
        format!("record of {len} bytes exceeds the limit of {max} bytes ({option})"),
    )
}
