//! Q4, average price for a category: the average of the winning bid prices of all
//! auctions in each category.
//!
//! ```sql
//! SELECT Q.category, AVG(Q.final)
//! FROM (
//!     SELECT MAX(B.price) AS final, A.category
//!     FROM auction A, bid B
//!     WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//!     GROUP BY A.id, A.category
//! ) Q
//! GROUP BY Q.category;
//! ```
//!
//! The inner query is the winning bid of each auction (see `winning.rs`), emitted
//! once when the auction closes (Flink updates it with every higher bid; the final
//! table is the same). The outer aggregate is an updating result: every new
//! winning price of a category deletes the category's previous row and inserts the
//! new average. `AVG` of a `BIGINT` is a `BIGINT` in Flink (the integer quotient).

use super::winning::{winning_bids, AuctionSide, PriceBid, Side};
use crate::Change;
use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q4Row {
    /// The category.
    pub id: i64,
    /// The average winning price of its auctions (integer quotient, as Flink's
    /// `AVG` of a `BIGINT`).
    #[serde(rename = "final")]
    pub final_price: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Auction4 {
    id: i64,
    category: i64,
    date_time: i64,
    expires: i64,
}

impl AuctionSide for Auction4 {
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

/// Builds Q4 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q4Row>> {
    let input = events
        .flat_map(|event: Event| match event {
            Event::Auction(a) => Some(Side::Auction(Auction4 {
                id: a.id,
                category: a.category,
                date_time: a.date_time,
                expires: a.expires,
            })),
            Event::Bid(b) => Some(Side::Bid(PriceBid(b.auction, b.price, b.date_time))),
            Event::Person(_) => None,
        })
        .name("q4: auctions and bids");
    let state = ValueStateDescriptor::<(i64, i64)>::new("sum and count");
    winning_bids(&input)
        .name("q4: winning bids")
        .map(|(auction, bid): (Auction4, PriceBid)| (auction.category, bid.1))
        .name("q4: category and price")
        .key_by(|(category, _): &(i64, i64)| *category)
        .process_fn(move |(category, price): (i64, i64), ctx, out| {
            let mut sum_count = ctx.value(&state)?;
            let old = sum_count.get_ref()?.copied();
            let (sum, count) = old.unwrap_or((0, 0));
            let new = (sum + price, count + 1);
            sum_count.set(new)?;
            let new_avg = new.0 / new.1;
            if let Some((sum, count)) = old {
                let old_avg = sum / count;
                if old_avg == new_avg {
                    return Ok(());
                }
                out.collect(Change::delete(Q4Row {
                    id: category,
                    final_price: old_avg,
                }));
            }
            out.collect(Change::insert(Q4Row {
                id: category,
                final_price: new_avg,
            }));
            Ok(())
        })
        .name("q4: average per category")
}
