//! The event generator (Flink's `NexmarkGenerator` and its `model` generators).
//!
//! Every event is a pure function of its configuration and its index: its id decides
//! its kind and the ids it refers to, and seeds a fresh [`JavaRandom`] from which its
//! fields are drawn in the order Flink's generators draw them. Generating event `k`
//! needs nothing from events before it, so instances can start anywhere
//! ([`EventGenerator::with_events_so_far`], `Iterator::nth`) and splits need no
//! coordination.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{GeneratorConfig, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID, NUM_CATEGORIES};
use crate::java_random::JavaRandom;
use crate::model::{Auction, Bid, Event, Person};

/// Shortest random string `next_string` makes.
const MIN_STRING_LENGTH: i32 = 3;
/// Persons beyond the last generated one that bids and auctions may refer to.
const PERSON_ID_LEAD: i64 = 10;
/// Auctions beyond the last generated one that bids may refer to.
const AUCTION_ID_LEAD: i64 = 10;
/// Hot sellers, bidders and auctions are the first (bidders: second) of each batch of
/// this many ids.
const HOT_SELLER_RATIO: i64 = 100;
const HOT_AUCTION_RATIO: i64 = 100;
const HOT_BIDDER_RATIO: i64 = 100;
/// A bid comes from a hot channel with probability `1 - 1/HOT_CHANNELS_RATIO`.
const HOT_CHANNELS_RATIO: i32 = 2;
/// Number of other channels.
const CHANNELS_NUMBER: i32 = 10_000;
/// Mixed into [`NexmarkConfig::seed`](crate::NexmarkConfig::seed) to seed the channel
/// table ("NEXMARK" in ASCII), so that it does not replay event 0's draws.
const CHANNEL_SEED_SALT: i64 = 0x004E_4558_4D41_524B;

const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];

/// The bid channels and their URLs, drawn once per configuration (Flink draws them
/// once per JVM from an unseeded generator; here from one seeded by
/// [`NexmarkConfig::seed`](crate::NexmarkConfig::seed), in Flink's order: the four
/// hot channels' URLs, then channel 0, 1, …).
#[derive(Debug)]
pub(crate) struct ChannelCache {
    hot_urls: [String; 4],
    channels: Vec<(String, String)>,
}

impl ChannelCache {
    pub(crate) fn new(seed: i64) -> Self {
        let mut rng = JavaRandom::new(seed ^ CHANNEL_SEED_SALT);
        let hot_urls = [
            base_url(&mut rng),
            base_url(&mut rng),
            base_url(&mut rng),
            base_url(&mut rng),
        ];
        let channels = (0..CHANNELS_NUMBER)
            .map(|i| {
                let mut url = base_url(&mut rng);
                if rng.next_int_bounded(10) > 0 {
                    // Java: Math.abs(Integer.reverse(i)); channel 1 reverses to
                    // Integer.MIN_VALUE, whose absolute value is itself.
                    url.push_str("&channel_id=");
                    url.push_str(&i.reverse_bits().wrapping_abs().to_string());
                }
                (format!("channel-{i}"), url)
            })
            .collect();
        ChannelCache { hot_urls, channels }
    }
}

fn base_url(rng: &mut JavaRandom) -> String {
    let mut url = String::with_capacity(48);
    url.push_str("https://www.nexmark.com/");
    push_next_string(rng, 5, b'_', &mut url);
    url.push('/');
    push_next_string(rng, 5, b'_', &mut url);
    url.push('/');
    push_next_string(rng, 5, b'_', &mut url);
    url.push('/');
    url.push_str("item.htm?query=1");
    url
}

