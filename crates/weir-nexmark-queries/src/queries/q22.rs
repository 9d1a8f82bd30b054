//! Q22, URL directories: every bid with the first three directories of its URL.
//!
//! ```sql
//! SELECT auction, bidder, price, channel,
//!     SPLIT_INDEX(url, '/', 3) as dir1,
//!     SPLIT_INDEX(url, '/', 4) as dir2,
//!     SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
//! ```
//!
//! `SPLIT_INDEX(s, sep, i)` is Flink's: the `i`-th (from 0) of the pieces of `s`
//! between separators, empty pieces included, or NULL when there are fewer.

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q22.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q22Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// The channel.
    pub channel: String,
    /// `SPLIT_INDEX(url, '/', 3)`.
    pub dir1: Option<String>,
    /// `SPLIT_INDEX(url, '/', 4)`.
    pub dir2: Option<String>,
    /// `SPLIT_INDEX(url, '/', 5)`.
    pub dir3: Option<String>,
}

/// Builds Q22 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q22Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => {
                let mut pieces = b.url.split('/').skip(3).map(str::to_string);
                let (dir1, dir2, dir3) = (pieces.next(), pieces.next(), pieces.next());
                Some(Q22Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    channel: b.channel,
                    dir1,
                    dir2,
                    dir3,
                })
            }
            _ => None,
        })
        .name("q22: URL directories")
}
