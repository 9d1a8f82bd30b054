//! The record writer: the chain element that sends records to the next task.

use crate::channel::Channel;
use crate::failure::{cancelled, OperatorMeta};
use crate::message::{CheckpointBarrier, Message};
use crate::operator::{ChainElement, Input};
use crate::record_size::{inline_size, SizeEstimator};
use crate::snapshot::TaskSnapshot;
use crate::task::TaskShared;
use std::sync::Arc;
use weir_core::{StreamRecord, Watermark, WatermarkStatus};

/// Where one record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// To the channel with this index.
    One(usize),
    /// To every channel.
    All,
}

/// Chooses the channel(s) for each record of type `T`.
///
/// A partitioner either sends each record whole to the channel(s) that
/// [`select`](Self::select) names, or, when [`SPLITS`](Self::SPLITS) is true, splits
/// each record into parts for several channels with [`split`](Self::split). The
/// second is for records that are batches of rows (SQL's Arrow batches): a batch is
/// split by the key group of each row, so that every row reaches the subtask owning
/// its key, as a keyed exchange of single records would.
pub trait Partitioner<T>: Send {
    /// Whether the writer calls [`split`](Self::split) instead of
    /// [`select`](Self::select). A constant, so writers of whole records pay nothing.
    const SPLITS: bool = false;

    /// The target of `value` among `channels` channels.
    fn select(&mut self, value: &T, channels: usize) -> Selection;

    /// Splits `record` into parts, pushing each with the index of the channel it goes
    /// to onto `parts` (empty when called). Only called when [`SPLITS`](Self::SPLITS)
    /// is true; the default sends the record whole where [`select`](Self::select)
    /// says. Parts for one channel keep the order of the rows in the record.
    fn split(&mut self, record: StreamRecord<T>, channels: usize, parts: &mut Vec<(usize, StreamRecord<T>)>)
    where
        T: Clone,
    {
        match self.select(&record.value, channels) {
            Selection::One(index) => parts.push((index, record)),
            Selection::All => parts.extend((0..channels).map(|index| (index, record.clone()))),
        }
    }
}

/// What a record writer is built with.
#[derive(Clone)]
pub struct WriterContext {
    /// The operator that emits into the writer (for error reports).
    pub meta: OperatorMeta,
    /// The task the writer runs in (for cancellation while blocked).
    pub task: Arc<TaskShared>,
    /// Records per buffer.
    pub buffer_size: usize,
    /// Send every record at once (buffer timeout zero).
    pub flush_every_record: bool,
    /// Key groups of the receiving operator.
    pub target_max_parallelism: usize,
    /// Index of the sending subtask.
    pub subtask: usize,
    /// Seed for randomized partitioners.
    pub seed: u64,
}

/// Partitions records over the channels of one edge, one buffer per channel. A
/// buffer is sent when it is full (of records, or of its share of the channel's
/// bound in bytes), before any control event, on flush, and (with a zero buffer
/// timeout) after every record.
///
/// Sizes in bytes cost nothing per record for types that own no heap memory (the
/// record count bounds them). Records of other types are estimated
/// ([`crate::record_size`]): every record while they are large (at least
/// [`SAMPLED_BELOW`] bytes), every [`SAMPLE_EVERY`]th record while they are small,
/// each record counting as the last one estimated.
pub struct RecordWriter<T, P> {
    meta: OperatorMeta,
    task: Arc<TaskShared>,
    partitioner: P,
    channels: Vec<Arc<Channel<T>>>,
    buffers: Vec<Vec<StreamRecord<T>>>,
    buffer_size: usize,
    flush_every_record: bool,
    ended: bool,
    /// Sizes records of a type owning heap memory (`None`: fixed size, or the
    /// channels are not bounded in bytes).
    estimator: Option<SizeEstimator<T>>,
    /// Estimated bytes in each buffer (only with an estimator).
    buffer_bytes: Vec<usize>,
    /// A buffer is sent once it holds this many estimated bytes.
    max_buffer_bytes: usize,
    /// The last estimate, counted for every record until the next one.
    last_estimate: usize,
    /// Records until the next estimate.
    until_estimate: u32,
    /// The parts of a split record (reused; only for splitting partitioners).
    parts: Vec<(usize, StreamRecord<T>)>,
}

/// Records at least this large (estimated) are estimated one by one.
pub const SAMPLED_BELOW: usize = 1024;

/// Smaller records are estimated once every this many.
pub const SAMPLE_EVERY: u32 = 16;

