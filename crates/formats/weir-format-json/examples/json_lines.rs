//! JSON lines into Rust structs and back, and what a bad line looks like:
//! `cargo run --release -p weir-format-json --example json_lines`.

use serde::{Deserialize, Serialize};
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
    // A source reading a file calls the deserializer per line and hands bad lines to
    // its bad-record policy; here they are printed.
    json.deserialize_lines_with(INPUT.as_bytes(), &mut bids, |number, line, error| {
        println!(
            "line {}: {:?}: {}\n    {}",
            number + 1,
            error.kind,
            error.message,
            String::from_utf8_lossy(line)
        );
        Ok(())
    })?;
    println!("{} bids decoded:", bids.len());
    let mut out = Vec::new();
    let mut writer = JsonSerializer::new().with_newline(true);
    for bid in &bids {
        writer.serialize(bid, &mut out)?;
    }
    print!("{}", String::from_utf8(out)?);
    Ok(())
}
