//! [`LiteralCache`]: what a function derives from a pattern argument (a translated
//! date-time pattern, a compiled regex), kept per distinct pattern text so that a
//! literal pattern is translated once, not once per batch.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// At most this many patterns are kept; a function called with ever new patterns
/// (a pattern column) starts over when the cache is full.
const CAPACITY: usize = 256;

/// Values derived from pattern texts, shared by every evaluation of a function.
pub(crate) struct LiteralCache<V> {
    map: Mutex<HashMap<String, Arc<V>>>,
}

impl<V> LiteralCache<V> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        LiteralCache {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key`, made by `make` the first time.
    pub(crate) fn get(&self, key: &str, make: impl FnOnce(&str) -> V) -> Arc<V> {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(value) = map.get(key) {
            return value.clone();
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        let value = Arc::new(make(key));
        map.insert(key.to_string(), value.clone());
        value
    }
}

impl<V> fmt::Debug for LiteralCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiteralCache")
    }
}

// A cache does not change what a function computes: functions that differ only
// in their caches are equal.
impl<V> PartialEq for LiteralCache<V> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<V> Eq for LiteralCache<V> {}

impl<V> Hash for LiteralCache<V> {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once() {
        let cache = LiteralCache::new();
        let mut made = 0;
        for _ in 0..3 {
            let v = cache.get("a", |k| {
                made += 1;
                k.len()
            });
            assert_eq!(*v, 1);
        }
        assert_eq!(made, 1);
        assert_eq!(*cache.get("bb", |k| k.len()), 2);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = LiteralCache::new();
        for i in 0..CAPACITY + 10 {
            assert_eq!(*cache.get(&i.to_string(), |_| i), i);
        }
        let len = cache.map.lock().map(|m| m.len()).unwrap_or(0);
        assert!(len <= CAPACITY, "{len}");
    }
}
