//! State time-to-live (TTL): keyed state whose values expire a fixed time after
//! they were last written (or read).
//!
//! A descriptor with a [`StateTtlConfig`] (e.g.
//! [`ValueStateDescriptor::with_ttl`](crate::ValueStateDescriptor::with_ttl))
//! stamps every value it stores with the processing time of the write, in
//! milliseconds, from the store's [`TtlClock`]. A value is expired once
//! `now >= timestamp + ttl`; expired values are never returned. List state stamps
//! every element and map state every entry, so they expire one by one.
//!
//! Expired values are removed
//!
//! * **on access**: a read that meets an expired value deletes it;
//! * **in full snapshots** ([`StateTtlConfig::cleanup_in_full_snapshot`]): expired
//!   values are left out of checkpoints and savepoints in the canonical format;
//! * **incrementally on the heap** ([`StateTtlConfig::cleanup_incrementally`]):
//!   every access to a TTL'd state examines a few more of its entries;
//! * **by RocksDB compactions** ([`StateTtlConfig::cleanup_in_rocksdb_compaction`]):
//!   a compaction filter drops expired entries in the background.
//!
//! # Stored form
//!
//! A TTL'd value is stored (in RocksDB and in snapshots) as its 8-byte last-access
//! timestamp, milliseconds as a big-endian `i64`, followed by the value's bytes:
//!
//! | state kind | stored value bytes |
//! | --- | --- |
//! | value, reducing, aggregating | `ts enc(value)` |
//! | map (per user key) | `ts enc(user value)` |
//! | list | per element: `ts len enc(element)`, `len` a little-endian `u32` |
//!
//! The length of list elements lets the compaction filter and full snapshots drop
//! expired elements without knowing the element type. Snapshots record which states
//! carry timestamps: restoring one into a descriptor that disagrees fails with
//! [`StateError::TtlMismatch`](crate::StateError::TtlMismatch).

use crate::keyed::Map;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// When the timestamp of a TTL'd value is renewed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TtlUpdate {
    /// On every write (set, add, put, update); reads leave it alone.
    #[default]
    OnCreateAndWrite,
    /// On every write and on every read that returns the value.
    OnReadAndWrite,
}

/// Time-to-live of one keyed state, set on its descriptor (`with_ttl`).
///
/// TTL is measured in processing time (the store's [`TtlClock`]), in whole
/// milliseconds. Expired values are never returned.
///
/// ```
/// use std::time::Duration;
/// use weir_state::{StateTtlConfig, TtlUpdate, ValueStateDescriptor};
///
/// let ttl = StateTtlConfig::new(Duration::from_secs(60))
///     .update_on_read_and_write()
///     .cleanup_incrementally(10);
/// assert_eq!(ttl.update(), TtlUpdate::OnReadAndWrite);
/// let last_seen = ValueStateDescriptor::<u64>::new("last seen").with_ttl(ttl);
/// assert!(last_seen.ttl().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateTtlConfig {
    ttl: Duration,
    update: TtlUpdate,
    cleanup_in_full_snapshot: bool,
    cleanup_incrementally: Option<usize>,
    cleanup_in_rocksdb_compaction: bool,
}

impl StateTtlConfig {
    /// Values expire `ttl` after their last write. Defaults: renewed on create
    /// and write, cleaned up in full snapshots, incrementally on the heap (5
    /// entries per access) and by RocksDB compactions.
    pub fn new(ttl: Duration) -> Self {
        StateTtlConfig {
            ttl,
            update: TtlUpdate::OnCreateAndWrite,
            cleanup_in_full_snapshot: true,
            cleanup_incrementally: Some(5),
            cleanup_in_rocksdb_compaction: true,
        }
    }

    /// Renews a value's timestamp on writes only (the default).
    pub fn update_on_create_and_write(mut self) -> Self {
        self.update = TtlUpdate::OnCreateAndWrite;
        self
    }

