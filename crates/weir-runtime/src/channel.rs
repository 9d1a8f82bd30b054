//! Bounded in-process channels between two subtasks.
//!
//! A channel connects one subtask of an upstream vertex to one subtask of a downstream
//! vertex. It holds at most `capacity` data buffers, and buffers of at most
//! `capacity_bytes` estimated bytes (see [`crate::record_size`]; an empty channel
//! always takes a buffer, so one larger than the bound still passes); a sender that
//! finds it full blocks until the receiver takes one, which is how a slow consumer
//! slows its producers (backpressure) and why memory stays bounded, also for large
//! records. Control events
//! (watermarks, barriers, end of partition) are small and never block. Emptied buffers
//! go back to the sender through the channel, so a running job does not allocate per
//! buffer.

use crate::message::Message;
use crate::record_size::SizeEstimator;
use crate::signal::TaskSignal;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use weir_core::StreamRecord;

/// The sender's task was cancelled while it waited for space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCancelled;

/// Occupancy figures of one channel, read after (or during) a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelStats {
    /// Data buffers the channel may hold.
    pub capacity: usize,
    /// Estimated bytes of records the channel may hold (one buffer more than that
    /// when it is empty).
    pub capacity_bytes: usize,
    /// Most data buffers it ever held at once.
    pub max_queued: usize,
    /// Most estimated bytes of records it ever held at once.
    pub max_queued_bytes: usize,
    /// Data buffers sent through it.
    pub buffers_sent: u64,
    /// Records sent through it.
    pub records_sent: u64,
    /// Estimated bytes of the records sent through it.
    pub bytes_sent: u64,
    /// Times the sender found the channel full and had to wait.
    pub sender_waits: u64,
}

struct Inner<T> {
    queue: VecDeque<Message<T>>,
    queued_data: usize,
    /// Estimated bytes of each queued data buffer, oldest first.
    data_bytes: VecDeque<usize>,
    queued_bytes: usize,
    /// Queued data buffers and watermarks: what an unaligned barrier overtakes
    /// and the receiver records as channel state.
    queued_in_band: usize,
    /// Unaligned barriers at the front of the queue, in order.
    priority: usize,
    free: Vec<Vec<StreamRecord<T>>>,
    sender_blocked: bool,
    stats: ChannelStats,
}

/// A bounded channel between two subtasks.
pub struct Channel<T> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
    capacity_bytes: usize,
    estimator: Option<SizeEstimator<T>>,
    buffer_size: usize,
    receiver: Arc<TaskSignal>,
    sender: Arc<TaskSignal>,
}