/// Flink's `nextString(random, maxLength, special)`: 3 to `max_length - 1` characters,
/// each `special` with probability 1/13 and otherwise a random lower-case letter, then
/// trimmed of spaces (Java's `String.trim`). Appends to `out`.
fn push_next_string(rng: &mut JavaRandom, max_length: i32, special: u8, out: &mut String) {
    let len = (MIN_STRING_LENGTH + rng.next_int_bounded(max_length - MIN_STRING_LENGTH)) as usize;
    let mut buf = [0u8; 128];
    let chars = &mut buf[..len.min(128)];
    for c in chars.iter_mut() {
        *c = if rng.next_int_bounded(13) == 0 {
            special
        } else {
            b'a' + rng.next_int_bounded(26) as u8
        };
    }
    // Java's trim() drops every char <= ' ' at both ends; only the special char can be
    // one.
    let start = chars.iter().position(|&c| c > b' ').unwrap_or(chars.len());
    let end = chars.iter().rposition(|&c| c > b' ').map_or(start, |i| i + 1);
    for &c in &chars[start..end] {
        out.push(char::from(c));
    }
}

fn next_string(rng: &mut JavaRandom, max_length: i32) -> String {
    let mut s = String::with_capacity(max_length as usize);
    push_next_string(rng, max_length, b' ', &mut s);
    s
}

/// Flink's `nextExactString`: `length` chars, six per `nextInt()`, `'a' + rnd % 26`
/// with Java's signed remainder, so the chars range over `'H'..='z'`.
fn next_exact_string(rng: &mut JavaRandom, length: usize) -> String {
    // One nextInt() per six chars (log_26(2^31)), as Java's loop draws them: char k of
    // a group is 'a' + (rnd / 26^k) % 26 with truncating division and remainder (the
    // repeated `rnd /= 26` of Java's loop composes into one division). Two chars at a
    // time come from `PAIRS`, indexed by the signed remainder modulo 26^2.
    let mut bytes = vec![0u8; length];
    let mut chunks = bytes.chunks_exact_mut(6);
    for chunk in &mut chunks {
        let rnd = rng.next_int();
        chunk[..2].copy_from_slice(&PAIRS[pair_index(rnd)]);
        chunk[2..4].copy_from_slice(&PAIRS[pair_index(rnd / 676)]);
        chunk[4..].copy_from_slice(&PAIRS[pair_index(rnd / 456_976)]);
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let rnd = rng.next_int();
        for (k, b) in rest.iter_mut().enumerate() {
            *b = PAIRS[pair_index(rnd / [1, 676, 456_976][k / 2])][k % 2];
        }
    }
    // Every byte is in 'H'..='z' (72..=122), i.e. ASCII.
    String::from_utf8(bytes).unwrap_or_default()
}

/// Index into [`PAIRS`] of `(n % 676)`, which lies in `-675..=675`.
#[inline]
fn pair_index(n: i32) -> usize {
    (n % 676 + 675) as usize
}

/// For every `r` in `-675..=675` (at index `r + 675`): the chars `'a' + r % 26` and
/// `'a' + (r / 26) % 26`, Java's truncating arithmetic.
static PAIRS: [[u8; 2]; 1351] = {
    let mut table = [[0u8; 2]; 1351];
    let mut i = 0;
    while i < 1351 {
        let r = i as i32 - 675;
        table[i] = [(97 + r % 26) as u8, (97 + (r / 26) % 26) as u8];
        i += 1;
    }
    table
};

/// Flink's `nextExtra`: a string making `current_size + len` average
/// `desired_average_size`, uniform in ±20 % of the missing size.
fn next_extra(rng: &mut JavaRandom, current_size: i32, desired_average_size: i32) -> String {
    if current_size > desired_average_size {
        return String::new();
    }
    let desired = desired_average_size - current_size;
    let delta = java_round(f64::from(desired) * 0.2) as i32;
    let min_size = desired - delta;
    let size = min_size + if delta == 0 { 0 } else { rng.next_int_bounded(2 * delta) };
    next_exact_string(rng, size.max(0) as usize)
}

/// Java's `Math.round(double)`: the closest long, ties towards positive infinity,
/// saturating (NaN gives 0).
fn java_round(x: f64) -> i64 {
    let floor = x.floor();
    let r = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    r as i64
}

/// Flink's `PriceGenerator.nextPrice`: log-uniform between 1 and 1 000 000 dollars,
/// in cents.
fn next_price(rng: &mut JavaRandom) -> i64 {
    java_round(10f64.powf(rng.next_double() * 6.0) * 100.0)
}

