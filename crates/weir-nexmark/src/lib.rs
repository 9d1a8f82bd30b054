//! The Nexmark benchmark's event generator, faithful to the Flink community benchmark
//! ([nexmark/nexmark](https://github.com/nexmark/nexmark), itself a port of Apache
//! Beam's generator), and writers that let other engines read the same data.
//!
//! * [`NexmarkConfig`]: every knob, with Flink's defaults.
//! * [`GeneratorConfig`]: one generator instance (Flink's table source configuration,
//!   [`split`](GeneratorConfig::split) across parallel instances as Flink does, or
//!   [`split_interleaved`](GeneratorConfig::split_interleaved)).
//! * [`EventGenerator`]: an `Iterator` of [`Event`]s ([`Person`], [`Auction`], [`Bid`]),
//!   and [`next_event`](EventGenerator::next_event) with wall-clock, event-time and
//!   watermark timestamps.
//! * [`write_json_lines`] (Flink's Kafka JSON) and [`write_csv`] (one file per kind);
//!   [`reader`] decodes the JSON lines back ([`JsonEvent`] with serde,
//!   [`event_from_tape`] from simd-json's tape with a projection of the fields).
//! * [`JavaRandom`]: `java.util.Random`, bit for bit. Each event is drawn from a
//!   `JavaRandom` seeded with its id, in the order of Flink's generators, so the data is
//!   deterministic and equals the Java generator's wherever that one is seeded
//!   (Beam's and the original Flink generator's; see `docs/nexmark.md` for every
//!   difference from today's Flink generator).
//!
//! ```
//! use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};
//!
//! let config = NexmarkConfig { num_events: 1000, ..NexmarkConfig::default() };
//! let generator = EventGenerator::new(GeneratorConfig::new(&config)?);
//! let mut out = Vec::new();
//! let counts = write_json_lines(generator, &mut out)?;
//! assert_eq!(counts.total(), 1000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod error;
pub mod generator;
pub mod java_random;
pub mod model;
pub mod reader;
pub mod writer;

pub use config::{
    GeneratorConfig, NexmarkConfig, RateShape, DEFAULT_BASE_TIME, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID,
    NUM_CATEGORIES,
};
pub use error::ConfigError;
pub use generator::{EventGenerator, NextEvent};
pub use java_random::JavaRandom;
pub use model::{Auction, Bid, Event, EventType, Person};
pub use reader::{event_from_tape, EventFields, JsonEvent, JsonEventError};
pub use writer::{
    civil_from_days, csv_record, format_timestamp, json_line, parse_timestamp, write_csv, write_json_lines, CsvWriter,
    EventCounts, AUCTION_CSV_HEADER, BID_CSV_HEADER, PERSON_CSV_HEADER,
};