impl<T> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("capacity", &self.capacity)
            .field("capacity_bytes", &self.capacity_bytes)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Channel<T> {
    /// A channel holding at most `capacity` data buffers of about `buffer_size` records;
    /// `sender` and `receiver` are the signals of the two tasks. Not bounded in
    /// bytes unless [`with_byte_bound`](Self::with_byte_bound) says so.
    pub fn new(capacity: usize, buffer_size: usize, sender: Arc<TaskSignal>, receiver: Arc<TaskSignal>) -> Self {
        let capacity = capacity.max(1);
        Channel {
            inner: Mutex::new(Inner {
                queue: VecDeque::with_capacity(capacity + 4),
                queued_data: 0,
                data_bytes: VecDeque::with_capacity(capacity + 4),
                queued_bytes: 0,
                queued_in_band: 0,
                priority: 0,
                free: Vec::new(),
                sender_blocked: false,
                stats: ChannelStats {
                    capacity,
                    capacity_bytes: usize::MAX,
                    max_queued: 0,
                    max_queued_bytes: 0,
                    buffers_sent: 0,
                    records_sent: 0,
                    bytes_sent: 0,
                    sender_waits: 0,
                },
            }),
            capacity,
            capacity_bytes: usize::MAX,
            estimator: None,
            buffer_size: buffer_size.max(1),
            receiver,
            sender,
        }
    }

    /// Bounds the channel to `capacity_bytes` estimated bytes of records (at least
    /// 1); `estimator` sizes records of a type that owns heap memory (see
    /// [`crate::record_size::estimator`]; `None`: every record is
    /// [`inline_size`](crate::record_size::inline_size) bytes).
    pub fn with_byte_bound(mut self, capacity_bytes: usize, estimator: Option<SizeEstimator<T>>) -> Self {
        self.capacity_bytes = capacity_bytes.max(1);
        self.estimator = estimator;
        self.inner.get_mut().stats.capacity_bytes = self.capacity_bytes;
        self
    }

    /// The bound in bytes and the record size estimator (what the writer needs to
    /// size its buffers).
    pub fn byte_bound(&self) -> (usize, Option<SizeEstimator<T>>) {
        (self.capacity_bytes, self.estimator)
    }

    /// Data buffers the channel holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// An empty buffer for the sender to fill (recycled when one is available).
    pub fn empty_buffer(&self) -> Vec<StreamRecord<T>> {
        self.inner
            .lock()
            .free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buffer_size))
    }

    /// Sends a buffer of records of `bytes` estimated bytes, waiting while the
    /// channel is full. While waiting it calls `cancelled` after every wake-up of the
    /// sender's signal and gives up when it returns true. Returns an empty buffer to
    /// fill next.
    pub fn send_data(
        &self,
        buffer: Vec<StreamRecord<T>>,
        bytes: usize,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<StreamRecord<T>>, SendCancelled> {
        self.send_data_inner(buffer, bytes, cancelled, false)
    }

    /// Sends a buffer (of `bytes` estimated bytes) even when the channel is full
    /// (one buffer over capacity at most per unaligned barrier: the partly filled
    /// buffer flushed before it).
    pub fn force_data(&self, buffer: Vec<StreamRecord<T>>, bytes: usize) -> Vec<StreamRecord<T>> {
        match self.send_data_inner(buffer, bytes, &|| false, true) {
            Ok(next) => next,
            Err(SendCancelled) => Vec::with_capacity(self.buffer_size),
        }
    }

    fn send_data_inner(
        &self,
        buffer: Vec<StreamRecord<T>>,
        bytes: usize,
        cancelled: &dyn Fn() -> bool,
        force: bool,
    ) -> Result<Vec<StreamRecord<T>>, SendCancelled> {
        let mut buffer = Some(buffer);
        loop {
            let token = self.sender.token();
            let mut inner = self.inner.lock();
            let room = inner.queued_data < self.capacity
                && (inner.queued_data == 0 || inner.queued_bytes.saturating_add(bytes) <= self.capacity_bytes);
            if force || room {
                let Some(buffer) = buffer.take() else {
                    unreachable!("buffer is only taken when sent")
                };
                let was_empty = inner.queue.is_empty();
                inner.stats.records_sent += buffer.len() as u64;
                inner.stats.buffers_sent += 1;
                inner.stats.bytes_sent = inner.stats.bytes_sent.saturating_add(bytes as u64);
                inner.queue.push_back(Message::Data(buffer));
                inner.queued_data += 1;
                inner.data_bytes.push_back(bytes);
                inner.queued_bytes = inner.queued_bytes.saturating_add(bytes);
                inner.queued_in_band += 1;
                inner.stats.max_queued = inner.stats.max_queued.max(inner.queued_data);
                inner.stats.max_queued_bytes = inner.stats.max_queued_bytes.max(inner.queued_bytes);
                let next = inner.free.pop();
                drop(inner);
                if was_empty {
                    self.receiver.notify();
                }
                return Ok(next.unwrap_or_else(|| Vec::with_capacity(self.buffer_size)));
            }
            inner.sender_blocked = true;
            inner.stats.sender_waits += 1;
            drop(inner);
            if cancelled() {
                return Err(SendCancelled);
            }
            self.sender.wait(token, None);
        }
    }

    /// Sends a control event; never blocks.
    pub fn send_event(&self, message: Message<T>) {
        let mut inner = self.inner.lock();
        let was_empty = inner.queue.is_empty();
        if matches!(message, Message::Watermark(_)) {
            inner.queued_in_band += 1;
        }
        inner.queue.push_back(message);
        drop(inner);
        if was_empty {
            self.receiver.notify();
        }
    }

    /// Sends an unaligned barrier that overtakes every queued data buffer and
    /// watermark (but not earlier unaligned barriers); the receiver learns how many
    /// it overtook. Never blocks.
    pub fn send_priority_barrier(&self, barrier: crate::message::CheckpointBarrier) {
        let mut inner = self.inner.lock();
        let was_empty = inner.queue.is_empty();
        let overtaken = inner.queued_in_band;
        let position = inner.priority;
        inner.queue.insert(position, Message::Barrier { barrier, overtaken });
        inner.priority += 1;
        drop(inner);
        if was_empty {
            self.receiver.notify();
        }
    }

    /// Takes the oldest message, if any.
    pub fn try_recv(&self) -> Option<Message<T>> {
        let mut inner = self.inner.lock();
        let message = inner.queue.pop_front()?;
        if inner.priority > 0 {
            inner.priority -= 1;
        }
        let mut wake_sender = false;
        if matches!(message, Message::Watermark(_)) {
            inner.queued_in_band -= 1;
        }
        if matches!(message, Message::Data(_)) {
            inner.queued_data -= 1;
            let bytes = inner.data_bytes.pop_front().unwrap_or(0);
            inner.queued_bytes = inner.queued_bytes.saturating_sub(bytes);
            inner.queued_in_band -= 1;
            if inner.sender_blocked {
                inner.sender_blocked = false;
                wake_sender = true;
            }
        }
        drop(inner);
        if wake_sender {
            self.sender.notify();
        }
        Some(message)
    }

    /// Gives an emptied buffer back to the sender's pool.
    pub fn recycle(&self, mut buffer: Vec<StreamRecord<T>>) {
        buffer.clear();
        let mut inner = self.inner.lock();
        // Keep at most one buffer per slot plus one in hand: the pool never grows
        // beyond what the channel can hold anyway.
        if inner.free.len() <= self.capacity {
            inner.free.push(buffer);
        }
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().queue.is_empty()
    }
}

