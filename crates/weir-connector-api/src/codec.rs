//! Encoding of what connectors store in checkpoints (split positions, pending
//! transactions): bincode with serde, the encoding the runtime uses.

use serde::de::DeserializeOwned;
use serde::Serialize;
use weir_core::BoxError;

/// Encodes one state value.
pub fn encode_state<S: Serialize>(state: &S) -> Result<Vec<u8>, BoxError> {
    Ok(bincode::serde::encode_to_vec(state, bincode::config::standard())?)
}

/// Decodes one state value; `what` names it in the error (e.g. "the position of
/// kafka source 'orders'").
pub fn decode_state<S: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<S, BoxError> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(s, _)| s)
        .map_err(|e| format!("cannot restore {what} from the checkpoint: {e}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_error_context() {
        let bytes = encode_state(&("orders", 3u32, 42u64)).unwrap();
        let back: (String, u32, u64) = decode_state(&bytes, "a split").unwrap();
        assert_eq!(back, ("orders".to_string(), 3, 42));
        let error = decode_state::<(String, u32, u64)>(&bytes[..2], "the position of source 'x'").unwrap_err();
        assert!(error.to_string().contains("the position of source 'x'"), "{error}");
    }
}
