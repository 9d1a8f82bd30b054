//! The backend-independent form of keyed state entries.
//!
//! Snapshots (checkpoints in the full format and savepoints) store every state as a
//! stream of `(key bytes, value bytes)` entries, each length-prefixed, so that any
//! backend can load them without knowing their types:
//!
//! | state kind | key bytes | value bytes |
//! | --- | --- | --- |
//! | value, reducing, aggregating | `enc(key)` | `enc(value)` |
//! | list | `enc(key)` | `enc(e1) enc(e2) …` (elements concatenated) |
//! | map | `enc(key) enc(user key)` | `enc(user value)` |
//!
//! State with a time-to-live prefixes every value (list: every element) with its
//! timestamp; see [`crate::ttl`] for that layout.
//!
//! `enc` is the bincode encoding of [`crate::codec`]. It is self-delimiting, so a
//! key's encoding is never a prefix of another key's: the RocksDB backend stores
//! exactly these bytes (after a two-byte key group prefix) and finds a key's map
//! entries by prefix.

use crate::codec;
use crate::keyed::Map;
use crate::ttl::{frames, push_frame, push_ts, split_ts, TtlValue};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;
use std::marker::PhantomData;

/// Appends one entry to a canonical entry stream.
pub(crate) fn push_entry(out: &mut Vec<u8>, key: &[u8], value: &[u8]) -> Result<(), String> {
    let klen = u32::try_from(key.len()).map_err(|_| format!("a key of {} bytes is too large", key.len()))?;
    let vlen = u32::try_from(value.len()).map_err(|_| format!("a value of {} bytes is too large", value.len()))?;
    out.extend_from_slice(&klen.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&vlen.to_le_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// The entries of a canonical entry stream, in order.
pub(crate) fn entries(mut bytes: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8]), String>> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], String> {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(format!(
                "truncated entry: {} bytes left where a length was expected",
                bytes.len()
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(format!("truncated entry: {len} bytes expected, {} left", rest.len()));
        }
        let (item, rest) = rest.split_at(len);
        *bytes = rest;
        Ok(item)
    }
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let entry = take(&mut bytes).and_then(|k| take(&mut bytes).map(|v| (k, v)));
        if entry.is_err() {
            bytes = &[];
        }
        Some(entry)
    })
}

/// Encodes `value` onto the end of `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Decodes a `T` from the front of `bytes`, returning it and the bytes it used.
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decodes concatenated list elements.
pub(crate) fn decode_elements<V: DeserializeOwned>(mut bytes: &[u8], into: &mut Vec<V>) -> Result<(), String> {
    while !bytes.is_empty() {
        let (element, used) = decode_prefix::<V>(bytes)?;
        if used == 0 {
            return Err("a list element decoded from zero bytes".into());
        }
        into.push(element);
        bytes = &bytes[used..];
    }
    Ok(())
}

/// How one kind of state turns into canonical entries and back (heap backend).
pub(crate) trait EntryFormat<K, S>: Send + Sync + 'static {
    /// Appends the canonical entries of `key`'s `entry` to `out`; `scratch` is a
    /// reusable buffer. Formats of TTL'd state leave out values stamped at or
    /// before `cutoff`; the others ignore it.
    fn write(key: &K, entry: &S, cutoff: Option<i64>, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), String>;
    /// Adds one canonical entry to `map`.
    fn read(key: &[u8], value: &[u8], map: &mut Map<K, S>) -> Result<(), String>;
}

/// Value, reducing and aggregating state: one entry per key.
pub(crate) struct ValueFormat;

impl<K, S> EntryFormat<K, S> for ValueFormat
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    S: Serialize + DeserializeOwned,
{
    fn write(key: &K, entry: &S, _cutoff: Option<i64>, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), String> {
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        encode_into(entry, scratch)?;
        push_entry(out, &scratch[..klen], &scratch[klen..])
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, S>) -> Result<(), String> {
        map.insert(codec::decode(key)?, codec::decode(value)?);
        Ok(())
    }
}

