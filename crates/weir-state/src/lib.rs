//! State of Weir operators.
//!
//! * **Keyed state** ([`KeyedStateStore`]): per-key values of five kinds (value, list,
//!   map, reducing, aggregating), declared by typed descriptors and reached for the
//!   key of the record being processed. Every table is split by key group, the unit in
//!   which state is checkpointed and later redistributed.
//! * **Operator state** ([`OperatorStateStore`]): named lists per operator subtask,
//!   redistributed on restore by even split or union ([`Redistribution`]).
//!
//! * **State TTL** ([`StateTtlConfig`]): descriptors may give state a time-to-live;
//!   expired values are never returned and are cleaned up on access, in full
//!   snapshots, incrementally on the heap and by RocksDB compactions.
//!
//! Snapshots are cheap to take: [`KeyedStateStore::snapshot`] copies no entries.
//! Each key group's table is shared with the snapshot (copy-on-write); the first write
//! to a shared group after a snapshot copies that group only. The snapshot is then
//! serialized off the task thread ([`KeyedSnapshot::write`]).
//!
//! ```
//! use weir_state::{KeyedStateStore, ValueStateDescriptor, ListStateDescriptor};
//! use weir_core::keygroup::KeyGroupRange;
//!
//! let count = ValueStateDescriptor::<u64>::new("count");
//! let seen = ListStateDescriptor::<String>::new("seen");
//! let mut store = KeyedStateStore::<String>::new(128, KeyGroupRange::new(0, 127));
//! let key = store.key("alice".to_string());
//! let mut state = store.value(&count, &key).unwrap();
//! let n = state.get().unwrap().unwrap_or(0);
//! state.set(n + 1).unwrap();
//! store.list(&seen, &key).unwrap().add("page-1".into()).unwrap();
//! assert_eq!(store.value(&count, &key).unwrap().get().unwrap(), Some(1));
//! assert_eq!(store.list(&seen, &key).unwrap().get().unwrap(), vec!["page-1".to_string()]);
//! ```

mod backend;
mod codec;
mod descriptor;
mod error;
mod format;
mod keyed;
mod operator;
mod ttl;

pub use backend::{RocksDbOptions, StateBackend, StateBackendConfig};
pub use descriptor::{
    AggregateFunction, AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
    StateKind, ValueStateDescriptor,
};
pub use error::StateError;
pub use keyed::{
    AggregatingState, CurrentKey, KeyGroupBlock, KeyedSnapshot, KeyedStateHandle, KeyedStateStore, ListState, MapState,
    NativeFile, NativeFileLocation, NativeSnapshot, ReducingState, SharedFiles, StateBlock, StateData, StateKey,
    ValueState,
};
pub use operator::{redistribute, OperatorList, OperatorStateSnapshot, OperatorStateStore, Redistribution};
pub use ttl::{StateTtlConfig, TtlClock, TtlUpdate};
