//! When a part file is closed and the next one begun.

use std::time::{Duration, Instant};

/// When the sink rolls to a new part file. Parts are always closed at
/// checkpoints (their records become visible when the checkpoint completes); the
/// policy closes them earlier, to bound their size and the files kept open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingPolicy {
    /// Close a part once it holds this many bytes (Flink's
    /// `sink.rolling-policy.file-size`, default 128 MiB).
    pub max_part_bytes: u64,
    /// Close a part this long after it was opened (Flink's
    /// `sink.rolling-policy.rollover-interval`, default 30 min).
    pub rollover_interval: Duration,
    /// Close a part that received nothing for this long (Flink's
    /// `sink.rolling-policy.inactivity-interval`; default: never). Checked when
    /// records arrive.
    pub inactivity_interval: Option<Duration>,
}

impl Default for RollingPolicy {
    fn default() -> Self {
        RollingPolicy {
            max_part_bytes: 128 << 20,
            rollover_interval: Duration::from_secs(30 * 60),
            inactivity_interval: None,
        }
    }
}

impl RollingPolicy {
    /// Whether a part opened at `opened`, last written at `last_write`, holding
    /// `bytes`, is to be closed at `now`.
    pub(crate) fn should_roll(&self, bytes: u64, opened: Instant, last_write: Instant, now: Instant) -> bool {
        bytes >= self.max_part_bytes
            || now.saturating_duration_since(opened) >= self.rollover_interval
            || self
                .inactivity_interval
                .is_some_and(|idle| now.saturating_duration_since(last_write) >= idle)
    }
}
