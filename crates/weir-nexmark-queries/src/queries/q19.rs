//! Q19, auction top-10 price: per auction, the 10 bids with the highest prices and
//! their ranks (a top-N); an updating result.
//!
//! ```sql
//! SELECT * FROM
//! (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//! WHERE rank_number <= 10;
//! ```
//!
//! As Flink's append-only top-N with the rank number in the output: a bid entering
//! the top 10 is inserted with its rank, the bids below it are deleted with their
//! old rank and inserted with the new one, and the one pushed out is deleted. Flink
//! orders bids of equal price by arrival, which depends on the interleaving of
//! parallel sources; Weir orders them by time, then bidder, channel, URL and extra
//! (earlier first), so that the result does not depend on the parallelism.

use crate::Change;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use weir::prelude::*;
use weir_nexmark::Event;

/// The number of bids kept per auction.
pub const TOP_N: usize = 10;

/// A row of Q19.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q19Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// The channel.
    pub channel: String,
    /// The URL.
    pub url: String,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
    /// 1 for the highest price, up to 10.
    pub rank_number: i64,
}

/// A bid of the top 10 (without its rank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    date_time: i64,
    extra: String,
}

impl Entry {
    /// The order of the ranking: higher price first, then earlier, then the rest.
    fn rank_order(&self, other: &Entry) -> Ordering {
        other
            .price
            .cmp(&self.price)
            .then(self.date_time.cmp(&other.date_time))
            .then(self.bidder.cmp(&other.bidder))
            .then_with(|| self.channel.cmp(&other.channel))
            .then_with(|| self.url.cmp(&other.url))
            .then_with(|| self.extra.cmp(&other.extra))
    }

    fn row(&self, auction: i64, index: usize) -> Q19Row {
        Q19Row {
            auction,
            bidder: self.bidder,
            price: self.price,
            channel: self.channel.clone(),
            url: self.url.clone(),
            date_time: self.date_time,
            extra: self.extra.clone(),
            rank_number: index as i64 + 1,
        }
    }
}

/// Builds Q19 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q19Row>> {
    let top = ValueStateDescriptor::<Vec<Entry>>::new("q19-top-bids");
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some((
                b.auction,
                Entry {
                    bidder: b.bidder,
                    price: b.price,
                    channel: b.channel,
                    url: b.url,
                    date_time: b.date_time,
                    extra: b.extra,
                },
            )),
            _ => None,
        })
        .name("q19: bids")
        .key_by(|(auction, _): &(i64, Entry)| *auction)
        .process_fn(
            move |(auction, bid): (i64, Entry),
                  ctx: &mut KeyedContext<'_, i64>,
                  out: &mut Collector<'_, Change<Q19Row>>| {
                let mut state = ctx.value(&top)?;
                // Most bids do not make it into a full top 10: decide without a copy.
                if let Some(entries) = state.get_ref()? {
                    if entries.len() >= TOP_N && entries[TOP_N - 1].rank_order(&bid) != Ordering::Greater {
                        return Ok(());
                    }
                }
                let mut entries = state.take()?.unwrap_or_default();
                // The position of the new bid: after every bid ranked before it.
                let at = entries.partition_point(|e| e.rank_order(&bid) != Ordering::Greater);
                // Bids from `at` on move one rank down; the 10th leaves.
                for (index, entry) in entries.iter().enumerate().skip(at) {
                    out.collect(Change::delete(entry.row(auction, index)));
                }
                out.collect(Change::insert(bid.row(auction, at)));
                entries.insert(at, bid);
                entries.truncate(TOP_N);
                for (index, entry) in entries.iter().enumerate().skip(at + 1) {
                    out.collect(Change::insert(entry.row(auction, index)));
                }
                state.set(entries)?;
                Ok(())
            },
        )
        .name("q19: top 10 bids per auction")
}
