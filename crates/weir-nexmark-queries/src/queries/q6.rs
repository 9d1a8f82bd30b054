//! Q6, average selling price by seller: for every auction a seller closes, the
//! average winning price of the seller's last 10 closed auctions.
//!
//! ```sql
//! -- Flink cannot run this: its OVER window does not consume the updates of the
//! -- ROW_NUMBER (top-1) subquery.
//! SELECT Q.seller,
//!        AVG(Q.price) OVER
//!          (PARTITION BY Q.seller ORDER BY Q.dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
//! FROM (
//!     SELECT *, ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum
//!     FROM (SELECT A.id, A.seller, B.price, B.dateTime
//!           FROM auction AS A, bid AS B
//!           WHERE A.id = B.auction and B.dateTime between A.dateTime and A.expires)
//!     WHERE rownum <= 1
//! ) AS Q;
//! ```
//!
//! Weir implements the intended semantics (the original Nexmark Q6): the winning
//! bid of each auction (see `winning.rs`) is final when the auction closes; per
//! seller, closed auctions are taken in order of closing (`expires`, then auction
//! id) and each one emits `(seller, average of the last 10 winning prices)`, an
//! append-only result like an OVER window's. Differences from the SQL text: the
//! window holds the last 10 auctions (the SQL's `10 PRECEDING AND CURRENT ROW`
//! would be 11) and rows are ordered by closing time (the SQL orders by the
//! winning bid's time). Auctions without a bid in their time range are not closed
//! sales (the inner join drops them). The average is the integer quotient, as
//! `AVG` of a `BIGINT` in Flink.

use super::winning::{winning_bids, AuctionSide, PriceBid, Side};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use weir::prelude::*;
use weir_nexmark::Event;

/// How many closed auctions of a seller the average covers.
pub const LAST_AUCTIONS: usize = 10;

/// A row of Q6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q6Row {
    /// The seller.
    pub seller: i64,
    /// The average winning price of the seller's last 10 closed auctions, up to
    /// and including the one that just closed.
    pub avg_price: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Auction6 {
    id: i64,
    seller: i64,
    date_time: i64,
    expires: i64,
}

impl AuctionSide for Auction6 {
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

/// A closed auction: (seller, expires, auction, winning price).
type Sale = (i64, i64, i64, i64);

/// One seller's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Seller {
    /// Sales not yet in order: (expires, auction, price).
    pending: Vec<(i64, i64, i64)>,
    /// The last prices, oldest first.
    last: VecDeque<i64>,
}

#[derive(Clone)]
struct Average {
    seller: ValueStateDescriptor<Seller>,
}

impl KeyedProcessFunction<i64, Sale, Q6Row> for Average {
    fn process_element(
        &mut self,
        (_, expires, auction, price): Sale,
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, Q6Row>,
    ) -> Result<(), BoxError> {
        // Sales of one seller come from several upstream subtasks in any order:
        // they wait for the watermark to pass their closing time.
        let mut state = ctx.value(&self.seller)?;
        state.modify(|seller| match seller {
            Some(seller) => {
                seller.pending.push((expires, auction, price));
                None
            }
            None => Some(Seller {
                pending: vec![(expires, auction, price)],
                last: VecDeque::new(),
            }),
        })?;
        ctx.register_event_time_timer(expires)?;
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q6Row>,
    ) -> Result<(), BoxError> {
        let seller_id = *ctx.current_key();
        let mut state = ctx.value(&self.seller)?;
        state.modify(|seller| {
            if let Some(seller) = seller {
                let mut due: Vec<(i64, i64, i64)> = Vec::new();
                seller.pending.retain(|sale| {
                    let is_due = sale.0 <= timestamp;
                    if is_due {
                        due.push(*sale);
                    }
                    !is_due
                });
                due.sort_unstable();
                for (_, _, price) in due {
                    if seller.last.len() == LAST_AUCTIONS {
                        seller.last.pop_front();
                    }
                    seller.last.push_back(price);
                    let sum: i64 = seller.last.iter().sum();
                    out.collect(Q6Row {
                        seller: seller_id,
                        avg_price: sum / seller.last.len() as i64,
                    });
                }
            }
            None
        })?;
        Ok(())
    }
}

/// Builds Q6 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q6Row> {
    let input = events
        .flat_map(|event: Event| match event {
            Event::Auction(a) => Some(Side::Auction(Auction6 {
                id: a.id,
                seller: a.seller,
                date_time: a.date_time,
                expires: a.expires,
            })),
            Event::Bid(b) => Some(Side::Bid(PriceBid(b.auction, b.price, b.date_time))),
            Event::Person(_) => None,
        })
        .name("q6: auctions and bids");
    winning_bids(&input)
        .name("q6: winning bids")
        .map(|(auction, bid): (Auction6, PriceBid)| (auction.seller, auction.expires, auction.id, bid.1))
        .name("q6: sales")
        .key_by(|sale: &Sale| sale.0)
        .process(Average {
            seller: ValueStateDescriptor::new("pending and last prices"),
        })
        .name("q6: average of the last 10 per seller")
}
