//! The RocksDB keyed state backend: one embedded instance per operator subtask.
//!
//! Every state is a column family (`state/<name>`). Keys are the two-byte key
//! group (big-endian) followed by the canonical key bytes of [`crate::format`], so
//! a key group is a contiguous key range and a key's map entries share a prefix.
//! Values are the canonical value bytes; list elements are appended with a merge
//! operator (no read). Writes skip the write-ahead log: durability comes from
//! checkpoints, which flush the memtables and hard-link the SST files.
//!
//! Column families of TTL'd state have a compaction filter ([`TtlFilterFactory`])
//! that drops entries whose timestamp expired; a list is dropped once all its
//! elements expired (a list with some live elements is kept whole: reads and full
//! snapshots leave its expired elements out).

mod access;
mod instance_dir;
mod options;
pub(crate) mod snapshot;
mod write_cache;

pub(crate) use access::{RocksAccess, RocksTable};
pub(crate) use options::rocks_error;

use options::{cf_options, column_family};

use crate::backend::RocksShared;
use crate::descriptor::StateKind;
use crate::error::StateError;
use crate::format;
use crate::keyed::current_key::CurrentKey;
use crate::keyed::snapshot::KeyGroupBlock;
use crate::ttl::check_ttl;
use crate::ttl::{frames, split_ts, TtlClock, TtlNow, TtlSettings};
use crate::KeyedSnapshot;
use crate::StateTtlConfig;
use access::{decode_key, split_key};
use instance_dir::InstanceDir;
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::{Options, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use snapshot::SnapshotState;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use weir_core::keygroup::KeyGroupRange;
use write_cache::WriteCache;

/// The TTL of a column family, as its compaction filter reads it.
pub(crate) struct CfTtl {
    /// Milliseconds; 0 (keep everything) until a descriptor registers the state
    /// in this run, or when it turned compaction cleanup off.
    ttl: AtomicI64,
    /// Whether values are lists of framed elements.
    list: bool,
}

/// Creates the TTL compaction filter of one column family for every compaction.
pub(crate) struct TtlFilterFactory {
    ttl: Arc<CfTtl>,
    clock: Arc<Mutex<TtlClock>>,
}

impl CompactionFilterFactory for TtlFilterFactory {
    type Filter = TtlFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> TtlFilter {
        let ttl = self.ttl.ttl.load(Ordering::Relaxed);
        let now = self.clock.lock().ok().map(|clock| clock.now());
        TtlFilter {
            cutoff: now.filter(|_| ttl > 0).map(|now| crate::ttl::cutoff(now, ttl)),
            list: self.ttl.list,
        }
    }

    fn name(&self) -> &CStr {
        c"weir-ttl"
    }
}

/// Drops the entries of one compaction that are expired at its start.
pub(crate) struct TtlFilter {
    /// Timestamps at or before this are expired; `None`: keep everything.
    cutoff: Option<i64>,
    list: bool,
}

impl TtlFilter {
    /// Whether `value` is expired as a whole (anything unreadable is kept).
    fn expired(&self, value: &[u8]) -> bool {
        let Some(cutoff) = self.cutoff else {
            return false;
        };
        if !self.list {
            return split_ts(value).is_ok_and(|(ts, _)| ts <= cutoff);
        }
        let mut any = false;
        for frame in frames(value) {
            match frame {
                Ok(frame) if frame.ts <= cutoff => any = true,
                _ => return false,
            }
        }
        any
    }
}

impl CompactionFilter for TtlFilter {
    fn filter(&mut self, _level: u32, _key: &[u8], value: &[u8]) -> Decision {
        if self.expired(value) {
            Decision::Remove
        } else {
            Decision::Keep
        }
    }

    fn name(&self) -> &CStr {
        c"weir-ttl"
    }
}

/// A column family of the instance: a registered or restored state.
pub(crate) struct Stored {
    name: String,
    kind: StateKind,
    /// Set for TTL'd state.
    ttl: Option<Arc<CfTtl>>,
    /// The TTL settings of its descriptor, once registered in this run.
    settings: Option<TtlSettings>,
}

impl Stored {
    fn new(name: &str, kind: StateKind, ttl: bool) -> Self {
        Stored {
            name: name.to_string(),
            kind,
            ttl: ttl.then(|| {
                Arc::new(CfTtl {
                    ttl: AtomicI64::new(0),
                    list: kind == StateKind::List,
                })
            }),
            settings: None,
        }
    }

    /// The options of its column family: the TTL compaction filter for TTL'd state.
    fn options(&self, shared: &RocksShared, clock: &Arc<Mutex<TtlClock>>) -> Options {
        let mut options = cf_options(Some(shared));
        if let Some(ttl) = &self.ttl {
            options.set_compaction_filter_factory(TtlFilterFactory {
                ttl: ttl.clone(),
                clock: clock.clone(),
            });
        }
        options
    }

    /// How a snapshot taken at `now` writes it.
    fn snapshot_state(&self, now: i64) -> SnapshotState {
        SnapshotState {
            name: self.name.clone(),
            kind: self.kind,
            ttl: self.ttl.is_some(),
            cutoff: self.settings.and_then(|s| s.snapshot_cutoff(now)),
        }
    }
}

struct Registered {
    name: Arc<str>,
    kind: StateKind,
    ttl: bool,
    type_name: &'static str,
    table: Box<dyn Any + Send>,
    /// Write-back cache of a value-like state without TTL.
    cache: Option<RefCell<WriteCache>>,
}

/// The RocksDB instance of one subtask, with its registered states.
pub(crate) struct RocksStates {
    // Dropped before the directory.
    db: DB,
    write: WriteOptions,
    shared: Arc<RocksShared>,
    registered: Vec<Registered>,
    /// Every state with a column family (registered or restored).
    kinds: Vec<Stored>,
    /// The TTL clock, shared with the compaction filters.
    clock: Arc<Mutex<TtlClock>>,
    range: KeyGroupRange,
    snapshots: u64,
    /// Content hashes of SST files already hashed, by (name, size).
    hashes: Arc<Mutex<HashMap<(String, u64), String>>>,
    dir: InstanceDir,
}

impl RocksStates {
    /// Opens a fresh instance in a new directory under the backend's local dir.
    pub(crate) fn open(shared: Arc<RocksShared>, range: KeyGroupRange) -> Result<Self, StateError> {
        let n = {
            let mut opened = shared
                .opened
                .lock()
                .map_err(|_| rocks_error("instance counter poisoned"))?;
            *opened += 1;
            *opened
        };
        if n == 1 {
            // The backend's first instance: clear what killed processes left here.
            instance_dir::remove_stale(&shared.options.local_dir);
        }
        let dir = InstanceDir::create(&shared.options.local_dir, n)?;
        let mut options = cf_options(Some(&shared));
        options.create_if_missing(true);
        options.set_write_buffer_manager(&shared.write_buffers);
        options.set_max_background_jobs(2);
        options.set_max_open_files(-1);
        let path = dir.path().join("db");
        let db = DB::open(&options, &path)
            .map_err(|e| rocks_error(format!("cannot open RocksDB at {}: {e}", path.display())))?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksStates {
            db,
            write,
            shared,
            registered: Vec::new(),
            kinds: Vec::new(),
            clock: Arc::new(Mutex::new(TtlClock::system())),
            range,
            snapshots: 0,
            hashes: Arc::new(Mutex::new(HashMap::new())),
            dir,
        })
    }

    /// Uses `clock` for TTL from now on (compaction filters included).
    pub(crate) fn set_clock(&mut self, clock: TtlClock) {
        if let Ok(mut current) = self.clock.lock() {
            *current = clock;
        }
    }

    /// The column family of state `name` (created when missing); its kind and
    /// TTL-ness must be `kind` and `ttl`.
    fn ensure_column_family(&mut self, name: &str, kind: StateKind, ttl: bool) -> Result<(), StateError> {
        if let Some(known) = self.kinds.iter().find(|s| s.name == name) {
            if known.kind != kind {
                return Err(StateError::KindMismatch {
                    name: name.to_string(),
                    registered: known.kind.name(),
                    requested: kind.name(),
                });
            }
            return check_ttl(name, known.ttl.is_some(), ttl);
        }
        let stored = Stored::new(name, kind, ttl);
        self.db
            .create_cf(column_family(name), &stored.options(&self.shared, &self.clock))
            .map_err(|e| rocks_error(format!("cannot create the column family of state '{name}': {e}")))?;
        self.kinds.push(stored);
        Ok(())
    }

    fn position(
        &mut self,
        name: &Arc<str>,
        kind: StateKind,
        ttl: bool,
        type_name: &'static str,
    ) -> Result<usize, StateError> {
        let position = match self.registered.iter().position(|s| Arc::ptr_eq(&s.name, name)) {
            Some(p) => Some(p),
            None => self.registered.iter().position(|s| s.name == *name),
        };
        let index = match position {
            Some(index) => index,
            None => {
                self.ensure_column_family(name, kind, ttl)?;
                let limit = self.shared.options.write_cache_bytes;
                let value_like = matches!(kind, StateKind::Value | StateKind::Reducing | StateKind::Aggregating);
                self.registered.push(Registered {
                    name: name.clone(),
                    kind,
                    ttl,
                    type_name,
                    table: Box::new(()),
                    cache: (value_like && !ttl && limit > 0).then(|| RefCell::new(WriteCache::new(limit))),
                });
                self.registered.len() - 1
            }
        };
        let registered = &self.registered[index];
        if registered.kind != kind {
            return Err(StateError::KindMismatch {
                name: name.to_string(),
                registered: registered.kind.name(),
                requested: kind.name(),
            });
        }
        check_ttl(name, registered.ttl, ttl)?;
        Ok(index)
    }

    /// The column family of state `name`, registered on first use; `ttl` is the
    /// TTL of a TTL'd state with the time of the access.
    pub(crate) fn access<K: 'static, S: Send + 'static>(
        &mut self,
        name: &Arc<str>,
        kind: StateKind,
        ttl: Option<(&StateTtlConfig, TtlNow)>,
    ) -> Result<RocksAccess<'_, K, S>, StateError> {
        let type_name = std::any::type_name::<S>();
        let index = self.position(name, kind, ttl.is_some(), type_name)?;
        if let Some((config, _)) = ttl {
            let settings = TtlSettings::of(config);
            if let Some(stored) = self.kinds.iter_mut().find(|s| *s.name == **name) {
                if stored.settings != Some(settings) {
                    stored.settings = Some(settings);
                    if let Some(cf_ttl) = &stored.ttl {
                        let millis = if config.is_cleanup_in_rocksdb_compaction() {
                            settings.ttl
                        } else {
                            0
                        };
                        cf_ttl.ttl.store(millis, Ordering::Relaxed);
                    }
                }
            }
        }
        let registered = &mut self.registered[index];
        if registered.table.is::<()>() {
            registered.table = Box::new(RocksTable::<K, S>::new(name.clone(), column_family(name)));
        }
        let registered_type = registered.type_name;
        let table = registered
            .table
            .downcast_mut::<RocksTable<K, S>>()
            .ok_or_else(|| StateError::TypeMismatch {
                name: name.to_string(),
                registered: registered_type,
                requested: type_name,
            })?;
        let cf = self
            .db
            .cf_handle(&table.column_family)
            .ok_or_else(|| rocks_error(format!("the column family of state '{name}' is missing")))?;
        Ok(RocksAccess {
            db: &self.db,
            cf,
            write: &self.write,
            range: self.range,
            table,
            cache: registered.cache.as_ref(),
            ttl: ttl.map(|(_, now)| now),
        })
    }

    /// Writes every state's cached updates to RocksDB (before the column families
    /// are read directly).
    fn flush_caches(&self) -> Result<(), StateError> {
        for registered in &self.registered {
            let Some(cache) = &registered.cache else {
                continue;
            };
            let Some(cf) = self.db.cf_handle(&column_family(&registered.name)) else {
                continue;
            };
            cache
                .borrow_mut()
                .flush(&self.db, cf, &self.write)
                .map_err(|e| rocks_error(format!("state '{}': cannot write cached updates: {e}", registered.name)))?;
        }
        Ok(())
    }

    /// Forgets every cached value (the column families were rewritten).
    fn clear_caches(&self) {
        for cache in self.registered.iter().filter_map(|r| r.cache.as_ref()) {
            cache.borrow_mut().clear();
        }
    }

    /// Visits every stored entry of state `name` with its key group (raw key rest
    /// and value bytes).
    fn scan(
        &self,
        name: &str,
        mut visit: impl FnMut(usize, &[u8], &[u8]) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        self.flush_caches()?;
        let Some(cf) = self.db.cf_handle(&column_family(name)) else {
            return Ok(());
        };
        for entry in self.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| rocks_error(format!("state '{name}': cannot read: {e}")))?;
            let (key_group, rest) =
                split_key(&k).ok_or_else(|| rocks_error(format!("state '{name}' holds a key without a key group")))?;
            visit(key_group, rest, &v)?;
        }
        Ok(())
    }

    /// Every key holding state `name`, with its decoded value (value-like state);
    /// with `ttl`, the unexpired ones.
    pub(crate) fn value_entries<K: DeserializeOwned, V: DeserializeOwned>(
        &self,
        name: &str,
        ttl: Option<TtlNow>,
        make_key: impl Fn(K, usize) -> CurrentKey<K>,
    ) -> Result<Vec<(CurrentKey<K>, V)>, StateError> {
        let mut out = Vec::new();
        let bad = |message: String| StateError::Restore {
            name: name.to_string(),
            message,
        };
        self.scan(name, |key_group, rest, value| {
            let value = match ttl {
                None => value,
                Some(ttl) => {
                    let (ts, value) = split_ts(value).map_err(bad)?;
                    if ttl.expired(ts) {
                        return Ok(());
                    }
                    value
                }
            };
            let key = decode_key::<K>(rest).map_err(bad)?;
            let value = crate::codec::decode::<V>(value).map_err(bad)?;
            out.push((make_key(key, key_group), value));
            Ok(())
        })?;
        Ok(out)
    }

    /// Every key holding state `name` (for map state, one per user key); with
    /// `ttl`, those with anything unexpired.
    pub(crate) fn keys<K: DeserializeOwned>(
        &self,
        name: &str,
        ttl: Option<TtlNow>,
        make_key: impl Fn(K, usize) -> CurrentKey<K>,
    ) -> Result<Vec<CurrentKey<K>>, StateError> {
        let mut out = Vec::new();
        let list = self.kinds.iter().any(|s| s.name == name && s.kind == StateKind::List);
        let mut buffer = Vec::new();
        self.scan(name, |key_group, rest, value| {
            let bad = |message: String| StateError::Restore {
                name: name.to_string(),
                message,
            };
            if let Some(ttl) = ttl {
                if format::retain_live(value, list, ttl.cutoff, &mut buffer)
                    .map_err(bad)?
                    .is_none()
                {
                    return Ok(());
                }
            }
            let key = decode_key::<K>(rest).map_err(bad)?;
            out.push(make_key(key, key_group));
            Ok(())
        })?;
        Ok(out)
    }

    /// Compacts every column family, twice: values that the first compaction
    /// merged from list appends pass the TTL filter in the second.
    #[cfg(test)]
    pub(crate) fn compact(&self) {
        let _ = self.flush_caches();
        for _ in 0..2 {
            for stored in &self.kinds {
                if let Some(cf) = self.db.cf_handle(&column_family(&stored.name)) {
                    self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
                }
            }
        }
    }

    /// Number of stored entries over every state.
    pub(crate) fn entries(&self) -> usize {
        let mut n = 0;
        for Stored { name, .. } in &self.kinds {
            let _ = self.scan(name, |_, _, _| {
                n += 1;
                Ok(())
            });
        }
        n
    }

    /// RocksDB's estimate of the live bytes in SST files (memtables not counted).
    fn sst_bytes(&self) -> u64 {
        let mut total = 0u64;
        for Stored { name, .. } in &self.kinds {
            if let Some(cf) = self.db.cf_handle(&column_family(name)) {
                // An unknown size counts as large: take the RocksDB checkpoint.
                let size = self
                    .db
                    .property_int_value_cf(cf, "rocksdb.estimate-live-data-size")
                    .ok()
                    .flatten()
                    .unwrap_or(u64::MAX);
                total = total.saturating_add(size);
            }
        }
        total
    }

    /// Writes the entries of one restored key group (groups not owned are skipped).
    pub(crate) fn restore_block(&mut self, block: KeyGroupBlock) -> Result<(), StateError> {
        let key_group = block.key_group as usize;
        if !self.range.contains(key_group) {
            return Ok(());
        }
        let prefix = u16::try_from(key_group)
            .map_err(|_| rocks_error(format!("key group {key_group} is too large")))?
            .to_be_bytes();
        // Restored values replace whatever was cached.
        self.flush_caches()?;
        self.clear_caches();
        for state in block.states {
            self.ensure_column_family(&state.name, state.kind, state.ttl)?;
            let cf = self
                .db
                .cf_handle(&column_family(&state.name))
                .ok_or_else(|| rocks_error(format!("the column family of state '{}' is missing", state.name)))?;
            let mut batch = WriteBatch::default();
            let mut key = Vec::new();
            for entry in format::entries(&state.entries) {
                let (k, v) = entry.map_err(|message| StateError::Restore {
                    name: state.name.clone(),
                    message: format!("key group {key_group}: {message}"),
                })?;
                key.clear();
                key.extend_from_slice(&prefix);
                key.extend_from_slice(k);
                batch.put_cf(cf, &key, v);
            }
            self.db.write_opt(batch, &self.write).map_err(|e| {
                rocks_error(format!(
                    "state '{}': cannot restore key group {key_group}: {e}",
                    state.name
                ))
            })?;
        }
        Ok(())
    }

    /// Whether nothing was registered or restored yet.
    pub(crate) fn is_fresh(&self) -> bool {
        self.kinds.is_empty() && self.registered.is_empty()
    }

    /// A new directory inside the instance's own, for restored files.
    pub(crate) fn scratch_dir(&mut self) -> PathBuf {
        self.snapshots += 1;
        self.dir.path().join(format!("restore-{}", self.snapshots))
    }

    /// Replaces the (fresh) instance by the RocksDB files in `path`, which hold
    /// exactly this subtask's key groups: `states`, those named in `ttl_states`
    /// with TTL.
    pub(crate) fn adopt(
        &mut self,
        path: &Path,
        states: &[(String, StateKind)],
        ttl_states: &[String],
    ) -> Result<(), StateError> {
        let mut options = cf_options(Some(&self.shared));
        options.create_if_missing(false);
        options.set_write_buffer_manager(&self.shared.write_buffers);
        options.set_max_background_jobs(2);
        options.set_max_open_files(-1);
        let stored: Vec<Stored> = states
            .iter()
            .map(|(name, kind)| Stored::new(name, *kind, ttl_states.contains(name)))
            .collect();
        let descriptors: Vec<rocksdb::ColumnFamilyDescriptor> = stored
            .iter()
            .map(|s| rocksdb::ColumnFamilyDescriptor::new(column_family(&s.name), s.options(&self.shared, &self.clock)))
            .collect();
        let db = DB::open_cf_descriptors(&options, path, descriptors)
            .map_err(|e| rocks_error(format!("cannot open restored RocksDB files in {}: {e}", path.display())))?;
        self.clear_caches();
        self.db = db;
        self.kinds = stored;
        Ok(())
    }

    /// Flushes the memtables and hard-links the instance's files into a new
    /// directory (the synchronous part of a checkpoint); the returned snapshot reads
    /// them on any thread. Written in full, it leaves out TTL'd values expired at
    /// `now`.
    pub(crate) fn snapshot(&mut self, now: i64) -> Box<dyn KeyedSnapshot> {
        if let Err(e) = self.flush_caches() {
            return Box::new(snapshot::FailedSnapshot(e.to_string()));
        }
        let states: Vec<SnapshotState> = self.kinds.iter().map(|s| s.snapshot_state(now)).collect();
        let limit = self.shared.options.inline_snapshot_bytes as u64;
        if limit > 0 && self.sst_bytes() <= limit {
            let mut bytes = Vec::new();
            match snapshot::write_blocks(&self.db, self.range, &states, &mut bytes, limit) {
                Ok(Some(handle)) => return Box::new(snapshot::EncodedSnapshot { bytes, handle }),
                Ok(None) => {}
                Err(e) => return Box::new(snapshot::FailedSnapshot(e.to_string())),
            }
        }
        self.snapshots += 1;
        let path: PathBuf = self.dir.path().join(format!("snapshot-{}", self.snapshots));
        let created = rocksdb::checkpoint::Checkpoint::new(&self.db).and_then(|c| c.create_checkpoint(&path));
        match created {
            Ok(()) => Box::new(snapshot::RocksSnapshot {
                path,
                range: self.range,
                states,
                hashes: self.hashes.clone(),
            }),
            Err(e) => Box::new(snapshot::FailedSnapshot(format!(
                "cannot create a RocksDB checkpoint in {}: {e}",
                path.display()
            ))),
        }
    }
}
