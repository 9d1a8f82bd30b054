//! Joins of two streams in event time: window join and co-group (records of both
//! streams in the same window), and the keyed interval join (records whose
//! timestamps are within bounds of each other).

mod interval;
mod window_join;

pub use interval::{IntervalJoin, IntervalJoined};
pub use window_join::{
    CoGroup, CoGroupedStreams, EqualTo, Join, JoinedStreams, TaggedUnion, TwoStreamWindows, WhereKey,
};
