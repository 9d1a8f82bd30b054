//! Running a split source by hand, without the runtime: for connector tests.
//!
//! [`Harness`] creates one reader per subtask exactly as the runtime does, polls
//! them in the order a test chooses, delivers checkpoint barriers one reader at a
//! time, and restarts from a checkpoint's states at any parallelism (handing every
//! reader all states, as the runtime does for split sources). A test can so check
//! that a source neither loses nor repeats records across checkpoints, restores and
//! rescales, with barriers and assignments interleaved in any order.

use super::{SplitSource, SplitSourceAdapter};
use crate::source::{CollectingOutput, PollStatus, ReaderContext, Source, SourceOutput, SourceReader, SourceWaker};
use std::sync::Arc;
use weir_core::{BoxError, SubtaskInfo};

/// The readers of one run of a split source.
pub struct Harness<T, S: SplitSource<T>> {
    adapter: Arc<SplitSourceAdapter<T, S>>,
    readers: Vec<Box<dyn SourceReader<T>>>,
    finished: Vec<bool>,
    outputs: Vec<CollectingOutput<T>>,
}

impl<T: 'static, S: SplitSource<T>> Harness<T, S> {
    /// Starts run `attempt` of `adapter` at `parallelism`, restored from `restored`
    /// (the union of all readers' states at a checkpoint) if given.
    pub fn start(
        adapter: Arc<SplitSourceAdapter<T, S>>,
        parallelism: usize,
        attempt: u32,
        restored: Option<Vec<Vec<u8>>>,
    ) -> Result<Self, BoxError> {
        let mut readers = Vec::new();
        for index in 0..parallelism {
            let mut info = SubtaskInfo::new("harness", index, parallelism, 128);
            info.attempt = attempt;
            readers.push(adapter.create_reader(&ReaderContext {
                info,
                waker: SourceWaker::noop(),
                restored: restored.clone(),
            })?);
        }
        Ok(Harness {
            adapter,
            finished: vec![false; parallelism],
            outputs: (0..parallelism).map(|_| CollectingOutput::default()).collect(),
            readers,
        })
    }

    /// Polls reader `index` once (nothing if it finished).
    pub fn poll(&mut self, index: usize) -> Result<PollStatus, BoxError> {
        if self.finished[index] {
            return Ok(PollStatus::Finished);
        }
        let mut output = SourceOutput::new(&mut self.outputs[index]);
        let status = self.readers[index].poll_next(&mut output)?;
        if status == PollStatus::Finished {
            self.finished[index] = true;
        }
        Ok(status)
    }

    /// Delivers checkpoint `checkpoint_id`'s barrier to reader `index`; returns its
    /// state elements.
    pub fn barrier(&mut self, index: usize, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.readers[index].snapshot_state(checkpoint_id)
    }

    /// Delivers the barrier to every reader in index order and returns the union of
    /// their states.
    pub fn checkpoint(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let mut all = Vec::new();
        for index in 0..self.readers.len() {
            all.extend(self.barrier(index, checkpoint_id)?);
        }
        Ok(all)
    }

    /// Tells every reader that checkpoint `checkpoint_id` completed.
    pub fn complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        for reader in &mut self.readers {
            reader.notify_checkpoint_complete(checkpoint_id)?;
        }
        Ok(())
    }

    /// Whether every reader finished.
    pub fn all_finished(&self) -> bool {
        self.finished.iter().all(|f| *f)
    }

    /// Polls all readers round-robin until all finished; fails after `max_rounds`
    /// rounds without finishing.
    pub fn run_to_end(&mut self, max_rounds: usize) -> Result<(), BoxError> {
        for _ in 0..max_rounds {
            if self.all_finished() {
                return Ok(());
            }
            for index in 0..self.readers.len() {
                self.poll(index)?;
            }
        }
        if self.all_finished() {
            Ok(())
        } else {
            Err(format!("the source did not finish within {max_rounds} rounds of polls").into())
        }
    }

    /// Takes the records emitted so far (all readers, in reader order).
    pub fn take_records(&mut self) -> Vec<T> {
        self.outputs
            .iter_mut()
            .flat_map(|o| std::mem::take(&mut o.records))
            .map(|r| r.value)
            .collect()
    }

    /// Takes the records reader `index` emitted so far.
    pub fn take_records_of(&mut self, index: usize) -> Vec<T> {
        std::mem::take(&mut self.outputs[index].records)
            .into_iter()
            .map(|r| r.value)
            .collect()
    }

    /// The number of readers.
    pub fn parallelism(&self) -> usize {
        self.readers.len()
    }

    /// The adapter, to start another run.
    pub fn adapter(&self) -> Arc<SplitSourceAdapter<T, S>> {
        self.adapter.clone()
    }
}

/// Reads a bounded split source to its end with `parallelism` readers.
pub fn drive<T: 'static, S: SplitSource<T>>(source: S, parallelism: usize) -> Result<Vec<T>, BoxError> {
    let adapter = Arc::new(SplitSourceAdapter::new("test", source));
    let mut harness = Harness::start(adapter, parallelism, 0, None)?;
    harness.run_to_end(1_000_000)?;
    Ok(harness.take_records())
}