/// A channel of any record type, as the executor holds it.
pub trait AnyChannel: Send + Sync {
    /// Occupancy figures.
    fn stats(&self) -> ChannelStats;
    /// The typed channel, to be downcast to `Arc<Channel<T>>`.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<T: Send + 'static> AnyChannel for Channel<T> {
    fn stats(&self) -> ChannelStats {
        self.inner.lock().stats
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Recovers the typed channel from an [`AnyChannel`]; fails with an internal error
/// naming both types when they differ (a bug in graph construction).
pub fn downcast_channel<T: Send + 'static>(channel: Arc<dyn AnyChannel>) -> weir_core::Result<Arc<Channel<T>>> {
    channel.into_any().downcast::<Channel<T>>().map_err(|_| {
        weir_core::WeirError::Internal(format!(
            "channel record type mismatch: expected {}",
            std::any::type_name::<T>()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan(cap: usize) -> Channel<u32> {
        Channel::new(cap, 4, Arc::new(TaskSignal::new()), Arc::new(TaskSignal::new()))
    }

    #[test]
    fn fifo_with_events_in_order() {
        let c = chan(2);
        let never = || false;
        c.send_data(vec![StreamRecord::new(1)], 8, &never).unwrap();
        c.send_event(Message::EndOfPartition);
        assert!(matches!(c.try_recv(), Some(Message::Data(b)) if b[0].value == 1));
        assert!(matches!(c.try_recv(), Some(Message::EndOfPartition)));
        assert!(c.try_recv().is_none());
    }

    #[test]
    fn full_channel_blocks_until_receiver_takes() {
        let c = Arc::new(chan(1));
        let never = || false;
        c.send_data(vec![StreamRecord::new(1)], 8, &never).unwrap();
        let c2 = c.clone();
        let sender = std::thread::spawn(move || {
            let never = || false;
            c2.send_data(vec![StreamRecord::new(2)], 8, &never).unwrap();
        });
        // The sender cannot complete until we take the first buffer.
        while c.stats().sender_waits == 0 {
            std::thread::yield_now();
        }
        assert_eq!(c.stats().max_queued, 1);
        assert!(matches!(c.try_recv(), Some(Message::Data(_))));
        sender.join().unwrap();
        assert!(matches!(c.try_recv(), Some(Message::Data(b)) if b[0].value == 2));
        assert_eq!(c.stats().max_queued, 1);
    }

    #[test]
    fn blocked_sender_gives_up_when_cancelled() {
        let c = chan(1);
        let never = || false;
        c.send_data(vec![StreamRecord::new(1)], 8, &never).unwrap();
        let always = || true;
        assert_eq!(c.send_data(vec![StreamRecord::new(2)], 8, &always), Err(SendCancelled));
    }

    #[test]
    fn priority_barriers_overtake_data_in_order() {
        use crate::message::CheckpointBarrier;
        let c = chan(1);
        let never = || false;
        c.send_data(vec![StreamRecord::new(1)], 8, &never).unwrap();
        // Full, yet a forced buffer and priority barriers still go in.
        c.force_data(vec![StreamRecord::new(2)], 8);
        let barrier = |id| CheckpointBarrier {
            checkpoint_id: id,
            timestamp_ms: 0,
            unaligned: true,
        };
        c.send_priority_barrier(barrier(1));
        c.send_data(vec![StreamRecord::new(3)], 8, &|| true).unwrap_err();
        c.send_priority_barrier(barrier(2));
        let ids: Vec<(u64, usize)> = (0..2)
            .map(|_| match c.try_recv() {
                Some(Message::Barrier { barrier, overtaken }) => (barrier.checkpoint_id, overtaken),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![(1, 2), (2, 2)]);
        assert!(matches!(c.try_recv(), Some(Message::Data(b)) if b[0].value == 1));
        assert!(matches!(c.try_recv(), Some(Message::Data(b)) if b[0].value == 2));
    }

    #[test]
    fn recycled_buffers_are_reused() {
        let c = chan(2);
        let never = || false;
        let mut b = c.empty_buffer();
        b.push(StreamRecord::new(7));
        c.send_data(b, 8, &never).unwrap();
        let Some(Message::Data(got)) = c.try_recv() else {
            panic!()
        };
        let ptr = got.as_ptr();
        c.recycle(got);
        let again = c.empty_buffer();
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty());
    }

    #[test]
    fn bytes_bound_the_channel_but_an_empty_one_takes_any_buffer() {
        let c = chan(8).with_byte_bound(100, None);
        let never = || false;
        let always = || true;
        // An empty channel takes a buffer larger than the bound.
        c.send_data(vec![StreamRecord::new(1)], 1000, &never).unwrap();
        assert_eq!(c.send_data(vec![StreamRecord::new(2)], 1, &always), Err(SendCancelled));
        assert!(matches!(c.try_recv(), Some(Message::Data(_))));
        c.send_data(vec![StreamRecord::new(3)], 60, &never).unwrap();
        c.send_data(vec![StreamRecord::new(4)], 40, &never).unwrap();
        assert_eq!(c.send_data(vec![StreamRecord::new(5)], 1, &always), Err(SendCancelled));
        assert!(matches!(c.try_recv(), Some(Message::Data(_))));
        c.send_data(vec![StreamRecord::new(6)], 60, &never).unwrap();
        let stats = c.stats();
        assert_eq!(
            (stats.capacity_bytes, stats.max_queued_bytes, stats.bytes_sent),
            (100, 1000, 1160)
        );
    }
}
