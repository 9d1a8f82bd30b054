//! Errors of state access, snapshots and restores.

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The same state name was used with two different types.
    #[error("state '{name}' is registered as {registered}, but was accessed as {requested}")]
    TypeMismatch {
        /// The state's name.
        name: String,
        /// The type it was registered with.
        registered: &'static str,
        /// The type of the failed access.
        requested: &'static str,
    },

    /// The same state name was used for two kinds of state (e.g. value and list).
    #[error("state '{name}' is a {registered} state, but was accessed as a {requested} state")]
    KindMismatch {
        /// The state's name.
        name: String,
        /// The kind it has.
        registered: &'static str,
        /// The kind of the failed access.
        requested: &'static str,
    },

    /// State stored with time-to-live timestamps was accessed through a descriptor
    /// without TTL, or the other way round.
    #[error(
        "state '{name}' {}; give its descriptor the same TTL setting as when it was written \
         (with_ttl or none), or start without this state",
        if *.stored_with_ttl {
            "was written with a time-to-live but is accessed without one"
        } else {
            "was written without a time-to-live but is accessed with one"
        }
    )]
    TtlMismatch {
        /// The state's name.
        name: String,
        /// Whether the stored state carries TTL timestamps.
        stored_with_ttl: bool,
    },

    /// A key reached a subtask that does not own its key group (the stream feeding
    /// the keyed operator was not partitioned by this key).
    #[error(
        "key group {key_group} does not belong to this subtask (it owns {start}..={end}); \
         keyed state needs the stream to be partitioned with key_by on the same key"
    )]
    KeyGroupOutOfRange {
        /// The key's group.
        key_group: usize,
        /// First owned group.
        start: usize,
        /// Last owned group.
        end: usize,
    },

    /// State could not be encoded.
    #[error("cannot serialize state '{name}': {message}")]
    Serialize {
        /// The state's name.
        name: String,
        /// What the encoder said.
        message: String,
    },

    /// Stored state could not be decoded (corrupt data, or the state's type changed).
    #[error("cannot restore state '{name}': {message}")]
    Restore {
        /// The state's name (or the part of the snapshot that failed).
        name: String,
        /// What the decoder said.
        message: String,
    },

    /// The state backend failed (RocksDB reported an error).
    #[error("state backend: {0}")]
    Backend(String),

    /// The state backend is configured wrongly.
    #[error("state backend configuration: {0}")]
    Config(String),

    /// Writing a snapshot failed.
    #[error("cannot write state snapshot: {0}")]
    Io(#[from] std::io::Error),
}
