//! A line of the Nexmark file from simd-json's tape, with a projection of the string
//! fields.

use std::ops::BitOr;

use simd_json::prelude::*;
use simd_json::tape::{Object, Value};

use crate::model::{Auction, Bid, Event, Person};
use crate::writer::parse_timestamp;

/// The string fields [`event_from_tape`] copies into the events; the others are
/// checked to be strings and left empty. Numbers and timestamps are always decoded
/// (the event time drives watermarks).
///
/// A query that reads only some fields decodes faster with only those: q0 reads
/// only the bids' `extra`, so `EventFields::BID_EXTRA` gives its rows exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventFields(u16);

impl EventFields {
    /// No string field.
    pub const NONE: EventFields = EventFields(0);
    /// `person.name`.
    pub const PERSON_NAME: EventFields = EventFields(1);
    /// `person.emailAddress`.
    pub const PERSON_EMAIL_ADDRESS: EventFields = EventFields(1 << 1);
    /// `person.creditCard`.
    pub const PERSON_CREDIT_CARD: EventFields = EventFields(1 << 2);
    /// `person.city`.
    pub const PERSON_CITY: EventFields = EventFields(1 << 3);
    /// `person.state`.
    pub const PERSON_STATE: EventFields = EventFields(1 << 4);
    /// `person.extra`.
    pub const PERSON_EXTRA: EventFields = EventFields(1 << 5);
    /// `auction.itemName`.
    pub const AUCTION_ITEM_NAME: EventFields = EventFields(1 << 6);
    /// `auction.description`.
    pub const AUCTION_DESCRIPTION: EventFields = EventFields(1 << 7);
    /// `auction.extra`.
    pub const AUCTION_EXTRA: EventFields = EventFields(1 << 8);
    /// `bid.channel`.
    pub const BID_CHANNEL: EventFields = EventFields(1 << 9);
    /// `bid.url`.
    pub const BID_URL: EventFields = EventFields(1 << 10);
    /// `bid.extra`.
    pub const BID_EXTRA: EventFields = EventFields(1 << 11);
    /// Every string field: the events as written.
    pub const ALL: EventFields = EventFields((1 << 12) - 1);

    /// Whether every field of `other` is in `self`.
    pub const fn contains(self, other: EventFields) -> bool {
        self.0 & other.0 == other.0
    }

    /// The fields of both.
    pub const fn union(self, other: EventFields) -> EventFields {
        EventFields(self.0 | other.0)
    }
}

impl Default for EventFields {
    /// [`EventFields::ALL`].
    fn default() -> Self {
        EventFields::ALL
    }
}

impl BitOr for EventFields {
    type Output = EventFields;

    fn bitor(self, other: EventFields) -> EventFields {
        self.union(other)
    }
}

