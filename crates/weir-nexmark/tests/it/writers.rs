//! JSON lines and CSV: golden lines and round trips.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use weir_nexmark::{
    parse_timestamp, write_csv, write_json_lines, Event, EventGenerator, GeneratorConfig, NexmarkConfig,
    AUCTION_CSV_HEADER, BID_CSV_HEADER, PERSON_CSV_HEADER,
};

fn default_events(n: u64) -> Vec<Event> {
    let config = NexmarkConfig {
        num_events: n,
        ..NexmarkConfig::default()
    };
    EventGenerator::new(GeneratorConfig::new(&config).unwrap()).collect()
}

/// The first 50 events of the default configuration (Flink's table-source ids, base
/// time 2024-01-01), as printed by a Java program that draws every event from
/// `new java.util.Random(eventId)` in Flink's order and formats timestamps with Flink
/// JSON's `DateTimeFormatter`: Weir's output equals it byte for byte.
const GOLDEN: &str = include_str!("../data/default_first_50.jsonl");

#[test]
fn json_lines_equal_the_java_generators() {
    let mut out = Vec::new();
    let counts = write_json_lines(default_events(50), &mut out).unwrap();
    assert_eq!((counts.persons, counts.auctions, counts.bids), (1, 3, 46));
    assert_eq!(String::from_utf8(out).unwrap(), GOLDEN);
}

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap()
}

fn int_field(v: &Value, name: &str) -> i64 {
    v[name].as_i64().unwrap()
}

fn time_field(v: &Value, name: &str) -> i64 {
    parse_timestamp(str_field(v, name)).unwrap()
}

#[test]
fn json_lines_round_trip() {
    let config = NexmarkConfig {
        num_events: 20_000,
        out_of_order_group_size: 7,
        ..NexmarkConfig::default()
    };
    let events: Vec<Event> = EventGenerator::new(GeneratorConfig::new(&config).unwrap()).collect();
    let mut out = Vec::new();
    write_json_lines(&events, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), events.len());
    for (line, event) in lines.iter().zip(&events) {
        let v: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(v["event_type"].as_i64().unwrap(), i64::from(event.event_type().value()));
        let parsed = match v["event_type"].as_i64().unwrap() {
            0 => {
                assert!(v["auction"].is_null() && v["bid"].is_null());
                let p = &v["person"];
                Event::Person(weir_nexmark::Person {
                    id: int_field(p, "id"),
                    name: str_field(p, "name").into(),
                    email_address: str_field(p, "emailAddress").into(),
                    credit_card: str_field(p, "creditCard").into(),
                    city: str_field(p, "city").into(),
                    state: str_field(p, "state").into(),
                    date_time: time_field(p, "dateTime"),
                    extra: str_field(p, "extra").into(),
                })
            }
            1 => {
                assert!(v["person"].is_null() && v["bid"].is_null());
                let a = &v["auction"];
                Event::Auction(weir_nexmark::Auction {
                    id: int_field(a, "id"),
                    item_name: str_field(a, "itemName").into(),
                    description: str_field(a, "description").into(),
                    initial_bid: int_field(a, "initialBid"),
                    reserve: int_field(a, "reserve"),
                    date_time: time_field(a, "dateTime"),
                    expires: time_field(a, "expires"),
                    seller: int_field(a, "seller"),
                    category: int_field(a, "category"),
                    extra: str_field(a, "extra").into(),
                })
            }
            _ => {
                assert!(v["person"].is_null() && v["auction"].is_null());
                let b = &v["bid"];
                Event::Bid(weir_nexmark::Bid {
                    auction: int_field(b, "auction"),
                    bidder: int_field(b, "bidder"),
                    price: int_field(b, "price"),
                    channel: str_field(b, "channel").into(),
                    url: str_field(b, "url").into(),
                    date_time: time_field(b, "dateTime"),
                    extra: str_field(b, "extra").into(),
                })
            }
        };
        assert_eq!(&parsed, event);
    }
}

#[test]
fn serde_round_trip_of_the_model() {
    for event in default_events(200) {
        let json = serde_json::to_string(&event).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }
    let json = serde_json::to_string(&default_events(1)[0]).unwrap();
    assert!(json.starts_with("{\"auction\":{\"id\":1001,\"itemName\":"), "{json}");
}

