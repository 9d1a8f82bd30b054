//! Q9, winning bids: every auction with its winning bid, the highest (ties: the
//! earliest) among the bids in the auction's time range.
//!
//! ```sql
//! SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,
//!        auction, bidder, price, bid_dateTime, bid_extra
//! FROM (
//!    SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
//!      ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
//!    FROM auction A, bid B
//!    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//! )
//! WHERE rownum <= 1;
//! ```
//!
//! Flink's top-1 keeps updating an auction's row as higher bids come; Weir emits
//! each auction once, when it closes (see `winning.rs`), which is the final table
//! of Flink's result. Ties in price and time (which the SQL leaves open) go to the
//! lower bidder id, then the smaller `extra`, so the result is deterministic.

use super::winning::{winning_bids, AuctionSide, BidSide, Side};
use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::{Auction, Event};

/// A row of Q9: the auction and its winning bid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q9Row {
    /// Auction id.
    pub id: i64,
    /// Item name.
    pub item_name: String,
    /// Description.
    pub description: String,
    /// Opening price.
    pub initial_bid: i64,
    /// Reserve price.
    pub reserve: i64,
    /// The auction's event time, ms since the epoch.
    pub date_time: i64,
    /// When the auction closes, ms since the epoch.
    pub expires: i64,
    /// The seller.
    pub seller: i64,
    /// The category.
    pub category: i64,
    /// The auction's padding.
    pub extra: String,
    /// The bid's auction (equal to `id`).
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The winning price.
    pub price: i64,
    /// The bid's event time, ms since the epoch.
    pub bid_date_time: i64,
    /// The bid's padding.
    pub bid_extra: String,
}

impl AuctionSide for Auction {
    fn id(&self) -> i64 {
        self.id
    }
    fn date_time(&self) -> i64 {
        self.date_time
    }
    fn expires(&self) -> i64 {
        self.expires
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bid9 {
    auction: i64,
    bidder: i64,
    price: i64,
    date_time: i64,
    extra: String,
}

impl BidSide for Bid9 {
    fn auction(&self) -> i64 {
        self.auction
    }
    fn price(&self) -> i64 {
        self.price
    }
    fn date_time(&self) -> i64 {
        self.date_time
    }
    fn beats(&self, other: &Self) -> bool {
        (other.price, self.date_time, self.bidder, &self.extra)
            < (self.price, other.date_time, other.bidder, &other.extra)
    }
}

/// Builds Q9 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q9Row> {
    let input = events
        .flat_map(|event: Event| match event {
            Event::Auction(a) => Some(Side::Auction(a)),
            Event::Bid(b) => Some(Side::Bid(Bid9 {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price,
                date_time: b.date_time,
                extra: b.extra,
            })),
            Event::Person(_) => None,
        })
        .name("q9: auctions and bids");
    winning_bids(&input)
        .name("q9: winning bids")
        .map(|(a, b): (Auction, Bid9)| Q9Row {
            id: a.id,
            item_name: a.item_name,
            description: a.description,
            initial_bid: a.initial_bid,
            reserve: a.reserve,
            date_time: a.date_time,
            expires: a.expires,
            seller: a.seller,
            category: a.category,
            extra: a.extra,
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            bid_date_time: b.date_time,
            bid_extra: b.extra,
        })
        .name("q9: rows")
}
