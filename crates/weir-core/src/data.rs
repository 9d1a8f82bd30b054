//! The [`Data`] bound for record types.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Everything a record type needs to travel through Weir.
///
/// `Clone` lets one stream feed several consumers and broadcast partitioning copy a
/// record to every channel; `Send` lets records cross task threads, and `Sync` lets
/// snapshots of state be written by another thread while the task goes on; `Serialize` and
/// `DeserializeOwned` let records cross process boundaries, be stored as keyed state and
/// be written as channel state by unaligned checkpoints. The bound is implemented
/// automatically for every type that satisfies it: integers, strings, tuples, vectors
/// and any `#[derive(Clone, Serialize, Deserialize)]` struct.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}

impl<T> Data for T where T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
