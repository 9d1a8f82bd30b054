//! Q15, bidding statistics per day: the number of bids, distinct bidders and
//! distinct auctions, in total and per price range; an unbounded group aggregate
//! with distinct and filtered counts, so an updating result.
//!
//! ```sql
//! SELECT
//!      DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      count(distinct bidder) AS total_bidders,
//!      count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!      count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!      count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!      count(distinct auction) AS total_auctions,
//!      count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!      count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!      count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//! ```
//!
//! Every bid updates its day's row (the previous row deleted, the new one inserted),
//! as Flink without mini-batches. The distinct counts keep, per day, one small map
//! entry per bidder and per auction: a bit mask of the price ranges it was seen in
//! (the input only grows, so a value once counted stays counted).

use super::calendar::{day_number, format_day, minute_of_day};
use super::q17::price_rank;
use crate::Change;
use serde::{Deserialize, Serialize};
use std::hash::Hash;
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q15.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q15Row {
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
    /// Distinct bidders.
    pub total_bidders: i64,
    /// Distinct bidders of rank-1 bids.
    pub rank1_bidders: i64,
    /// Distinct bidders of rank-2 bids.
    pub rank2_bidders: i64,
    /// Distinct bidders of rank-3 bids.
    pub rank3_bidders: i64,
    /// Distinct auctions.
    pub total_auctions: i64,
    /// Distinct auctions of rank-1 bids.
    pub rank1_auctions: i64,
    /// Distinct auctions of rank-2 bids.
    pub rank2_auctions: i64,
    /// Distinct auctions of rank-3 bids.
    pub rank3_auctions: i64,
}

/// A bid as Q15 and Q16 need it (Q16 adds the channel).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct BidLite {
    pub(crate) bidder: i64,
    pub(crate) auction: i64,
    pub(crate) price: i64,
    pub(crate) date_time: i64,
}

/// The counts of one group: index 0 in total, 1 to 3 per price range.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub(crate) bids: [i64; 4],
    pub(crate) bidders: [i64; 4],
    pub(crate) auctions: [i64; 4],
    /// The latest minute of the day of a bid (Q16's `max(DATE_FORMAT(.., 'HH:mm'))`).
    pub(crate) max_minute: i64,
}

/// The state of the statistics: the counts, and the price ranges each bidder and
/// auction was seen in (bit 0: any, bit r: range r).
#[derive(Clone)]
pub(crate) struct Statistics {
    counts: ValueStateDescriptor<Counts>,
    bidders: MapStateDescriptor<i64, u8>,
    auctions: MapStateDescriptor<i64, u8>,
}

/// Marks `id` as seen in price range `rank` in `seen`; returns the bits that are
/// new (bit 0: `id` is new, bit `rank`: new in that range).
fn mark<K: Data + Hash + Eq>(
    seen: &mut weir::state::MapState<'_, K, i64, u8>,
    id: i64,
    rank: usize,
) -> Result<u8, BoxError> {
    let mask = seen.get(&id)?.unwrap_or(0);
    let new = (1 | (1 << rank)) & !mask;
    if new != 0 {
        seen.put(id, mask | new)?;
    }
    Ok(new)
}

/// Counts the bits of `new` (from [`mark`]) into `counts`.
fn count_new(new: u8, counts: &mut [i64; 4]) {
    for (bit, count) in counts.iter_mut().enumerate() {
        *count += i64::from((new >> bit) & 1);
    }
}

impl Statistics {
    pub(crate) fn new(query: &str) -> Self {
        Statistics {
            counts: ValueStateDescriptor::new(format!("{query}-counts")),
            bidders: MapStateDescriptor::new(format!("{query}-bidders")),
            auctions: MapStateDescriptor::new(format!("{query}-auctions")),
        }
    }

    /// Adds `bid` to the current key's statistics; returns the counts before (if
    /// any) and after.
    pub(crate) fn add<K: Data + Hash + Eq>(
        &self,
        bid: &BidLite,
        ctx: &mut KeyedContext<'_, K>,
    ) -> Result<(Option<Counts>, Counts), BoxError> {
        let rank = price_rank(bid.price);
        let new_bidder = mark(&mut ctx.map(&self.bidders)?, bid.bidder, rank)?;
        let new_auction = mark(&mut ctx.map(&self.auctions)?, bid.auction, rank)?;
        let minute = minute_of_day(bid.date_time);
        let mut previous = None;
        let counts = ctx.value(&self.counts)?.update(|current| {
            previous = current.copied();
            let mut counts = current.copied().unwrap_or_default();
            counts.bids[0] += 1;
            counts.bids[rank] += 1;
            count_new(new_bidder, &mut counts.bidders);
            count_new(new_auction, &mut counts.auctions);
            counts.max_minute = counts.max_minute.max(minute);
            counts
        })?;
        Ok((previous, counts))
    }
}

impl Counts {
    fn q15_row(&self, day: i64) -> Q15Row {
        Q15Row {
            day: format_day(day),
            total_bids: self.bids[0],
            rank1_bids: self.bids[1],
            rank2_bids: self.bids[2],
            rank3_bids: self.bids[3],
            total_bidders: self.bidders[0],
            rank1_bidders: self.bidders[1],
            rank2_bidders: self.bidders[2],
            rank3_bidders: self.bidders[3],
            total_auctions: self.auctions[0],
            rank1_auctions: self.auctions[1],
            rank2_auctions: self.auctions[2],
            rank3_auctions: self.auctions[3],
        }
    }
}

/// Builds Q15 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q15Row>> {
    let statistics = Statistics::new("q15");
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(BidLite {
                bidder: b.bidder,
                auction: b.auction,
                price: b.price,
                date_time: b.date_time,
            }),
            _ => None,
        })
        .name("q15: project bids")
        .key_by(|b: &BidLite| day_number(b.date_time))
        .process_fn(
            move |bid: BidLite, ctx: &mut KeyedContext<'_, i64>, out: &mut Collector<'_, Change<Q15Row>>| {
                let day = *ctx.current_key();
                let (previous, current) = statistics.add(&bid, ctx)?;
                if let Some(previous) = previous {
                    out.collect(Change::delete(previous.q15_row(day)));
                }
                out.collect(Change::insert(current.q15_row(day)));
                Ok(())
            },
        )
        .name("q15: statistics per day")
}
