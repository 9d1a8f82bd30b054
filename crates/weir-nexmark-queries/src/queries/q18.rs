//! Q18, find the last bid: per bidder and auction, the bid with the latest time
//! (a deduplication keeping the last row); an updating result.
//!
//! ```sql
//! SELECT auction, bidder, price, channel, url, `dateTime`, extra
//!  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rank_number
//!        FROM bid)
//!  WHERE rank_number <= 1;
//! ```
//!
//! Flink runs this as its event-time deduplication keeping the last row: a bid
//! replaces the stored one unless it is older (emitting a delete of the old row and
//! an insert of the new one). Between bids of equal time (frequent: bids of a hot
//! bidder on a hot auction in the same millisecond) Flink keeps the one that
//! arrives last, which depends on the interleaving of parallel sources; Weir keeps
//! the greatest by price, then channel, URL and extra, so that the result does not
//! depend on the parallelism (and the later arrival between equal rows).

use crate::Change;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q18.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q18Row {
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
}

/// The order of "last": by time, then (between bids of equal time) by price,
/// channel, URL and extra.
fn later(a: &Q18Row, b: &Q18Row) -> Ordering {
    (a.date_time, a.price)
        .cmp(&(b.date_time, b.price))
        .then_with(|| a.channel.cmp(&b.channel))
        .then_with(|| a.url.cmp(&b.url))
        .then_with(|| a.extra.cmp(&b.extra))
}

/// Builds Q18 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Change<Q18Row>> {
    let last = ValueStateDescriptor::<Q18Row>::new("q18-last-bid");
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(Q18Row {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price,
                channel: b.channel,
                url: b.url,
                date_time: b.date_time,
                extra: b.extra,
            }),
            _ => None,
        })
        .name("q18: bids")
        .key_by(|b: &Q18Row| (b.bidder, b.auction))
        .process_fn(
            move |bid: Q18Row, ctx: &mut KeyedContext<'_, (i64, i64)>, out: &mut Collector<'_, Change<Q18Row>>| {
                let mut last = ctx.value(&last)?;
                if let Some(old) = last.get_ref()? {
                    if later(&bid, old) == Ordering::Less {
                        return Ok(());
                    }
                }
                if let Some(old) = last.take()? {
                    out.collect(Change::delete(old));
                }
                out.collect(Change::insert(bid.clone()));
                last.set(bid)?;
                Ok(())
            },
        )
        .name("q18: last bid per bidder and auction")
}
