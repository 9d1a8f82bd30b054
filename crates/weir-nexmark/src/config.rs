//! The generator's knobs ([`NexmarkConfig`], Flink's `NexmarkConfiguration`) and one
//! generator instance's derived parameters ([`GeneratorConfig`], Flink's
//! `GeneratorConfig`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::generator::ChannelCache;

/// Auction ids start here, so that queries find matches even on small data sets.
pub const FIRST_AUCTION_ID: i64 = 1000;
/// Person ids start here.
pub const FIRST_PERSON_ID: i64 = 1000;
/// Category ids start here; there are [`NUM_CATEGORIES`] of them.
pub const FIRST_CATEGORY_ID: i64 = 10;
/// Number of auction categories (`10..15`).
pub const NUM_CATEGORIES: i32 = 5;
/// The default [`NexmarkConfig::base_time`]: 2024-01-01T00:00:00Z in ms since the epoch.
///
/// Flink takes the wall clock when the job is created; a fixed default keeps Weir's
/// data reproducible. Set `base_time` to the current time for Flink's behaviour.
pub const DEFAULT_BASE_TIME: i64 = 1_704_067_200_000;

/// Shape of the event-rate curve (Flink's `NexmarkUtils.RateShape`).
///
/// Flink's generator computes its single inter-event delay from
/// [`NexmarkConfig::first_event_rate`] alone: the shape, `next_event_rate` and
/// `rate_period_sec` only feed [`GeneratorConfig::step_length_sec`], which nothing
/// uses. Weir does the same, so that timestamps equal Flink's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum RateShape {
    /// Alternate between the first and the next rate (Flink's default).
    #[default]
    Square,
    /// A sine curve between the two rates, approximated in 10 steps.
    Sine,
}

impl RateShape {
    /// Number of steps one rate period is cut into (`SQUARE`: 2, `SINE`: 10).
    pub fn steps(self) -> u32 {
        match self {
            RateShape::Square => 2,
            RateShape::Sine => 10,
        }
    }
}

/// Every knob of the Nexmark generator, with the Flink benchmark's defaults
/// (`NexmarkConfiguration` and the `nexmark` table source's options).
///
/// Field names are Flink's in snake case; serde uses Flink's camelCase names, so a
/// Flink `nexmark.yaml`-style map can be deserialized directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NexmarkConfig {
    /// Events to generate in total over all generator instances; 0 means as many as
    /// Flink allows without overflowing (`i64::MAX / (total proportion * largest
    /// average size)`, effectively unbounded). Flink: `events.num`, default 0.
    pub num_events: u64,
    /// Number of generators running in parallel timelines; each one's inter-event delay
    /// is multiplied by it, so that together they produce `first_event_rate`. Flink's
    /// table source sets it to the source parallelism. Default 1.
    pub num_event_generators: u32,
    /// Shape of the rate curve (see [`RateShape`]: no effect on timestamps, as in
    /// Flink). Default `SQUARE`.
    pub rate_shape: RateShape,
    /// Overall event rate in events per second of event time. Default 10 000.
    pub first_event_rate: u32,
    /// Second rate of the curve (no effect on timestamps, as in Flink). Default 10 000.
    pub next_event_rate: u32,
    /// Period of the rate curve in seconds (no effect on timestamps). Default 600.
    pub rate_period_sec: u32,
    /// Persons in every `person + auction + bid` events. Default 1.
    pub person_proportion: u32,
    /// Auctions in every `person + auction + bid` events. Default 3.
    pub auction_proportion: u32,
    /// Bids in every `person + auction + bid` events. Default 46.
    pub bid_proportion: u32,
    /// Average idealized size of a person in bytes; `extra` pads up to it. Default 200.
    pub avg_person_byte_size: u32,
    /// Average idealized size of an auction in bytes. Default 500.
    pub avg_auction_byte_size: u32,
    /// Average idealized size of a bid in bytes. Default 100.
    pub avg_bid_byte_size: u32,
    /// A bid goes to a hot auction with probability `1 - 1/hot_auction_ratio`.
    /// Default 2.
    pub hot_auction_ratio: u32,
    /// An auction is by a hot seller with probability `1 - 1/hot_sellers_ratio`.
    /// Default 4.
    pub hot_sellers_ratio: u32,
    /// A bid is by a hot bidder with probability `1 - 1/hot_bidders_ratio`. Default 4.
    pub hot_bidders_ratio: u32,
    /// Average number of auctions in flight per generator: bids pick among the last
    /// this many auctions, and auction lengths are drawn so that about this many are
    /// open. Default 100.
    pub num_in_flight_auctions: u32,
    /// Number of most recent persons that sell and bid. Default 1000.
    pub num_active_people: u32,
    /// Events per out-of-order group: 1 keeps event time in order; `n` permutes every
    /// `n` consecutive events of a generator. Default 1.
    pub out_of_order_group_size: u64,
    /// Event time of event number 0, in ms since the epoch. Default
    /// [`DEFAULT_BASE_TIME`] (Flink: the wall clock at job creation).
    pub base_time: i64,
    /// Mixed into every event's random seed (`event id ^ seed`) and into the channel
    /// table's seed. 0, the default, seeds each event with its id exactly as Beam's
    /// and the original Flink generator do. Not in Flink.
    pub seed: i64,
    /// Reproduce Flink's bid quirk: `BidGenerator` adds `FIRST_PERSON_ID` to the
    /// bidder twice, so bidder ids are 1000 above the persons they were drawn from
    /// (nexmark/nexmark issue #30). Default `true`, as Flink; `false` gives bidders
    /// that are real person ids, as in Beam.
    pub flink_bidder_id_offset: bool,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        NexmarkConfig {
            num_events: 0,
            num_event_generators: 1,
            rate_shape: RateShape::Square,
            first_event_rate: 10_000,
            next_event_rate: 10_000,
            rate_period_sec: 600,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_byte_size: 200,
            avg_auction_byte_size: 500,
            avg_bid_byte_size: 100,
            hot_auction_ratio: 2,
            hot_sellers_ratio: 4,
            hot_bidders_ratio: 4,
            num_in_flight_auctions: 100,
            num_active_people: 1000,
            out_of_order_group_size: 1,
            base_time: DEFAULT_BASE_TIME,
            seed: 0,
            flink_bidder_id_offset: true,
        }
    }
}