/// Flink's `LongGenerator.nextLong`: `nextInt(n)` below `Integer.MAX_VALUE`, else the
/// (skewed) `|nextLong() % n|`.
fn next_long_bounded(rng: &mut JavaRandom, n: i64) -> i64 {
    if n < i64::from(i32::MAX) {
        i64::from(rng.next_int_bounded(n as i32))
    } else {
        (rng.next_long() % n).wrapping_abs()
    }
}

impl GeneratorConfig {
    /// The last person id (base 0, i.e. before adding [`FIRST_PERSON_ID`]) generated at
    /// or before event id `event_id`; the current one if it is a person.
    pub fn last_base0_person_id(&self, event_id: i64) -> i64 {
        let epoch = event_id / self.total_proportion;
        let mut offset = event_id % self.total_proportion;
        if offset >= self.person_proportion {
            // An auction or bid: go back to the last person of this epoch.
            offset = self.person_proportion - 1;
        }
        epoch.wrapping_mul(self.person_proportion).wrapping_add(offset)
    }

    /// The last auction id (base 0) generated at or before event id `event_id`; the
    /// current one if it is an auction.
    pub fn last_base0_auction_id(&self, event_id: i64) -> i64 {
        let mut epoch = event_id / self.total_proportion;
        let mut offset = event_id % self.total_proportion;
        if offset < self.person_proportion {
            // A person: go back to the last auction of the previous epoch.
            epoch -= 1;
            offset = self.auction_proportion - 1;
        } else if offset >= self.person_proportion + self.auction_proportion {
            // A bid: go back to the last auction of this epoch.
            offset = self.auction_proportion - 1;
        } else {
            offset -= self.person_proportion;
        }
        epoch.wrapping_mul(self.auction_proportion).wrapping_add(offset)
    }

    /// A random person among the `num_active_people` most recent ones plus
    /// a lead of 10 not yet generated (base 0).
    fn next_base0_person_id(&self, event_id: i64, rng: &mut JavaRandom) -> i64 {
        let num_people = self.last_base0_person_id(event_id).wrapping_add(1);
        let active_people = num_people.min(i64::from(self.config.num_active_people));
        let n = next_long_bounded(rng, active_people.wrapping_add(PERSON_ID_LEAD));
        num_people.wrapping_sub(active_people).wrapping_add(n)
    }

    /// A random auction among the `num_in_flight_auctions` most recent ones plus a lead
    /// of 10 not yet generated (base 0).
    fn next_base0_auction_id(&self, event_id: i64, rng: &mut JavaRandom) -> i64 {
        let max_auction = self.last_base0_auction_id(event_id);
        let min_auction = max_auction
            .wrapping_sub(i64::from(self.config.num_in_flight_auctions))
            .max(0);
        min_auction.wrapping_add(next_long_bounded(
            rng,
            max_auction.wrapping_sub(min_auction).wrapping_add(1 + AUCTION_ID_LEAD),
        ))
    }

    /// A random auction length in ms averaging the time until `num_in_flight_auctions`
    /// more auctions have been generated.
    fn next_auction_length_ms(&self, events_so_far: i64, rng: &mut JavaRandom, timestamp: i64) -> i64 {
        let current_event_number = self.next_adjusted_event_number(events_so_far);
        let events_for_auctions =
            i64::from(self.config.num_in_flight_auctions) * self.total_proportion / self.auction_proportion.max(1);
        let future_auction = self.timestamp_for_event(current_event_number.wrapping_add(events_for_auctions));
        let horizon_ms = future_auction.wrapping_sub(timestamp);
        1 + next_long_bounded(rng, horizon_ms.wrapping_mul(2).max(1))
    }

