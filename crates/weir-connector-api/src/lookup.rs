//! Lookup sources: an external table read by key, to enrich a stream (a lookup
//! join: for each order, the customer's row in PostgreSQL or Redis).
//!
//! A connector implements [`LookupSource`]; [`CachedLookup`] puts a bounded cache
//! in front of it, with an expiry so changes in the table are seen after at most
//! that long, and caching of misses optional. Lookups are made from an operator's
//! task thread (e.g. in a `map` or `process` function holding the lookup).
//!
//! ```
//! use std::time::Duration;
//! use weir_connector_api::lookup::{CachedLookup, LookupSource};
//! use weir_connector_api::BoxError;
//!
//! struct Squares;
//! impl LookupSource<u32, u64> for Squares {
//!     fn lookup(&self, key: &u32) -> Result<Option<u64>, BoxError> {
//!         Ok((*key < 100).then(|| u64::from(*key) * u64::from(*key)))
//!     }
//! }
//!
//! let mut cached = CachedLookup::new(Squares, 1_000, Duration::from_secs(60));
//! assert_eq!(cached.get(&7).unwrap(), Some(49));
//! assert_eq!(cached.get(&7).unwrap(), Some(49));
//! assert_eq!(cached.get(&500).unwrap(), None);
//! assert_eq!((cached.hits(), cached.misses()), (1, 2));
//! ```

use lru::LruCache;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};
use weir_core::BoxError;

/// A table read by key.
pub trait LookupSource<K, V>: Send {
    /// The value stored under `key`, if any. Errors name the connector and the
    /// address (the caller retries or fails the job).
    fn lookup(&self, key: &K) -> Result<Option<V>, BoxError>;

    /// Several keys at once (one round trip where the system allows); the result
    /// has one entry per key, in order.
    fn lookup_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, BoxError> {
        keys.iter().map(|k| self.lookup(k)).collect()
    }
}

/// A [`LookupSource`] behind a bounded least-recently-used cache whose entries
/// expire.
pub struct CachedLookup<K: Hash + Eq, V, L> {
    source: L,
    cache: LruCache<K, (Instant, Option<V>)>,
    ttl: Duration,
    cache_misses: bool,
    hits: u64,
    misses: u64,
}

impl<K: Hash + Eq + Clone, V: Clone, L: LookupSource<K, V>> CachedLookup<K, V, L> {
    /// Caches up to `capacity` keys (at least 1) for `ttl` each; absent keys are
    /// cached too (see [`cache_missing_keys`](Self::cache_missing_keys)).
    pub fn new(source: L, capacity: usize, ttl: Duration) -> Self {
        CachedLookup {
            source,
            cache: LruCache::new(NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN)),
            ttl,
            cache_misses: true,
            hits: 0,
            misses: 0,
        }
    }

    /// Whether a key the table does not hold is remembered as absent (default) or
    /// asked again each time.
    pub fn cache_missing_keys(mut self, cache: bool) -> Self {
        self.cache_misses = cache;
        self
    }

    /// The value under `key`, from the cache while fresh, else from the source.
    pub fn get(&mut self, key: &K) -> Result<Option<V>, BoxError> {
        let now = Instant::now();
        if let Some((at, value)) = self.cache.get(key) {
            if now.duration_since(*at) < self.ttl {
                self.hits += 1;
                return Ok(value.clone());
            }
        }
        self.misses += 1;
        let value = self.source.lookup(key)?;
        if value.is_some() || self.cache_misses {
            self.cache.put(key.clone(), (now, value.clone()));
        } else {
            self.cache.pop(key);
        }
        Ok(value)
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that went to the source.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Drops every cached entry.
    pub fn clear(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(AtomicU32);
    impl LookupSource<u32, u32> for Counting {
        fn lookup(&self, key: &u32) -> Result<Option<u32>, BoxError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            if *key == 13 {
                return Err("connection refused".into());
            }
            Ok((*key).is_multiple_of(2).then_some(*key))
        }
    }

    #[test]
    fn expiry_capacity_and_errors() {
        let mut cached = CachedLookup::new(Counting(AtomicU32::new(0)), 2, Duration::ZERO);
        cached.get(&2).unwrap();
        cached.get(&2).unwrap();
        assert_eq!(cached.misses(), 2, "a zero ttl always asks the source");
        assert!(cached.get(&13).is_err());

        let mut cached =
            CachedLookup::new(Counting(AtomicU32::new(0)), 2, Duration::from_secs(3600)).cache_missing_keys(false);
        for key in [2, 4, 2, 6, 2, 1, 1] {
            cached.get(&key).unwrap();
        }
        // 2 and 4 miss; 2 hits; 6 misses (evicting 4); 2 hits; 1 misses twice (not cached).
        assert_eq!((cached.hits(), cached.misses()), (2, 5));
    }
}
