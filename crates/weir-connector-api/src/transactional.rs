//! Exactly-once sinks by two-phase commit.
//!
//! A [`TransactionalSink`] writes each checkpoint interval's records into a
//! transaction. At the checkpoint barrier the open transaction is *pre-committed*
//! (made durable, not yet visible) and its handle is stored in the checkpoint; when
//! the checkpoint completes everywhere, the transaction is *committed* (made
//! visible). After a failure the job restores the last completed checkpoint; the
//! pre-committed transactions in it are committed again (commits are idempotent), and
//! whatever the failed run left open or pre-committed without a completed checkpoint
//! is cleaned up. So a crash at any moment, including between "checkpoint complete"
//! and "commit done", neither loses nor duplicates output.
//!
//! The write-ahead-log pattern is the same protocol with the transaction kept in the
//! checkpoint itself (see `weir_connectors::WriteAheadLogSink`).

use crate::sink::{Sink, SinkContext, SinkWriter};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::{BoxError, SubtaskInfo, Watermark};

/// What transaction methods learn about their subtask.
#[derive(Debug, Clone)]
pub struct TransactionContext {
    /// The subtask (its index and the job attempt make names unique).
    pub info: SubtaskInfo,
    /// Transactions begun by this writer so far (a per-attempt sequence number).
    pub sequence: u64,
}

/// A sink whose output becomes visible per completed checkpoint.
pub trait TransactionalSink<T>: Send + Sync + 'static {
    /// An open transaction (may hold files or connections).
    type Transaction: Send;
    /// A pre-committed transaction: durable, ready to commit, stored in checkpoints.
    type Pending: Serialize + DeserializeOwned + Send + 'static;

    /// Opens a transaction.
    fn begin(&self, context: &TransactionContext) -> Result<Self::Transaction, BoxError>;

    /// Writes one record into `transaction`.
    fn write(
        &self,
        context: &TransactionContext,
        transaction: &mut Self::Transaction,
        value: T,
        timestamp: Option<i64>,
    ) -> Result<(), BoxError>;

    /// Makes `transaction` durable without making it visible, at checkpoint
    /// `checkpoint_id`'s barrier; `None` when it holds nothing to commit.
    fn pre_commit(
        &self,
        context: &TransactionContext,
        transaction: Self::Transaction,
        checkpoint_id: u64,
    ) -> Result<Option<Self::Pending>, BoxError>;

    /// Makes a pre-committed transaction visible. Must be idempotent: after a
    /// failure it is called again for transactions that may already be committed.
    ///
    /// `context` is the committing subtask's. After a restore at another
    /// parallelism that is not the subtask that pre-committed `pending` (see
    /// [`clean_up`](Self::clean_up)): whatever names the transaction (a writer
    /// index, a file name, a transactional id) must be recorded in `pending` at
    /// pre-commit, not taken from `context` here.
    fn commit(&self, context: &TransactionContext, pending: &Self::Pending) -> Result<(), BoxError>;

    /// Discards an open transaction.
    fn abort(&self, context: &TransactionContext, transaction: Self::Transaction) -> Result<(), BoxError>;

    /// The writer's input watermark advanced (see
    /// [`SinkWriter::write_watermark`]); `transaction` is the open transaction, if
    /// any. The default ignores it.
    fn watermark(
        &self,
        _context: &TransactionContext,
        _transaction: Option<&mut Self::Transaction>,
        _watermark: Watermark,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// Called once after a restore, when the restored pre-committed transactions are
    /// committed: discard what earlier attempts of this subtask left behind that no
    /// completed checkpoint covers.
    ///
    /// After a change of parallelism the transactions pre-committed by old subtask
    /// `w` are restored to subtask `w % parallelism` (the runtime's `SINK_STATE_REDISTRIBUTION`),
    /// so a subtask may discard exactly the leftovers of writers `w` with
    /// `w % parallelism == index`: no other subtask is committing them.
    fn clean_up(&self, _context: &TransactionContext) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Adapts a [`TransactionalSink`] to [`Sink`].
pub struct ExactlyOnce<T, S> {
    sink: Arc<S>,
    _records: PhantomData<fn(T)>,
}

impl<T, S> ExactlyOnce<T, S> {
    /// A sink running `sink`'s two-phase commit protocol.
    pub fn new(sink: S) -> Self {
        ExactlyOnce {
            sink: Arc::new(sink),
            _records: PhantomData,
        }
    }
}

fn encode<P: Serialize>(value: &P) -> Result<Vec<u8>, BoxError> {
    Ok(bincode::serde::encode_to_vec(value, bincode::config::standard())?)
}

fn decode<P: DeserializeOwned>(bytes: &[u8]) -> Result<P, BoxError> {
    let (value, _) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())?;
    Ok(value)
}

