//! Window types.

use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;
use weir_core::{Data, Timestamp};

/// A window: a group of records of one key that are computed on together.
pub trait Window: Data + Hash + Eq + Debug {
    /// The largest timestamp that still belongs to the window; the window's results
    /// carry it as their event time.
    fn max_timestamp(&self) -> Timestamp;

    /// Whether two windows overlap or touch, so that merging assigners (sessions)
    /// merge them.
    fn intersects(&self, _other: &Self) -> bool {
        false
    }

    /// The smallest window covering both.
    fn cover(&self, _other: &Self) -> Self {
        self.clone()
    }

    /// For windows that are time intervals: the window `[start, end)` (sliding
    /// windows are computed from slices built with it).
    fn from_interval(_start: Timestamp, _end: Timestamp) -> Option<Self> {
        None
    }
}

/// The time interval `[start, end)` (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeWindow {
    /// First millisecond of the window.
    pub start: Timestamp,
    /// First millisecond after the window.
    pub end: Timestamp,
}

impl TimeWindow {
    /// The window `[start, end)`.
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        TimeWindow { start, end }
    }

    /// The start of the window of length `size` (aligned to `offset`) containing
    /// `timestamp`.
    pub fn window_start(timestamp: Timestamp, offset: i64, size: i64) -> Timestamp {
        timestamp - (timestamp - offset).rem_euclid(size)
    }

    /// Whether `timestamp` lies in the window.
    pub fn contains(&self, timestamp: Timestamp) -> bool {
        timestamp >= self.start && timestamp < self.end
    }
}

impl Window for TimeWindow {
    fn max_timestamp(&self) -> Timestamp {
        self.end - 1
    }

    fn intersects(&self, other: &Self) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    fn cover(&self, other: &Self) -> Self {
        TimeWindow {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    fn from_interval(start: Timestamp, end: Timestamp) -> Option<Self> {
        Some(TimeWindow { start, end })
    }
}

/// The single window holding all records of a key (used with count and custom
/// triggers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GlobalWindow;

impl Window for GlobalWindow {
    fn max_timestamp(&self) -> Timestamp {
        i64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_start_handles_offsets_and_negative_times() {
        assert_eq!(TimeWindow::window_start(0, 0, 10), 0);
        assert_eq!(TimeWindow::window_start(9, 0, 10), 0);
        assert_eq!(TimeWindow::window_start(10, 0, 10), 10);
        assert_eq!(TimeWindow::window_start(-1, 0, 10), -10);
        assert_eq!(TimeWindow::window_start(7, 3, 10), 3);
        assert_eq!(TimeWindow::window_start(2, 3, 10), -7);
    }

    #[test]
    fn intersecting_windows_cover() {
        let a = TimeWindow::new(0, 10);
        let b = TimeWindow::new(10, 15);
        assert!(a.intersects(&b));
        assert!(!a.intersects(&TimeWindow::new(11, 12)));
        assert_eq!(a.cover(&b), TimeWindow::new(0, 15));
        assert_eq!(a.max_timestamp(), 9);
    }
}
