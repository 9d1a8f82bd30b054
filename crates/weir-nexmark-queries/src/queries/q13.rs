//! Q13, bounded side input join: every bid enriched with the value of its row
//! `MOD(auction, 10000)` in a small static table.
//!
//! ```sql
//! CREATE TABLE side_input (key BIGINT, `value` VARCHAR)
//!   WITH ('connector.type' = 'filesystem', 'connector.path' = '.../side_input.txt', ...);
//!
//! SELECT B.auction, B.bidder, B.price, B.`dateTime`, S.`value`
//! FROM (SELECT *, PROCTIME() as p_time FROM bid) B
//! JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//! ON mod(B.auction, 10000) = S.key;
//! ```
//!
//! The side input is Flink's `side_input.txt` as its `SideInputGenerator` writes it
//! (`bin/side_input_gen.sh` runs it with `--num 10000`): rows `i,i` for `i` in
//! `0..10000`, i.e. key `i` with the value `"i"`. [`side_input`] builds the same
//! table in memory; every task holds one copy (it is small and never changes, so the
//! processing-time lookup join is a plain lookup).

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir::prelude::*;
use weir_nexmark::Event;

/// Rows of the side input (Flink's `side_input_gen.sh` default).
pub const SIDE_INPUT_ROWS: i64 = 10_000;

/// A row of Q13.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q13Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// The side input's value for `auction % 10000`.
    pub value: String,
}

/// The side input: the value of key `i` at index `i` (`"i"`, as Flink's file).
pub fn side_input() -> Vec<String> {
    (0..SIDE_INPUT_ROWS).map(|key| key.to_string()).collect()
}

/// Builds Q13 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q13Row> {
    let table: Arc<Vec<String>> = Arc::new(side_input());
    events
        .flat_map(move |event: Event| match event {
            // SQL's MOD keeps the dividend's sign: negative auctions find no key.
            Event::Bid(b) => usize::try_from(b.auction % SIDE_INPUT_ROWS)
                .ok()
                .and_then(|key| table.get(key))
                .map(|value| Q13Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    date_time: b.date_time,
                    value: value.clone(),
                }),
            _ => None,
        })
        .name("q13: bids joined with the side input")
}
