//! Stand-in for `weir_connector_api::format` until that crate lands (same shapes).

use std::fmt;

/// Decodes records from bytes.
pub trait Deserializer<T>: Send {
    /// Decodes one message or line into zero or more records appended to `out`.
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<T>) -> Result<(), FormatError>;
}

/// Encodes records to bytes.
pub trait Serializer<T>: Send {
    /// Appends `value`'s encoding to `out`.
    fn serialize(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), FormatError>;
}

/// What kind of decode or encode failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatErrorKind {
    /// Not well-formed.
    Syntax,
    /// A value of the wrong type.
    Type,
    /// A required field is missing.
    MissingField,
    /// Over the size limit.
    Oversize,
    /// Anything else.
    Other,
}

/// A decode or encode failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    kind: FormatErrorKind,
    message: String,
}

impl FormatError {
    /// A failure of `kind`.
    pub fn new(kind: FormatErrorKind, message: impl Into<String>) -> Self {
        FormatError {
            kind,
            message: message.into(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> FormatErrorKind {
        self.kind
    }

    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for FormatError {}