const INT_MAX: u64 = i32::MAX as u64;

impl NexmarkConfig {
    /// Checks every knob; the generator assumes a validated configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.first_event_rate == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if self.num_event_generators == 0 {
            return Err(ConfigError::ZeroEventGenerators);
        }
        let total =
            u64::from(self.person_proportion) + u64::from(self.auction_proportion) + u64::from(self.bid_proportion);
        if total == 0 || total > INT_MAX {
            return Err(ConfigError::BadProportions(total));
        }
        for (name, value) in [
            ("hot_auction_ratio", self.hot_auction_ratio),
            ("hot_sellers_ratio", self.hot_sellers_ratio),
            ("hot_bidders_ratio", self.hot_bidders_ratio),
        ] {
            if value == 0 || u64::from(value) > INT_MAX {
                return Err(ConfigError::BadRatio { name, value });
            }
        }
        if self.out_of_order_group_size == 0 {
            return Err(ConfigError::ZeroOutOfOrderGroupSize);
        }
        for (name, value) in [
            ("first_event_rate", u64::from(self.first_event_rate)),
            ("next_event_rate", u64::from(self.next_event_rate)),
            ("rate_period_sec", u64::from(self.rate_period_sec)),
            ("num_event_generators", u64::from(self.num_event_generators)),
            ("avg_person_byte_size", u64::from(self.avg_person_byte_size)),
            ("avg_auction_byte_size", u64::from(self.avg_auction_byte_size)),
            ("avg_bid_byte_size", u64::from(self.avg_bid_byte_size)),
            ("num_in_flight_auctions", u64::from(self.num_in_flight_auctions)),
            ("num_active_people", u64::from(self.num_active_people)),
        ] {
            if value > INT_MAX {
                return Err(ConfigError::TooLarge { name, value });
            }
        }
        for (name, value) in [
            ("num_events", self.num_events),
            ("out_of_order_group_size", self.out_of_order_group_size),
        ] {
            if value > i64::MAX as u64 {
                return Err(ConfigError::TooLarge { name, value });
            }
        }
        Ok(())
    }

    /// The sum of the three proportions (50 by default).
    pub fn total_proportion(&self) -> u64 {
        u64::from(self.person_proportion) + u64::from(self.auction_proportion) + u64::from(self.bid_proportion)
    }
}