    /// Renews a value's timestamp on reads as well as writes.
    pub fn update_on_read_and_write(mut self) -> Self {
        self.update = TtlUpdate::OnReadAndWrite;
        self
    }

    /// Sets when timestamps are renewed.
    pub fn with_update(mut self, update: TtlUpdate) -> Self {
        self.update = update;
        self
    }

    /// Whether full snapshots (checkpoints in the canonical format, savepoints)
    /// leave expired values out (default: true).
    pub fn with_cleanup_in_full_snapshot(mut self, enabled: bool) -> Self {
        self.cleanup_in_full_snapshot = enabled;
        self
    }

    /// On the heap backend, every access to the state examines about `entries`
    /// more keys of it and removes the expired ones (default: 5), so keys that are
    /// never read again disappear too. The sweep walks one key group at a time.
    pub fn cleanup_incrementally(mut self, entries: usize) -> Self {
        self.cleanup_incrementally = (entries > 0).then_some(entries);
        self
    }

    /// No incremental cleanup on the heap: expired keys that are never read again
    /// stay in memory (they are still left out of full snapshots).
    pub fn disable_incremental_cleanup(mut self) -> Self {
        self.cleanup_incrementally = None;
        self
    }

    /// Whether RocksDB compactions drop expired entries (default: true).
    pub fn with_cleanup_in_rocksdb_compaction(mut self, enabled: bool) -> Self {
        self.cleanup_in_rocksdb_compaction = enabled;
        self
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When timestamps are renewed.
    pub fn update(&self) -> TtlUpdate {
        self.update
    }

    /// Whether full snapshots leave expired values out.
    pub fn is_cleanup_in_full_snapshot(&self) -> bool {
        self.cleanup_in_full_snapshot
    }

    /// Entries examined per access on the heap, if incremental cleanup is on.
    pub fn incremental_cleanup(&self) -> Option<usize> {
        self.cleanup_incrementally
    }

    /// Whether RocksDB compactions drop expired entries.
    pub fn is_cleanup_in_rocksdb_compaction(&self) -> bool {
        self.cleanup_in_rocksdb_compaction
    }

    /// The time to live in milliseconds, at least 1.
    pub(crate) fn ttl_millis(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX).max(1)
    }
}

/// The processing-time clock of TTL: milliseconds since the Unix epoch.
///
/// The default reads the system clock. Tests install their own with
/// [`KeyedStateStore::set_ttl_clock`](crate::KeyedStateStore::set_ttl_clock).
#[derive(Clone)]
pub struct TtlClock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl TtlClock {
    /// The system clock.
    pub fn system() -> Self {
        TtlClock(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        }))
    }

    /// A clock reading `now` (milliseconds).
    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        TtlClock(Arc::new(now))
    }

    /// The current time in milliseconds.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl Default for TtlClock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for TtlClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TtlClock").field(&self.now()).finish()
    }
}

/// TTL settings of a registered state that outlive one access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TtlSettings {
    pub ttl: i64,
    pub cleanup_in_full_snapshot: bool,
}

impl TtlSettings {
    pub(crate) fn of(config: &StateTtlConfig) -> Self {
        TtlSettings {
            ttl: config.ttl_millis(),
            cleanup_in_full_snapshot: config.cleanup_in_full_snapshot,
        }
    }

    /// The cutoff full snapshots taken at `now` apply, if they clean up.
    pub(crate) fn snapshot_cutoff(&self, now: i64) -> Option<i64> {
        self.cleanup_in_full_snapshot.then(|| cutoff(now, self.ttl))
    }
}

/// Values stamped at or before the returned time are expired at `now`
/// (`now >= ts + ttl`).
pub(crate) fn cutoff(now: i64, ttl: i64) -> i64 {
    now.saturating_sub(ttl)
}

