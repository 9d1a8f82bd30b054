//! Key groups: the unit in which keyed state is partitioned and redistributed.
//!
//! A job's keyed operators have a *maximum parallelism* `M` (default
//! [`DEFAULT_MAX_PARALLELISM`]). Every key belongs to key group
//! `stable_hash(key) % M`. An operator running with parallelism `p` gives subtask `i`
//! the contiguous range of key groups returned by [`range_for_subtask`], so a
//! savepoint taken at one parallelism restores at another by handing whole key groups
//! to new owners.

use crate::error::{Result, WeirError};
use crate::hash::stable_hash;
use std::hash::Hash;

/// Default number of key groups (Flink's default for small jobs).
pub const DEFAULT_MAX_PARALLELISM: usize = 128;

/// Largest supported maximum parallelism.
pub const UPPER_BOUND_MAX_PARALLELISM: usize = 1 << 15;

/// Checks that `parallelism` and `max_parallelism` can work together.
pub fn validate(parallelism: usize, max_parallelism: usize) -> Result<()> {
    if parallelism == 0 {
        return Err(WeirError::Config("parallelism must be at least 1".into()));
    }
    if max_parallelism == 0 || max_parallelism > UPPER_BOUND_MAX_PARALLELISM {
        return Err(WeirError::Config(format!(
            "max parallelism must be between 1 and {UPPER_BOUND_MAX_PARALLELISM}, got {max_parallelism}"
        )));
    }
    if parallelism > max_parallelism {
        return Err(WeirError::Config(format!(
            "parallelism {parallelism} exceeds max parallelism {max_parallelism} \
             (the number of key groups); raise the max parallelism"
        )));
    }
    Ok(())
}

/// The key group of a key hash.
#[inline]
pub fn key_group_for_hash(hash: u64, max_parallelism: usize) -> usize {
    (hash % max_parallelism as u64) as usize
}

/// The key group of `key`.
#[inline]
pub fn key_group_for_key<K: Hash + ?Sized>(key: &K, max_parallelism: usize) -> usize {
    key_group_for_hash(stable_hash(key), max_parallelism)
}

/// The subtask (operator index) that owns `key_group` at `parallelism`.
#[inline]
pub fn subtask_for_key_group(max_parallelism: usize, parallelism: usize, key_group: usize) -> usize {
    key_group * parallelism / max_parallelism
}

/// The subtask that owns `key` at `parallelism`.
#[inline]
pub fn subtask_for_key<K: Hash + ?Sized>(key: &K, max_parallelism: usize, parallelism: usize) -> usize {
    subtask_for_key_group(max_parallelism, parallelism, key_group_for_key(key, max_parallelism))
}

/// An inclusive range of key groups `[start, end]`; empty when `end < start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KeyGroupRange {
    /// First key group in the range.
    pub start: usize,
    /// Last key group in the range (inclusive).
    pub end: usize,
}

impl KeyGroupRange {
    /// The range `[start, end]`.
    pub fn new(start: usize, end: usize) -> Self {
        KeyGroupRange { start, end }
    }

    /// Number of key groups in the range.
    pub fn len(&self) -> usize {
        (self.end + 1).saturating_sub(self.start)
    }

    /// Whether the range holds no key group.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key_group` lies in the range.
    pub fn contains(&self, key_group: usize) -> bool {
        key_group >= self.start && key_group <= self.end
    }

    /// The key groups of the range in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> {
        self.start..self.start + self.len()
    }
}

/// The key groups owned by subtask `index` of an operator with `parallelism`
/// subtasks. The ranges of all subtasks are contiguous, disjoint and cover
/// `0..max_parallelism`; they agree with [`subtask_for_key_group`].
pub fn range_for_subtask(max_parallelism: usize, parallelism: usize, index: usize) -> KeyGroupRange {
    let start = (index * max_parallelism).div_ceil(parallelism);
    let end = ((index + 1) * max_parallelism - 1) / parallelism;
    KeyGroupRange { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ranges_partition_all_key_groups(max_par in 1usize..600, par_seed in 0usize..600) {
            let parallelism = par_seed % max_par + 1;
            let mut next = 0;
            for index in 0..parallelism {
                let range = range_for_subtask(max_par, parallelism, index);
                prop_assert_eq!(range.start, next);
                prop_assert!(!range.is_empty(), "subtask {} owns no key group", index);
                for kg in range.iter() {
                    prop_assert_eq!(subtask_for_key_group(max_par, parallelism, kg), index);
                }
                next = range.end + 1;
            }
            prop_assert_eq!(next, max_par);
        }

        #[test]
        fn equal_keys_share_a_key_group(key in ".*", max_par in 1usize..1000) {
            let copy = key.clone();
            prop_assert_eq!(key_group_for_key(&key, max_par), key_group_for_key(&copy, max_par));
            prop_assert!(key_group_for_key(&key, max_par) < max_par);
        }
    }

    #[test]
    fn validate_rejects_bad_values() {
        assert!(validate(0, 128).is_err());
        assert!(validate(4, 0).is_err());
        assert!(validate(129, 128).is_err());
        assert!(validate(4, UPPER_BOUND_MAX_PARALLELISM + 1).is_err());
        assert!(validate(4, 128).is_ok());
    }

    #[test]
    fn range_len_and_contains() {
        let r = KeyGroupRange::new(3, 5);
        assert_eq!(r.len(), 3);
        assert!(r.contains(3) && r.contains(5) && !r.contains(6));
        assert!(KeyGroupRange::new(4, 3).is_empty());
    }
}
