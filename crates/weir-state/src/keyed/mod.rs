//! Keyed state: the store, its tables, the typed handles and snapshots.

mod current_key;
mod handles;
mod heap;
mod native;
mod rocks;
mod snapshot;
mod store;
mod table;
#[cfg(test)]
mod ttl_tests;

pub(crate) use table::Map;

pub use current_key::CurrentKey;
pub use handles::{AggregatingState, ListState, MapState, ReducingState, StateData, StateKey, ValueState};
pub use native::{NativeFile, NativeFileLocation, NativeSnapshot, SharedFiles};
pub use snapshot::{KeyGroupBlock, KeyedSnapshot, KeyedStateHandle, StateBlock};
pub use store::KeyedStateStore;
