//! Creating operator state stores from a task's restored state.

use std::hash::Hash;
use weir_core::{BoxError, Data};
use weir_runtime::factory::BuildContext;
use weir_state::{KeyedStateStore, OperatorStateStore};

/// The keyed state store of an operator subtask, with its restored key groups.
pub(crate) fn keyed_store<K: Data + Hash + Eq>(context: &BuildContext) -> Result<KeyedStateStore<K>, BoxError> {
    let mut store = KeyedStateStore::new(context.info.max_parallelism, context.info.key_group_range());
    if let Some(restored) = &context.restored {
        for block in &restored.keyed {
            store.restore_block(block.clone())?;
        }
    }
    Ok(store)
}

/// The operator state store of an operator subtask, with its restored lists.
pub(crate) fn operator_store(context: &BuildContext) -> OperatorStateStore {
    match &context.restored {
        Some(restored) => OperatorStateStore::restored(restored.operator_state.clone()),
        None => OperatorStateStore::new(),
    }
}