    #[inline]
    fn next_person(&self, event_id: i64, rng: &mut JavaRandom, timestamp: i64) -> Person {
        let id = self.last_base0_person_id(event_id).wrapping_add(FIRST_PERSON_ID);
        let first = FIRST_NAMES[rng.next_int_bounded(FIRST_NAMES.len() as i32) as usize];
        let last = LAST_NAMES[rng.next_int_bounded(LAST_NAMES.len() as i32) as usize];
        let mut name = String::with_capacity(first.len() + 1 + last.len());
        name.push_str(first);
        name.push(' ');
        name.push_str(last);
        let mut email_address = String::with_capacity(14);
        push_next_string(rng, 7, b' ', &mut email_address);
        email_address.push('@');
        push_next_string(rng, 5, b' ', &mut email_address);
        email_address.push_str(".com");
        let mut credit_card = String::with_capacity(19);
        for i in 0..4 {
            if i > 0 {
                credit_card.push(' ');
            }
            push_four_digits(rng.next_int_bounded(10_000), &mut credit_card);
        }
        let city = US_CITIES[rng.next_int_bounded(US_CITIES.len() as i32) as usize];
        let state = US_STATES[rng.next_int_bounded(US_STATES.len() as i32) as usize];
        let current_size = 8 + name.len() + email_address.len() + credit_card.len() + city.len() + state.len();
        let extra = next_extra(rng, current_size as i32, self.config.avg_person_byte_size as i32);
        Person {
            id,
            name,
            email_address,
            credit_card,
            city: city.to_owned(),
            state: state.to_owned(),
            date_time: timestamp,
            extra,
        }
    }

    #[inline]
    fn next_auction(&self, events_so_far: i64, event_id: i64, rng: &mut JavaRandom, timestamp: i64) -> Auction {
        let id = self.last_base0_auction_id(event_id).wrapping_add(FIRST_AUCTION_ID);
        let seller = if rng.next_int_bounded(self.config.hot_sellers_ratio as i32) > 0 {
            // The first person of the batch of HOT_SELLER_RATIO holding the last one.
            (self.last_base0_person_id(event_id) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
        } else {
            self.next_base0_person_id(event_id, rng)
        };
        let category = FIRST_CATEGORY_ID + i64::from(rng.next_int_bounded(NUM_CATEGORIES));
        let initial_bid = next_price(rng);
        let expires = timestamp.wrapping_add(self.next_auction_length_ms(events_so_far, rng, timestamp));
        let item_name = next_string(rng, 20);
        let description = next_string(rng, 100);
        let reserve = initial_bid + next_price(rng);
        let current_size = 8 + item_name.len() + description.len() + 8 + 8 + 8 + 8 + 8;
        let extra = next_extra(rng, current_size as i32, self.config.avg_auction_byte_size as i32);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time: timestamp,
            expires,
            seller: seller.wrapping_add(FIRST_PERSON_ID),
            category,
            extra,
        }
    }

    #[inline]
    fn next_bid(&self, event_id: i64, rng: &mut JavaRandom, timestamp: i64) -> Bid {
        let auction = if rng.next_int_bounded(self.config.hot_auction_ratio as i32) > 0 {
            // The first auction of the batch of HOT_AUCTION_RATIO holding the last one.
            (self.last_base0_auction_id(event_id) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        } else {
            self.next_base0_auction_id(event_id, rng)
        };
        let mut bidder = if rng.next_int_bounded(self.config.hot_bidders_ratio as i32) > 0 {
            // The second person of the batch (so hot bidders and sellers differ).
            (self.last_base0_person_id(event_id) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
        } else {
            self.next_base0_person_id(event_id, rng)
        };
        bidder = bidder.wrapping_add(FIRST_PERSON_ID);
        let price = next_price(rng);
        let (channel, url) = if rng.next_int_bounded(HOT_CHANNELS_RATIO) > 0 {
            let i = rng.next_int_bounded(HOT_CHANNELS.len() as i32) as usize;
            (HOT_CHANNELS[i].to_owned(), self.channels.hot_urls[i].clone())
        } else {
            let i = rng.next_int_bounded(CHANNELS_NUMBER) as usize;
            let (channel, url) = &self.channels.channels[i];
            (channel.clone(), url.clone())
        };
        if self.config.flink_bidder_id_offset {
            bidder = bidder.wrapping_add(FIRST_PERSON_ID);
        }
        let extra = next_extra(rng, 8 + 8 + 8 + 8, self.config.avg_bid_byte_size as i32);
        Bid {
            auction: auction.wrapping_add(FIRST_AUCTION_ID),
            bidder,
            price,
            channel,
            url,
            date_time: timestamp,
            extra,
        }
    }

    /// The event with id `event_id`, this instance's `events_so_far`-th, at `timestamp`.
    fn event(&self, events_so_far: i64, event_id: i64, timestamp: i64) -> Event {
        let mut rng = JavaRandom::new(event_id ^ self.config.seed);
        let rem = event_id % self.total_proportion;
        if rem < self.person_proportion {
            Event::Person(self.next_person(event_id, &mut rng, timestamp))
        } else if rem < self.person_proportion + self.auction_proportion {
            Event::Auction(self.next_auction(events_so_far, event_id, &mut rng, timestamp))
        } else {
            Event::Bid(self.next_bid(event_id, &mut rng, timestamp))
        }
    }
}

fn push_four_digits(n: i32, out: &mut String) {
    // Java's String.format("%04d", n) for n in 0..10000.
    let n = n.clamp(0, 9999) as u32;
    for div in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + ((n / div) % 10) as u8));
    }
}

