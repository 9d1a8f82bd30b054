//! Nexmark's event model: persons, auctions and bids (Flink's `model` package).
//!
//! Times are milliseconds since the epoch, the precision of Flink's generator (it
//! builds `Instant.ofEpochMilli` values and its tables declare `TIMESTAMP(3)`). Serde
//! uses Flink's camelCase field names.

use serde::{Deserialize, Serialize};

/// A new person: someone who sells or bids.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// Person id, from [`FIRST_PERSON_ID`](crate::FIRST_PERSON_ID) up.
    pub id: i64,
    /// First and last name, e.g. `"Peter Shultz"`.
    pub name: String,
    /// A random address, e.g. `"vicky@xqbz.com"`.
    pub email_address: String,
    /// Four groups of four digits separated by spaces.
    pub credit_card: String,
    /// One of ten US cities.
    pub city: String,
    /// One of six US state codes, upper case (`AZ`, `CA`, `ID`, `OR`, `WA`, `WY`).
    pub state: String,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding up to the configured average person size.
    pub extra: String,
}

/// A new auction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Auction {
    /// Auction id, from [`FIRST_AUCTION_ID`](crate::FIRST_AUCTION_ID) up.
    pub id: i64,
    /// Item name: 3 to 19 random letters and spaces.
    pub item_name: String,
    /// Description: 3 to 99 random letters and spaces.
    pub description: String,
    /// Opening price in cents.
    pub initial_bid: i64,
    /// Reserve price in cents (above the initial bid).
    pub reserve: i64,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// When the auction closes, ms since the epoch.
    pub expires: i64,
    /// The seller's person id.
    pub seller: i64,
    /// Category id, `10..15`.
    pub category: i64,
    /// Padding up to the configured average auction size.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// The auction's id.
    pub auction: i64,
    /// The bidder's person id (by default with Flink's extra offset of 1000, see
    /// [`NexmarkConfig::flink_bidder_id_offset`](crate::NexmarkConfig::flink_bidder_id_offset)).
    pub bidder: i64,
    /// Price in cents.
    pub price: i64,
    /// Where the bid came from: `Google`, `Facebook`, `Baidu`, `Apple` or `channel-N`.
    pub channel: String,
    /// The bid's URL on that channel.
    pub url: String,
    /// Event time, ms since the epoch.
    pub date_time: i64,
    /// Padding up to the configured average bid size.
    pub extra: String,
}

/// The kind of an [`Event`], numbered as Flink's `Event.Type` (the `event_type`
/// column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// 0.
    Person,
    /// 1.
    Auction,
    /// 2.
    Bid,
}

impl EventType {
    /// Flink's number for the kind: person 0, auction 1, bid 2.
    pub fn value(self) -> i32 {
        match self {
            EventType::Person => 0,
            EventType::Auction => 1,
            EventType::Bid => 2,
        }
    }
}

/// One Nexmark event.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid.
    Bid(Bid),
}

impl Event {
    /// The event's kind.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::Person(_) => EventType::Person,
            Event::Auction(_) => EventType::Auction,
            Event::Bid(_) => EventType::Bid,
        }
    }

    /// The event's time, ms since the epoch.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// The person, if this is one.
    pub fn as_person(&self) -> Option<&Person> {
        match self {
            Event::Person(p) => Some(p),
            _ => None,
        }
    }

    /// The auction, if this is one.
    pub fn as_auction(&self) -> Option<&Auction> {
        match self {
            Event::Auction(a) => Some(a),
            _ => None,
        }
    }

    /// The bid, if this is one.
    pub fn as_bid(&self) -> Option<&Bid> {
        match self {
            Event::Bid(b) => Some(b),
            _ => None,
        }
    }
}
