//! A stable hash for keys.
//!
//! Key groups must be the same in every process, on every platform and in every Weir
//! release, or state written by one run would be read by the wrong subtask in the next.
//! Rust's `DefaultHasher` is randomly seeded and its algorithm may change, so Weir
//! feeds a key's [`Hash`] implementation into XXH3-64 with a fixed seed and writes
//! every integer in little-endian byte order, widening `usize`/`isize` to 64 bits.
//! The hash is XXH3 of exactly the bytes written, so it is defined independently of
//! how the hasher buffers them.

use std::hash::{Hash, Hasher};
use xxhash_rust::xxh3::{xxh3_64_with_seed, Xxh3};

/// Seed of the key hash. Changing it moves every key to another key group: never do.
const SEED: u64 = 0x5745_4952_4b45_5953; // "WEIRKEYS"

/// Bytes kept inline before the hasher switches to streaming.
const INLINE: usize = 64;

/// A [`Hasher`] whose output depends only on the bytes written, in a
/// platform-independent way. Short keys (up to 64 bytes) are hashed in one shot.
#[derive(Clone)]
pub struct StableHasher {
    inline: [u8; INLINE],
    len: usize,
    stream: Option<Box<Xxh3>>,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher {
            inline: [0; INLINE],
            len: 0,
            stream: None,
        }
    }
}

impl std::fmt::Debug for StableHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StableHasher").finish_non_exhaustive()
    }
}

impl StableHasher {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if let Some(stream) = &mut self.stream {
            stream.update(bytes);
        } else if self.len + bytes.len() <= INLINE {
            self.inline[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            let mut stream = Box::new(Xxh3::with_seed(SEED));
            stream.update(&self.inline[..self.len]);
            stream.update(bytes);
            self.stream = Some(stream);
        }
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        match &self.stream {
            Some(stream) => stream.digest(),
            None => xxh3_64_with_seed(&self.inline[..self.len], SEED),
        }
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.push(bytes);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.push(&[i]);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.push(&i.to_le_bytes());
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.push(&i.to_le_bytes());
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.push(&i.to_le_bytes());
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.push(&i.to_le_bytes());
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

    const GOLDEN: [u64; 4] = [
        17951686100065048478,
        6225525029582037765,
        10336038715513836623,
        13554935528181876358,
    ];

    /// Golden values: if this test fails, key groups moved and every existing
    /// checkpoint and savepoint would restore into the wrong subtasks.
    #[test]
    fn hash_is_stable_across_releases() {
        assert_eq!(stable_hash(&0u64), GOLDEN[0]);
        assert_eq!(stable_hash(&1u64), GOLDEN[1]);
        assert_eq!(stable_hash(&"hello"), GOLDEN[2]);
        assert_eq!(stable_hash(&(1u32, "a".to_string())), GOLDEN[3]);
    }

    #[test]
    fn long_keys_hash_like_their_bytes() {
        let long = "k".repeat(1_000);
        let mut h = StableHasher::default();
        h.write(long.as_bytes());
        assert_eq!(h.finish(), xxh3_64_with_seed(long.as_bytes(), SEED));
        // Buffering does not change the result: 40 + 40 bytes cross the inline limit.
        let mut h = StableHasher::default();
        h.write(&[1; 40]);
        h.write(&[2; 40]);
        let mut both = vec![1u8; 40];
        both.extend([2u8; 40]);
        assert_eq!(h.finish(), xxh3_64_with_seed(&both, SEED));
    }

    #[test]
    fn usize_hashes_like_u64() {
        assert_eq!(stable_hash(&7usize), stable_hash(&7u64));
        assert_eq!(stable_hash(&-7isize), stable_hash(&-7i64));
    }
}