impl<T: Clone + Send + 'static, P: Partitioner<T>> RecordWriter<T, P> {
    /// A writer over `channels` choosing targets with `partitioner`.
    pub fn new(context: &WriterContext, partitioner: P, channels: Vec<Arc<Channel<T>>>) -> Self {
        let buffers = channels.iter().map(|c| c.empty_buffer()).collect();
        // Each buffer gets an even share of its channel's bound in bytes, so that a
        // full channel stays within the bound.
        let (capacity_bytes, estimator) = channels.first().map_or((usize::MAX, None), |c| c.byte_bound());
        let capacity = channels.first().map_or(1, |c| c.capacity()).max(1);
        let max_buffer_bytes = (capacity_bytes / capacity).max(1);
        let fixed_size_records = (max_buffer_bytes / inline_size::<T>().max(1)).max(1);
        RecordWriter {
            meta: context.meta.clone(),
            task: context.task.clone(),
            partitioner,
            buffer_bytes: vec![0; channels.len()],
            channels,
            buffers,
            buffer_size: context.buffer_size.max(1).min(fixed_size_records),
            flush_every_record: context.flush_every_record,
            ended: false,
            estimator: if std::mem::needs_drop::<T>() { estimator } else { None },
            max_buffer_bytes,
            last_estimate: 0,
            until_estimate: 0,
            parts: Vec::new(),
        }
    }

    #[inline(always)]
    fn push(&mut self, index: usize, record: StreamRecord<T>) {
        let buffer = &mut self.buffers[index];
        buffer.push(record);
        let full = buffer.len() >= self.buffer_size || self.flush_every_record;
        // `needs_drop` is a constant per type: records that own no heap memory
        // skip the byte accounting entirely.
        if full || (std::mem::needs_drop::<T>() && self.estimator.is_some() && self.account_last(index)) {
            self.send(index);
        }
    }

    /// Adds the estimated size of the record just pushed to buffer `index`; whether
    /// the buffer is now over its share of the channel's bound.
    #[inline(always)]
    fn account_last(&mut self, index: usize) -> bool {
        if self.until_estimate == 0 {
            self.estimate_last(index);
        } else {
            self.until_estimate -= 1;
        }
        match self.buffer_bytes.get_mut(index) {
            Some(bytes) => {
                *bytes = bytes.saturating_add(self.last_estimate);
                *bytes >= self.max_buffer_bytes
            }
            None => false,
        }
    }

    #[inline(never)]
    fn estimate_last(&mut self, index: usize) {
        let last = self.buffers.get(index).and_then(|b| b.last());
        if let (Some(estimate), Some(record)) = (self.estimator, last) {
            self.last_estimate = estimate(&record.value);
            self.until_estimate = if self.last_estimate >= SAMPLED_BELOW {
                0
            } else {
                SAMPLE_EVERY - 1
            };
        }
    }

    /// Estimated bytes of buffer `index` (and resets its count).
    #[inline]
    fn take_bytes(&mut self, index: usize) -> usize {
        match self.estimator {
            Some(_) => std::mem::take(&mut self.buffer_bytes[index]),
            None => self.buffers[index].len().saturating_mul(inline_size::<T>()),
        }
    }

    #[inline(never)]
    fn send(&mut self, index: usize) {
        let bytes = self.take_bytes(index);
        let full = std::mem::take(&mut self.buffers[index]);
        let task = &self.task;
        match self.channels[index].send_data(full, bytes, &|| task.is_cancelled()) {
            Ok(empty) => self.buffers[index] = empty,
            Err(_) => cancelled(&self.meta),
        }
    }

    #[inline(never)]
    fn process_split(&mut self, record: StreamRecord<T>, channels: usize) {
        let mut parts = std::mem::take(&mut self.parts);
        self.partitioner.split(record, channels, &mut parts);
        for (index, part) in parts.drain(..) {
            if index >= channels {
                crate::failure::fail(
                    &self.meta,
                    format!("the partitioner sent a part to channel {index} of {channels}"),
                );
            }
            self.push(index, part);
        }
        self.parts = parts;
    }

    fn send_all(&mut self) {
        for index in 0..self.buffers.len() {
            if !self.buffers[index].is_empty() {
                self.send(index);
            }
        }
    }

    fn broadcast_event(&mut self, make: impl Fn() -> Message<T>) {
        self.send_all();
        for channel in &self.channels {
            channel.send_event(make());
        }
    }
}

impl<T: Clone + Send + 'static, P: Partitioner<T>> ChainElement for RecordWriter<T, P> {
    fn open(&mut self) {}

    fn process_watermark(&mut self, watermark: Watermark) {
        self.broadcast_event(|| Message::Watermark(watermark));
    }

    fn process_status(&mut self, status: WatermarkStatus) {
        self.broadcast_event(|| Message::Status(status));
    }

    fn flush(&mut self) {
        self.send_all();
    }

    fn end_input(&mut self) {
        self.broadcast_event(|| Message::EndOfData);
        self.ended = true;
    }

    fn checkpoint(&mut self, barrier: &CheckpointBarrier, _: &mut TaskSnapshot) {
        let barrier = *barrier;
        if barrier.unaligned && !self.ended {
            // The barrier overtakes everything queued, including what we flush now;
            // the receiver stores the overtaken buffers as channel state.
            for index in 0..self.channels.len() {
                if !self.buffers[index].is_empty() {
                    let bytes = self.take_bytes(index);
                    let full = std::mem::take(&mut self.buffers[index]);
                    self.buffers[index] = self.channels[index].force_data(full, bytes);
                }
                self.channels[index].send_priority_barrier(barrier);
            }
        } else {
            // In order (aligned, at-least-once, or nothing left to overtake).
            self.broadcast_event(|| Message::Barrier { barrier, overtaken: 0 });
        }
    }

    fn close(&mut self) {
        self.broadcast_event(|| Message::EndOfPartition);
    }
}

impl<T: Clone + Send + 'static, P: Partitioner<T>> Input<T> for RecordWriter<T, P> {
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) {
        let channels = self.channels.len();
        if P::SPLITS {
            self.process_split(record, channels);
            return;
        }
        match self.partitioner.select(&record.value, channels) {
            Selection::One(index) => self.push(index, record),
            Selection::All => {
                for index in 0..channels.saturating_sub(1) {
                    self.push(index, record.clone());
                }
                if channels > 0 {
                    self.push(channels - 1, record);
                }
            }
        }
    }
}
