//! The generator's semantics: kinds, ids, hot ratios, timestamps, splits, determinism
//! and sizes.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use weir_nexmark::{
    Event, EventGenerator, EventType, GeneratorConfig, NexmarkConfig, NextEvent, DEFAULT_BASE_TIME, FIRST_AUCTION_ID,
    FIRST_PERSON_ID,
};

fn config(num_events: u64) -> NexmarkConfig {
    NexmarkConfig {
        num_events,
        ..NexmarkConfig::default()
    }
}

/// A generator starting at event id 0 and event number 0 (Beam's convention), so that
/// event ids and event numbers are the event's position.
fn from_zero(config: &NexmarkConfig) -> EventGenerator {
    EventGenerator::new(GeneratorConfig::with_ids(config, config.base_time, 0, config.num_events, 0).unwrap())
}

fn all_next_events(mut generator: EventGenerator) -> Vec<NextEvent> {
    let mut out = Vec::new();
    while let Some(e) = generator.next_event() {
        out.push(e);
    }
    out
}

#[test]
fn every_block_of_50_has_1_person_3_auctions_46_bids() {
    let events: Vec<Event> = from_zero(&config(50 * 400)).collect();
    for block in events.chunks(50) {
        let kinds: Vec<EventType> = block.iter().map(Event::event_type).collect();
        assert_eq!(kinds[0], EventType::Person);
        assert!(kinds[1..4].iter().all(|&k| k == EventType::Auction));
        assert!(kinds[4..].iter().all(|&k| k == EventType::Bid));
    }
    // Other proportions: the kind is decided by id % total.
    let odd = NexmarkConfig {
        person_proportion: 2,
        auction_proportion: 5,
        bid_proportion: 3,
        num_events: 1000,
        ..NexmarkConfig::default()
    };
    let mut counts = BTreeMap::new();
    for e in from_zero(&odd) {
        *counts.entry(e.event_type()).or_insert(0) += 1;
    }
    assert_eq!(counts[&EventType::Person], 200);
    assert_eq!(counts[&EventType::Auction], 500);
    assert_eq!(counts[&EventType::Bid], 300);
}

#[test]
fn flinks_source_starts_at_event_id_2() {
    // Flink's table source: first event id 1 + event number 1.
    let mut generator = EventGenerator::new(GeneratorConfig::new(&config(100)).unwrap());
    assert_eq!(generator.next_event_id(), 2);
    let first = generator.next_event().unwrap();
    assert_eq!(first.event_id, 2);
    assert_eq!(first.event.event_type(), EventType::Auction);
    let events: Vec<Event> = generator.collect();
    assert_eq!(events.len(), 99);
    // Event id 50 is the first person; its id is base0 1.
    assert_eq!(events[47].as_person().unwrap().id, FIRST_PERSON_ID + 1);
}

#[test]
fn person_and_auction_ids_are_consecutive_and_references_stay_in_range() {
    let config = NexmarkConfig {
        num_events: 200_000,
        flink_bidder_id_offset: false,
        ..NexmarkConfig::default()
    };
    let mut next_person = FIRST_PERSON_ID;
    let mut next_auction = FIRST_AUCTION_ID;
    let mut bids = 0;
    for e in from_zero(&config) {
        match e {
            Event::Person(p) => {
                assert_eq!(p.id, next_person);
                next_person += 1;
            }
            Event::Auction(a) => {
                assert_eq!(a.id, next_auction);
                next_auction += 1;
                // Sellers: an existing person, or one of the next 10 (PERSON_ID_LEAD),
                // among the last num_active_people.
                assert!(a.seller >= FIRST_PERSON_ID && a.seller < next_person + 10, "{a:?}");
                assert!(a.seller >= next_person - 1000 - 100, "{a:?}");
                assert!((10..15).contains(&a.category));
                assert!(a.reserve > a.initial_bid && a.initial_bid >= 100);
                assert!(a.expires > a.date_time);
            }
            Event::Bid(b) => {
                bids += 1;
                // Auctions: existing or one of the next 10 (AUCTION_ID_LEAD), among the
                // last num_in_flight_auctions.
                assert!(b.auction >= FIRST_AUCTION_ID && b.auction < next_auction + 10, "{b:?}");
                assert!(b.auction >= next_auction - 1 - 100 - 100, "{b:?}");
                assert!(b.bidder >= FIRST_PERSON_ID && b.bidder < next_person + 10, "{b:?}");
                assert!(b.price >= 100 && b.price <= 100_000_000);
            }
        }
    }
    assert_eq!(bids, 200_000 / 50 * 46);
}

