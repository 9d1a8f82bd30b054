//! The write-ahead-log sink pattern.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use weir_core::{BoxError, SubtaskInfo};
use weir_runtime::sink::transactional::{TransactionContext, TransactionalSink};

/// Keeps output in checkpointed state and writes it out, as one batch per
/// checkpoint, when the checkpoint completes.
///
/// Works with any external system: `write_batch(subtask, checkpoint, records)` is
/// called once per subtask and completed checkpoint. Results become visible only
/// per checkpoint. It is *not* fully exactly-once: if the process fails after a batch
/// was (partly) written but before the sink learned so, the batch is written again on
/// recovery. Make `write_batch` idempotent (e.g. key the batch by `(subtask,
/// checkpoint)`) for exactly-once effects, or use a two-phase-commit sink when the
/// system has transactions.
pub struct WriteAheadLogSink<T, F> {
    write_batch: F,
    _records: PhantomData<fn(T)>,
}

impl<T, F> WriteAheadLogSink<T, F>
where
    F: Fn(&SubtaskInfo, u64, &[T]) -> Result<(), BoxError> + Send + Sync + 'static,
{
    /// A sink handing each completed checkpoint's records to `write_batch`.
    pub fn new(write_batch: F) -> Self {
        WriteAheadLogSink {
            write_batch,
            _records: PhantomData,
        }
    }
}

impl<T, F> TransactionalSink<T> for WriteAheadLogSink<T, F>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: Fn(&SubtaskInfo, u64, &[T]) -> Result<(), BoxError> + Send + Sync + 'static,
{
    type Transaction = Vec<T>;
    type Pending = (u64, Vec<T>);

    fn begin(&self, _: &TransactionContext) -> Result<Vec<T>, BoxError> {
        Ok(Vec::new())
    }

    fn write(&self, _: &TransactionContext, batch: &mut Vec<T>, value: T, _: Option<i64>) -> Result<(), BoxError> {
        batch.push(value);
        Ok(())
    }

    fn pre_commit(
        &self,
        _: &TransactionContext,
        batch: Vec<T>,
        checkpoint_id: u64,
    ) -> Result<Option<(u64, Vec<T>)>, BoxError> {
        Ok((!batch.is_empty()).then_some((checkpoint_id, batch)))
    }

    fn commit(&self, context: &TransactionContext, (checkpoint_id, batch): &(u64, Vec<T>)) -> Result<(), BoxError> {
        (self.write_batch)(&context.info, *checkpoint_id, batch)
    }

    fn abort(&self, _: &TransactionContext, _: Vec<T>) -> Result<(), BoxError> {
        Ok(())
    }
}
