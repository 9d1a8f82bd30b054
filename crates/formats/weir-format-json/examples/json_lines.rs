//! JSON lines into Rust structs and back, and what bad lines become under the
//! connector API's bad-record policies (`fail`, `dead-letter`):
//! `cargo run --release -p weir-format-json --example json_lines`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy, MemoryDeadLetterQueue};
use weir_format_json::{JsonDeserializer, JsonSerializer, Serializer};

#[derive(Debug, Deserialize, Serialize)]
struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: Option<String>,
}

const INPUT: &str = r#"{"auction":1000,"bidder":2001,"price":1250,"channel":"Google"}
{"auction":1000,"bidder":2002,"price":1300}

{"auction":1001,"bidder":2001,"price":"cheap","channel":"Apple"}
{"auction":1002,"bidder":2003}
{"auction":1002,"bidder":2003,"price":99
[{"auction":1003,"bidder":2004,"price":5},{"auction":1003,"bidder":2005,"price":6}]
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut json = JsonDeserializer::<Bid>::default();
    let mut bids = Vec::new();
    // A source reading a file decodes its lines and hands each bad one, with where it
    // is, to its bad-record handler; here the policy is a dead-letter queue.
    let queue = Arc::new(MemoryDeadLetterQueue::default());
    let handler = BadRecordHandler::new("bids", BadRecordPolicy::DeadLetter(queue.clone()));
    json.deserialize_lines_with(INPUT.as_bytes(), &mut bids, |number, line, error| {
        let position = format!("line {}", number + 1);
        handler
            .handle(BadRecord {
                split: "bids.json",
                position: &position,
                bytes: line,
                error: &error,
            })
            .map_err(|e| weir_format_json::FormatError::new(weir_format_json::FormatErrorKind::Other, e.to_string()))
    })?;
    for letter in queue.take() {
        println!("dead letter: {}, {}: {}", letter.split, letter.position, letter.error);
    }
    // Under the default policy, `fail`, the first bad line stops the job with:
    let strict = BadRecordHandler::new("bids", BadRecordPolicy::Fail);
    let _ = json.deserialize_lines_with(INPUT.as_bytes(), &mut Vec::new(), |number, line, error| {
        let position = format!("line {}", number + 1);
        let failure = strict.handle(BadRecord {
            split: "bids.json",
            position: &position,
            bytes: line,
            error: &error,
        });
        if let Err(e) = failure {
            println!("fail: {e}");
        }
        Err(error)
    });
    println!("{} bids decoded:", bids.len());
    let mut out = Vec::new();
    let mut writer = JsonSerializer::new().with_newline(true);
    for bid in &bids {
        writer.serialize(bid, &mut out)?;
    }
    print!("{}", String::from_utf8(out)?);
    Ok(())
}
