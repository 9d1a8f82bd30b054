//! Typed access to one state's column family for the current key.

use super::options::rocks_error;
use crate::codec;
use crate::error::StateError;
use crate::format::{decode_elements, decode_prefix, encode_into};
use crate::keyed::current_key::CurrentKey;
use crate::keyed::Map;
use crate::ttl::{frames, push_frame, push_ts, split_ts, TtlNow, TS_BYTES};
use rocksdb::{ColumnFamily, Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::keygroup::KeyGroupRange;

/// Bytes of the key group prefix of every key.
pub(crate) const KEY_GROUP_BYTES: usize = 2;

/// One registered state of a RocksDB store: its column family and buffers.
pub(crate) struct RocksTable<K, S> {
    pub name: Arc<str>,
    pub column_family: String,
    key: RefCell<Vec<u8>>,
    value: Vec<u8>,
    scratch: Option<S>,
    _key: PhantomData<fn() -> K>,
}

impl<K, S> RocksTable<K, S> {
    pub(crate) fn new(name: Arc<str>, column_family: String) -> Self {
        RocksTable {
            name,
            column_family,
            key: RefCell::new(Vec::with_capacity(64)),
            value: Vec::with_capacity(64),
            scratch: None,
            _key: PhantomData,
        }
    }
}

/// A state's column family, opened for one access.
pub(crate) struct RocksAccess<'a, K, S> {
    pub db: &'a DB,
    pub cf: &'a ColumnFamily,
    pub write: &'a WriteOptions,
    pub range: KeyGroupRange,
    pub table: &'a mut RocksTable<K, S>,
    /// The write-back cache of a value-like state without TTL.
    pub cache: Option<&'a RefCell<super::write_cache::WriteCache>>,
    /// Set for TTL'd state: values are stored after their timestamp.
    pub ttl: Option<TtlNow>,
}

/// The first key after every key starting with `prefix` (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Writes the key group prefix and the encoded key into `out`.
pub(crate) fn encode_key<K: Serialize>(key: &CurrentKey<K>, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let key_group =
        u16::try_from(key.key_group()).map_err(|_| format!("key group {} is too large", key.key_group()))?;
    out.extend_from_slice(&key_group.to_be_bytes());
    encode_into(key.key(), out)
}

