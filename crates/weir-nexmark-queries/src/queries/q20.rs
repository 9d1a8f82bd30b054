//! Q20, expand bids with their auction: every bid on an auction of category 10,
//! joined with the auction's fields (a regular inner join).
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel, url, B.`dateTime`, B.extra,
//!     itemName, description, initialBid, reserve, A.`dateTime`, expires, seller, category, A.extra
//! FROM
//!     bid AS B INNER JOIN auction AS A on B.auction = A.id
//! WHERE A.category = 10;
//! ```
//!
//! Bids and auctions meet keyed by auction id in a keyed co-process function. The
//! filter runs before the join, as Flink pushes it down. An auction of category 10
//! is kept and joins every bid on it, earlier (buffered) or later; an auction of
//! another category is remembered as such only (auction ids are unique in Nexmark,
//! so bids on it never join and need not be kept), and bids whose auction has not
//! been seen yet are buffered. The result is append-only, as Flink's inner join of
//! two append-only inputs.

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q20.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q20Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// The bid's channel.
    pub channel: String,
    /// The bid's URL.
    pub url: String,
    /// The bid's time, ms since the epoch.
    pub bid_date_time: i64,
    /// The bid's padding.
    pub bid_extra: String,
    /// The auction's item name.
    pub item_name: String,
    /// The auction's description.
    pub description: String,
    /// The auction's initial bid.
    pub initial_bid: i64,
    /// The auction's reserve price.
    pub reserve: i64,
    /// The auction's time, ms since the epoch.
    pub auction_date_time: i64,
    /// When the auction closes, ms since the epoch.
    pub expires: i64,
    /// The seller.
    pub seller: i64,
    /// The category (10).
    pub category: i64,
    /// The auction's padding.
    pub auction_extra: String,
}

/// A bid as Q20 needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BidSide {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    date_time: i64,
    extra: String,
}

/// An auction of category 10 as Q20 needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AuctionSide {
    item_name: String,
    description: String,
    initial_bid: i64,
    reserve: i64,
    date_time: i64,
    expires: i64,
    seller: i64,
    category: i64,
    extra: String,
}

/// What is known of an auction: it is of category 10 (with its fields), or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Known {
    Joins(AuctionSide),
    Filtered,
}

fn joined(b: BidSide, a: &AuctionSide) -> Q20Row {
    Q20Row {
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        channel: b.channel,
        url: b.url,
        bid_date_time: b.date_time,
        bid_extra: b.extra,
        item_name: a.item_name.clone(),
        description: a.description.clone(),
        initial_bid: a.initial_bid,
        reserve: a.reserve,
        auction_date_time: a.date_time,
        expires: a.expires,
        seller: a.seller,
        category: a.category,
        auction_extra: a.extra.clone(),
    }
}

/// The join of bids (first input) with auctions (second input) on the auction id.
#[derive(Clone)]
struct Join {
    auction: ValueStateDescriptor<Known>,
    waiting: ListStateDescriptor<BidSide>,
}

impl KeyedCoProcessFunction<i64, BidSide, (i64, Option<AuctionSide>), Q20Row> for Join {
    fn process_element1(
        &mut self,
        bid: BidSide,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q20Row>,
    ) -> Result<(), BoxError> {
        match ctx.value(&self.auction)?.get_ref()? {
            Some(Known::Joins(auction)) => out.collect(joined(bid, auction)),
            Some(Known::Filtered) => {}
            None => ctx.list(&self.waiting)?.add(bid)?,
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        (_, auction): (i64, Option<AuctionSide>),
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q20Row>,
    ) -> Result<(), BoxError> {
        let waiting = {
            let mut list = ctx.list(&self.waiting)?;
            let bids = list.get()?;
            list.clear()?;
            bids
        };
        match auction {
            Some(auction) => {
                for bid in waiting {
                    out.collect(joined(bid, &auction));
                }
                ctx.value(&self.auction)?.set(Known::Joins(auction))?;
            }
            None => ctx.value(&self.auction)?.set(Known::Filtered)?,
        }
        Ok(())
    }
}

/// Builds Q20 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q20Row> {
    let bids = events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(BidSide {
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
        .name("q20: bids");
    // Auctions of category 10 with their fields; others as their id only.
    let auctions = events
        .flat_map(|event: Event| match event {
            Event::Auction(a) if a.category == 10 => Some((
                a.id,
                Some(AuctionSide {
                    item_name: a.item_name,
                    description: a.description,
                    initial_bid: a.initial_bid,
                    reserve: a.reserve,
                    date_time: a.date_time,
                    expires: a.expires,
                    seller: a.seller,
                    category: a.category,
                    extra: a.extra,
                }),
            )),
            Event::Auction(a) => Some((a.id, None)),
            _ => None,
        })
        .name("q20: auctions");
    bids.connect(&auctions)
        .key_by(|b: &BidSide| b.auction, |(id, _): &(i64, Option<AuctionSide>)| *id)
        .process(Join {
            auction: ValueStateDescriptor::new("q20-auction"),
            waiting: ListStateDescriptor::new("q20-waiting-bids"),
        })
        .name("q20: join bids with auctions of category 10")
}
