//! A source of records computed from their index.

use crate::collection::StridedSplit;
use crate::split_state::{decode_all, encode};
use crate::MAX_RECORDS_PER_POLL;
use std::sync::Arc;
use std::time::Instant;
use weir_core::BoxError;
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Emits `generate(0)`, `generate(1)`, … : `count` records, or without end.
///
/// Subtask `i` of `p` emits the indexes `i, i + p, i + 2p, …`, so the union of all
/// subtasks is every index exactly once, and the same index always yields the same
/// record: the position is checkpointed and replay after a failure yields the very
/// same records. A subtask that holds several splits (restored at a lower
/// parallelism) emits their records in index order, not one split after another. With a rate limit the whole source emits at most
/// `records_per_second`, shared evenly among its subtasks.
///
/// ```
/// use weir_connectors::GeneratorSource;
/// let squares = GeneratorSource::new(|i| i * i).with_count(100).with_rate_limit(10_000.0);
/// # let _ = squares;
/// ```
pub struct GeneratorSource<T> {
    generate: Arc<dyn Fn(u64) -> T + Send + Sync>,
    count: Option<u64>,
    rate: Option<f64>,
    per_poll: u64,
}

impl<T> Clone for GeneratorSource<T> {
    fn clone(&self) -> Self {
        GeneratorSource {
            generate: self.generate.clone(),
            count: self.count,
            rate: self.rate,
            per_poll: self.per_poll,
        }
    }
}

impl<T> std::fmt::Debug for GeneratorSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSource")
            .field("count", &self.count)
            .field("rate", &self.rate)
            .finish()
    }
}

impl<T> GeneratorSource<T> {
    /// An unbounded, unthrottled generator.
    pub fn new(generate: impl Fn(u64) -> T + Send + Sync + 'static) -> Self {
        GeneratorSource {
            generate: Arc::new(generate),
            count: None,
            rate: None,
            per_poll: MAX_RECORDS_PER_POLL as u64,
        }
    }

    /// Stops after `count` records in total.
    pub fn with_count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Emits at most `records_per_second` in total (ignored unless positive and finite).
    pub fn with_rate_limit(mut self, records_per_second: f64) -> Self {
        self.rate = (records_per_second.is_finite() && records_per_second > 0.0).then_some(records_per_second);
        self
    }

    /// Emits at most `records` records per poll (default 1024). Watermarks and
    /// checkpoint barriers enter the stream between polls, so `1` places them
    /// between any two records: deterministic event-time tests use it.
    pub fn with_records_per_poll(mut self, records: usize) -> Self {
        self.per_poll = records.max(1) as u64;
        self
    }
}

struct GeneratorReader<T> {
    generate: Arc<dyn Fn(u64) -> T + Send + Sync>,
    splits: Vec<StridedSplit>,
    end: Option<u64>,
    rate: Option<f64>,
    per_poll: u64,
    started: Option<Instant>,
    emitted: u64,
}

impl<T: Send + 'static> SourceReader<T> for GeneratorReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        let mut budget = self.per_poll;
        if let Some(rate) = self.rate {
            let started = *self.started.get_or_insert_with(Instant::now);
            let allowed = ((started.elapsed().as_secs_f64() * rate) as u64).saturating_add(1);
            if allowed <= self.emitted {
                let due = weir_core::time::deadline(
                    started,
                    weir_core::time::duration_from_secs_f64(self.emitted as f64 / rate),
                );
                return Ok(PollStatus::Pending { retry_at: Some(due) });
            }
            budget = budget.min(allowed - self.emitted);
        }
        let end = self.end;
        let exhausted = |s: &StridedSplit| end.is_some_and(|end| s.next >= end);
        while budget > 0 {
            if let Some(done) = self.splits.iter().position(exhausted) {
                let split = self.splits.remove(done);
                output.split_finished((split.next % split.step) as usize);
                continue;
            }
            // Several splits (after scaling down) advance together, in index order.
            let Some(split) = self.splits.iter_mut().min_by_key(|s| s.next) else {
                return Ok(PollStatus::Finished);
            };
            let split_id = (split.next % split.step) as usize;
            output.collect_in(split_id, (self.generate)(split.next));
            split.next += split.step;
            self.emitted += 1;
            budget -= 1;
        }
        self.splits.retain(|s| !exhausted(s));
        if self.splits.is_empty() {
            return Ok(PollStatus::Finished);
        }
        Ok(PollStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.splits.iter().map(encode).collect()
    }
}

impl<T: Send + 'static> Source<T> for GeneratorSource<T> {
    fn boundedness(&self) -> Boundedness {
        if self.count.is_some() {
            Boundedness::Bounded
        } else {
            Boundedness::Unbounded
        }
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        let p = context.info.parallelism.max(1);
        let splits = match &context.restored {
            Some(restored) => decode_all(restored, "a generator source")?,
            None => vec![StridedSplit {
                next: context.info.index as u64,
                step: p as u64,
            }],
        };
        Ok(Box::new(GeneratorReader {
            generate: self.generate.clone(),
            splits,
            end: self.count,
            rate: self.rate.map(|r| r / p as f64),
            per_poll: self.per_poll,
            started: None,
            emitted: 0,
        }))
    }
}