/// One generator instance's parameters, derived from a [`NexmarkConfig`] (Flink's
/// `GeneratorConfig`).
///
/// Event *numbers* place events on a timeline (event number `n` happens at
/// [`timestamp_for_event(n)`](Self::timestamp_for_event)); event *ids*
/// (`first_event_id` plus the event number, up to out-of-order adjustment) decide an
/// event's kind, ids and random seed. Flink's `split` gives each instance its own range of ids on its own
/// timeline ([`split`](Self::split)); [`split_interleaved`](Self::split_interleaved)
/// deals out the events of one timeline instead.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    pub(crate) config: NexmarkConfig,
    pub(crate) person_proportion: i64,
    pub(crate) auction_proportion: i64,
    pub(crate) total_proportion: i64,
    inter_event_delay_us: f64,
    step_length_sec: i64,
    base_time: i64,
    first_event_id: i64,
    max_events: i64,
    first_event_number: i64,
    /// This instance's k-th event is the parent timeline's event
    /// `index_offset + k * index_stride` (0 and 1 unless interleaved).
    index_offset: i64,
    index_stride: i64,
    pub(crate) channels: Arc<ChannelCache>,
}

impl GeneratorConfig {
    /// The configuration Flink's `nexmark` table source builds: event ids and event
    /// numbers start at 1 (so the first event is id 2, an auction), at most
    /// `config.num_events` events, timestamps from `config.base_time`.
    ///
    /// To generate what a Flink source of parallelism `p` generates, set
    /// `num_event_generators = p` (Flink's factory does) and [`split`](Self::split)
    /// into `p`.
    pub fn new(config: &NexmarkConfig) -> Result<Self, ConfigError> {
        Self::with_ids(config, config.base_time, 1, config.num_events, 1)
    }

    /// Flink's full constructor: `max_events_or_zero` of 0 means "unbounded".
    pub fn with_ids(
        config: &NexmarkConfig,
        base_time: i64,
        first_event_id: i64,
        max_events_or_zero: u64,
        first_event_number: i64,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        if first_event_id < 0 {
            return Err(ConfigError::Negative {
                name: "first_event_id",
                value: first_event_id,
            });
        }
        if first_event_number < 0 {
            return Err(ConfigError::Negative {
                name: "first_event_number",
                value: first_event_number,
            });
        }
        let total = config.total_proportion() as i64;
        let max_events = if max_events_or_zero == 0 {
            // Flink scales the maximum down to avoid overflow in its size estimate.
            let largest = config
                .avg_person_byte_size
                .max(config.avg_auction_byte_size)
                .max(config.avg_bid_byte_size)
                .max(1);
            i64::MAX / (total * i64::from(largest))
        } else {
            max_events_or_zero as i64
        };
        // Flink: 1000000.0 / firstEventRate * numEventGenerators, in this order.
        let inter_event_delay_us =
            1_000_000.0 / f64::from(config.first_event_rate) * f64::from(config.num_event_generators);
        let steps = i64::from(config.rate_shape.steps());
        let step_length_sec = (i64::from(config.rate_period_sec) + steps - 1) / steps;
        Ok(GeneratorConfig {
            config: config.clone(),
            person_proportion: i64::from(config.person_proportion),
            auction_proportion: i64::from(config.auction_proportion),
            total_proportion: total,
            inter_event_delay_us,
            step_length_sec,
            base_time,
            first_event_id,
            max_events,
            first_event_number,
            index_offset: 0,
            index_stride: 1,
            channels: Arc::new(ChannelCache::new(config.seed)),
        })
    }

    /// The instances a Flink `nexmark` source of `parallelism` subtasks runs: Flink's
    /// factory sets `num_event_generators` to the parallelism, builds
    /// [`GeneratorConfig::new`] and gives subtask `i` the `i`-th part of
    /// [`split`](Self::split).
    pub fn flink_source(config: &NexmarkConfig, parallelism: u32) -> Result<Vec<GeneratorConfig>, ConfigError> {
        if parallelism == 0 {
            return Err(ConfigError::ZeroSplit);
        }
        let config = NexmarkConfig {
            num_event_generators: parallelism,
            ..config.clone()
        };
        Self::new(&config)?.split(parallelism)
    }

    /// The knobs this configuration was made from.
    pub fn nexmark_config(&self) -> &NexmarkConfig {
        &self.config
    }