/// An event with its timestamps (Flink's `NexmarkGenerator.NextEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextEvent {
    /// When, in wall-clock ms, a rate-limited source should emit the event: the
    /// generator's wall-clock base plus the event's (unpermuted) event-time offset
    /// from [`GeneratorConfig::base_time`].
    pub wallclock_timestamp: i64,
    /// The event's time (equal to its `date_time`), ms since the epoch.
    pub event_timestamp: i64,
    /// A watermark for this instance: no later event of it is older.
    pub watermark: i64,
    /// The event's id (its random seed, before [`NexmarkConfig::seed`](crate::NexmarkConfig::seed)).
    pub event_id: i64,
    /// The event.
    pub event: Event,
}

/// Generates one instance's events (Flink's `NexmarkGenerator`).
///
/// As an [`Iterator`] it yields bare [`Event`]s; [`next_event`](Self::next_event)
/// adds the timestamps a source needs.
///
/// ```
/// use weir_nexmark::{EventGenerator, GeneratorConfig, NexmarkConfig};
/// let config = NexmarkConfig { num_events: 100, ..NexmarkConfig::default() };
/// let events: Vec<_> = EventGenerator::new(GeneratorConfig::new(&config)?).collect();
/// assert_eq!(events.len(), 100);
/// # Ok::<(), weir_nexmark::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct EventGenerator {
    config: GeneratorConfig,
    events_so_far: i64,
    wallclock_base_time: Option<i64>,
}

impl EventGenerator {
    /// A generator at the start of `config`'s events.
    pub fn new(config: GeneratorConfig) -> Self {
        Self::with_events_so_far(config, 0)
    }

    /// A generator that has already emitted `events_so_far` events (a restored
    /// source: the count is all the state it needs).
    pub fn with_events_so_far(config: GeneratorConfig, events_so_far: i64) -> Self {
        EventGenerator {
            config,
            events_so_far: events_so_far.max(0),
            wallclock_base_time: None,
        }
    }

