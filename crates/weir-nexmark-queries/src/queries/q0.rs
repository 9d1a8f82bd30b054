//! Q0, pass through: every bid, unchanged (measures the source and the framework).
//!
//! ```sql
//! SELECT auction, bidder, price, dateTime, extra FROM bid;
//! ```

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q0Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
}

/// Builds Q0 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q0Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(Q0Row {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price,
                date_time: b.date_time,
                extra: b.extra,
            }),
            _ => None,
        })
        .name("q0: bids")
}
