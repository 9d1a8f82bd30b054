//! Errors of state access.

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The same state name was registered with two different types.
    #[error("state '{name}' is registered as {registered}, but was accessed as {requested}")]
    TypeMismatch {
        /// The state's name.
        name: String,
        /// The type it was registered with.
        registered: &'static str,
        /// The type of the failed access.
        requested: &'static str,
    },
}
