//! Keyed state: per-key values that operators read and update, partitioned by key
//! group so that it can be checkpointed and redistributed.
//!
//! A user function declares its state with a descriptor (a name and a type) and
//! reaches the value of the record's key through its context:
//!
//! ```
//! use weir_state::{KeyedStateStore, ValueStateDescriptor};
//!
//! let count = ValueStateDescriptor::<u64>::new("count");
//! let mut store = KeyedStateStore::<String>::new(128);
//! let key = store.key("alice".to_string());
//! let mut state = store.value(&count, &key).unwrap();
//! let n = state.get().unwrap().unwrap_or(0);
//! state.set(n + 1).unwrap();
//! assert_eq!(store.value(&count, &key).unwrap().get().unwrap(), Some(1));
//! ```

mod descriptor;
mod error;
mod heap;
mod store;

pub use descriptor::ValueStateDescriptor;
pub use error::StateError;
pub use store::{CurrentKey, KeyedStateStore, ValueState};
