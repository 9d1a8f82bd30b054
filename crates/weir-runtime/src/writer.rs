//! The record writer: the chain element that sends records to the next task.

use crate::channel::Channel;
use crate::failure::{cancelled, OperatorMeta};
use crate::message::{CheckpointBarrier, Message};
use crate::operator::{ChainElement, Input};
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
pub trait Partitioner<T>: Send {
    /// The target of `value` among `channels` channels.
    fn select(&mut self, value: &T, channels: usize) -> Selection;
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
/// buffer is sent when it is full, before any control event, on flush, and (with a
/// zero buffer timeout) after every record.
pub struct RecordWriter<T, P> {
    meta: OperatorMeta,
    task: Arc<TaskShared>,
    partitioner: P,
    channels: Vec<Arc<Channel<T>>>,
    buffers: Vec<Vec<StreamRecord<T>>>,
    buffer_size: usize,
    flush_every_record: bool,
    ended: bool,
}

impl<T: Clone + Send + 'static, P: Partitioner<T>> RecordWriter<T, P> {
    /// A writer over `channels` choosing targets with `partitioner`.
    pub fn new(context: &WriterContext, partitioner: P, channels: Vec<Arc<Channel<T>>>) -> Self {
        let buffers = channels.iter().map(|c| c.empty_buffer()).collect();
        RecordWriter {
            meta: context.meta.clone(),
            task: context.task.clone(),
            partitioner,
            channels,
            buffers,
            buffer_size: context.buffer_size.max(1),
            flush_every_record: context.flush_every_record,
            ended: false,
        }
    }

    #[inline]
    fn push(&mut self, index: usize, record: StreamRecord<T>) {
        let buffer = &mut self.buffers[index];
        buffer.push(record);
        if buffer.len() >= self.buffer_size || self.flush_every_record {
            self.send(index);
        }
    }

    #[inline(never)]
    fn send(&mut self, index: usize) {
        let full = std::mem::take(&mut self.buffers[index]);
        let task = &self.task;
        match self.channels[index].send_data(full, &|| task.is_cancelled()) {
            Ok(empty) => self.buffers[index] = empty,
            Err(_) => cancelled(&self.meta),
        }
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
                    let full = std::mem::take(&mut self.buffers[index]);
                    self.buffers[index] = self.channels[index].force_data(full);
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
