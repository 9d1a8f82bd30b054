//! Q12, processing-time windows: how many bids each bidder makes in tumbling
//! windows of 10 seconds of processing time.
//!
//! ```sql
//! CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid;
//!
//! SELECT bidder, count(*) as bid_count, window_start AS starttime, window_end AS endtime
//! FROM TABLE(TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
//! GROUP BY bidder, window_start, window_end;
//! ```
//!
//! The windows are of the wall clock of the task counting the bids, so the result
//! depends on when bids arrive (as in Flink); only their total per bidder is
//! determined. Windows still open when the input ends are fired then (Weir's
//! processing-time windows fire at the end of the input, so no bid goes uncounted;
//! a bounded Flink job may end without firing them).

use super::count::Count;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir::datastream::window::FnProcessWindow;
use weir::prelude::*;
use weir_nexmark::Event;

/// The window size.
pub const WINDOW: Duration = Duration::from_secs(10);

/// A row of Q12.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q12Row {
    /// The bidder.
    pub bidder: i64,
    /// Bids of the bidder in the window.
    pub bid_count: i64,
    /// Window start, ms since the epoch (processing time).
    pub starttime: i64,
    /// Window end, ms since the epoch (processing time).
    pub endtime: i64,
}

/// Builds Q12 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q12Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(b.bidder),
            _ => None,
        })
        .name("q12: bidders")
        .key_by(|bidder: &i64| *bidder)
        .window(TumblingProcessingTimeWindows::of(WINDOW))
        .aggregate_with(
            Count,
            FnProcessWindow(
                |ctx: &mut WindowContext<'_, i64, TimeWindow>, counts: Vec<i64>, out: &mut Collector<'_, Q12Row>| {
                    let window = *ctx.window();
                    let bidder = *ctx.key();
                    for bid_count in counts {
                        out.collect(Q12Row {
                            bidder,
                            bid_count,
                            starttime: window.start,
                            endtime: window.end,
                        });
                    }
                    Ok(())
                },
            ),
        )
        .name("q12: bids per bidder and 10 s of processing time")
}
