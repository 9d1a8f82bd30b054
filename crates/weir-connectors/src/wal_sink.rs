//! The write-ahead-log sink pattern.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use weir_core::BoxError;
use weir_runtime::sink::transactional::{TransactionContext, TransactionalSink};

/// Names one batch of a [`WriteAheadLogSink`]: the subtask that wrote it and the
/// checkpoint that closed it.
///
/// The id travels with the batch through checkpoints, so it stays the same when
/// the batch is written again after a restore, also at another parallelism (where
/// another subtask writes it); and no two batches share one, since checkpoint ids
/// keep increasing, also in a job restored from a checkpoint or savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BatchId {
    /// The index of the subtask that wrote the batch, among the subtasks of the
    /// run that wrote it.
    pub writer: usize,
    /// The checkpoint whose barrier closed the batch (0 without checkpoints: a
    /// subtask's one batch, written when its input ends).
    pub checkpoint_id: u64,
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.writer, self.checkpoint_id)
    }
}

/// Keeps output in checkpointed state and writes it out, as one batch per subtask
/// and checkpoint, when the checkpoint completes.
///
/// Works with any external system: `write_batch(id, records)` is called for each
/// batch once its checkpoint completed. Results become visible per checkpoint.
///
/// A batch may be written more than once, always with the same [`BatchId`] and
/// the same records: when a job fails after `write_batch` was called but before
/// its next checkpoint completed, the restored checkpoint still holds the batch,
/// and it is written again on recovery (after a change of parallelism by another
/// subtask, under its original id). For exactly-once results, let a write with an
/// id *replace* what an earlier write with that id left (e.g. an upsert keyed by
/// the id, or one transaction that deletes and inserts the id's rows). Do not key
/// batches by the subtask that calls `write_batch`: after a rescale one subtask
/// writes batches of several old ones. A system with transactions is better
/// served by a two-phase-commit sink. Two jobs started from the same checkpoint or
/// savepoint produce batches with the same ids: give them separate destinations.
///
/// Wrap it in `ExactlyOnce` to use it as a sink.
pub struct WriteAheadLogSink<T, F> {
    write_batch: F,
    _records: PhantomData<fn(T)>,
}

impl<T, F> WriteAheadLogSink<T, F>
where
    F: Fn(BatchId, &[T]) -> Result<(), BoxError> + Send + Sync + 'static,
{
    /// A sink handing each completed checkpoint's records to `write_batch`, one
    /// batch per subtask that wrote records.
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
    F: Fn(BatchId, &[T]) -> Result<(), BoxError> + Send + Sync + 'static,
{
    type Transaction = Vec<T>;
    /// The batch with its id: the writer is recorded here, at pre-commit, because
    /// after a rescale another subtask commits it.
    type Pending = (BatchId, Vec<T>);

    fn begin(&self, _: &TransactionContext) -> Result<Vec<T>, BoxError> {
        Ok(Vec::new())
    }

    fn write(&self, _: &TransactionContext, batch: &mut Vec<T>, value: T, _: Option<i64>) -> Result<(), BoxError> {
        batch.push(value);
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        batch: Vec<T>,
        checkpoint_id: u64,
    ) -> Result<Option<(BatchId, Vec<T>)>, BoxError> {
        let id = BatchId {
            writer: context.info.index,
            checkpoint_id,
        };
        Ok((!batch.is_empty()).then_some((id, batch)))
    }

    fn commit(&self, _: &TransactionContext, (id, batch): &(BatchId, Vec<T>)) -> Result<(), BoxError> {
        (self.write_batch)(*id, batch).map_err(|e| format!("writing batch {id} failed: {e}").into())
    }

    fn abort(&self, _: &TransactionContext, _: Vec<T>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use weir_core::SubtaskInfo;
    use weir_runtime::sink::transactional::ExactlyOnce;
    use weir_runtime::sink::{Sink, SinkContext, SINK_STATE_REDISTRIBUTION};
    use weir_state::{redistribute, OperatorList, OperatorStateSnapshot};

    type Written = Arc<Mutex<BTreeMap<BatchId, Vec<u32>>>>;

    fn sink(written: &Written) -> ExactlyOnce<u32, impl TransactionalSink<u32>> {
        let written = written.clone();
        ExactlyOnce::new(WriteAheadLogSink::new(move |id: BatchId, records: &[u32]| {
            written.lock().map_err(|_| "poisoned")?.insert(id, records.to_vec());
            Ok(())
        }))
    }

    fn context(index: usize, parallelism: usize, restored: Option<Vec<Vec<u8>>>) -> SinkContext {
        SinkContext {
            info: SubtaskInfo::new("wal", index, parallelism, 128),
            checkpointing: true,
            restored,
        }
    }

    /// Four writers pre-commit checkpoint 1 and fail before it is committed; the
    /// restore at parallelism 2 writes every batch once, under its writer's id.
    #[test]
    fn a_scale_down_writes_each_restored_batch_under_its_own_id() {
        let written = Written::default();
        let sink = sink(&written);
        let snapshots: Vec<OperatorStateSnapshot> = (0..4)
            .map(|index| {
                let mut writer = sink.create_writer(&context(index, 4, None)).unwrap();
                writer.write(index as u32, None).unwrap();
                let elements = writer.snapshot_state(1).unwrap();
                OperatorStateSnapshot {
                    lists: vec![OperatorList {
                        name: "sink-state".into(),
                        mode: SINK_STATE_REDISTRIBUTION,
                        elements: elements.into_iter().map(serde_bytes::ByteBuf::from).collect(),
                    }],
                }
            })
            .collect();
        assert!(written.lock().unwrap().is_empty());
        for (index, restored) in redistribute(&snapshots, 2).into_iter().enumerate() {
            let elements = restored.lists[0].elements.iter().map(|e| e.to_vec()).collect();
            sink.create_writer(&context(index, 2, Some(elements))).unwrap();
        }
        let written = written.lock().unwrap().clone();
        let expected: BTreeMap<BatchId, Vec<u32>> = (0..4)
            .map(|w| {
                (
                    BatchId {
                        writer: w,
                        checkpoint_id: 1,
                    },
                    vec![w as u32],
                )
            })
            .collect();
        assert_eq!(written, expected);
    }
}