#[test]
fn hot_auctions_bidders_and_sellers() {
    let config = NexmarkConfig {
        num_events: 500_000,
        flink_bidder_id_offset: false,
        ..NexmarkConfig::default()
    };
    let generator = from_zero(&config);
    let gc = generator.config().clone();
    let (mut bids, mut hot_auction, mut hot_bidder) = (0u64, 0u64, 0u64);
    let (mut auctions, mut hot_seller) = (0u64, 0u64);
    let mut hot_channel = 0u64;
    let mut channels = HashSet::new();
    for (id, e) in generator.enumerate() {
        let id = id as i64;
        match e {
            Event::Bid(b) => {
                bids += 1;
                if b.auction - FIRST_AUCTION_ID == gc.last_base0_auction_id(id) / 100 * 100 {
                    hot_auction += 1;
                }
                if b.bidder - FIRST_PERSON_ID == gc.last_base0_person_id(id) / 100 * 100 + 1 {
                    hot_bidder += 1;
                }
                if ["Google", "Facebook", "Baidu", "Apple"].contains(&b.channel.as_str()) {
                    hot_channel += 1;
                } else {
                    assert!(b.channel.starts_with("channel-"));
                }
                assert!(b.url.starts_with("https://www.nexmark.com/"));
                channels.insert(b.channel);
            }
            Event::Auction(a) => {
                auctions += 1;
                if a.seller - FIRST_PERSON_ID == gc.last_base0_person_id(id) / 100 * 100 {
                    hot_seller += 1;
                }
            }
            Event::Person(_) => {}
        }
    }
    let frac = |n: u64, d: u64| n as f64 / d as f64;
    // hot_auction_ratio 2: half the bids go to the hot auction (plus the few random
    // picks that land on it).
    assert!(
        (0.50..0.52).contains(&frac(hot_auction, bids)),
        "{}",
        frac(hot_auction, bids)
    );
    // hot_bidders_ratio and hot_sellers_ratio 4: three quarters.
    assert!(
        (0.75..0.76).contains(&frac(hot_bidder, bids)),
        "{}",
        frac(hot_bidder, bids)
    );
    assert!(
        (0.74..0.77).contains(&frac(hot_seller, auctions)),
        "{}",
        frac(hot_seller, auctions)
    );
    assert!((0.495..0.505).contains(&frac(hot_channel, bids)));
    assert!(channels.len() > 9000, "{}", channels.len());
}

#[test]
fn flinks_bidder_offset_quirk_adds_1000() {
    let quirk: Vec<Event> = from_zero(&config(5000)).collect();
    let fixed: Vec<Event> = from_zero(&NexmarkConfig {
        flink_bidder_id_offset: false,
        ..config(5000)
    })
    .collect();
    for (q, f) in quirk.iter().zip(&fixed) {
        match (q, f) {
            (Event::Bid(q), Event::Bid(f)) => {
                assert_eq!(q.bidder, f.bidder + 1000);
                let mut q = q.clone();
                q.bidder -= 1000;
                assert_eq!(&q, f);
            }
            _ => assert_eq!(q, f),
        }
    }
}

#[test]
fn timestamps_advance_with_the_rate() {
    // 10 000 events/s: 100 µs apart, so event number n is at base + n / 10 ms.
    let events = all_next_events(from_zero(&config(10_000)));
    for (n, e) in events.iter().enumerate() {
        let expected = DEFAULT_BASE_TIME + n as i64 / 10;
        assert_eq!(e.event_timestamp, expected);
        assert_eq!(e.event.date_time(), expected);
        assert_eq!(e.watermark, expected);
    }
    // Flink's source: event numbers start at 1.
    let flink = all_next_events(EventGenerator::new(GeneratorConfig::new(&config(100)).unwrap()));
    assert_eq!(flink[8].event_timestamp, DEFAULT_BASE_TIME);
    assert_eq!(flink[9].event_timestamp, DEFAULT_BASE_TIME + 1);

    // An odd rate and several generators: Flink's (long) (n * delay) / 1000.
    let odd = NexmarkConfig {
        first_event_rate: 3333,
        num_event_generators: 3,
        ..config(5000)
    };
    let delay = 1_000_000.0 / 3333.0 * 3.0;
    for (n, e) in all_next_events(from_zero(&odd)).iter().enumerate() {
        assert_eq!(e.event_timestamp, DEFAULT_BASE_TIME + (n as f64 * delay) as i64 / 1000);
    }
}

#[test]
fn wallclock_follows_event_time_from_its_base() {
    let mut generator = from_zero(&config(100)).with_wallclock_base_time(5_000);
    let mut last = None;
    while let Some(e) = generator.next_event() {
        assert_eq!(e.wallclock_timestamp, 5_000 + e.event_timestamp - DEFAULT_BASE_TIME);
        last = Some(e);
    }
    assert_eq!(last.unwrap().wallclock_timestamp, 5_009);
}