/// The TTL of one access: the time it happens and how it treats timestamps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TtlNow {
    /// The time of the access (ms).
    pub now: i64,
    /// Timestamps at or before this are expired.
    pub cutoff: i64,
    /// Whether reads renew timestamps.
    pub refresh: bool,
}

impl TtlNow {
    pub(crate) fn new(config: &StateTtlConfig, now: i64) -> Self {
        TtlNow {
            now,
            cutoff: cutoff(now, config.ttl_millis()),
            refresh: config.update == TtlUpdate::OnReadAndWrite,
        }
    }

    #[inline]
    pub(crate) fn expired(&self, ts: i64) -> bool {
        ts <= self.cutoff
    }
}

/// Bytes of a timestamp.
pub(crate) const TS_BYTES: usize = 8;

/// Appends a timestamp.
#[inline]
pub(crate) fn push_ts(ts: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&ts.to_be_bytes());
}

/// Splits stored bytes into their timestamp and the value's bytes.
#[inline]
pub(crate) fn split_ts(bytes: &[u8]) -> Result<(i64, &[u8]), String> {
    match bytes.split_first_chunk::<TS_BYTES>() {
        Some((ts, rest)) => Ok((i64::from_be_bytes(*ts), rest)),
        None => Err(format!(
            "a value of {} bytes has no time-to-live timestamp; was the state written without TTL?",
            bytes.len()
        )),
    }
}

/// Appends one list element frame: timestamp, length and the bytes `encode` writes.
pub(crate) fn push_frame(
    ts: i64,
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
) -> Result<(), String> {
    push_ts(ts, out);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    encode(out)?;
    let len = out.len() - len_at - 4;
    let len = u32::try_from(len).map_err(|_| format!("a list element of {len} bytes is too large"))?;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// One list element frame: its timestamp, element bytes and whole frame.
pub(crate) struct Frame<'a> {
    pub ts: i64,
    pub element: &'a [u8],
    pub whole: &'a [u8],
}

/// The element frames of a TTL'd list value, in order.
pub(crate) fn frames(mut bytes: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, String>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let all = bytes;
        let frame = (|| {
            let (ts, rest) = split_ts(all)?;
            let (len, rest) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| "a list element frame is truncated".to_string())?;
            let len = u32::from_le_bytes(*len) as usize;
            let element = rest
                .get(..len)
                .ok_or_else(|| format!("a list element of {len} bytes is truncated"))?;
            let used = TS_BYTES + 4 + len;
            Ok((
                Frame {
                    ts,
                    element,
                    whole: &all[..used],
                },
                used,
            ))
        })();
        match frame {
            Ok((frame, used)) => {
                bytes = &all[used..];
                Some(Ok(frame))
            }
            Err(e) => {
                bytes = &[];
                Some(Err(e))
            }
        }
    })
}

/// Copies the frames of `list` stamped after `cutoff` into `out`; returns how many
/// were kept and whether any was dropped.
pub(crate) fn retain_frames(list: &[u8], cutoff: i64, out: &mut Vec<u8>) -> Result<(usize, bool), String> {
    let mut kept = 0;
    let mut dropped = false;
    for frame in frames(list) {
        let frame = frame?;
        if frame.ts > cutoff {
            out.extend_from_slice(frame.whole);
            kept += 1;
        } else {
            dropped = true;
        }
    }
    Ok((kept, dropped))
}

/// A value with the time it was last written (or read, with
/// [`TtlUpdate::OnReadAndWrite`]); the heap backend's entry of TTL'd state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TtlValue<V> {
    pub ts: i64,
    pub value: V,
}

/// Heap entries of TTL'd state (a stamped value, list or map): what cleanup
/// removes and reads renew.
pub(crate) trait Expirable {
    /// Whether any part is stamped at or before `cutoff`.
    fn has_expired(&self, cutoff: i64) -> bool;
    /// Whether any part is stamped after `cutoff`.
    fn has_live(&self, cutoff: i64) -> bool;
    /// Removes the expired parts; returns whether anything is left.
    fn purge(&mut self, cutoff: i64) -> bool;
    /// Whether any part is stamped other than `now`.
    fn needs_renewal(&self, now: i64) -> bool;
    /// Stamps every part with `now`.
    fn renew(&mut self, now: i64);
}

