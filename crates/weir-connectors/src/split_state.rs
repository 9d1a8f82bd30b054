//! Encoding of source split states (positions stored in checkpoints).

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_core::BoxError;

/// Encodes one split's state.
pub(crate) fn encode<S: Serialize>(split: &S) -> Result<Vec<u8>, BoxError> {
    Ok(bincode::serde::encode_to_vec(split, bincode::config::standard())?)
}

/// Decodes the restored split states of a reader.
pub(crate) fn decode_all<S: DeserializeOwned>(restored: &[Vec<u8>], source: &str) -> Result<Vec<S>, BoxError> {
    restored
        .iter()
        .map(|bytes| {
            bincode::serde::decode_from_slice(bytes, bincode::config::standard())
                .map(|(s, _)| s)
                .map_err(|e| format!("cannot restore the position of {source}: {e}").into())
        })
        .collect()
}
