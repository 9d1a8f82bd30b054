//! Serde types that decode the JSON lines of `weir nexmark generate` (Flink's Nexmark
//! Kafka table: `event_type`, and the nested rows `person`, `auction`, `bid`, two of
//! them `null`; `dateTime` as Flink's SQL timestamp text) straight into
//! [`weir_nexmark::Event`], through serde's remote derive (no intermediate copy).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use weir_nexmark::{Auction, Bid, Event, Person};

/// One JSON line of the Nexmark file, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexmarkEvent(pub Event);

impl<'de> Deserialize<'de> for NexmarkEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let row = Row::deserialize(deserializer)?;
        let event = match (row.event_type, row.person, row.auction, row.bid) {
            (0, Some(PersonRow(p)), None, None) => Event::Person(p),
            (1, None, Some(AuctionRow(a)), None) => Event::Auction(a),
            (2, None, None, Some(BidRow(b))) => Event::Bid(b),
            (t, ..) => {
                return Err(de::Error::custom(format_args!(
                    "event_type {t} does not match the one non-null row"
                )))
            }
        };
        Ok(NexmarkEvent(event))
    }
}

#[derive(Deserialize)]
struct Row {
    event_type: i32,
    person: Option<PersonRow>,
    auction: Option<AuctionRow>,
    bid: Option<BidRow>,
}

struct PersonRow(Person);
struct AuctionRow(Auction);
struct BidRow(Bid);

impl<'de> Deserialize<'de> for PersonRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PersonDef::deserialize(d).map(PersonRow)
    }
}
impl<'de> Deserialize<'de> for AuctionRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AuctionDef::deserialize(d).map(AuctionRow)
    }
}
impl<'de> Deserialize<'de> for BidRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BidDef::deserialize(d).map(BidRow)
    }
}

#[derive(Deserialize)]
#[serde(remote = "Person", rename_all = "camelCase")]
struct PersonDef {
    id: i64,
    name: String,
    email_address: String,
    credit_card: String,
    city: String,
    state: String,
    #[serde(deserialize_with = "sql_timestamp")]
    date_time: i64,
    extra: String,
}

#[derive(Deserialize)]
#[serde(remote = "Auction", rename_all = "camelCase")]
struct AuctionDef {
    id: i64,
    item_name: String,
    description: String,
    initial_bid: i64,
    reserve: i64,
    #[serde(deserialize_with = "sql_timestamp")]
    date_time: i64,
    #[serde(deserialize_with = "sql_timestamp")]
    expires: i64,
    seller: i64,
    category: i64,
    extra: String,
}

#[derive(Deserialize)]
#[serde(remote = "Bid", rename_all = "camelCase")]
struct BidDef {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    #[serde(deserialize_with = "sql_timestamp")]
    date_time: i64,
    extra: String,
}

/// Flink's SQL timestamp text (`2024-01-01 00:00:00.12`, UTC) as ms since the epoch.
pub fn sql_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Ts;
    impl Visitor<'_> for Ts {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a timestamp like 2024-01-01 00:00:00.123")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            fast_timestamp(v.as_bytes())
                .or_else(|| weir_nexmark::parse_timestamp(v))
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_str(Ts)
}

/// `yyyy-MM-dd HH:mm:ss[.f{1,3}]` with a four-digit year, the shape the generator
/// writes, without allocating or splitting; `None` for anything else (the caller then
/// tries `weir_nexmark::parse_timestamp`, which takes every shape Flink writes).
fn fast_timestamp(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        b.iter()
            .try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    }
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = match &b[19..] {
        [] => 0,
        [b'.', f @ ..] if (1..=3).contains(&f.len()) => num(f)? * [100, 10, 1][f.len() - 1],
        _ => return None,
    };
    // Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millis)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_timestamps_agree() {
        let mut ms = 0i64;
        while ms < 4_102_444_800_000 {
            let text = weir_nexmark::format_timestamp(ms);
            assert_eq!(super::fast_timestamp(text.as_bytes()), Some(ms), "{text}");
            ms += 7_777_777 + 13;
        }
    }
}
