//! How many bytes a record is estimated to occupy, for channels bounded in bytes.
//!
//! Records are never serialized inside a process, so their size is estimated. A
//! type that owns no heap memory (no `Drop`: integers, tuples and arrays of them,
//! plain structs) occupies exactly `size_of::<StreamRecord<T>>()`: the writer
//! multiplies by the number of records in a buffer and spends nothing per record.
//! A type that may own heap memory (strings, vectors, boxes) is estimated per
//! record as its inline size plus the length of its bincode encoding, which follows
//! the owned data (a string's bytes, a vector's elements) and costs about as much
//! as walking the value once, without writing anything.

use serde::Serialize;
use weir_core::StreamRecord;

/// Estimates the bytes one record's value occupies (inline and owned).
pub type SizeEstimator<T> = fn(&T) -> usize;

/// The estimator for `T`: `None` when `T` owns no heap memory (its size is then
/// the fixed [`inline_size`]).
pub fn estimator<T: Serialize>() -> Option<SizeEstimator<T>> {
    std::mem::needs_drop::<T>().then_some(estimate::<T> as SizeEstimator<T>)
}

/// The bytes a record of `T` occupies in a buffer, not counting owned memory.
pub const fn inline_size<T>() -> usize {
    std::mem::size_of::<StreamRecord<T>>()
}

/// `value`'s inline size plus the length of its encoding (what it owns).
pub fn estimate<T: Serialize>(value: &T) -> usize {
    let mut counter = bincode::enc::write::SizeWriter::default();
    let encoded = bincode::serde::encode_into_writer(value, &mut counter, bincode::config::standard())
        .map(|()| counter.bytes_written)
        // A value that cannot be encoded is counted by its inline size only.
        .unwrap_or(0);
    inline_size::<T>().saturating_add(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_size_types_need_no_estimate_and_strings_count_their_bytes() {
        assert!(estimator::<u64>().is_none());
        assert!(estimator::<(u64, i32, [u8; 16])>().is_none());
        let strings = estimator::<String>().unwrap();
        let big = "x".repeat(1 << 20);
        assert!(strings(&big) >= 1 << 20 && strings(&big) < (1 << 20) + 64);
        assert!(strings(&String::new()) < 64);
        let vectors = estimator::<Vec<u64>>().unwrap();
        assert!(vectors(&vec![u64::MAX; 1000]) >= 8000);
    }
}
