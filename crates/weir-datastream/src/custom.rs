//! Custom operators: the seam through which other front ends (Weir's SQL) and users
//! add operators of their own to a job, with the same state, timers, checkpoints and
//! restores as the built-in ones.
//!
//! An operator implements [`Operator`] (one input) or [`CoOperator`] (two inputs):
//! what to do with a record given the downstream element, with a watermark, at the
//! end of input, and what state to hand over at a checkpoint. It is added with
//! [`DataStream::transform`](crate::DataStream::transform) or
//! [`ConnectedStreams::transform`](crate::ConnectedStreams::transform), whose `make`
//! closure builds one instance per subtask from the subtask's [`BuildContext`]:
//! [`keyed_store`] and [`operator_store`] open its state (restored after a failure or
//! from a savepoint), [`Timers`] keeps per-key timers in that keyed state.
//!
//! Keyed state needs every record of a key in one subtask: feed a keyed operator
//! through [`KeyedStream`](crate::KeyedStream)-style hash partitioning, or, for
//! records that are batches of rows, through
//! [`DataStream::partition_with`](crate::DataStream::partition_with) and a
//! [`weir_runtime::partitioner::splitting`] partitioner that splits each batch by the
//! key group of its rows.

pub use crate::operators::timers::Timers;
pub use crate::operators::{CoOperator, Operator, OperatorState};
pub use weir_runtime::factory::BuildContext;
pub use weir_runtime::operator::Input;

use std::hash::Hash;
use weir_core::{BoxError, Data};
use weir_state::{KeyedStateStore, OperatorStateStore};

/// The keyed state store of the subtask being built, holding its key groups' state
/// after a restore. Keys are placed in key groups by
/// [`weir_core::keygroup::key_group_for_key`].
pub fn keyed_store<K: Data + Hash + Eq>(context: &BuildContext) -> Result<KeyedStateStore<K>, BoxError> {
    crate::state::keyed_store(context)
}

/// The operator state store of the subtask being built, holding its share of the
/// operator's list state after a restore.
pub fn operator_store(context: &BuildContext) -> OperatorStateStore {
    crate::state::operator_store(context)
}