#[test]
fn out_of_order_groups_permute_timestamps_and_respect_the_watermark() {
    let config = NexmarkConfig {
        out_of_order_group_size: 100,
        ..config(10_000)
    };
    let events = all_next_events(from_zero(&config));
    let mut ids: Vec<i64> = events.iter().map(|e| e.event_id).collect();
    let in_order = ids.windows(2).all(|w| w[0] < w[1]);
    assert!(!in_order);
    ids.sort_unstable();
    assert_eq!(ids, (0..10_000).collect::<Vec<_>>());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.event.date_time(), e.event_timestamp);
        assert!(events[i..].iter().all(|later| later.event_timestamp >= e.watermark));
        if i % 100 == 99 {
            break;
        }
    }
}

/// Clears what depends on an instance's timeline: event time and auction expiry.
fn without_time(e: &Event) -> Event {
    let mut e = e.clone();
    match &mut e {
        Event::Person(p) => p.date_time = 0,
        Event::Auction(a) => {
            a.date_time = 0;
            a.expires = 0;
        }
        Event::Bid(b) => b.date_time = 0,
    }
    e
}

#[test]
fn flink_split_gives_the_same_events_on_parallel_timelines() {
    for n in [2, 3, 7] {
        let config = NexmarkConfig {
            num_event_generators: n,
            ..config(30_001)
        };
        let whole = GeneratorConfig::new(&config).unwrap();
        let parent: BTreeMap<i64, Event> = all_next_events(EventGenerator::new(whole.clone()))
            .into_iter()
            .map(|e| (e.event_id, e.event))
            .collect();
        let mut union = BTreeMap::new();
        let splits = whole.split(n).unwrap();
        assert_eq!(splits.len(), n as usize);
        assert_eq!(splits.iter().map(GeneratorConfig::max_events).sum::<i64>(), 30_001);
        for sub in splits {
            let base = sub.base_time();
            for (k, e) in all_next_events(EventGenerator::new(sub.clone()))
                .into_iter()
                .enumerate()
            {
                // Each instance runs its own timeline from event number 1.
                assert_eq!(e.event_timestamp, sub.timestamp_for_event(1 + k as i64));
                assert!(e.event_timestamp >= base);
                assert!(union.insert(e.event_id, e.event).is_none());
            }
        }
        assert_eq!(union.len(), parent.len());
        for ((id, a), (pid, b)) in union.iter().zip(&parent) {
            assert_eq!(id, pid);
            assert_eq!(without_time(a), without_time(b), "event id {id}");
        }
    }
}

#[test]
fn flink_source_runs_parallel_slower_timelines() {
    let parts = GeneratorConfig::flink_source(&config(1000), 4).unwrap();
    assert_eq!(parts.len(), 4);
    for (i, part) in parts.iter().enumerate() {
        // Each subtask makes a quarter of the rate: 400 µs apart.
        assert_eq!(part.inter_event_delay_us(), 400.0);
        assert_eq!(part.max_events(), 250);
        assert_eq!(part.start_event_id(), 2 + 250 * i as i64);
        assert_eq!(part.stop_event_id(), 2 + 250 * (i as i64 + 1));
        let events = all_next_events(EventGenerator::new(part.clone()));
        assert_eq!(events[0].event_id, part.start_event_id());
        assert_eq!(events[249].event_timestamp, DEFAULT_BASE_TIME + 250 * 400 / 1000);
    }
    assert!(GeneratorConfig::flink_source(&config(1000), 0).is_err());
}

#[test]
fn interleaved_split_gives_exactly_the_unsplit_stream() {
    for (n, out_of_order) in [(2, 1), (3, 1), (4, 10)] {
        let config = NexmarkConfig {
            out_of_order_group_size: out_of_order,
            ..config(20_003)
        };
        let whole = GeneratorConfig::new(&config).unwrap();
        let parent = all_next_events(EventGenerator::new(whole.clone()).with_wallclock_base_time(0));
        let mut merged = vec![None; parent.len()];
        for (i, sub) in whole.split_interleaved(n).unwrap().into_iter().enumerate() {
            for (k, e) in all_next_events(EventGenerator::new(sub).with_wallclock_base_time(0))
                .into_iter()
                .enumerate()
            {
                let slot = &mut merged[i + k * n as usize];
                assert!(slot.is_none());
                *slot = Some(e);
            }
        }
        let merged: Vec<NextEvent> = merged.into_iter().map(Option::unwrap).collect();
        assert_eq!(merged, parent);
    }
}