impl<V> Expirable for TtlValue<V> {
    fn has_expired(&self, cutoff: i64) -> bool {
        self.ts <= cutoff
    }
    fn has_live(&self, cutoff: i64) -> bool {
        self.ts > cutoff
    }
    fn purge(&mut self, cutoff: i64) -> bool {
        self.ts > cutoff
    }
    fn needs_renewal(&self, now: i64) -> bool {
        self.ts != now
    }
    fn renew(&mut self, now: i64) {
        self.ts = now;
    }
}

impl<V> Expirable for Vec<TtlValue<V>> {
    fn has_expired(&self, cutoff: i64) -> bool {
        self.iter().any(|e| e.ts <= cutoff)
    }
    fn has_live(&self, cutoff: i64) -> bool {
        self.iter().any(|e| e.ts > cutoff)
    }
    fn purge(&mut self, cutoff: i64) -> bool {
        self.retain(|e| e.ts > cutoff);
        !self.is_empty()
    }
    fn needs_renewal(&self, now: i64) -> bool {
        self.iter().any(|e| e.ts != now)
    }
    fn renew(&mut self, now: i64) {
        self.iter_mut().for_each(|e| e.ts = now);
    }
}

impl<UK: Hash + Eq, UV> Expirable for Map<UK, TtlValue<UV>> {
    fn has_expired(&self, cutoff: i64) -> bool {
        self.values().any(|e| e.ts <= cutoff)
    }
    fn has_live(&self, cutoff: i64) -> bool {
        self.values().any(|e| e.ts > cutoff)
    }
    fn purge(&mut self, cutoff: i64) -> bool {
        self.retain(|_, e| e.ts > cutoff);
        !self.is_empty()
    }
    fn needs_renewal(&self, now: i64) -> bool {
        self.values().any(|e| e.ts != now)
    }
    fn renew(&mut self, now: i64) {
        self.values_mut().for_each(|e| e.ts = now);
    }
}

/// Refuses to read state `name` with TTL when it was stored without, or the reverse.
pub(crate) fn check_ttl(name: &str, stored_with_ttl: bool, requested: bool) -> Result<(), crate::error::StateError> {
    if stored_with_ttl == requested {
        Ok(())
    } else {
        Err(crate::error::StateError::TtlMismatch {
            name: name.to_string(),
            stored_with_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_filter() {
        let mut list = Vec::new();
        for (ts, bytes) in [(10, &b"ab"[..]), (20, b""), (30, b"xyz")] {
            push_frame(ts, &mut list, |out| {
                out.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
        }
        let read: Vec<(i64, Vec<u8>)> = frames(&list)
            .map(|f| f.map(|f| (f.ts, f.element.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, vec![(10, b"ab".to_vec()), (20, vec![]), (30, b"xyz".to_vec())]);
        let mut kept = Vec::new();
        assert_eq!(retain_frames(&list, 20, &mut kept).unwrap(), (1, true));
        assert_eq!(frames(&kept).next().unwrap().unwrap().element, b"xyz");
        assert!(frames(&list[..list.len() - 1]).any(|f| f.is_err()));
        assert!(split_ts(b"short").is_err());
    }

    #[test]
    fn expiry_is_at_ts_plus_ttl() {
        let config = StateTtlConfig::new(Duration::from_millis(100));
        assert!(!TtlNow::new(&config, 1099).expired(1000));
        assert!(TtlNow::new(&config, 1100).expired(1000));
        assert_eq!(StateTtlConfig::new(Duration::ZERO).ttl_millis(), 1);
    }
}