    /// Flink's split: `n` instances with contiguous ranges of event ids (the last one
    /// takes the remainder) that all start at the same event number, i.e. run on
    /// parallel timelines. Together they generate the same event ids, kinds, ids and
    /// strings as this configuration; their timestamps (and auctions' `expires`) are
    /// those of their own timelines.
    pub fn split(&self, n: u32) -> Result<Vec<GeneratorConfig>, ConfigError> {
        if n == 0 {
            return Err(ConfigError::ZeroSplit);
        }
        if n == 1 {
            return Ok(vec![self.clone()]);
        }
        let n = i64::from(n);
        let mut sub_max_events = self.max_events / n;
        let mut sub_first_event_id = self.first_event_id;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            if i == n - 1 {
                // Don't lose any events to round-down.
                sub_max_events = self.max_events - sub_max_events * (n - 1);
            }
            let mut sub = self.clone();
            sub.first_event_id = sub_first_event_id;
            sub.max_events = sub_max_events;
            out.push(sub);
            sub_first_event_id = sub_first_event_id.wrapping_add(sub_max_events);
        }
        Ok(out)
    }

    /// Not in Flink: instance `i` of `n` generates this configuration's events
    /// `i, i + n, i + 2n, …` with their own timestamps, so that the instances together
    /// generate exactly (timestamps included) the events of this configuration, and a
    /// job's results do not depend on the source parallelism.
    pub fn split_interleaved(&self, n: u32) -> Result<Vec<GeneratorConfig>, ConfigError> {
        if n == 0 {
            return Err(ConfigError::ZeroSplit);
        }
        let n = i64::from(n);
        Ok((0..n)
            .map(|i| {
                let mut sub = self.clone();
                sub.max_events = if self.max_events > i {
                    (self.max_events - i + n - 1) / n
                } else {
                    0
                };
                sub.index_offset = self.index_offset.wrapping_add(i.wrapping_mul(self.index_stride));
                sub.index_stride = self.index_stride.wrapping_mul(n);
                sub
            })
            .collect())
    }

    /// Event time of the first event (event number 0), ms since the epoch.
    pub fn base_time(&self) -> i64 {
        self.base_time
    }

    /// Id of the first event this configuration's timeline can generate, before adding
    /// the event number.
    pub fn first_event_id(&self) -> i64 {
        self.first_event_id
    }

    /// The event number of this instance's first event.
    pub fn first_event_number(&self) -> i64 {
        self.first_event_number
    }

    /// Number of events this instance generates.
    pub fn max_events(&self) -> i64 {
        self.max_events
    }

    /// Inter-event delay in microseconds of event time: `1e6 / first_event_rate *
    /// num_event_generators`.
    pub fn inter_event_delay_us(&self) -> f64 {
        self.inter_event_delay_us
    }

    /// Flink's `stepLengthSec`: `ceil(rate_period_sec / rate_shape.steps())`. Computed
    /// for parity; like Flink, nothing uses it.
    pub fn step_length_sec(&self) -> i64 {
        self.step_length_sec
    }

    /// The event number of this instance's `events_so_far`-th event (0-based).
    pub fn next_event_number(&self, events_so_far: i64) -> i64 {
        self.first_event_number
            .wrapping_add(self.index_offset)
            .wrapping_add(events_so_far.wrapping_mul(self.index_stride))
    }

    /// [`next_event_number`](Self::next_event_number) permuted within out-of-order
    /// groups: `(e / n) * n + (e * 953) % n`.
    pub fn next_adjusted_event_number(&self, events_so_far: i64) -> i64 {
        let n = self.config.out_of_order_group_size as i64;
        let event_number = self.next_event_number(events_so_far);
        (event_number / n) * n + event_number.wrapping_mul(953) % n
    }

    /// The event number whose timestamp is a watermark for this and all later events.
    pub fn next_event_number_for_watermark(&self, events_so_far: i64) -> i64 {
        let n = self.config.out_of_order_group_size as i64;
        (self.next_event_number(events_so_far) / n) * n
    }

    /// The id of this instance's `events_so_far`-th event: `first_event_id + adjusted
    /// event number`.
    pub fn event_id(&self, events_so_far: i64) -> i64 {
        self.first_event_id
            .wrapping_add(self.next_adjusted_event_number(events_so_far))
    }

    /// First event id this instance can generate (Flink's `getStartEventId`).
    pub fn start_event_id(&self) -> i64 {
        self.first_event_id
            .wrapping_add(self.first_event_number)
            .wrapping_add(self.index_offset)
    }

    /// One past the last event id of this configuration's contiguous range (Flink's
    /// `getStopEventId`; for interleaved instances, of their parent's range).
    pub fn stop_event_id(&self) -> i64 {
        self.start_event_id()
            .wrapping_add(self.max_events.wrapping_mul(self.index_stride))
    }

    /// Event time of event number `event_number`: `base_time + (long) (n *
    /// inter_event_delay_us) / 1000`, Flink's formula (truncations included).
    pub fn timestamp_for_event(&self, event_number: i64) -> i64 {
        let us = (event_number as f64 * self.inter_event_delay_us) as i64;
        self.base_time.wrapping_add(us / 1000)
    }

    /// Estimated bytes of `num_events` events by the configured average sizes.
    pub fn estimated_bytes_for_events(&self, num_events: i64) -> i64 {
        let total = self.total_proportion;
        let persons = num_events.saturating_mul(self.person_proportion) / total;
        let auctions = num_events.saturating_mul(self.auction_proportion) / total;
        let bids = num_events.saturating_mul(i64::from(self.config.bid_proportion)) / total;
        persons
            .saturating_mul(i64::from(self.config.avg_person_byte_size))
            .saturating_add(auctions.saturating_mul(i64::from(self.config.avg_auction_byte_size)))
            .saturating_add(bids.saturating_mul(i64::from(self.config.avg_bid_byte_size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_flinks() {
        let c = NexmarkConfig::default();
        assert_eq!(c.first_event_rate, 10_000);
        assert_eq!(c.total_proportion(), 50);
        assert_eq!(
            (c.hot_auction_ratio, c.hot_sellers_ratio, c.hot_bidders_ratio),
            (2, 4, 4)
        );
        assert_eq!((c.num_active_people, c.num_in_flight_auctions), (1000, 100));
        assert!(c.validate().is_ok());
        let g = GeneratorConfig::new(&c).unwrap();
        assert_eq!(g.inter_event_delay_us(), 100.0);
        assert_eq!(g.max_events(), i64::MAX / (50 * 500));
        assert_eq!(g.step_length_sec(), 300);
        assert_eq!(g.event_id(0), 2);
    }

    #[test]
    fn bad_configurations_are_typed_errors() {
        let bad = |f: fn(&mut NexmarkConfig)| {
            let mut c = NexmarkConfig::default();
            f(&mut c);
            GeneratorConfig::new(&c).unwrap_err()
        };
        assert_eq!(bad(|c| c.first_event_rate = 0), ConfigError::ZeroRate);
        assert_eq!(bad(|c| c.num_event_generators = 0), ConfigError::ZeroEventGenerators);
        assert_eq!(
            bad(|c| {
                c.person_proportion = 0;
                c.auction_proportion = 0;
                c.bid_proportion = 0;
            }),
            ConfigError::BadProportions(0)
        );
        assert!(matches!(bad(|c| c.hot_bidders_ratio = 0), ConfigError::BadRatio { .. }));
        assert_eq!(
            bad(|c| c.out_of_order_group_size = 0),
            ConfigError::ZeroOutOfOrderGroupSize
        );
        assert!(matches!(
            bad(|c| c.avg_bid_byte_size = u32::MAX),
            ConfigError::TooLarge { .. }
        ));
        assert!(matches!(
            GeneratorConfig::with_ids(&NexmarkConfig::default(), 0, -1, 10, 0),
            Err(ConfigError::Negative { .. })
        ));
        let g = GeneratorConfig::new(&NexmarkConfig::default()).unwrap();
        assert_eq!(g.split(0).unwrap_err(), ConfigError::ZeroSplit);
        assert_eq!(g.split_interleaved(0).unwrap_err(), ConfigError::ZeroSplit);
    }

    #[test]
    fn config_serde_uses_flink_names() {
        let c: NexmarkConfig =
            serde_json::from_str(r#"{"firstEventRate": 5000, "rateShape": "SINE", "hotBiddersRatio": 7}"#).unwrap();
        assert_eq!(c.first_event_rate, 5000);
        assert_eq!(c.rate_shape, RateShape::Sine);
        assert_eq!(c.hot_bidders_ratio, 7);
        assert_eq!(c.bid_proportion, 46);
    }
}
