//! The idempotent sink pattern.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use weir_core::BoxError;
use weir_runtime::sink::{Sink, SinkContext, SinkWriter};

/// A store where writing the same key twice leaves one entry (an upsert).
pub trait KeyValueStore<K, V>: Send + Sync + 'static {
    /// Sets `key` to `value`.
    fn put(&self, key: K, value: V) -> Result<(), BoxError>;
}

/// Writes every record at once as `key -> value` into a key-value store.
///
/// With deterministic keys, replaying records after a failure overwrites entries
/// with the same values, so the store ends up exactly as if every record had been
/// written once, with low latency and no transactions. While the replay runs, keys
/// may briefly show older values again ("time travel") until the replay catches up.
/// Keys must not depend on when a record is processed (no wall-clock time, no
/// random ids).
pub struct IdempotentSink<T, K, V, S> {
    key: Arc<dyn Fn(&T) -> K + Send + Sync>,
    value: Arc<dyn Fn(&T) -> V + Send + Sync>,
    store: Arc<S>,
}

impl<T, K, V, S: KeyValueStore<K, V>> IdempotentSink<T, K, V, S> {
    /// A sink putting `key(record) -> value(record)` into `store`.
    pub fn new(
        store: Arc<S>,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        value: impl Fn(&T) -> V + Send + Sync + 'static,
    ) -> Self {
        IdempotentSink {
            key: Arc::new(key),
            value: Arc::new(value),
            store,
        }
    }
}

struct IdempotentWriter<T, K, V, S> {
    key: Arc<dyn Fn(&T) -> K + Send + Sync>,
    value: Arc<dyn Fn(&T) -> V + Send + Sync>,
    store: Arc<S>,
}

impl<T, K, V, S: KeyValueStore<K, V>> SinkWriter<T> for IdempotentWriter<T, K, V, S> {
    fn write(&mut self, record: T, _: Option<i64>) -> Result<(), BoxError> {
        self.store.put((self.key)(&record), (self.value)(&record))
    }
}

impl<T: 'static, K: 'static, V: 'static, S: KeyValueStore<K, V>> Sink<T> for IdempotentSink<T, K, V, S> {
    fn create_writer(&self, _: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        Ok(Box::new(IdempotentWriter {
            key: self.key.clone(),
            value: self.value.clone(),
            store: self.store.clone(),
        }))
    }
}

/// An in-process key-value store, for tests and examples of the idempotent pattern.
#[derive(Debug)]
pub struct MemoryKeyValueStore<K, V> {
    entries: Mutex<HashMap<K, V>>,
    writes: std::sync::atomic::AtomicU64,
}

impl<K, V> Default for MemoryKeyValueStore<K, V> {
    fn default() -> Self {
        MemoryKeyValueStore {
            entries: Mutex::new(HashMap::new()),
            writes: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> MemoryKeyValueStore<K, V> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of all entries.
    pub fn entries(&self) -> HashMap<K, V> {
        self.entries.lock().clone()
    }

    /// Number of puts so far (including overwrites).
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl<K, V> KeyValueStore<K, V> for MemoryKeyValueStore<K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    fn put(&self, key: K, value: V) -> Result<(), BoxError> {
        self.entries.lock().insert(key, value);
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