/// Why a line is not a Nexmark event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonEventError {
    /// The line is not a JSON object.
    #[error("the record is not an object")]
    NotAnObject,
    /// A required field is absent.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field appears twice.
    #[error("field `{0}` appears twice")]
    Duplicate(&'static str),
    /// A field has the wrong type or an invalid value.
    #[error("field `{field}`: expected {expected}")]
    Invalid {
        /// The field's path, e.g. `bid.price`.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// `event_type` does not name the one row that is not `null`.
    #[error("event_type {0} does not match the one non-null row")]
    Mismatch(i64),
}

type Result<T> = std::result::Result<T, JsonEventError>;

/// Decodes one line of the Nexmark file from its simd-json tape, copying the string
/// fields in `fields` (the others are left empty). Accepts and rejects the same
/// lines as [`JsonEvent`](super::JsonEvent): unknown fields are ignored, a missing
/// row counts as `null`, duplicate fields are an error.
pub fn event_from_tape(value: Value<'_, '_>, fields: &EventFields) -> Result<Event> {
    let line = value.as_object().ok_or(JsonEventError::NotAnObject)?;
    let mut event_type = None;
    let (mut person, mut auction, mut bid) = (Slot::new(), Slot::new(), Slot::new());
    for (key, value) in line.iter() {
        match key {
            "event_type" => set(&mut event_type, int(value, "event_type")?, "event_type")?,
            "person" => person.set(value, "person", |o| person_from(o, fields))?,
            "auction" => auction.set(value, "auction", |o| auction_from(o, fields))?,
            "bid" => bid.set(value, "bid", |o| bid_from(o, fields))?,
            _ => {}
        }
    }
    let event_type = event_type.ok_or(JsonEventError::Missing("event_type"))?;
    match (event_type, person.value, auction.value, bid.value) {
        (0, Some(p), None, None) => Ok(Event::Person(p)),
        (1, None, Some(a), None) => Ok(Event::Auction(a)),
        (2, None, None, Some(b)) => Ok(Event::Bid(b)),
        (t, ..) => Err(JsonEventError::Mismatch(t)),
    }
}

/// A nullable row: `None` for `null` or absent.
struct Slot<T> {
    value: Option<T>,
    seen: bool,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            value: None,
            seen: false,
        }
    }

    fn set(
        &mut self,
        value: Value<'_, '_>,
        field: &'static str,
        decode: impl FnOnce(Object<'_, '_>) -> Result<T>,
    ) -> Result<()> {
        if std::mem::replace(&mut self.seen, true) {
            return Err(JsonEventError::Duplicate(field));
        }
        if value.is_null() {
            return Ok(());
        }
        let object = value.as_object().ok_or(JsonEventError::Invalid {
            field,
            expected: "an object or null",
        })?;
        self.value = Some(decode(object)?);
        Ok(())
    }
}

fn set<T>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<()> {
    if slot.replace(value).is_some() {
        return Err(JsonEventError::Duplicate(field));
    }
    Ok(())
}

fn int(value: Value<'_, '_>, field: &'static str) -> Result<i64> {
    value.as_i64().ok_or(JsonEventError::Invalid {
        field,
        expected: "an integer",
    })
}

fn text<'i>(value: Value<'_, 'i>, field: &'static str) -> Result<&'i str> {
    value.into_string().ok_or(JsonEventError::Invalid {
        field,
        expected: "a string",
    })
}

fn timestamp(value: Value<'_, '_>, field: &'static str) -> Result<i64> {
    parse_timestamp(text(value, field)?).ok_or(JsonEventError::Invalid {
        field,
        expected: "a timestamp like 2024-01-01 00:00:00.123",
    })
}

/// A string field: checked always, copied if `fields` has `wanted`.
fn string(
    slot: &mut Option<String>,
    value: Value<'_, '_>,
    field: &'static str,
    fields: &EventFields,
    wanted: EventFields,
) -> Result<()> {
    let text = text(value, field)?;
    let owned = if fields.contains(wanted) {
        text.to_owned()
    } else {
        String::new()
    };
    set(slot, owned, field)
}

fn required<T>(slot: Option<T>, field: &'static str) -> Result<T> {
    slot.ok_or(JsonEventError::Missing(field))
}

fn person_from(object: Object<'_, '_>, fields: &EventFields) -> Result<Person> {
    let (mut id, mut date_time) = (None, None);
    let (mut name, mut email_address, mut credit_card, mut city, mut state, mut extra) =
        (None, None, None, None, None, None);
    for (key, v) in object.iter() {
        match key {
            "id" => set(&mut id, int(v, "person.id")?, "person.id")?,
            "name" => string(&mut name, v, "person.name", fields, EventFields::PERSON_NAME)?,
            "emailAddress" => string(
                &mut email_address,
                v,
                "person.emailAddress",
                fields,
                EventFields::PERSON_EMAIL_ADDRESS,
            )?,
            "creditCard" => string(
                &mut credit_card,
                v,
                "person.creditCard",
                fields,
                EventFields::PERSON_CREDIT_CARD,
            )?,
            "city" => string(&mut city, v, "person.city", fields, EventFields::PERSON_CITY)?,
            "state" => string(&mut state, v, "person.state", fields, EventFields::PERSON_STATE)?,
            "dateTime" => set(&mut date_time, timestamp(v, "person.dateTime")?, "person.dateTime")?,
            "extra" => string(&mut extra, v, "person.extra", fields, EventFields::PERSON_EXTRA)?,
            _ => {}
        }
    }
    Ok(Person {
        id: required(id, "person.id")?,
        name: required(name, "person.name")?,
        email_address: required(email_address, "person.emailAddress")?,
        credit_card: required(credit_card, "person.creditCard")?,
        city: required(city, "person.city")?,
        state: required(state, "person.state")?,
        date_time: required(date_time, "person.dateTime")?,
        extra: required(extra, "person.extra")?,
    })
}