impl<T, S> Sink<T> for ExactlyOnce<T, S>
where
    T: Send + 'static,
    S: TransactionalSink<T>,
{
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let txn_context = TransactionContext {
            info: context.info.clone(),
            sequence: 0,
        };
        if let Some(restored) = &context.restored {
            // Everything in the restored state belongs to completed checkpoints.
            for bytes in restored {
                let (checkpoint_id, pending): (u64, S::Pending) = decode(bytes)
                    .map_err(|e| format!("cannot decode a pre-committed transaction from the checkpoint: {e}"))?;
                self.sink.commit(&txn_context, &pending).map_err(|e| {
                    format!(
                        "cannot commit the transaction pre-committed at checkpoint {checkpoint_id} on recovery: {e}"
                    )
                })?;
            }
            self.sink.clean_up(&txn_context)?;
        } else if context.checkpointing {
            self.sink.clean_up(&txn_context)?;
        }
        Ok(Box::new(TransactionalWriter {
            sink: self.sink.clone(),
            context: txn_context,
            current: None,
            pending: Vec::new(),
            checkpointing: context.checkpointing,
        }))
    }
}

struct TransactionalWriter<T, S: TransactionalSink<T>> {
    sink: Arc<S>,
    context: TransactionContext,
    current: Option<S::Transaction>,
    pending: Vec<(u64, S::Pending)>,
    checkpointing: bool,
}

impl<T, S: TransactionalSink<T>> TransactionalWriter<T, S> {
    fn transaction(&mut self) -> Result<&mut S::Transaction, BoxError> {
        if self.current.is_none() {
            let transaction = self.sink.begin(&self.context)?;
            self.context.sequence += 1;
            self.current = Some(transaction);
        }
        self.current.as_mut().ok_or_else(|| "transaction vanished".into())
    }
}

impl<T: Send, S: TransactionalSink<T>> SinkWriter<T> for TransactionalWriter<T, S> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        let sink = self.sink.clone();
        let context = self.context.clone();
        let transaction = self.transaction()?;
        sink.write(&context, transaction, value, timestamp)
    }

    fn write_watermark(&mut self, watermark: Watermark) -> Result<(), BoxError> {
        self.sink.watermark(&self.context, self.current.as_mut(), watermark)
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        if self.checkpointing {
            // The final checkpoint pre-commits and commits what is left.
            return Ok(());
        }
        if let Some(transaction) = self.current.take() {
            if let Some(pending) = self.sink.pre_commit(&self.context, transaction, 0)? {
                self.sink.commit(&self.context, &pending)?;
            }
        }
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        if let Some(transaction) = self.current.take() {
            if let Some(pending) = self.sink.pre_commit(&self.context, transaction, checkpoint_id)? {
                self.pending.push((checkpoint_id, pending));
            }
        }
        self.pending.iter().map(encode).collect()
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        let mut index = 0;
        while index < self.pending.len() {
            if self.pending[index].0 <= checkpoint_id {
                let (_, pending) = self.pending.remove(index);
                self.sink.commit(&self.context, &pending)?;
            } else {
                index += 1;
            }
        }
        Ok(())
    }
}

impl<T, S: TransactionalSink<T>> Drop for TransactionalWriter<T, S> {
    fn drop(&mut self) {
        if let Some(transaction) = self.current.take() {
            if let Err(e) = self.sink.abort(&self.context, transaction) {
                tracing::warn!("aborting an open transaction failed (it is cleaned up on recovery): {e}");
            }
        }
    }
}
