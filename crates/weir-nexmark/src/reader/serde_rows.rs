//! Serde types that decode a JSON line straight into an [`Event`] (serde's remote
//! derive: no intermediate copy).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::model::{Auction, Bid, Event, Person};
use crate::writer::parse_timestamp;

/// One JSON line of the Nexmark file, decoded by serde.
///
/// Unknown fields are ignored, a missing `person`, `auction` or `bid` counts as
/// `null`, and `event_type` must name the one row that is not `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonEvent(pub Event);

impl<'de> Deserialize<'de> for JsonEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let row = Line::deserialize(deserializer)?;
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
        Ok(JsonEvent(event))
    }
}

#[derive(Deserialize)]
struct Line {
    event_type: i64,
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

/// Deserializes Flink's SQL timestamp text (`2024-01-01 00:00:00.12`, UTC) as ms
/// since the epoch (see [`parse_timestamp`]); for `#[serde(deserialize_with)]`.
pub fn sql_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Timestamp;
    impl Visitor<'_> for Timestamp {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a timestamp like 2024-01-01 00:00:00.123")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            parse_timestamp(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_str(Timestamp)
}
