//! Q11, user sessions: how many bids a bidder made in each session of activity,
//! sessions ending after 10 seconds without a bid.
//!
//! ```sql
//! SELECT B.bidder, count(*) as bid_count,
//!        SESSION_START(B.dateTime, INTERVAL '10' SECOND) as starttime,
//!        SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime
//! FROM bid B
//! GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND);
//! ```
//!
//! Event-time session windows per bidder with an incremental count. A session is
//! `[first bid, last bid + 10 s)`; as in Flink, bids at most 10 s apart share a
//! session (windows that touch are merged).

use super::count::Count;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q11.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q11Row {
    /// The bidder.
    pub bidder: i64,
    /// Bids in the session.
    pub bid_count: i64,
    /// The session's start (its first bid), ms since the epoch.
    pub starttime: i64,
    /// The session's end (its last bid plus the gap), ms since the epoch.
    pub endtime: i64,
}

/// Turns a session's count into a row.
#[derive(Clone)]
struct SessionRow;

impl ProcessWindowFunction<i64, i64, Q11Row, TimeWindow> for SessionRow {
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, i64, TimeWindow>,
        counts: Vec<i64>,
        out: &mut Collector<'_, Q11Row>,
    ) -> Result<(), BoxError> {
        for bid_count in counts {
            out.collect(Q11Row {
                bidder: *ctx.key(),
                bid_count,
                starttime: ctx.window().start,
                endtime: ctx.window().end,
            });
        }
        Ok(())
    }
}

/// Builds Q11 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q11Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(b.bidder),
            _ => None,
        })
        .name("q11: bidders")
        .key_by(|bidder: &i64| *bidder)
        .window(EventTimeSessionWindows::with_gap(Duration::from_secs(10)))
        .aggregate_with(Count, SessionRow)
        .name("q11: bids per session")
}
