//! Q14, calculation: bids in a price range with the price in euros, the time of day
//! of the bid and the number of `c`s in its `extra` (Flink's `count_char` UDF).
//!
//! ```sql
//! SELECT auction, bidder, 0.908 * price as price,
//!     CASE
//!         WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
//!         WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
//!         ELSE 'otherTime'
//!     END AS bidTimeType,
//!     dateTime, extra, count_char(extra, 'c') AS c_counts
//! FROM bid
//! WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
//! ```
//!
//! `count_char(s, c)` (`com.github.nexmark.flink.udf.CountChar`) counts the bytes of
//! `s` equal to the first byte of `c`. Hours are of the UTC timestamp.

use super::calendar::hour;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q14.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q14Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// `0.908 * price` (Flink's `DECIMAL(23, 3)`).
    pub price: f64,
    /// `dayTime`, `nightTime` or `otherTime`.
    pub bid_time_type: Cow<'static, str>,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
    /// The number of `c` bytes in `extra`.
    pub c_counts: i64,
}

/// `dayTime` from 8 to 18 h, `nightTime` up to 6 h and from 20 h, else `otherTime`.
fn bid_time_type(date_time: i64) -> &'static str {
    match hour(date_time) {
        8..=18 => "dayTime",
        h if h <= 6 || h >= 20 => "nightTime",
        _ => "otherTime",
    }
}

/// Builds Q14 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q14Row> {
    events
        .flat_map(|event: Event| match event {
            // 0.908 * price in (1e6, 5e7), exactly: 908 * price in (1e9, 5e10).
            Event::Bid(b) if b.price * 908 > 1_000_000_000 && b.price * 908 < 50_000_000_000 => {
                let c_counts = b.extra.bytes().filter(|&c| c == b'c').count() as i64;
                Some(Q14Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: (b.price * 908) as f64 / 1000.0,
                    bid_time_type: Cow::Borrowed(bid_time_type(b.date_time)),
                    date_time: b.date_time,
                    extra: b.extra,
                    c_counts,
                })
            }
            _ => None,
        })
        .name("q14: calculation")
}
