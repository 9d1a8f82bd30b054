//! Q10, log to file system: every bid with its date and hour-and-minute as
//! partition values.
//!
//! ```sql
//! INSERT INTO nexmark_q10  -- PARTITIONED BY (dt, hm), 'connector' = 'filesystem'
//! SELECT auction, bidder, price, dateTime, extra,
//!        DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm')
//! FROM bid;
//! ```
//!
//! Flink writes the rows into a file system sink partitioned by `dt`/`hm`
//! directories, rolling files every minute and committing partitions by partition
//! time. Weir produces the same rows with `dt` and `hm` as columns (UTC, the
//! benchmark's session time zone) and sends them to the runner's sink like every
//! query (`weir nexmark run --output` writes JSON lines, not partitioned CSV).

use super::calendar;
use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q10Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding.
    pub extra: String,
    /// The partition's date, `yyyy-MM-dd` (UTC).
    pub dt: String,
    /// The partition's hour and minute, `HH:mm` (UTC).
    pub hm: String,
}

/// `(yyyy-MM-dd, HH:mm)` of `ms` since the epoch, UTC.
fn partition(ms: i64) -> (String, String) {
    (
        calendar::format_day(calendar::day_number(ms)),
        calendar::format_minute(calendar::minute_of_day(ms)),
    )
}

/// Builds Q10 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q10Row> {
    // Consecutive bids mostly share their minute: reuse the last partition texts.
    let mut last: Option<(i64, String, String)> = None;
    events
        .flat_map(move |event: Event| match event {
            Event::Bid(b) => {
                let minute = b.date_time.div_euclid(60_000);
                let (dt, hm) = match &last {
                    Some((m, dt, hm)) if *m == minute => (dt.clone(), hm.clone()),
                    _ => {
                        let (dt, hm) = partition(b.date_time);
                        last = Some((minute, dt.clone(), hm.clone()));
                        (dt, hm)
                    }
                };
                Some(Q10Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    date_time: b.date_time,
                    extra: b.extra,
                    dt,
                    hm,
                })
            }
            _ => None,
        })
        .name("q10: bids with partition values")
}

#[cfg(test)]
mod tests {
    use super::partition;

    #[test]
    fn partitions_are_utc_dates_and_minutes() {
        assert_eq!(partition(0), ("1970-01-01".into(), "00:00".into()));
        assert_eq!(partition(1_704_067_200_120), ("2024-01-01".into(), "00:00".into()));
        assert_eq!(partition(951_825_599_999), ("2000-02-29".into(), "11:59".into()));
        assert_eq!(partition(-1), ("1969-12-31".into(), "23:59".into()));
    }
}
