//! The heap keyed state backend: registered tables and restored, not yet typed
//! state.

use super::snapshot::{HeapSnapshot, KeyGroupBlock, PendingGroups, TableSnapshot, TypedTableSnapshot};
use super::table::Table;
use crate::descriptor::StateKind;
use crate::error::StateError;
use crate::format::{self, EntryFormat};
use crate::ttl::check_ttl;
use crate::ttl::TtlSettings;
use crate::KeyedSnapshot;
use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::keygroup::KeyGroupRange;

/// A table of any entry type, as the store holds it.
pub(crate) trait ErasedTable: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The table's groups as they are now; values stamped at or before `cutoff`
    /// (TTL'd state) are left out when they are written.
    fn snapshot(&mut self, cutoff: Option<i64>) -> Box<dyn TableSnapshot>;
    fn restore_group(&mut self, key_group: usize, bytes: &[u8]) -> Result<(), String>;
    fn len(&self) -> usize;
}

/// A table with the format of its state kind.
struct Formatted<K, S, F> {
    table: Table<K, S>,
    _format: PhantomData<fn() -> F>,
}

impl<K, S, F> ErasedTable for Formatted<K, S, F>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: Clone + Send + Sync + 'static,
    F: EntryFormat<K, S>,
{
    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.table
    }

    fn snapshot(&mut self, cutoff: Option<i64>) -> Box<dyn TableSnapshot> {
        Box::new(TypedTableSnapshot::<K, S, F>::new(self.table.share(), cutoff))
    }

    fn restore_group(&mut self, key_group: usize, bytes: &[u8]) -> Result<(), String> {
        let group = self.table.group_mut(key_group).map_err(|e| e.to_string())?;
        for entry in format::entries(bytes) {
            let (key, value) = entry?;
            F::read(key, value, group)?;
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

struct Registered {
    name: Arc<str>,
    kind: StateKind,
    /// Set for TTL'd state: its settings as of the latest access.
    ttl: Option<TtlSettings>,
    type_name: &'static str,
    table: Box<dyn ErasedTable>,
}

/// The heap states of one subtask.
#[derive(Default)]
pub(crate) struct HeapStates {
    states: Vec<Registered>,
    pending: HashMap<String, PendingGroups>,
}

impl HeapStates {
    /// Names of the registered states.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.states.iter().map(|s| &*s.name).collect()
    }

    /// The table of state `name`, registered (and filled from restored groups) on
    /// first use; `ttl` is set for TTL'd state (whose table holds stamped values).
    pub(crate) fn table<K, S, F>(
        &mut self,
        range: KeyGroupRange,
        name: &Arc<str>,
        kind: StateKind,
        ttl: Option<TtlSettings>,
    ) -> Result<&mut Table<K, S>, StateError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        S: Clone + Send + Sync + 'static,
        F: EntryFormat<K, S>,
    {
        let position = match self.states.iter().position(|s| Arc::ptr_eq(&s.name, name)) {
            Some(p) => Some(p),
            None => self.states.iter().position(|s| s.name == *name),
        };
        let index = match position {
            Some(index) => index,
            None => self.register::<K, S, F>(range, name, kind, ttl)?,
        };
        let registered = &mut self.states[index];
        if registered.kind != kind {
            return Err(StateError::KindMismatch {
                name: name.to_string(),
                registered: registered.kind.name(),
                requested: kind.name(),
            });
        }
        if registered.ttl.is_some() != ttl.is_some() {
            check_ttl(name, registered.ttl.is_some(), ttl.is_some())?;
        }
        if ttl.is_some() {
            registered.ttl = ttl;
        }
        let type_name = registered.type_name;
        registered
            .table
            .as_any_mut()
            .downcast_mut::<Table<K, S>>()
            .ok_or_else(|| StateError::TypeMismatch {
                name: name.to_string(),
                registered: type_name,
                requested: std::any::type_name::<S>(),
            })
    }

    #[cold]
    fn register<K, S, F>(
        &mut self,
        range: KeyGroupRange,
        name: &Arc<str>,
        kind: StateKind,
        ttl: Option<TtlSettings>,
    ) -> Result<usize, StateError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        S: Clone + Send + Sync + 'static,
        F: EntryFormat<K, S>,
    {
        let mut table = Formatted::<K, S, F> {
            table: Table::new(range),
            _format: PhantomData,
        };
        if let Some(pending) = self.pending.remove(&**name) {
            if pending.kind != kind {
                let registered = pending.kind.name();
                self.pending.insert(name.to_string(), pending);
                return Err(StateError::KindMismatch {
                    name: name.to_string(),
                    registered,
                    requested: kind.name(),
                });
            }
            if pending.ttl != ttl.is_some() {
                let stored_with_ttl = pending.ttl;
                self.pending.insert(name.to_string(), pending);
                return Err(StateError::TtlMismatch {
                    name: name.to_string(),
                    stored_with_ttl,
                });
            }
            for (key_group, bytes) in &pending.groups {
                table
                    .restore_group(*key_group, bytes)
                    .map_err(|message| StateError::Restore {
                        name: name.to_string(),
                        message: format!(
                            "key group {key_group} does not decode as {} ({message}); did the state's type change?",
                            std::any::type_name::<S>()
                        ),
                    })?;
            }
        }
        self.states.push(Registered {
            name: name.clone(),
            kind,
            ttl,
            type_name: std::any::type_name::<S>(),
            table: Box::new(table),
        });
        Ok(self.states.len() - 1)
    }

    /// Total number of entries over all registered states.
    pub(crate) fn entries(&self) -> usize {
        self.states.iter().map(|s| s.table.len()).sum()
    }

    /// A copy-on-write snapshot of every state; TTL'd state that cleans up in full
    /// snapshots leaves out what is expired at `now`.
    pub(crate) fn snapshot(&mut self, range: KeyGroupRange, now: i64) -> Box<dyn KeyedSnapshot> {
        Box::new(HeapSnapshot {
            range,
            tables: self
                .states
                .iter_mut()
                .map(|s| {
                    let cutoff = s.ttl.and_then(|ttl| ttl.snapshot_cutoff(now));
                    (s.name.to_string(), s.kind, s.ttl.is_some(), s.table.snapshot(cutoff))
                })
                .collect(),
            pending: self.pending.iter().map(|(name, p)| (name.clone(), p.clone())).collect(),
        })
    }

    /// Adds the state of one restored key group (the caller checked ownership).
    pub(crate) fn restore_block(&mut self, block: KeyGroupBlock) -> Result<(), StateError> {
        let key_group = block.key_group as usize;
        for state in block.states {
            if let Some(registered) = self.states.iter_mut().find(|s| *s.name == *state.name) {
                if registered.kind != state.kind {
                    return Err(StateError::KindMismatch {
                        name: state.name,
                        registered: registered.kind.name(),
                        requested: state.kind.name(),
                    });
                }
                check_ttl(&state.name, state.ttl, registered.ttl.is_some())?;
                registered
                    .table
                    .restore_group(key_group, &state.entries)
                    .map_err(|message| StateError::Restore {
                        name: state.name.clone(),
                        message: format!("key group {key_group}: {message}"),
                    })?;
                continue;
            }
            let pending = self.pending.entry(state.name.clone()).or_insert_with(|| PendingGroups {
                kind: state.kind,
                ttl: state.ttl,
                groups: Vec::new(),
            });
            if pending.kind != state.kind {
                return Err(StateError::KindMismatch {
                    name: state.name,
                    registered: pending.kind.name(),
                    requested: state.kind.name(),
                });
            }
            check_ttl(&state.name, pending.ttl, state.ttl)?;
            pending.groups.push((key_group, Arc::from(state.entries)));
        }
        Ok(())
    }
}