impl<K: Serialize + DeserializeOwned, S: Serialize + DeserializeOwned> RocksAccess<'_, K, S> {
    fn error(&self, action: &str, message: impl std::fmt::Display) -> StateError {
        rocks_error(format!("state '{}': cannot {action}: {message}", self.table.name))
    }

    /// Runs `f` with the current key's bytes (key group prefix + encoded key).
    fn with_key<R>(
        &self,
        key: &CurrentKey<K>,
        f: impl FnOnce(&mut Vec<u8>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        if !self.range.contains(key.key_group()) {
            return Err(StateError::KeyGroupOutOfRange {
                key_group: key.key_group(),
                start: self.range.start,
                end: self.range.end,
            });
        }
        let mut bytes = self.table.key.borrow_mut();
        encode_key(key, &mut bytes).map_err(|e| StateError::Serialize {
            name: self.table.name.to_string(),
            message: e,
        })?;
        f(&mut bytes)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, StateError> {
        codec::decode(bytes).map_err(|message| StateError::Restore {
            name: self.table.name.to_string(),
            message: format!("{message}; did the state's type change?"),
        })
    }

    fn read(&self, key: &[u8]) -> Result<Option<rocksdb::DBPinnableSlice<'_>>, StateError> {
        self.db.get_pinned_cf(self.cf, key).map_err(|e| self.error("read", e))
    }

    fn corrupt(&self, message: String) -> StateError {
        StateError::Restore {
            name: self.table.name.to_string(),
            message,
        }
    }

    fn delete_bytes(&self, k: &[u8]) -> Result<(), StateError> {
        if let Some(cache) = self.cache {
            return self.remember(cache, k, None, true);
        }
        self.db
            .delete_cf_opt(self.cf, k, self.write)
            .map_err(|e| self.error("delete", e))
    }

    /// Decodes the stamped value `bytes` stored under `k`: deletes it when it
    /// expired, renews its timestamp when `refresh`.
    fn decode_stamped<T: DeserializeOwned>(
        &self,
        k: &[u8],
        bytes: &[u8],
        ttl: TtlNow,
        refresh: bool,
    ) -> Result<Option<T>, StateError> {
        let (ts, value) = split_ts(bytes).map_err(|m| self.corrupt(m))?;
        if ttl.expired(ts) {
            self.delete_bytes(k)?;
            return Ok(None);
        }
        let decoded = self.decode(value)?;
        if refresh && ts != ttl.now {
            let mut renewed = Vec::with_capacity(bytes.len());
            push_ts(ttl.now, &mut renewed);
            renewed.extend_from_slice(value);
            self.put_bytes(k, &renewed)?;
        }
        Ok(Some(decoded))
    }

    /// Decodes a value read under `k`, stamped or not as the state is.
    fn decode_value<T: DeserializeOwned>(&self, k: &[u8], bytes: &[u8]) -> Result<Option<T>, StateError> {
        match self.ttl {
            None => self.decode(bytes).map(Some),
            Some(ttl) => self.decode_stamped(k, bytes, ttl, ttl.refresh),
        }
    }

    /// Puts what RocksDB holds for `k` (read by the caller) into the cache.
    fn remember(
        &self,
        cache: &RefCell<super::write_cache::WriteCache>,
        k: &[u8],
        value: Option<&[u8]>,
        dirty: bool,
    ) -> Result<(), StateError> {
        cache
            .borrow_mut()
            .insert(k, value, dirty, self.db, self.cf, self.write)
            .map_err(|e| self.error("write cached updates", e))
    }

    /// Whether the key has an entry.
    pub(crate) fn exists(&self, key: &CurrentKey<K>) -> Result<bool, StateError> {
        self.with_key(key, |k| {
            if let Some(cache) = self.cache {
                if let Some(cached) = cache.borrow().get(k) {
                    return Ok(cached.is_some());
                }
                let stored = self.read(k)?;
                self.remember(cache, k, stored.as_deref(), false)?;
                return Ok(stored.is_some());
            }
            Ok(self.read(k)?.is_some())
        })
    }

    /// The decoded value of the key.
    pub(crate) fn get(&self, key: &CurrentKey<K>) -> Result<Option<S>, StateError> {
        self.with_key(key, |k| {
            if let Some(cache) = self.cache {
                if let Some(cached) = cache.borrow().get(k) {
                    return cached.map(|bytes| self.decode(bytes)).transpose();
                }
                let stored = self.read(k)?;
                self.remember(cache, k, stored.as_deref(), false)?;
                return stored.map(|bytes| self.decode(&bytes)).transpose();
            }
            match self.read(k)? {
                Some(bytes) => self.decode_value(k, &bytes),
                None => Ok(None),
            }
        })
    }

    /// The value, decoded into the table's buffer.
    pub(crate) fn get_ref(&mut self, key: &CurrentKey<K>) -> Result<Option<&S>, StateError> {
        let value = self.get(key)?;
        self.table.scratch = value;
        Ok(self.table.scratch.as_ref())
    }

    /// Encodes a value with `encode` into the table's reusable buffer and hands
    /// the bytes to `store`.
    fn store(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
        store: impl FnOnce(&Self, &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let mut encoded = std::mem::take(&mut self.table.value);
        encoded.clear();
        let result = encode(&mut encoded)
            .map_err(|message| StateError::Serialize {
                name: self.table.name.to_string(),
                message,
            })
            .and_then(|()| store(self, &encoded));
        self.table.value = encoded;
        result
    }

    /// Writes `value` under the stored key `k`.
    fn put_bytes(&self, k: &[u8], value: &[u8]) -> Result<(), StateError> {
        if let Some(cache) = self.cache {
            return self.remember(cache, k, Some(value), true);
        }
        self.db
            .put_cf_opt(self.cf, k, value, self.write)
            .map_err(|e| self.error("write", e))
    }

    /// Sets the value of the key.
    pub(crate) fn put(&mut self, key: &CurrentKey<K>, value: &S) -> Result<(), StateError> {
        let ttl = self.ttl;
        self.store(
            |out| encode_stamped(value, ttl, out),
            |this, bytes| this.with_key(key, |k| this.put_bytes(k, bytes)),
        )
    }

    /// Removes the key's entry.
    pub(crate) fn delete(&mut self, key: &CurrentKey<K>) -> Result<(), StateError> {
        self.with_key(key, |k| self.delete_bytes(k))
    }
}

/// Encodes `value`, after `ttl`'s time when the state has a TTL.
fn encode_stamped<V: Serialize>(value: &V, ttl: Option<TtlNow>, out: &mut Vec<u8>) -> Result<(), String> {
    if let Some(ttl) = ttl {
        push_ts(ttl.now, out);
    }
    encode_into(value, out)
}

/// Encodes list elements, each framed with `ttl`'s time when the state has a TTL.
fn encode_elements<V: Serialize>(values: &[V], ttl: Option<TtlNow>, out: &mut Vec<u8>) -> Result<(), String> {
    match ttl {
        None => values.iter().try_for_each(|v| encode_into(v, out)),
        Some(ttl) => values
            .iter()
            .try_for_each(|v| push_frame(ttl.now, out, |out| encode_into(v, out))),
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> RocksAccess<'_, K, Vec<V>> {
    /// The list's elements (with a TTL, the unexpired ones; a read renews them
    /// when reads renew).
    pub(crate) fn list_get(&self, key: &CurrentKey<K>) -> Result<Vec<V>, StateError> {
        let mut list = Vec::new();
        let Some(ttl) = self.ttl else {
            self.with_key(key, |k| {
                if let Some(bytes) = self.read(k)? {
                    decode_elements(&bytes, &mut list).map_err(|message| StateError::Restore {
                        name: self.table.name.to_string(),
                        message: format!("{message}; did the state's type change?"),
                    })?;
                }
                Ok(())
            })?;
            return Ok(list);
        };
        self.ttl_list_read(key, ttl, ttl.refresh, |bytes| {
            list.push(self.decode(bytes)?);
            Ok(())
        })?;
        Ok(list)
    }

    /// Number of (unexpired) elements, without renewing them.
    pub(crate) fn list_len(&self, key: &CurrentKey<K>) -> Result<usize, StateError> {
        let Some(ttl) = self.ttl else {
            return Ok(self.list_get(key)?.len());
        };
        let mut n = 0;
        self.ttl_list_read(key, ttl, false, |_| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Visits the unexpired element bytes of the key's TTL'd list, rewriting it
    /// without its expired elements, and with renewed timestamps when `refresh`.
    fn ttl_list_read(
        &self,
        key: &CurrentKey<K>,
        ttl: TtlNow,
        refresh: bool,
        mut visit: impl FnMut(&[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        self.with_key(key, |k| {
            let Some(bytes) = self.read(k)? else {
                return Ok(());
            };
            let mut kept = Vec::new();
            let mut changed = false;
            for frame in frames(&bytes) {
                let frame = frame.map_err(|m| self.corrupt(format!("{m}; was the state written without TTL?")))?;
                if ttl.expired(frame.ts) {
                    changed = true;
                    continue;
                }
                visit(frame.element)?;
                if refresh && frame.ts != ttl.now {
                    changed = true;
                    push_ts(ttl.now, &mut kept);
                    kept.extend_from_slice(&frame.whole[TS_BYTES..]);
                } else {
                    kept.extend_from_slice(frame.whole);
                }
            }
            drop(bytes);
            match (changed, kept.is_empty()) {
                (false, _) => Ok(()),
                (true, true) => self.delete_bytes(k),
                (true, false) => self.put_bytes(k, &kept),
            }
        })
    }

    /// Appends elements without reading the list (a RocksDB merge).
    pub(crate) fn list_append(&mut self, key: &CurrentKey<K>, values: &[V]) -> Result<(), StateError> {
        let ttl = self.ttl;
        self.store(
            |out| encode_elements(values, ttl, out),
            |this, bytes| {
                this.with_key(key, |k| {
                    this.db
                        .merge_cf_opt(this.cf, k, bytes, this.write)
                        .map_err(|e| this.error("append to a list", e))
                })
            },
        )
    }

    /// Replaces the list.
    pub(crate) fn list_put(&mut self, key: &CurrentKey<K>, values: &[V]) -> Result<(), StateError> {
        let ttl = self.ttl;
        self.store(
            |out| encode_elements(values, ttl, out),
            |this, bytes| this.with_key(key, |k| this.put_bytes(k, bytes)),
        )
    }
}

impl<K, UK, UV> RocksAccess<'_, K, Map<UK, UV>>
where
    K: Serialize + DeserializeOwned,
    UK: Serialize + DeserializeOwned + std::hash::Hash + Eq,
    UV: Serialize + DeserializeOwned,
{
    fn with_user_key<R>(
        &self,
        key: &CurrentKey<K>,
        user_key: &UK,
        f: impl FnOnce(&[u8]) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        self.with_key(key, |k| {
            encode_into(user_key, k).map_err(|message| StateError::Serialize {
                name: self.table.name.to_string(),
                message,
            })?;
            f(k)
        })
    }

    /// The value of `user_key`.
    pub(crate) fn map_get(&self, key: &CurrentKey<K>, user_key: &UK) -> Result<Option<UV>, StateError> {
        self.with_user_key(key, user_key, |k| match self.read(k)? {
            Some(bytes) => self.decode_value(k, &bytes),
            None => Ok(None),
        })
    }

    /// Sets the value of `user_key`.
    pub(crate) fn map_put(&mut self, key: &CurrentKey<K>, user_key: &UK, value: &UV) -> Result<(), StateError> {
        let ttl = self.ttl;
        self.store(
            |out| encode_stamped(value, ttl, out),
            |this, bytes| this.with_user_key(key, user_key, |k| this.put_bytes(k, bytes)),
        )
    }

    /// Removes `user_key`, returning its value.
    pub(crate) fn map_remove(&mut self, key: &CurrentKey<K>, user_key: &UK) -> Result<Option<UV>, StateError> {
        self.with_user_key(key, user_key, |k| {
            let Some(bytes) = self.read(k)? else {
                return Ok(None);
            };
            let value = match self.ttl {
                None => Some(self.decode(&bytes)?),
                Some(ttl) => {
                    let (ts, value) = split_ts(&bytes).map_err(|m| self.corrupt(m))?;
                    if ttl.expired(ts) {
                        None
                    } else {
                        Some(self.decode(value)?)
                    }
                }
            };
            drop(bytes);
            self.delete_bytes(k)?;
            Ok(value)
        })
    }

    /// Visits every entry of the key's map (raw user key and value bytes).
    fn scan(
        &self,
        key: &CurrentKey<K>,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        self.with_key(key, |prefix| {
            let mut options = ReadOptions::default();
            if let Some(end) = prefix_end(prefix) {
                options.set_iterate_upper_bound(end);
            }
            let iterator = self
                .db
                .iterator_cf_opt(self.cf, options, IteratorMode::From(prefix, Direction::Forward));
            for entry in iterator {
                let (k, v) = entry.map_err(|e| self.error("read", e))?;
                if !k.starts_with(prefix) {
                    break;
                }
                visit(&k[prefix.len()..], &v)?;
            }
            Ok(())
        })
    }

    /// Visits the unexpired entries of the key's map (raw user key and value
    /// bytes without timestamp). With a TTL, expired entries are deleted and, with
    /// `refresh`, the visited ones renewed.
    fn scan_live(
        &self,
        key: &CurrentKey<K>,
        refresh: bool,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let Some(ttl) = self.ttl else {
            return self.scan(key, visit);
        };
        let mut prefix = Vec::new();
        self.with_key(key, |k| {
            prefix.extend_from_slice(k);
            Ok(())
        })?;
        let mut batch = WriteBatch::default();
        let mut full = Vec::new();
        let mut renewed = Vec::new();
        self.scan(key, |user_key, value| {
            let (ts, rest) =
                split_ts(value).map_err(|m| self.corrupt(format!("{m}; was the state written without TTL?")))?;
            full.clear();
            full.extend_from_slice(&prefix);
            full.extend_from_slice(user_key);
            if ttl.expired(ts) {
                batch.delete_cf(self.cf, &full);
                return Ok(());
            }
            if refresh && ts != ttl.now {
                renewed.clear();
                push_ts(ttl.now, &mut renewed);
                renewed.extend_from_slice(rest);
                batch.put_cf(self.cf, &full, &renewed);
            }
            visit(user_key, rest)
        })?;
        if batch.is_empty() {
            return Ok(());
        }
        self.db
            .write_opt(batch, self.write)
            .map_err(|e| self.error("clean up expired entries", e))
    }

    /// All entries of the key's map (with a TTL, the unexpired ones).
    pub(crate) fn map_entries(&self, key: &CurrentKey<K>) -> Result<Vec<(UK, UV)>, StateError> {
        let mut entries = Vec::new();
        self.scan_live(key, self.ttl.is_some_and(|t| t.refresh), |user_key, value| {
            entries.push((self.decode(user_key)?, self.decode(value)?));
            Ok(())
        })?;
        Ok(entries)
    }

    /// Number of entries of the key's map (unexpired; not renewed).
    pub(crate) fn map_len(&self, key: &CurrentKey<K>) -> Result<usize, StateError> {
        let mut n = 0;
        self.scan_live(key, false, |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Removes the key's whole map.
    pub(crate) fn map_clear(&mut self, key: &CurrentKey<K>) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        let mut prefix = Vec::new();
        self.with_key(key, |k| {
            prefix.extend_from_slice(k);
            Ok(())
        })?;
        self.scan(key, |user_key, _| {
            let mut full = prefix.clone();
            full.extend_from_slice(user_key);
            batch.delete_cf(self.cf, full);
            Ok(())
        })?;
        self.db
            .write_opt(batch, self.write)
            .map_err(|e| self.error("delete", e))
    }
}

/// Splits a stored key into its key group and the rest.
pub(crate) fn split_key(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (group, rest) = bytes.split_first_chunk::<KEY_GROUP_BYTES>()?;
    Some((u16::from_be_bytes(*group) as usize, rest))
}

/// Decodes the record key at the front of a stored key's rest.
pub(crate) fn decode_key<K: DeserializeOwned>(rest: &[u8]) -> Result<K, String> {
    decode_prefix::<K>(rest).map(|(key, _)| key)
}
