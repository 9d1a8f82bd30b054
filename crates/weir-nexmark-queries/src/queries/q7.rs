//! Q7, highest bid: the bids with the highest price of each 10-second tumbling
//! window.
//!
//! ```sql
//! SELECT B.auction, B.bidder, B.price, B.dateTime, B.extra
//! from bid B
//! JOIN (
//!   SELECT MAX(price) AS maxprice, window_end as dateTime
//!   FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!   GROUP BY window_start, window_end
//! ) B1
//! ON B.price = B1.maxprice
//! WHERE B.dateTime BETWEEN B1.dateTime  - INTERVAL '10' SECOND AND B1.dateTime;
//! ```
//!
//! Keyed by window start, a process keeps the window's highest price and only the
//! bids at that price (a bid's `extra` is moved, never copied, and dropped as soon
//! as a higher price comes), and emits them when the watermark passes the
//! window's end. `BETWEEN` is inclusive: a bid exactly at a window's end belongs to
//! the next window but also joins this one if its price equals this window's
//! maximum, so such bids are sent to both windows (as a candidate only to the
//! earlier one).

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// Window size, ms.
const SIZE: i64 = 10_000;

/// A row of Q7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q7Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The window's highest price.
    pub price: i64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
}

/// A bid for a window: (window start, whether it is the bid at the window's end
/// that belongs to the next window, the bid).
type ForWindow = (i64, bool, Q7Row);

/// A window's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Highest {
    /// The highest price of the window's own bids (none yet: `i64::MIN`).
    max: i64,
    /// The window's bids at that price.
    top: Vec<Q7Row>,
    /// Bids at the window's end (members of the next window).
    edge: Vec<Q7Row>,
}

#[derive(Clone)]
struct HighestBids {
    state: ValueStateDescriptor<Highest>,
}

impl KeyedProcessFunction<i64, ForWindow, Q7Row> for HighestBids {
    fn process_element(
        &mut self,
        (start, edge, bid): ForWindow,
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, Q7Row>,
    ) -> Result<(), BoxError> {
        let mut state = ctx.value(&self.state)?;
        let created = state.modify(|highest| {
            let mut fresh = None;
            let highest = match highest {
                Some(h) => h,
                None => fresh.insert(Highest {
                    max: i64::MIN,
                    top: Vec::new(),
                    edge: Vec::new(),
                }),
            };
            if edge {
                highest.edge.push(bid);
            } else if bid.price > highest.max {
                highest.max = bid.price;
                highest.top.clear();
                highest.top.push(bid);
            } else if bid.price == highest.max {
                highest.top.push(bid);
            }
            fresh
        })?;
        if created {
            // Inclusive end: fire once the watermark has passed the window's end.
            ctx.register_event_time_timer(start + SIZE)?;
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q7Row>,
    ) -> Result<(), BoxError> {
        if let Some(highest) = ctx.value(&self.state)?.take()? {
            let max = highest.max;
            for bid in highest.top {
                out.collect(bid);
            }
            for bid in highest.edge {
                if bid.price == max {
                    out.collect(bid);
                }
            }
        }
        Ok(())
    }
}

/// Builds Q7 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q7Row> {
    events
        .flat_map(|event: Event| {
            let (mut edge, mut own) = (None, None);
            if let Event::Bid(b) = event {
                let start = b.date_time.div_euclid(SIZE) * SIZE;
                let row = Q7Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    date_time: b.date_time,
                    extra: b.extra,
                };
                if b.date_time == start {
                    edge = Some((start - SIZE, true, row.clone()));
                }
                own = Some((start, false, row));
            }
            edge.into_iter().chain(own)
        })
        .name("q7: bids per window")
        .key_by(|(start, _, _): &ForWindow| *start)
        .process(HighestBids {
            state: ValueStateDescriptor::new("highest bids"),
        })
        .name("q7: highest bids per window")
}
