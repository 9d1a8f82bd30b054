//! Windows: group each key's records by time (tumbling, sliding, session) or by
//! count, and compute per window when a trigger fires.
//!
//! Start from [`KeyedStream::window`](crate::KeyedStream::window) (or
//! `count_window`), optionally set a [`Trigger`], an [`Evictor`], allowed lateness
//! and a side output for late records, then say what to compute: `reduce`,
//! `aggregate` (incremental, one value kept per window) or `process` (all records,
//! with the window's metadata and state).
//!
//! Every window's contents, trigger state and timers are keyed state: they are in
//! every checkpoint and come back on recovery, at any parallelism.

mod assigners;
mod contents;
mod evictors;
mod functions;
pub(crate) mod operator;
mod sliced;
mod stream;
mod triggers;
mod windows;

pub use assigners::{
    EventTimeSessionWindows, GlobalWindows, ProcessingTimeSessionWindows, Slicing, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TumblingEventTimeWindows, TumblingProcessingTimeWindows, WindowAssigner,
};
pub use evictors::{CountEvictor, Evictor, FnEvictor, TimeEvictor};
pub use functions::{FnProcessWindow, ProcessWindowFunction, ScopedState, WindowContext, WindowStateKey};
pub use stream::WindowedStream;
pub use triggers::{
    ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountTrigger, EventTimeTrigger, NeverTrigger,
    ProcessingTimeTrigger, PurgingTrigger, Trigger, TriggerContext, TriggerResult,
};
pub use windows::{GlobalWindow, TimeWindow, Window};
