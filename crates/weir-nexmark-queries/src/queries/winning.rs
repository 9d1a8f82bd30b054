//! The "winning bids" core shared by q4, q6 and q9: per auction, the highest bid
//! (ties: the earliest, see [`BidSide::beats`]) among the bids whose `dateTime` lies
//! between the auction's `dateTime` and `expires` (inclusive, SQL's `BETWEEN`).
//!
//! One keyed process over a stream of auctions and bids keyed by auction id keeps
//! the auction and its best bid so far, and emits the pair when the auction closes:
//! an event-time timer at `expires` fires once the watermark has passed it, when
//! no bid at or before `expires` can still arrive. Bids that arrive before their
//! auction wait for it until the watermark passes their own time (an auction with
//! `dateTime` at or before the bid's would have arrived by then); bids of closed or
//! unknown auctions are dropped then.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use weir::prelude::*;

/// The fields of an auction the winning-bid operator needs.
pub(crate) trait AuctionSide: Data {
    fn id(&self) -> i64;
    fn date_time(&self) -> i64;
    fn expires(&self) -> i64;
}

/// The fields of a bid the winning-bid operator needs.
pub(crate) trait BidSide: Data {
    fn auction(&self) -> i64;
    fn price(&self) -> i64;
    fn date_time(&self) -> i64;
    /// Whether this bid wins over `other`: a higher price (ties keep the first).
    fn beats(&self, other: &Self) -> bool {
        self.price() > other.price()
    }
}

/// A bid with just what the price-only queries need: (auction, price, dateTime).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PriceBid(pub i64, pub i64, pub i64);

impl BidSide for PriceBid {
    fn auction(&self) -> i64 {
        self.0
    }
    fn price(&self) -> i64 {
        self.1
    }
    fn date_time(&self) -> i64 {
        self.2
    }
}

/// An auction or a bid, projected right after the source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "A: Serialize + DeserializeOwned, B: Serialize + DeserializeOwned")]
pub(crate) enum Side<A, B> {
    Auction(A),
    Bid(B),
}

/// The state of one auction id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "A: Serialize + DeserializeOwned, B: Serialize + DeserializeOwned")]
struct Slot<A, B> {
    auction: Option<A>,
    best: Option<B>,
    /// Bids that came before their auction.
    early: Vec<B>,
}

fn in_range<A: AuctionSide, B: BidSide>(auction: &A, bid: &B) -> bool {
    (auction.date_time()..=auction.expires()).contains(&bid.date_time())
}

fn offer<B: BidSide>(best: &mut Option<B>, bid: B) {
    if best.as_ref().is_none_or(|b| bid.beats(b)) {
        *best = Some(bid);
    }
}

#[derive(Clone)]
struct WinningBid<A, B> {
    slot: ValueStateDescriptor<Slot<A, B>>,
}

impl<A: AuctionSide, B: BidSide> KeyedProcessFunction<i64, Side<A, B>, (A, B)> for WinningBid<A, B> {
    fn process_element(
        &mut self,
        value: Side<A, B>,
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, (A, B)>,
    ) -> Result<(), BoxError> {
        let watermark = ctx.current_watermark();
        match value {
            Side::Auction(auction) => {
                let expires = auction.expires();
                let mut state = ctx.value(&self.slot)?;
                let (mut best, early) = match state.take()? {
                    Some(slot) => (slot.best, slot.early),
                    None => (None, Vec::new()),
                };
                for bid in early {
                    if in_range(&auction, &bid) {
                        offer(&mut best, bid);
                    }
                }
                state.set(Slot {
                    auction: Some(auction),
                    best,
                    early: Vec::new(),
                })?;
                ctx.register_event_time_timer(expires)?;
            }
            Side::Bid(bid) => {
                let time = bid.date_time();
                // Without its auction, a bid the watermark has passed can match no
                // auction any more.
                let hopeless = watermark.is_some_and(|w| time <= w);
                let mut wait = false;
                let mut state = ctx.value(&self.slot)?;
                state.modify(|slot| match slot {
                    Some(slot) => {
                        match &slot.auction {
                            Some(auction) if in_range(auction, &bid) => offer(&mut slot.best, bid),
                            Some(_) => {}
                            None if !hopeless => {
                                slot.early.push(bid);
                                wait = true;
                            }
                            None => {}
                        }
                        None
                    }
                    None if !hopeless => {
                        wait = true;
                        Some(Slot {
                            auction: None,
                            best: None,
                            early: vec![bid],
                        })
                    }
                    None => None,
                })?;
                if wait {
                    ctx.register_event_time_timer(time)?;
                }
            }
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, (A, B)>,
    ) -> Result<(), BoxError> {
        let mut state = ctx.value(&self.slot)?;
        let Some(mut slot) = state.take()? else {
            return Ok(());
        };
        match slot.auction.take() {
            Some(auction) if timestamp >= auction.expires() => {
                if let Some(best) = slot.best {
                    out.collect((auction, best));
                }
            }
            Some(auction) => {
                // An early bid's timer after its auction came: nothing to do.
                slot.auction = Some(auction);
                state.set(slot)?;
            }
            None => {
                slot.early.retain(|bid| bid.date_time() > timestamp);
                if !slot.early.is_empty() {
                    state.set(slot)?;
                }
            }
        }
        Ok(())
    }
}

/// The winning bid of every auction of `input` (with at least one bid in its
/// time range), as `(auction, bid)`, emitted when the auction closes with the
/// auction's `expires` as event time.
pub(crate) fn winning_bids<A: AuctionSide, B: BidSide>(input: &DataStream<Side<A, B>>) -> DataStream<(A, B)> {
    input
        .key_by(|side: &Side<A, B>| match side {
            Side::Auction(a) => a.id(),
            Side::Bid(b) => b.auction(),
        })
        .process(WinningBid {
            slot: ValueStateDescriptor::new("auction and best bid"),
        })
}