    /// Fixes the wall-clock time (ms) at which event number 0 is due. Without it the
    /// first [`next_event`](Self::next_event) takes the system clock, as Flink does.
    pub fn with_wallclock_base_time(mut self, wallclock_base_time: i64) -> Self {
        self.wallclock_base_time = Some(wallclock_base_time);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// Events emitted so far.
    pub fn events_so_far(&self) -> i64 {
        self.events_so_far
    }

    /// Whether events remain.
    pub fn has_next(&self) -> bool {
        self.events_so_far < self.config.max_events()
    }

    /// The id of the next event.
    pub fn next_event_id(&self) -> i64 {
        self.config.event_id(self.events_so_far)
    }

    /// Fraction of this instance's events emitted.
    pub fn fraction_consumed(&self) -> f64 {
        self.events_so_far as f64 / self.config.max_events().max(1) as f64
    }

    /// The next event with its wall-clock, event and watermark timestamps, or `None`
    /// when all have been emitted.
    pub fn next_event(&mut self) -> Option<NextEvent> {
        if !self.has_next() {
            return None;
        }
        let k = self.events_so_far;
        let config = &self.config;
        // When, in event time, the event is due (monotonic).
        let event_timestamp = config.timestamp_for_event(config.next_event_number(k));
        // When, in event time, the event says it happened (jittered by out-of-order
        // groups).
        let adjusted_number = config.next_adjusted_event_number(k);
        let adjusted_timestamp = config.timestamp_for_event(adjusted_number);
        let watermark = config.timestamp_for_event(config.next_event_number_for_watermark(k));
        let wallclock_base = *self.wallclock_base_time.get_or_insert_with(now_ms);
        let wallclock_timestamp = wallclock_base.wrapping_add(event_timestamp.wrapping_sub(config.base_time()));
        let event_id = config.first_event_id().wrapping_add(adjusted_number);
        let event = config.event(k, event_id, adjusted_timestamp);
        self.events_so_far += 1;
        Some(NextEvent {
            wallclock_timestamp,
            event_timestamp: adjusted_timestamp,
            watermark,
            event_id,
            event,
        })
    }
}

impl Iterator for EventGenerator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if !self.has_next() {
            return None;
        }
        let k = self.events_so_far;
        let config = &self.config;
        let adjusted_number = config.next_adjusted_event_number(k);
        let timestamp = config.timestamp_for_event(adjusted_number);
        let event_id = config.first_event_id().wrapping_add(adjusted_number);
        let event = config.event(k, event_id, timestamp);
        self.events_so_far += 1;
        Some(event)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.config.max_events().saturating_sub(self.events_so_far).max(0);
        match usize::try_from(remaining) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }

    /// Skips without generating: events do not depend on earlier ones.
    fn nth(&mut self, n: usize) -> Option<Event> {
        let skip = i64::try_from(n).unwrap_or(i64::MAX);
        self.events_so_far = self
            .events_so_far
            .saturating_add(skip)
            .min(self.config.max_events().max(self.events_so_far));
        self.next()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_round_matches_java() {
        assert_eq!(java_round(0.5), 1);
        assert_eq!(java_round(1.4999999999999998), 1);
        assert_eq!(java_round(0.49999999999999994), 0);
        assert_eq!(java_round(-0.5), 0);
        assert_eq!(java_round(-1.5), -1);
        assert_eq!(java_round(2.5), 3);
        assert_eq!(java_round(f64::NAN), 0);
        assert_eq!(java_round(1e300), i64::MAX);
    }

    #[test]
    fn next_string_trims_and_bounds() {
        let mut rng = JavaRandom::new(3);
        for _ in 0..10_000 {
            let s = next_string(&mut rng, 20);
            assert!(s.len() < 20);
            assert!(!s.starts_with(' ') && !s.ends_with(' '));
            assert!(s.bytes().all(|c| c == b' ' || c.is_ascii_lowercase()));
        }
    }

    #[test]
    fn exact_strings_use_javas_signed_remainder() {
        let mut rng = JavaRandom::new(11);
        let s = next_exact_string(&mut rng, 100_000);
        assert_eq!(s.len(), 100_000);
        assert!(s.bytes().all(|c| (b'H'..=b'z').contains(&c)));
        // Negative ints give chars below 'a'.
        assert!(s.bytes().any(|c| c < b'a'));
    }

    #[test]
    fn channel_one_has_java_abs_of_min_int() {
        let cache = ChannelCache::new(0);
        assert_eq!(cache.channels.len(), 10_000);
        assert_eq!(cache.channels[1].0, "channel-1");
        let with_id = cache
            .channels
            .iter()
            .filter(|(_, url)| url.contains("&channel_id="))
            .count();
        assert!((8500..9500).contains(&with_id), "{with_id}");
        if cache.channels[1].1.contains("&channel_id=") {
            assert!(cache.channels[1].1.ends_with("&channel_id=-2147483648"));
        }
        assert!(cache.hot_urls.iter().all(|u| u.starts_with("https://www.nexmark.com/")));
    }

    #[test]
    fn four_digits() {
        let mut s = String::new();
        push_four_digits(7, &mut s);
        push_four_digits(1234, &mut s);
        assert_eq!(s, "00071234");
    }
}
