//! The keyed state store of one operator subtask.

use crate::descriptor::ValueStateDescriptor;
use crate::error::StateError;
use crate::heap::HeapValueTable;
use std::any::Any;
use std::hash::Hash;
use std::sync::Arc;
use weir_core::hash::stable_hash;
use weir_core::keygroup::key_group_for_hash;

/// The key of the record being processed, with its key group computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentKey<K> {
    key: K,
    key_group: usize,
}

impl<K> CurrentKey<K> {
    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Its key group.
    pub fn key_group(&self) -> usize {
        self.key_group
    }

    /// Takes the key out.
    pub fn into_key(self) -> K {
        self.key
    }
}

struct Registered {
    name: Arc<str>,
    type_name: &'static str,
    table: Box<dyn Any + Send>,
}

/// All keyed state of one operator subtask, for keys of type `K`.
pub struct KeyedStateStore<K> {
    max_parallelism: usize,
    states: Vec<Registered>,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K> std::fmt::Debug for KeyedStateStore<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.states.iter().map(|s| &*s.name).collect();
        f.debug_struct("KeyedStateStore")
            .field("states", &names)
            .finish()
    }
}

impl<K: Hash + Eq + Clone + Send + 'static> KeyedStateStore<K> {
    /// An empty store for an operator with `max_parallelism` key groups.
    pub fn new(max_parallelism: usize) -> Self {
        KeyedStateStore {
            max_parallelism: max_parallelism.max(1),
            states: Vec::new(),
            _key: std::marker::PhantomData,
        }
    }

    /// Wraps `key` with its key group.
    #[inline]
    pub fn key(&self, key: K) -> CurrentKey<K> {
        let key_group = key_group_for_hash(stable_hash(&key), self.max_parallelism);
        CurrentKey { key, key_group }
    }

    fn table<V: Send + 'static>(
        &mut self,
        name: &Arc<str>,
    ) -> Result<&mut HeapValueTable<K, V>, StateError> {
        let position = self
            .states
            .iter()
            .position(|s| Arc::ptr_eq(&s.name, name))
            .or_else(|| self.states.iter().position(|s| s.name == *name));
        let index = match position {
            Some(index) => index,
            None => {
                self.states.push(Registered {
                    name: name.clone(),
                    type_name: std::any::type_name::<V>(),
                    table: Box::new(HeapValueTable::<K, V>::new()),
                });
                self.states.len() - 1
            }
        };
        let registered = &mut self.states[index];
        let type_name = registered.type_name;
        registered
            .table
            .downcast_mut::<HeapValueTable<K, V>>()
            .ok_or_else(|| StateError::TypeMismatch {
                name: name.to_string(),
                registered: type_name,
                requested: std::any::type_name::<V>(),
            })
    }

    /// The value state `descriptor` of `key`.
    #[inline]
    pub fn value<'a, V: Clone + Send + 'static>(
        &'a mut self,
        descriptor: &ValueStateDescriptor<V>,
        key: &'a CurrentKey<K>,
    ) -> Result<ValueState<'a, K, V>, StateError> {
        let table = self.table::<V>(&descriptor.name)?;
        Ok(ValueState { table, key })
    }
}

/// The value of one state for the current key.
pub struct ValueState<'a, K, V> {
    table: &'a mut HeapValueTable<K, V>,
    key: &'a CurrentKey<K>,
}

impl<K: Hash + Eq + Clone, V: Clone> ValueState<'_, K, V> {
    /// The value, if one was set.
    #[inline]
    pub fn get(&self) -> Result<Option<V>, StateError> {
        Ok(self.table.get(&self.key.key).cloned())
    }

    /// Sets the value.
    #[inline]
    pub fn set(&mut self, value: V) -> Result<(), StateError> {
        match self.table.get_mut(&self.key.key) {
            Some(slot) => *slot = value,
            None => self.table.insert(self.key.key.clone(), value),
        }
        Ok(())
    }

    /// Removes the value.
    #[inline]
    pub fn clear(&mut self) -> Result<(), StateError> {
        self.table.remove(&self.key.key);
        Ok(())
    }

    /// Number of keys holding a value in this state.
    pub fn keys(&self) -> usize {
        self.table.len()
    }
}