fn auction_from(object: Object<'_, '_>, fields: &EventFields) -> Result<Auction> {
    let (mut id, mut initial_bid, mut reserve, mut date_time, mut expires, mut seller, mut category) =
        (None, None, None, None, None, None, None);
    let (mut item_name, mut description, mut extra) = (None, None, None);
    for (key, v) in object.iter() {
        match key {
            "id" => set(&mut id, int(v, "auction.id")?, "auction.id")?,
            "itemName" => string(
                &mut item_name,
                v,
                "auction.itemName",
                fields,
                EventFields::AUCTION_ITEM_NAME,
            )?,
            "description" => string(
                &mut description,
                v,
                "auction.description",
                fields,
                EventFields::AUCTION_DESCRIPTION,
            )?,
            "initialBid" => set(&mut initial_bid, int(v, "auction.initialBid")?, "auction.initialBid")?,
            "reserve" => set(&mut reserve, int(v, "auction.reserve")?, "auction.reserve")?,
            "dateTime" => set(&mut date_time, timestamp(v, "auction.dateTime")?, "auction.dateTime")?,
            "expires" => set(&mut expires, timestamp(v, "auction.expires")?, "auction.expires")?,
            "seller" => set(&mut seller, int(v, "auction.seller")?, "auction.seller")?,
            "category" => set(&mut category, int(v, "auction.category")?, "auction.category")?,
            "extra" => string(&mut extra, v, "auction.extra", fields, EventFields::AUCTION_EXTRA)?,
            _ => {}
        }
    }
    Ok(Auction {
        id: required(id, "auction.id")?,
        item_name: required(item_name, "auction.itemName")?,
        description: required(description, "auction.description")?,
        initial_bid: required(initial_bid, "auction.initialBid")?,
        reserve: required(reserve, "auction.reserve")?,
        date_time: required(date_time, "auction.dateTime")?,
        expires: required(expires, "auction.expires")?,
        seller: required(seller, "auction.seller")?,
        category: required(category, "auction.category")?,
        extra: required(extra, "auction.extra")?,
    })
}

fn bid_from(object: Object<'_, '_>, fields: &EventFields) -> Result<Bid> {
    let (mut auction, mut bidder, mut price, mut date_time) = (None, None, None, None);
    let (mut channel, mut url, mut extra) = (None, None, None);
    for (key, v) in object.iter() {
        match key {
            "auction" => set(&mut auction, int(v, "bid.auction")?, "bid.auction")?,
            "bidder" => set(&mut bidder, int(v, "bid.bidder")?, "bid.bidder")?,
            "price" => set(&mut price, int(v, "bid.price")?, "bid.price")?,
            "channel" => string(&mut channel, v, "bid.channel", fields, EventFields::BID_CHANNEL)?,
            "url" => string(&mut url, v, "bid.url", fields, EventFields::BID_URL)?,
            "dateTime" => set(&mut date_time, timestamp(v, "bid.dateTime")?, "bid.dateTime")?,
            "extra" => string(&mut extra, v, "bid.extra", fields, EventFields::BID_EXTRA)?,
            _ => {}
        }
    }
    Ok(Bid {
        auction: required(auction, "bid.auction")?,
        bidder: required(bidder, "bid.bidder")?,
        price: required(price, "bid.price")?,
        channel: required(channel, "bid.channel")?,
        url: required(url, "bid.url")?,
        date_time: required(date_time, "bid.dateTime")?,
        extra: required(extra, "bid.extra")?,
    })
}
