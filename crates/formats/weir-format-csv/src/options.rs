//! The CSV format's options, typed, with the names of the `format = 'csv'` string
//! options (Flink's CSV format names where Flink has one).

/// `csv.max-record-bytes`: the default limit, 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Option names, as written in `WITH (...)` or passed to the format factory.
pub mod keys {
    /// `csv.field-delimiter` (Flink): one character, default `,` (`\t` for tab).
    pub const FIELD_DELIMITER: &str = "csv.field-delimiter";
    /// `csv.quote-character` (Flink): default `"`.
    pub const QUOTE_CHARACTER: &str = "csv.quote-character";
    /// `csv.disable-quote-character` (Flink): `true` reads quotes as ordinary
    /// characters and never quotes when writing. Default `false`.
    pub const DISABLE_QUOTE_CHARACTER: &str = "csv.disable-quote-character";
    /// `csv.escape-character` (Flink): a character that escapes the next one inside
    /// quotes (e.g. `\`); by default none (quotes are escaped by doubling them).
    pub const ESCAPE_CHARACTER: &str = "csv.escape-character";
    /// `csv.allow-comments` (Flink): `true` skips lines starting with `#`. Default
    /// `false`.
    pub const ALLOW_COMMENTS: &str = "csv.allow-comments";
    /// `csv.null-literal` (Flink): a field with exactly this text is null (`None` for
    /// an `Option` field); by default only an empty field is.
    pub const NULL_LITERAL: &str = "csv.null-literal";
    /// `csv.header`: the column names, as a header line in the same format
    /// (`id,name,price`); fields are then matched to struct fields by name.
    pub const HEADER: &str = "csv.header";
    /// `csv.header-from-first-line`: `true` reads the column names from the first
    /// record the deserializer sees (the first line of a file) instead of decoding
    /// it. Default `false`: without a header, fields are matched by position.
    pub const HEADER_FROM_FIRST_LINE: &str = "csv.header-from-first-line";
    /// `csv.write-header`: the serializer writes the header line (from the struct's
    /// field names) before its first record. Default `false`.
    pub const WRITE_HEADER: &str = "csv.write-header";
    /// `csv.max-record-bytes`: a record longer than this is an error of kind
    /// `Oversize`. Default 1 MiB.
    pub const MAX_RECORD_BYTES: &str = "csv.max-record-bytes";
}

/// Where the column names come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// None: fields are matched to struct fields by position.
    #[default]
    None,
    /// These column names.
    Names(Vec<String>),
    /// The first record seen.
    FirstLine,
}

/// How the CSV format reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// See [`keys::FIELD_DELIMITER`].
    pub delimiter: u8,
    /// See [`keys::QUOTE_CHARACTER`].
    pub quote: u8,
    /// `false` with [`keys::DISABLE_QUOTE_CHARACTER`].
    pub quoting: bool,
    /// See [`keys::ESCAPE_CHARACTER`].
    pub escape: Option<u8>,
    /// See [`keys::ALLOW_COMMENTS`]: the comment character.
    pub comment: Option<u8>,
    /// See [`keys::NULL_LITERAL`].
    pub null_literal: Option<String>,
    /// See [`keys::HEADER`] and [`keys::HEADER_FROM_FIRST_LINE`].
    pub header: Header,
    /// See [`keys::WRITE_HEADER`].
    pub write_header: bool,
    /// See [`keys::MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            quoting: true,
            escape: None,
            comment: None,
            null_literal: None,
            header: Header::None,
            write_header: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}
