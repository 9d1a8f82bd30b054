//! The binary encoding of state: bincode 2 with its standard configuration.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decodes a whole buffer into `T`; trailing bytes are an error.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, read) =
        bincode::serde::decode_from_slice::<T, _>(bytes, bincode::config::standard()).map_err(|e| e.to_string())?;
    if read != bytes.len() {
        return Err(format!("{} unexpected trailing bytes", bytes.len() - read));
    }
    Ok(value)
}
