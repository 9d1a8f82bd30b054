//! Nexmark events as Avro records in the shape of Flink's Nexmark table
//! (`event_type` and the nullable rows `person`, `auction`, `bid`; times as
//! `timestamp-millis`), shared by the benchmark, the tests and the example.

use serde::{Deserialize, Serialize};
use weir_nexmark::{Auction, Bid, Event, Person};

/// The writer schema of [`NexmarkRow`].
pub const NEXMARK_SCHEMA: &str = r#"{"type":"record","name":"Event","namespace":"nexmark","fields":[
  {"name":"event_type","type":"int"},
  {"name":"person","default":null,"type":["null",{"type":"record","name":"Person","fields":[
    {"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"emailAddress","type":"string"},
    {"name":"creditCard","type":"string"},{"name":"city","type":"string"},{"name":"state","type":"string"},
    {"name":"dateTime","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"extra","type":"string"}]}]},
  {"name":"auction","default":null,"type":["null",{"type":"record","name":"Auction","fields":[
    {"name":"id","type":"long"},{"name":"itemName","type":"string"},{"name":"description","type":"string"},
    {"name":"initialBid","type":"long"},{"name":"reserve","type":"long"},
    {"name":"dateTime","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"expires","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"seller","type":"long"},{"name":"category","type":"long"},{"name":"extra","type":"string"}]}]},
  {"name":"bid","default":null,"type":["null",{"type":"record","name":"Bid","fields":[
    {"name":"auction","type":"long"},{"name":"bidder","type":"long"},{"name":"price","type":"long"},
    {"name":"channel","type":"string"},{"name":"url","type":"string"},
    {"name":"dateTime","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"extra","type":"string"}]}]}
]}"#;

/// One Nexmark event as a row of Flink's table: the event type and one non-null row.
/// (apache-avro matches structs to records by name: hence the rename.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Event")]
pub struct NexmarkRow {
    /// 0 person, 1 auction, 2 bid.
    pub event_type: i32,
    /// The person, for event type 0.
    pub person: Option<Person>,
    /// The auction, for event type 1.
    pub auction: Option<Auction>,
    /// The bid, for event type 2.
    pub bid: Option<Bid>,
}

impl From<Event> for NexmarkRow {
    fn from(event: Event) -> Self {
        let event_type = event.event_type().value();
        let (mut person, mut auction, mut bid) = (None, None, None);
        match event {
            Event::Person(p) => person = Some(p),
            Event::Auction(a) => auction = Some(a),
            Event::Bid(b) => bid = Some(b),
        }
        NexmarkRow {
            event_type,
            person,
            auction,
            bid,
        }
    }
}

/// The first `n` events of Flink's default Nexmark configuration, as rows.
pub fn nexmark_rows(n: u64) -> Vec<NexmarkRow> {
    let config = weir_nexmark::GeneratorConfig::new(&weir_nexmark::NexmarkConfig {
        num_events: n,
        ..weir_nexmark::NexmarkConfig::default()
    })
    .expect("the default Nexmark configuration is valid");
    weir_nexmark::EventGenerator::new(config)
        .map(NexmarkRow::from)
        .collect()
}