/// List state: one entry per key, elements concatenated.
pub(crate) struct ListFormat<V>(PhantomData<fn() -> V>);

impl<K, V> EntryFormat<K, Vec<V>> for ListFormat<V>
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    V: Serialize + DeserializeOwned + 'static,
{
    fn write(
        key: &K,
        entry: &Vec<V>,
        _cutoff: Option<i64>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        for element in entry {
            encode_into(element, scratch)?;
        }
        push_entry(out, &scratch[..klen], &scratch[klen..])
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, Vec<V>>) -> Result<(), String> {
        let list = map.entry(codec::decode(key)?).or_default();
        decode_elements(value, list)
    }
}

/// Map state: one entry per key and user key.
pub(crate) struct MapFormat<UK, UV>(PhantomData<fn() -> (UK, UV)>);

impl<K, UK, UV> EntryFormat<K, Map<UK, UV>> for MapFormat<UK, UV>
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    UK: Serialize + DeserializeOwned + Hash + Eq + 'static,
    UV: Serialize + DeserializeOwned + 'static,
{
    fn write(
        key: &K,
        entry: &Map<UK, UV>,
        _cutoff: Option<i64>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        for (user_key, user_value) in entry {
            scratch.truncate(klen);
            encode_into(user_key, scratch)?;
            let kend = scratch.len();
            encode_into(user_value, scratch)?;
            push_entry(out, &scratch[..kend], &scratch[kend..])?;
        }
        Ok(())
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, Map<UK, UV>>) -> Result<(), String> {
        let (k, used) = decode_prefix::<K>(key)?;
        let user_key: UK = codec::decode(&key[used..])?;
        map.entry(k).or_default().insert(user_key, codec::decode(value)?);
        Ok(())
    }
}

fn live(ts: i64, cutoff: Option<i64>) -> bool {
    cutoff.is_none_or(|cutoff| ts > cutoff)
}

/// TTL'd value, reducing and aggregating state: `ts enc(value)` per key.
pub(crate) struct TtlValueFormat;

impl<K, V> EntryFormat<K, TtlValue<V>> for TtlValueFormat
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    V: Serialize + DeserializeOwned,
{
    fn write(
        key: &K,
        entry: &TtlValue<V>,
        cutoff: Option<i64>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if !live(entry.ts, cutoff) {
            return Ok(());
        }
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        push_ts(entry.ts, scratch);
        encode_into(&entry.value, scratch)?;
        push_entry(out, &scratch[..klen], &scratch[klen..])
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, TtlValue<V>>) -> Result<(), String> {
        let (ts, value) = split_ts(value)?;
        map.insert(
            codec::decode(key)?,
            TtlValue {
                ts,
                value: codec::decode(value)?,
            },
        );
        Ok(())
    }
}

/// TTL'd list state: one entry per key, elements framed with their timestamps.
pub(crate) struct TtlListFormat<V>(PhantomData<fn() -> V>);

impl<K, V> EntryFormat<K, Vec<TtlValue<V>>> for TtlListFormat<V>
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    V: Serialize + DeserializeOwned + 'static,
{
    fn write(
        key: &K,
        entry: &Vec<TtlValue<V>>,
        cutoff: Option<i64>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        for element in entry.iter().filter(|e| live(e.ts, cutoff)) {
            push_frame(element.ts, scratch, |out| encode_into(&element.value, out))?;
        }
        if scratch.len() == klen {
            return Ok(());
        }
        push_entry(out, &scratch[..klen], &scratch[klen..])
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, Vec<TtlValue<V>>>) -> Result<(), String> {
        let list = map.entry(codec::decode(key)?).or_default();
        for frame in frames(value) {
            let frame = frame?;
            list.push(TtlValue {
                ts: frame.ts,
                value: codec::decode(frame.element)?,
            });
        }
        Ok(())
    }
}

/// TTL'd map state: one entry per key and user key, `ts enc(user value)`.
pub(crate) struct TtlMapFormat<UK, UV>(PhantomData<fn() -> (UK, UV)>);

