//! Comparing what a job or a kill loop committed with what was published.

use std::collections::BTreeMap;

/// How often each value occurs in `output`.
fn counts(output: &[u64]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for value in output {
        *counts.entry(*value).or_insert(0) += 1;
    }
    counts
}

/// Panics unless `output` holds each of `0..records` exactly once (in any
/// order), naming up to 20 duplicated and lost values.
pub fn assert_exactly_once(output: &[u64], records: u64) {
    let counts = counts(output);
    let duplicated: Vec<u64> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(v, _)| *v)
        .take(20)
        .collect();
    let lost: Vec<u64> = (0..records).filter(|v| !counts.contains_key(v)).take(20).collect();
    let foreign: Vec<u64> = counts.keys().filter(|v| **v >= records).copied().take(20).collect();
    assert!(
        duplicated.is_empty() && lost.is_empty() && foreign.is_empty(),
        "{} records for {records}: duplicated {duplicated:?}, lost {lost:?}, never published {foreign:?}",
        output.len()
    );
}

/// Panics unless `output` holds each of `0..records` at least once (and nothing
/// else); returns how many duplicates it holds.
pub fn assert_at_least_once(output: &[u64], records: u64) -> usize {
    let counts = counts(output);
    let lost: Vec<u64> = (0..records).filter(|v| !counts.contains_key(v)).take(20).collect();
    let foreign: Vec<u64> = counts.keys().filter(|v| **v >= records).copied().take(20).collect();
    assert!(
        lost.is_empty() && foreign.is_empty(),
        "{} records for {records}: lost {lost:?}, never published {foreign:?}",
        output.len()
    );
    output.len() - counts.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracles_name_what_is_wrong() {
        assert_exactly_once(&[2, 0, 1], 3);
        assert_eq!(assert_at_least_once(&[2, 0, 1, 1, 2], 3), 2);
        let duplicated = std::panic::catch_unwind(|| assert_exactly_once(&[0, 1, 1], 3)).unwrap_err();
        let text = duplicated.downcast_ref::<String>().unwrap();
        assert!(text.contains("duplicated [1]") && text.contains("lost [2]"), "{text}");
    }
}
