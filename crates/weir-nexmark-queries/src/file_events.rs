//! Events from the JSON-lines file of `weir nexmark generate` (Flink's Nexmark
//! Kafka table: `event_type` and the nested rows `person`, `auction`, `bid`, two of
//! them `null`; timestamps as Flink's SQL timestamp text), read by the filesystem
//! connector's file source and decoded by the JSON format straight into
//! [`Event`]s (serde's remote derive: no intermediate copy).

use serde::de::{self, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::connector_api::format::{Deserializer, FormatError};
use weir_connector_filesystem::{FileSource, FileSystemError};
use weir_format_json::JsonDeserializer;
use weir_nexmark::{Auction, Bid, Event, Person};

/// A file source of the Nexmark events in the JSON-lines file(s) at `path`;
/// `decoded` counts the events read.
pub fn file_source(path: &Path, decoded: Arc<AtomicU64>) -> Result<FileSource<Event>, FileSystemError> {
    FileSource::lines([path], move || EventJson {
        json: JsonDeserializer::default(),
        rows: Vec::new(),
        decoded: decoded.clone(),
    })
    .name(format!("nexmark file '{}'", path.display()))
    .build()
}

/// Decodes one JSON line into an [`Event`].
struct EventJson {
    json: JsonDeserializer<Row>,
    rows: Vec<Row>,
    decoded: Arc<AtomicU64>,
}

impl Deserializer<Event> for EventJson {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), FormatError> {
        self.json.deserialize(bytes, &mut self.rows)?;
        let before = out.len();
        for row in self.rows.drain(..) {
            out.push(row.event);
        }
        self.decoded.fetch_add((out.len() - before) as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One line of the file, decoded.
struct Row {
    event: Event,
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
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
        Ok(Row { event })
    }
}

#[derive(Deserialize)]
struct Line {
    event_type: i32,
    person: Option<PersonRow>,
    auction: Option<AuctionRow>,
    bid: Option<BidRow>,
}

struct PersonRow(Person);
struct AuctionRow(Auction);
struct BidRow(Bid);

impl<'de> Deserialize<'de> for PersonRow {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PersonDef::deserialize(d).map(PersonRow)
    }
}

impl<'de> Deserialize<'de> for AuctionRow {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AuctionDef::deserialize(d).map(AuctionRow)
    }
}

impl<'de> Deserialize<'de> for BidRow {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
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
fn sql_timestamp<'de, D: de::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Timestamp;
    impl Visitor<'_> for Timestamp {
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
    d.deserialize_str(Timestamp)
}

/// `yyyy-MM-dd HH:mm:ss[.f{1,3}]` with a four-digit year (what the generator
/// writes) without allocating; `None` for anything else.
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
    use super::*;
    use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

    #[test]
    fn generated_lines_decode_to_the_generated_events() {
        let config = GeneratorConfig::new(&NexmarkConfig {
            num_events: 3_000,
            ..NexmarkConfig::default()
        })
        .unwrap();
        let events: Vec<Event> = EventGenerator::new(config).collect();
        let mut data = Vec::new();
        write_json_lines(&events, &mut data).unwrap();
        let decoded = Arc::new(AtomicU64::new(0));
        let mut json = EventJson {
            json: JsonDeserializer::default(),
            rows: Vec::new(),
            decoded: decoded.clone(),
        };
        let mut out = Vec::new();
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            json.deserialize(line, &mut out).unwrap();
        }
        assert_eq!(out, events);
        assert_eq!(decoded.load(Ordering::Relaxed), 3_000);
        let mut ms = 0i64;
        while ms < 4_102_444_800_000 {
            let text = weir_nexmark::format_timestamp(ms);
            assert_eq!(fast_timestamp(text.as_bytes()), Some(ms), "{text}");
            ms += 7_777_777 + 13;
        }
    }
}
