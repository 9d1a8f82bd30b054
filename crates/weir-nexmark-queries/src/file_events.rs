//! Events from the JSON-lines file of `weir nexmark generate` (Flink's Nexmark
//! Kafka table: `event_type` and the nested rows `person`, `auction`, `bid`, two of
//! them `null`; timestamps as Flink's SQL timestamp text), read by the filesystem
//! connector's file source and decoded by the JSON format's tape path
//! ([`JsonTapeDeserializer`] with [`weir_nexmark::event_from_tape`]) straight into
//! [`Event`]s, copying only the string fields the query reads.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::connector_api::format::{Deserializer, FormatError};
use weir_connector_filesystem::{FileSource, FileSystemError};
use weir_format_json::{JsonOptions, JsonTapeDeserializer};
use weir_nexmark::{event_from_tape, Event, EventFields, JsonEvent};

/// A file source of the Nexmark events in the JSON-lines file(s) at `path`, with
/// the string fields in `fields` (the others left empty; see [`fields_read_by`]);
/// `decoded` counts the events read.
pub fn file_source(
    path: &Path,
    fields: EventFields,
    decoded: Arc<AtomicU64>,
) -> Result<FileSource<Event>, FileSystemError> {
    FileSource::lines([path], move || event_json(fields, decoded.clone()))
        .name(format!("nexmark file '{}'", path.display()))
        .build()
}

/// The string fields of the events that query `number` reads: what a file source
/// for it needs to decode (projection pushdown, as Flink's JSON format does for
/// its SQL queries). Queries not listed read every field.
pub fn fields_read_by(number: u8) -> EventFields {
    match number {
        // q0 and q1 pass on the bids' numbers, event time and `extra`.
        0 | 1 => EventFields::BID_EXTRA,
        // q2 reads the bids' auction and price only.
        2 => EventFields::NONE,
        _ => EventFields::ALL,
    }
}

/// The decoder of one JSON line into an [`Event`] with the string fields in
/// `fields`, counting the events in `decoded`; [`JsonEvent`]'s serde explains the
/// lines that fail.
fn event_json(fields: EventFields, decoded: Arc<AtomicU64>) -> impl Deserializer<Event> {
    let json = JsonTapeDeserializer::new(JsonOptions::default(), move |value| event_from_tape(value, &fields))
        .explained_by::<JsonEvent>();
    Counted { json, decoded }
}

/// A deserializer counting the records it decodes.
struct Counted<D> {
    json: D,
    decoded: Arc<AtomicU64>,
}

impl<D: Deserializer<Event>> Deserializer<Event> for Counted<D> {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), FormatError> {
        let before = out.len();
        self.json.deserialize(bytes, out)?;
        self.decoded.fetch_add((out.len() - before) as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

    fn decode(data: &[u8], fields: EventFields) -> (Vec<Event>, u64) {
        let decoded = Arc::new(AtomicU64::new(0));
        let mut json = event_json(fields, decoded.clone());
        let mut out = Vec::new();
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            json.deserialize(line, &mut out).unwrap();
        }
        (out, decoded.load(Ordering::Relaxed))
    }

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
        assert_eq!(decode(&data, EventFields::ALL), (events.clone(), 3_000));
        // q0's projection: the bids' `extra` kept, every other string empty.
        let (projected, n) = decode(&data, fields_read_by(0));
        assert_eq!(n, 3_000);
        for (got, full) in projected.iter().zip(&events) {
            match (got, full) {
                (Event::Bid(got), Event::Bid(full)) => {
                    assert_eq!((got.channel.as_str(), got.url.as_str()), ("", ""));
                    assert_eq!(
                        (got.auction, got.bidder, got.price, got.date_time, &got.extra),
                        (full.auction, full.bidder, full.price, full.date_time, &full.extra)
                    );
                }
                _ => assert_eq!(got.date_time(), full.date_time()),
            }
        }
    }

    #[test]
    fn bad_lines_are_errors_naming_the_field() {
        let cases: [(&[u8], &str); 4] = [
            (br#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1}}"#, "field `bid.bidder` is missing"),
            (br#"{"event_type":1,"person":null,"auction":null,"bid":null}"#, "event_type 1 does not match"),
            (br#"{"event_type":2,"bid":{"auction":1,"bidder":2,"price":"3","channel":"c","url":"u","dateTime":"2024-01-01 00:00:00","extra":""}}"#, "field `bid.price`"),
            (br#"{"event_type":2,"bid":{"auction":1,"bidder":2,"price":3,"channel":"c","url":"u","dateTime":"yesterday","extra":""}}"#, "field `bid.dateTime`"),
        ];
        let mut json = event_json(EventFields::NONE, Arc::default());
        for (line, needle) in cases {
            let err = json.deserialize(line, &mut Vec::new()).unwrap_err();
            assert!(err.message.contains(needle), "{err}");
        }
    }
}
