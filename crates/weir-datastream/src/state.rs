//! Creating operator state stores from a task's restored state.

use std::hash::Hash;
use weir_core::hash::stable_hash;
use weir_core::{BoxError, Data};
use weir_runtime::factory::BuildContext;
use weir_state::{KeyedStateStore, OperatorStateStore};

/// The keyed state store of an operator subtask, with its restored key groups.
pub(crate) fn keyed_store<K: Data + Hash + Eq>(context: &BuildContext) -> Result<KeyedStateStore<K>, BoxError> {
    let store = KeyedStateStore::open(
        &context.state_backend,
        context.info.max_parallelism,
        context.info.key_group_range(),
        stable_hash::<K>,
    )?;
    restore(context, store)
}

fn record_key_hash<K: Hash, W>(key: &(K, Option<W>)) -> u64 {
    stable_hash(&key.0)
}

/// The state store of a window operator subtask: keys are a record key with an
/// optional window, placed in the key group of the record key.
pub(crate) fn window_store<K: Data + Hash + Eq, W: Data + Hash + Eq>(
    context: &BuildContext,
) -> Result<KeyedStateStore<(K, Option<W>)>, BoxError> {
    let store = KeyedStateStore::open(
        &context.state_backend,
        context.info.max_parallelism,
        context.info.key_group_range(),
        record_key_hash::<K, W>,
    )?;
    restore(context, store)
}

fn restore<K: Data + Hash + Eq>(
    context: &BuildContext,
    mut store: KeyedStateStore<K>,
) -> Result<KeyedStateStore<K>, BoxError> {
    if let Some(restored) = &context.restored {
        for block in &restored.keyed {
            store.restore_block(block.clone())?;
        }
        if !restored.native.is_empty() {
            let Some(shared) = &restored.shared else {
                return Err("an incremental snapshot was restored without its shared files".into());
            };
            let snapshots: Vec<(&weir_state::NativeSnapshot, &[u8])> =
                restored.native.iter().map(|(s, bytes)| (s, bytes.as_slice())).collect();
            store.restore_native(&snapshots, shared)?;
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