#[test]
fn csv_one_file_per_kind() {
    let events = default_events(5_000);
    let (mut persons, mut auctions, mut bids) = (Vec::new(), Vec::new(), Vec::new());
    let counts = write_csv(&events, &mut persons, &mut auctions, &mut bids, true).unwrap();
    assert_eq!((counts.persons, counts.auctions, counts.bids), (100, 300, 4600));
    let persons = String::from_utf8(persons).unwrap();
    let auctions = String::from_utf8(auctions).unwrap();
    let bids = String::from_utf8(bids).unwrap();
    let mut p_lines = persons.lines();
    let mut a_lines = auctions.lines();
    let mut b_lines = bids.lines();
    assert_eq!(p_lines.next(), Some(PERSON_CSV_HEADER));
    assert_eq!(a_lines.next(), Some(AUCTION_CSV_HEADER));
    assert_eq!(b_lines.next(), Some(BID_CSV_HEADER));
    for event in &events {
        // Generated strings hold no commas or quotes, so a plain split parses them.
        match event {
            Event::Person(p) => {
                let f: Vec<&str> = p_lines.next().unwrap().split(',').collect();
                assert_eq!(f.len(), 8);
                assert_eq!(f[0].parse::<i64>().unwrap(), p.id);
                assert_eq!(
                    (f[1], f[2], f[3], f[4], f[5]),
                    (&*p.name, &*p.email_address, &*p.credit_card, &*p.city, &*p.state)
                );
                assert_eq!(parse_timestamp(f[6]), Some(p.date_time));
                assert_eq!(f[7], p.extra);
            }
            Event::Auction(a) => {
                let f: Vec<&str> = a_lines.next().unwrap().split(',').collect();
                assert_eq!(f.len(), 10);
                assert_eq!(f[0].parse::<i64>().unwrap(), a.id);
                assert_eq!((f[1], f[2]), (&*a.item_name, &*a.description));
                assert_eq!(f[3].parse::<i64>().unwrap(), a.initial_bid);
                assert_eq!(f[4].parse::<i64>().unwrap(), a.reserve);
                assert_eq!(parse_timestamp(f[5]), Some(a.date_time));
                assert_eq!(parse_timestamp(f[6]), Some(a.expires));
                assert_eq!(f[7].parse::<i64>().unwrap(), a.seller);
                assert_eq!(f[8].parse::<i64>().unwrap(), a.category);
                assert_eq!(f[9], a.extra);
            }
            Event::Bid(b) => {
                let f: Vec<&str> = b_lines.next().unwrap().split(',').collect();
                assert_eq!(f.len(), 7);
                assert_eq!(f[0].parse::<i64>().unwrap(), b.auction);
                assert_eq!(f[1].parse::<i64>().unwrap(), b.bidder);
                assert_eq!(f[2].parse::<i64>().unwrap(), b.price);
                assert_eq!((f[3], f[4]), (&*b.channel, &*b.url));
                assert_eq!(parse_timestamp(f[5]), Some(b.date_time));
                assert_eq!(f[6], b.extra);
            }
        }
    }
    assert_eq!((p_lines.next(), a_lines.next(), b_lines.next()), (None, None, None));

    // Golden: the first bid as CSV (see the JSON golden file for the same event).
    let first_bid = GOLDEN.lines().nth(2).unwrap();
    assert!(first_bid.contains("\"auction\":1000,\"bidder\":2001,\"price\":32530001,\"channel\":\"Google\""));
    assert!(bids.lines().nth(1).unwrap().starts_with(
        "1000,2001,32530001,Google,https://www.nexmark.com/jffp/knyk/ayv_/item.htm?query=1,2024-01-01 00:00:00,sbolvyqwgticfdrwdyiyofzi"
    ));

    // Without headers.
    let (mut p, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    write_csv(&events[..10], &mut p, &mut a, &mut b, false).unwrap();
    assert!(p.is_empty());
    assert_eq!(String::from_utf8(a).unwrap().lines().count(), 2);
    assert_eq!(String::from_utf8(b).unwrap().lines().count(), 8);
}
