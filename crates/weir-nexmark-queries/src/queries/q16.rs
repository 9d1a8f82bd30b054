//! Q16, channel statistics per day: Q15's statistics per channel and day, plus the
//! latest `HH:mm` of a bid; an updating result.
//!
//! ```sql
//! SELECT
//!     channel,
//!     DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`,
//!     max(DATE_FORMAT(dateTime, 'HH:mm')) as `minute`,
//!     count(*) AS total_bids,
//!     count(*) filter (where price < 10000) AS rank1_bids,
//!     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!     count(*) filter (where price >= 1000000) AS rank3_bids,
//!     count(distinct bidder) AS total_bidders,
//!     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!     count(distinct auction) AS total_auctions,
//!     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! Every bid updates its group's row (previous row deleted, new one inserted); the
//! state is Q15's (see [`super::q15`]), per channel and day. The maximum of the
//! `HH:mm` texts is the text of the latest minute of the day.

use super::calendar::{day_number, format_day, format_minute};
use super::q15::{BidLite, Counts, Statistics};
use crate::Change;
use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q16.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q16Row {
    /// The channel.
    pub channel: String,
    /// `yyyy-MM-dd`.
    pub day: String,
    /// The latest `HH:mm` of a bid of the group.
    pub minute: String,
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

fn row(channel: &str, day: i64, c: &Counts) -> Q16Row {
    Q16Row {
        channel: channel.to_string(),
        day: format_day(day),
        minute: format_minute(c.max_minute),
        total_bids: c.bids[0],
        rank1_bids: c.bids[1],
        rank2_bids: c.bids[2],
        rank3_bids: c.bids[3],
        total_bidders: c.bidders[0],
        rank1_bidders: c.bidders[1],
        rank2_bidders: c.bidders[2],
        rank3_bidders: c.bidders[3],
        total_auctions: c.auctions[0],
        rank1_auctions: c.auctions[1],
        rank2_auctions: c.auctions[2],
        rank3_auctions: c.auctions[3],
    }
}

/// Builds Q16 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q16Row>> {
    let statistics = Statistics::new("q16");
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some((
                b.channel,
                BidLite {
                    bidder: b.bidder,
                    auction: b.auction,
                    price: b.price,
                    date_time: b.date_time,
                },
            )),
            _ => None,
        })
        .name("q16: project bids")
        .key_by(|(channel, b): &(String, BidLite)| (channel.clone(), day_number(b.date_time)))
        .process_fn(
            move |(channel, bid): (String, BidLite),
                  ctx: &mut KeyedContext<'_, (String, i64)>,
                  out: &mut Collector<'_, Change<Q16Row>>| {
                let day = ctx.current_key().1;
                let (previous, current) = statistics.add(&bid, ctx)?;
                if let Some(previous) = previous {
                    out.collect(Change::delete(row(&channel, day, &previous)));
                }
                out.collect(Change::insert(row(&channel, day, &current)));
                Ok(())
            },
        )
        .name("q16: statistics per channel and day")
}
