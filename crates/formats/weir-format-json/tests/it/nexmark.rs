//! The Nexmark JSON lines of `weir nexmark generate` decode back to the generated
//! events (structs), their schema is inferred as Flink's DDL declares it, and they
//! decode into Arrow batches with that schema.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMillisecondType};
use arrow_array::Array;
use weir_format_json::schema::{infer_from_lines, InferOptions, Schema};
use weir_format_json::{Deserializer, JsonArrowDecoder, JsonDeserializer, JsonOptions, JsonTapeDeserializer};
use weir_nexmark::{write_json_lines, Event, EventGenerator, GeneratorConfig, NexmarkConfig};

use weir_nexmark::{event_from_tape, EventFields, JsonEvent as NexmarkEvent};

const EVENTS: u64 = 20_000;

fn generated() -> (Vec<Event>, Vec<u8>) {
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: EVENTS,
        ..NexmarkConfig::default()
    })
    .unwrap();
    let events: Vec<Event> = EventGenerator::new(config).collect();
    let mut data = Vec::new();
    write_json_lines(&events, &mut data).unwrap();
    (events, data)
}

#[test]
fn json_lines_decode_to_the_generated_events() {
    let (events, data) = generated();
    let mut json = JsonDeserializer::<NexmarkEvent>::default();
    let mut one_by_one = Vec::new();
    for (_, line) in weir_format_json::lines(&data) {
        json.deserialize(line, &mut one_by_one).unwrap();
    }
    let decoded: Vec<Event> = one_by_one.into_iter().map(|e| e.0).collect();
    assert_eq!(decoded, events);
    let mut chunk = Vec::new();
    json.deserialize_lines(&data, &mut chunk).unwrap();
    assert_eq!(chunk.len(), events.len());
    // The tape path gives the same events.
    let mut tape = JsonTapeDeserializer::new(JsonOptions::default(), |v| {
        event_from_tape(v, &EventFields::ALL).map(NexmarkEvent)
    });
    let mut from_tape = Vec::new();
    for (_, line) in weir_format_json::lines(&data) {
        tape.deserialize(line, &mut from_tape).unwrap();
    }
    assert!(from_tape.into_iter().map(|e| e.0).eq(events));
}

#[test]
fn schema_inferred_like_flinks_ddl_and_arrow_batches() {
    let (events, data) = generated();
    let schema = infer_from_lines(&data, 100, InferOptions::default()).unwrap();
    println!("{}", schema.to_json_pretty());
    assert_eq!(
        schema.to_ddl(),
        "event_type BIGINT NOT NULL, \
         person ROW<id BIGINT NOT NULL, name STRING NOT NULL, emailAddress STRING NOT NULL, creditCard STRING NOT NULL, \
         city STRING NOT NULL, state STRING NOT NULL, dateTime TIMESTAMP(3) NOT NULL, extra STRING NOT NULL>, \
         auction ROW<id BIGINT NOT NULL, itemName STRING NOT NULL, description STRING NOT NULL, initialBid BIGINT NOT NULL, \
         reserve BIGINT NOT NULL, dateTime TIMESTAMP(3) NOT NULL, expires TIMESTAMP(3) NOT NULL, seller BIGINT NOT NULL, \
         category BIGINT NOT NULL, extra STRING NOT NULL>, \
         bid ROW<auction BIGINT NOT NULL, bidder BIGINT NOT NULL, price BIGINT NOT NULL, channel STRING NOT NULL, \
         url STRING NOT NULL, dateTime TIMESTAMP(3) NOT NULL, extra STRING NOT NULL>"
    );
    // The document a user keeps reads back to the same schema.
    assert_eq!(Schema::parse(&schema.to_json()).unwrap(), schema);

    let options = JsonOptions {
        batch_size: 4096,
        ..JsonOptions::default()
    };
    let mut decoder = JsonArrowDecoder::new(&schema, &options).unwrap();
    let mut batches = Vec::new();
    for chunk in data.chunks(100_000) {
        decoder.decode(chunk, &mut batches).unwrap();
    }
    batches.extend(decoder.flush().unwrap());
    assert!(batches[..batches.len() - 1].iter().all(|b| b.num_rows() == 4096));
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, EVENTS);

    let (mut bids, mut price_sum, mut time_sum) = (0, 0i64, 0i64);
    for batch in &batches {
        let bid = batch.column_by_name("bid").unwrap().as_struct();
        let price = bid.column_by_name("price").unwrap().as_primitive::<Int64Type>();
        let at = bid
            .column_by_name("dateTime")
            .unwrap()
            .as_primitive::<TimestampMillisecondType>();
        for i in 0..bid.len() {
            if bid.is_valid(i) {
                bids += 1;
                price_sum += price.value(i);
                time_sum += at.value(i);
            }
        }
    }
    let expected: Vec<_> = events.iter().filter_map(Event::as_bid).collect();
    assert_eq!(bids, expected.len());
    assert_eq!(price_sum, expected.iter().map(|b| b.price).sum::<i64>());
    assert_eq!(time_sum, expected.iter().map(|b| b.date_time).sum::<i64>());
}
