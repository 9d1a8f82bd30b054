//! The JSON format's options, typed, with the names of the `format = 'json'` string
//! options (close to Flink's JSON format).

/// `json.max-record-bytes`: the default limit, 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
/// `json.batch-size`: the default rows per Arrow batch.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Option names, as written in `WITH (...)` or passed to the format factory.
pub mod keys {
    /// `json.max-record-bytes`: a record (line or message) longer than this is an error
    /// of kind `Oversize` without being parsed. Default 1 MiB.
    pub const MAX_RECORD_BYTES: &str = "json.max-record-bytes";
    /// `json.accept-arrays`: a message that is a JSON array is decoded as one record per
    /// element (default `true`; `false` when the record type itself is an array).
    pub const ACCEPT_ARRAYS: &str = "json.accept-arrays";
    /// `json.batch-size`: rows per Arrow record batch (default 8192).
    pub const BATCH_SIZE: &str = "json.batch-size";
    /// `schema`: the record schema as a JSON document (see
    /// [`Schema`](crate::schema::Schema)); needed to decode into Arrow batches.
    pub const SCHEMA: &str = "schema";
}

/// How the JSON format decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonOptions {
    /// See [`keys::MAX_RECORD_BYTES`]. Default 1 MiB.
    pub max_record_bytes: usize,
    /// See [`keys::ACCEPT_ARRAYS`]. Default `true`.
    pub accept_arrays: bool,
    /// See [`keys::BATCH_SIZE`]. Default 8192.
    pub batch_size: usize,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            accept_arrays: true,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}
