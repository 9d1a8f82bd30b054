//! A stable hash for keys.
//!
//! Key groups must be the same in every process, on every platform and in every Weir
//! release, or state written by one run would be read by the wrong subtask in the next.
//! Rust's `DefaultHasher` is randomly seeded and its algorithm may change, so Weir
//! feeds a key's [`Hash`] implementation into xxHash64 with a fixed seed and writes every
//! integer in little-endian byte order, widening `usize`/`isize` to 64 bits.

use std::hash::{Hash, Hasher};
use xxhash_rust::xxh64::Xxh64;

/// Seed of the key hash. Changing it moves every key to another key group: never do.
const SEED: u64 = 0x5745_4952_4b45_5953; // "WEIRKEYS"

/// A [`Hasher`] whose output depends only on the bytes written, in a
/// platform-independent way.
#[derive(Clone)]
pub struct StableHasher {
    inner: Xxh64,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher {
            inner: Xxh64::new(SEED),
        }
    }
}

impl std::fmt::Debug for StableHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StableHasher").finish_non_exhaustive()
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.inner.digest()
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.inner.update(&[i]);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.inner.update(&i.to_le_bytes());
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.inner.update(&i.to_le_bytes());
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.inner.update(&i.to_le_bytes());
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.inner.update(&i.to_le_bytes());
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }
    #[inline]
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }
    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }
}

/// The stable 64-bit hash of `key`.
#[inline]
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values: if this test fails, key groups moved and every existing
    /// checkpoint and savepoint would restore into the wrong subtasks.
    #[test]
    fn hash_is_stable_across_releases() {
        assert_eq!(stable_hash(&0u64), 6280885159571706675);
        assert_eq!(stable_hash(&1u64), 8800505775604808815);
        assert_eq!(stable_hash(&"hello"), 10860014095504637658);
        assert_eq!(stable_hash(&(1u32, "a".to_string())), 18042908885561147055);
    }

    #[test]
    fn usize_hashes_like_u64() {
        assert_eq!(stable_hash(&7usize), stable_hash(&7u64));
        assert_eq!(stable_hash(&-7isize), stable_hash(&-7i64));
    }
}
