//! Q5, hot items: the auctions with the most bids in each sliding window of 10 s
//! that starts every 2 s.
//!
//! ```sql
//! SELECT AuctionBids.auction, AuctionBids.num
//! FROM (
//!   SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!   GROUP BY auction, window_start, window_end
//! ) AS AuctionBids
//! JOIN (
//!   SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
//!   FROM (
//!     SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
//!     FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!     GROUP BY auction, window_start, window_end
//!   ) AS CountBids
//!   GROUP BY CountBids.starttime, CountBids.endtime
//! ) AS MaxBids
//! ON AuctionBids.starttime = MaxBids.starttime AND
//!    AuctionBids.endtime = MaxBids.endtime AND
//!    AuctionBids.num >= MaxBids.maxn;
//! ```
//!
//! Bids per auction and sliding window (an incremental count), then, keyed by
//! window, the auctions with the highest count, emitted when the watermark passes
//! the window's end (every window count has arrived by then).

use super::count::Count;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir::prelude::*;
use weir_nexmark::Event;

/// Window size, ms.
const SIZE: i64 = 10_000;
/// Window slide, ms.
const SLIDE: i64 = 2_000;

/// A row of Q5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q5Row {
    /// A hot auction.
    pub auction: i64,
    /// Its bids in the window (the window's highest count).
    pub num: i64,
}

/// Adds the window start and the auction to a count.
#[derive(Clone)]
struct WithWindow;

impl ProcessWindowFunction<i64, i64, (i64, i64, i64), TimeWindow> for WithWindow {
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, i64, TimeWindow>,
        counts: Vec<i64>,
        out: &mut Collector<'_, (i64, i64, i64)>,
    ) -> Result<(), BoxError> {
        for num in counts {
            out.collect((ctx.window().start, *ctx.key(), num));
        }
        Ok(())
    }
}

/// A window's highest count and its auctions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Top {
    max: i64,
    auctions: Vec<i64>,
}

#[derive(Clone)]
struct HottestPerWindow {
    top: ValueStateDescriptor<Top>,
}

impl KeyedProcessFunction<i64, (i64, i64, i64), Q5Row> for HottestPerWindow {
    fn process_element(
        &mut self,
        (start, auction, num): (i64, i64, i64),
        ctx: &mut KeyedContext<'_, i64>,
        _out: &mut Collector<'_, Q5Row>,
    ) -> Result<(), BoxError> {
        let mut top = ctx.value(&self.top)?;
        let created = top.modify(|top| match top {
            Some(top) => {
                if num > top.max {
                    top.max = num;
                    top.auctions.clear();
                    top.auctions.push(auction);
                } else if num == top.max {
                    top.auctions.push(auction);
                }
                None
            }
            None => Some(Top {
                max: num,
                auctions: vec![auction],
            }),
        })?;
        if created {
            // The window's counts carry its last millisecond as event time.
            ctx.register_event_time_timer(start + SIZE - 1)?;
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _timestamp: i64,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q5Row>,
    ) -> Result<(), BoxError> {
        if let Some(top) = ctx.value(&self.top)?.take()? {
            for auction in top.auctions {
                out.collect(Q5Row { auction, num: top.max });
            }
        }
        Ok(())
    }
}

/// Builds Q5 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q5Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => Some(b.auction),
            _ => None,
        })
        .name("q5: bid auctions")
        .key_by(|auction: &i64| *auction)
        .window(SlidingEventTimeWindows::of(
            Duration::from_millis(SIZE as u64),
            Duration::from_millis(SLIDE as u64),
        ))
        .aggregate_with(Count, WithWindow)
        .name("q5: bids per auction and window")
        .key_by(|(start, _, _): &(i64, i64, i64)| *start)
        .process(HottestPerWindow {
            top: ValueStateDescriptor::new("highest count and auctions"),
        })
        .name("q5: hottest auctions per window")
}
