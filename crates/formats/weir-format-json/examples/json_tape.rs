//! Nexmark JSON lines decoded by hand from simd-json's tape (the fastest path), with
//! only the string fields a query reads, and a bad line explained by serde:
//! `cargo run --release -p weir-format-json --example json_tape`.

use weir_format_json::{lines, Deserializer, JsonOptions, JsonTapeDeserializer};
use weir_nexmark::{
    event_from_tape, write_json_lines, Event, EventFields, EventGenerator, GeneratorConfig, JsonEvent, NexmarkConfig,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: 1000,
        ..NexmarkConfig::default()
    })?;
    let mut data = Vec::new();
    write_json_lines(EventGenerator::new(config), &mut data)?;

    // Only the bids' `extra` is copied (what q0 reads); JsonEvent's serde explains failures.
    let fields = EventFields::BID_EXTRA;
    let mut json = JsonTapeDeserializer::new(JsonOptions::default(), move |v| event_from_tape(v, &fields))
        .explained_by::<JsonEvent>();
    let mut events: Vec<Event> = Vec::new();
    for (_, line) in lines(&data) {
        json.deserialize(line, &mut events)?;
    }
    let bids = events.iter().filter_map(Event::as_bid).count();
    println!(
        "{} events, {bids} bids; first bid: {:?}",
        events.len(),
        events.iter().find_map(Event::as_bid)
    );

    let bad = br#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1,"bidder":2,"price":"3"}}"#;
    if let Err(e) = json.deserialize(bad, &mut events) {
        println!("bad line: {e}");
    }
    Ok(())
}
