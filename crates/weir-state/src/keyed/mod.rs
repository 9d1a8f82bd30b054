//! Keyed state: the store, its tables, the typed handles and snapshots.

mod handles;
mod snapshot;
mod store;
mod table;

pub use handles::{AggregatingState, ListState, MapState, ReducingState, ValueState};
pub use snapshot::{KeyGroupBlock, KeyedSnapshot, KeyedStateHandle, StateBlock};
pub use store::{CurrentKey, KeyedStateStore};
