//! Q8, monitor new users: the persons who entered the system and created an
//! auction in the same 10-second tumbling window.
//!
//! ```sql
//! SELECT P.id, P.name, P.starttime
//! FROM (
//!   SELECT id, name, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!   GROUP BY id, name, window_start, window_end
//! ) P
//! JOIN (
//!   SELECT seller, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//!   GROUP BY seller, window_start, window_end
//! ) A
//! ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
//! ```
//!
//! One projection of persons and auctions keyed by (person id = seller, window
//! start) into 10-second tumbling windows with an incremental aggregate: the
//! person's name and whether the person sold something in the window (both sides
//! are grouped, distinct, in the SQL, so each person gives at most one row per
//! window; person ids are unique).

use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir::prelude::*;
use weir_nexmark::Event;

/// Window size, ms.
const SIZE: i64 = 10_000;

/// A row of Q8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q8Row {
    /// The person.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// The window's start, ms since the epoch.
    pub stime: i64,
}

fn window_start(time: i64) -> i64 {
    time.div_euclid(SIZE) * SIZE
}

/// A person or an auction: (person id or seller, name of a person, event time).
type Side = (i64, Option<String>, i64);

/// The window's person name, and whether an auction of theirs came.
type Seen = (Option<String>, bool);

/// Joins a window's person with their auctions.
struct JoinInWindow;

impl AggregateFunction<Side, Seen, Seen> for JoinInWindow {
    fn create_accumulator(&self) -> Seen {
        (None, false)
    }
    fn add(&self, seen: &mut Seen, (_, name, _): Side) {
        match name {
            Some(name) => seen.0 = Some(name),
            None => seen.1 = true,
        }
    }
    fn get_result(&self, seen: &Seen) -> Seen {
        seen.clone()
    }
    fn merge(&self, a: Seen, b: Seen) -> Seen {
        (a.0.or(b.0), a.1 || b.1)
    }
}

/// Emits the row of a person who sold something in the window.
#[derive(Clone)]
struct NewSeller;

impl ProcessWindowFunction<(i64, i64), Seen, Q8Row, TimeWindow> for NewSeller {
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, (i64, i64), TimeWindow>,
        seen: Vec<Seen>,
        out: &mut Collector<'_, Q8Row>,
    ) -> Result<(), BoxError> {
        for (name, sold) in seen {
            if let (Some(name), true) = (name, sold) {
                out.collect(Q8Row {
                    id: ctx.key().0,
                    name,
                    stime: ctx.window().start,
                });
            }
        }
        Ok(())
    }
}

/// Builds Q8 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q8Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Person(p) => Some((p.id, Some(p.name), p.date_time)),
            Event::Auction(a) => Some((a.seller, None, a.date_time)),
            Event::Bid(_) => None,
        })
        .name("q8: persons and sellers")
        .key_by(|(id, _, time): &Side| (*id, window_start(*time)))
        .window(TumblingEventTimeWindows::of(Duration::from_millis(SIZE as u64)))
        .aggregate_with(JoinInWindow, NewSeller)
        .name("q8: new sellers per window")
}