#[test]
fn deterministic_for_a_config_and_seed() {
    let a: Vec<Event> = EventGenerator::new(GeneratorConfig::new(&config(20_000)).unwrap()).collect();
    let b: Vec<Event> = EventGenerator::new(GeneratorConfig::new(&config(20_000)).unwrap()).collect();
    assert_eq!(a, b);
    let seeded = NexmarkConfig {
        seed: 12345,
        ..config(20_000)
    };
    let c: Vec<Event> = EventGenerator::new(GeneratorConfig::new(&seeded).unwrap()).collect();
    assert_eq!(c.len(), a.len());
    assert_ne!(c, a);
    // Same kinds and ids, other strings.
    for (x, y) in a.iter().zip(&c) {
        assert_eq!(x.event_type(), y.event_type());
    }
}

#[test]
fn resuming_and_skipping_need_no_earlier_events() {
    let g = GeneratorConfig::new(&config(10_000)).unwrap();
    let all: Vec<Event> = EventGenerator::new(g.clone()).collect();
    let resumed: Vec<Event> = EventGenerator::with_events_so_far(g.clone(), 7_000).collect();
    assert_eq!(resumed[..], all[7_000..]);
    let mut skipping = EventGenerator::new(g.clone());
    assert_eq!(skipping.nth(1234).as_ref(), Some(&all[1234]));
    assert_eq!(skipping.next().as_ref(), Some(&all[1235]));
    assert_eq!(skipping.size_hint(), (10_000 - 1236, Some(10_000 - 1236)));
    assert_eq!(skipping.nth(1_000_000), None);
    assert!(!skipping.has_next());
    assert_eq!(EventGenerator::new(g).count(), 10_000);
}

/// Flink's idealized sizes: 8 bytes per number, string lengths.
fn idealized_size(e: &Event) -> usize {
    match e {
        Event::Person(p) => {
            8 + p.name.len()
                + p.email_address.len()
                + p.credit_card.len()
                + p.city.len()
                + p.state.len()
                + p.extra.len()
        }
        Event::Auction(a) => 8 + a.item_name.len() + a.description.len() + 5 * 8 + a.extra.len(),
        Event::Bid(b) => 4 * 8 + b.extra.len(),
    }
}

fn average_sizes(config: &NexmarkConfig) -> BTreeMap<EventType, f64> {
    let mut sums: BTreeMap<EventType, (usize, usize)> = BTreeMap::new();
    for e in from_zero(config) {
        let entry = sums.entry(e.event_type()).or_default();
        entry.0 += idealized_size(&e);
        entry.1 += 1;
    }
    sums.into_iter().map(|(k, (s, n))| (k, s as f64 / n as f64)).collect()
}

#[test]
fn average_sizes_match_the_configuration() {
    let close = |actual: f64, wanted: f64| (actual - wanted).abs() / wanted < 0.01;
    let sizes = average_sizes(&config(200_000));
    assert!(close(sizes[&EventType::Person], 200.0), "{sizes:?}");
    assert!(close(sizes[&EventType::Auction], 500.0), "{sizes:?}");
    assert!(close(sizes[&EventType::Bid], 100.0), "{sizes:?}");
    let big = NexmarkConfig {
        avg_person_byte_size: 1000,
        avg_auction_byte_size: 2000,
        avg_bid_byte_size: 300,
        ..config(100_000)
    };
    let sizes = average_sizes(&big);
    assert!(close(sizes[&EventType::Person], 1000.0), "{sizes:?}");
    assert!(close(sizes[&EventType::Auction], 2000.0), "{sizes:?}");
    assert!(close(sizes[&EventType::Bid], 300.0), "{sizes:?}");
    // Below the fixed fields' size there is no padding.
    let tiny = NexmarkConfig {
        avg_bid_byte_size: 10,
        ..config(1000)
    };
    assert!(from_zero(&tiny).all(|e| e.as_bid().is_none_or(|b| b.extra.is_empty())));
}

#[test]
fn strings_look_like_flinks() {
    for e in from_zero(&config(50_000)) {
        match e {
            Event::Person(p) => {
                assert!(["AZ", "CA", "ID", "OR", "WA", "WY"].contains(&p.state.as_str()));
                assert_eq!(p.credit_card.len(), 19);
                assert!(p.email_address.ends_with(".com") && p.email_address.contains('@'));
                assert!(p.name.contains(' '));
            }
            Event::Auction(a) => {
                assert!(a.item_name.len() < 20 && a.description.len() < 100);
            }
            Event::Bid(b) => {
                assert!(b.extra.bytes().all(|c| (b'H'..=b'z').contains(&c)));
            }
        }
    }
}
