//! Q17, auction statistics: per auction and day, the number of bids (in total and
//! per price range) and the minimum, maximum, average and total price; an unbounded
//! group aggregate, so an updating result.
//!
//! ```sql
//! SELECT
//!      auction,
//!      DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      min(price) AS min_price,
//!      max(price) AS max_price,
//!      avg(price) AS avg_price,
//!      sum(price) AS sum_price
//! FROM bid
//! GROUP BY auction, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//! ```
//!
//! As in Flink, every bid updates its group's row: the previous row is deleted and
//! the new one inserted. `avg` of a `BIGINT` is a `BIGINT` in Flink (the sum divided
//! by the count, truncated).

use super::calendar::{day_number, format_day};
use crate::Change;
use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q17.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q17Row {
    /// The auction.
    pub auction: i64,
    /// `yyyy-MM-dd`.
    pub day: String,
    /// Bids.
    pub total_bids: i64,
    /// Bids under 10 000.
    pub rank1_bids: i64,
    /// Bids from 10 000 to under 1 000 000.
    pub rank2_bids: i64,
    /// Bids from 1 000 000.
    pub rank3_bids: i64,
    /// Lowest price.
    pub min_price: i64,
    /// Highest price.
    pub max_price: i64,
    /// Average price, truncated.
    pub avg_price: i64,
    /// Sum of the prices.
    pub sum_price: i64,
}

/// A bid as Q17 needs it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BidLite {
    auction: i64,
    day: i64,
    price: i64,
}

/// The aggregate of one group.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Acc {
    counts: [i64; 4],
    min: i64,
    max: i64,
    sum: i64,
}

impl Acc {
    fn row(&self, auction: i64, day: i64) -> Q17Row {
        Q17Row {
            auction,
            day: format_day(day),
            total_bids: self.counts[0],
            rank1_bids: self.counts[1],
            rank2_bids: self.counts[2],
            rank3_bids: self.counts[3],
            min_price: self.min,
            max_price: self.max,
            avg_price: self.sum.checked_div(self.counts[0]).unwrap_or(0),
            sum_price: self.sum,
        }
    }
}

/// The price range of `price`: 1 under 10 000, 2 under 1 000 000, else 3.
pub(crate) fn price_rank(price: i64) -> usize {
    if price < 10_000 {
        1
    } else if price < 1_000_000 {
        2
    } else {
        3
    }
}

/// Builds Q17 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q17Row>> {
    let state = ValueStateDescriptor::<Acc>::new("q17-aggregate");
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(BidLite {
                auction: b.auction,
                day: day_number(b.date_time),
                price: b.price,
            }),
            _ => None,
        })
        .name("q17: project bids")
        .key_by(|b: &BidLite| (b.auction, b.day))
        .process_fn(
            move |bid: BidLite, ctx: &mut KeyedContext<'_, (i64, i64)>, out: &mut Collector<'_, Change<Q17Row>>| {
                let rank = price_rank(bid.price);
                let mut previous = None;
                let current = ctx.value(&state)?.update(|current| {
                    previous = current.copied();
                    let mut a = current.copied().unwrap_or(Acc {
                        counts: [0; 4],
                        min: i64::MAX,
                        max: i64::MIN,
                        sum: 0,
                    });
                    a.counts[0] += 1;
                    a.counts[rank] += 1;
                    a.min = a.min.min(bid.price);
                    a.max = a.max.max(bid.price);
                    a.sum += bid.price;
                    a
                })?;
                if let Some(previous) = previous {
                    out.collect(Change::delete(previous.row(bid.auction, bid.day)));
                }
                out.collect(Change::insert(current.row(bid.auction, bid.day)));
                Ok(())
            },
        )
        .name("q17: statistics per auction and day")
}
