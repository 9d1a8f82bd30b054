//! Q2, selection: bids on a few auctions.
//!
//! ```sql
//! SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
//! ```

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q2Row {
    /// The auction.
    pub auction: i64,
    /// The bid's price.
    pub price: i64,
}

/// Builds Q2 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q2Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) if b.auction % 123 == 0 => Some(Q2Row {
                auction: b.auction,
                price: b.price,
            }),
            _ => None,
        })
        .name("q2: bids on every 123rd auction")
}
