//! Q1, currency conversion: every bid with its price in euros.
//!
//! ```sql
//! SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid;
//! ```

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q1Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// `0.908 * price`, as Flink's `DECIMAL` result rounded to 3 places.
    pub price: f64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
}

/// Builds Q1 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q1Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(Q1Row {
                auction: b.auction,
                bidder: b.bidder,
                // Exact in integers (price * 908 fits easily), then one division.
                price: (b.price * 908) as f64 / 1000.0,
                date_time: b.date_time,
                extra: b.extra,
            }),
            _ => None,
        })
        .name("q1: bids in euros")
}