impl<K, UK, UV> EntryFormat<K, Map<UK, TtlValue<UV>>> for TtlMapFormat<UK, UV>
where
    K: Serialize + DeserializeOwned + Hash + Eq,
    UK: Serialize + DeserializeOwned + Hash + Eq + 'static,
    UV: Serialize + DeserializeOwned + 'static,
{
    fn write(
        key: &K,
        entry: &Map<UK, TtlValue<UV>>,
        cutoff: Option<i64>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        scratch.clear();
        encode_into(key, scratch)?;
        let klen = scratch.len();
        for (user_key, user_value) in entry.iter().filter(|(_, v)| live(v.ts, cutoff)) {
            scratch.truncate(klen);
            encode_into(user_key, scratch)?;
            let kend = scratch.len();
            push_ts(user_value.ts, scratch);
            encode_into(&user_value.value, scratch)?;
            push_entry(out, &scratch[..kend], &scratch[kend..])?;
        }
        Ok(())
    }

    fn read(key: &[u8], value: &[u8], map: &mut Map<K, Map<UK, TtlValue<UV>>>) -> Result<(), String> {
        let (k, used) = decode_prefix::<K>(key)?;
        let user_key: UK = codec::decode(&key[used..])?;
        let (ts, value) = split_ts(value)?;
        map.entry(k).or_default().insert(
            user_key,
            TtlValue {
                ts,
                value: codec::decode(value)?,
            },
        );
        Ok(())
    }
}

/// Drops expired values from one canonical (or RocksDB) value of TTL'd state:
/// `None` when nothing of it is live, otherwise the bytes to keep (`value` itself
/// unless list elements were dropped).
pub(crate) fn retain_live<'a>(
    value: &'a [u8],
    list: bool,
    cutoff: i64,
    buffer: &'a mut Vec<u8>,
) -> Result<Option<&'a [u8]>, String> {
    if !list {
        let (ts, _) = split_ts(value)?;
        return Ok((ts > cutoff).then_some(value));
    }
    buffer.clear();
    let (kept, dropped) = crate::ttl::retain_frames(value, cutoff, buffer)?;
    Ok(match (kept, dropped) {
        (0, _) => None,
        (_, false) => Some(value),
        (_, true) => Some(&buffer[..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_streams_round_trip_and_reject_truncation() {
        let mut out = Vec::new();
        push_entry(&mut out, b"k1", b"value").unwrap();
        push_entry(&mut out, b"", b"v").unwrap();
        let read: Vec<_> = entries(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(read, vec![(&b"k1"[..], &b"value"[..]), (&b""[..], &b"v"[..])]);
        for cut in 1..out.len() {
            let result: Result<Vec<_>, _> = entries(&out[..cut]).collect();
            if cut != 4 + 2 + 4 + 5 {
                assert!(result.is_err(), "a stream cut at {cut} must not decode");
            }
        }
    }

    #[test]
    fn every_format_round_trips() {
        let mut scratch = Vec::new();
        let mut out = Vec::new();
        let list: Vec<String> = vec!["a".into(), "bc".into()];
        ListFormat::<String>::write(&7u32, &list, None, &mut scratch, &mut out).unwrap();
        let mut lists: Map<u32, Vec<String>> = Map::default();
        for e in entries(&out) {
            let (k, v) = e.unwrap();
            ListFormat::<String>::read(k, v, &mut lists).unwrap();
        }
        assert_eq!(lists.get(&7), Some(&list));

        out.clear();
        let mut m: Map<String, i64> = Map::default();
        m.insert("x".into(), -1);
        m.insert("y".into(), 2);
        MapFormat::<String, i64>::write(&"key".to_string(), &m, None, &mut scratch, &mut out).unwrap();
        let mut maps: Map<String, Map<String, i64>> = Map::default();
        let mut n = 0;
        for e in entries(&out) {
            let (k, v) = e.unwrap();
            MapFormat::<String, i64>::read(k, v, &mut maps).unwrap();
            n += 1;
        }
        assert_eq!(n, 2);
        assert_eq!(maps.get("key"), Some(&m));
    }
}
