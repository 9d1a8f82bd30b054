//! What travels on a channel: buffers of records and in-band control events.

use serde::{Deserialize, Serialize};
use weir_core::{StreamRecord, Watermark, WatermarkStatus};

/// A checkpoint barrier: everything before it on a channel belongs to checkpoint
/// `checkpoint_id`, everything after it to later checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    /// Id of the checkpoint, increasing from 1.
    pub checkpoint_id: u64,
    /// Wall-clock time (ms since the epoch) at which the checkpoint was triggered.
    pub timestamp_ms: i64,
    /// Whether the barrier may overtake queued data (unaligned checkpoint).
    pub unaligned: bool,
}

impl CheckpointBarrier {
    /// The same barrier, marked unaligned.
    pub fn as_unaligned(self) -> Self {
        CheckpointBarrier {
            unaligned: true,
            ..self
        }
    }
}

/// One element of a channel. Records travel in buffers; control events travel in
/// order with them, so a barrier or watermark never overtakes the records it covers
/// (except an unaligned barrier, which the receiver accounts for).
#[derive(Debug)]
pub enum Message<T> {
    /// A buffer of records, oldest first.
    Data(Vec<StreamRecord<T>>),
    /// The sender's watermark advanced.
    Watermark(Watermark),
    /// The sender became idle or active again.
    Status(WatermarkStatus),
    /// A checkpoint barrier. `overtaken` counts the data buffers and watermarks an
    /// unaligned barrier jumped over: they were sent before it and belong to the
    /// checkpoint's channel state (always 0 for barriers sent in order).
    Barrier {
        /// The barrier.
        barrier: CheckpointBarrier,
        /// Data buffers and watermarks it overtook.
        overtaken: usize,
    },
    /// The sender's input has ended: no more records or watermarks follow, but
    /// barriers still do (for the final checkpoint) until end of partition.
    EndOfData,
    /// The sender will send nothing more on this channel.
    EndOfPartition,
}
