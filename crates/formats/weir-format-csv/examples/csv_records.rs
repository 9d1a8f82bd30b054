//! CSV into Rust structs and back: a header read from the first line, a `;` delimiter,
//! a null literal, and what bad records look like:
//! `cargo run --release -p weir-format-csv --example csv_records`.

use serde::{Deserialize, Serialize};
use weir_format_csv::{CsvDeserializer, CsvOptions, CsvSerializer, Deserializer, Header, Serializer};

#[derive(Debug, Deserialize, Serialize)]
struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: Option<String>,
}

const FILE: &str = "bidder;auction;price;channel
2001;1000;1250;Google
2002;1000;1300;NULL
2003;1001;cheap;Apple
2004;1002
2005;1003;7;\"Baidu; mobile\"
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = CsvOptions {
        delimiter: b';',
        null_literal: Some("NULL".into()),
        header: Header::FirstLine,
        ..CsvOptions::default()
    };
    let mut csv = CsvDeserializer::<Bid>::new(options.clone())?;
    let mut bids = Vec::new();
    // One call per line, as a source handing bad records to its policy would do.
    for (number, line) in FILE.lines().enumerate() {
        if let Err(error) = csv.deserialize(line.as_bytes(), &mut bids) {
            println!("line {}: {:?}: {}", number + 1, error.kind, error.message);
        }
    }
    println!(
        "header {:?}; {} bids decoded:",
        csv.headers().unwrap_or_default(),
        bids.len()
    );
    let mut writer = CsvSerializer::new(CsvOptions {
        write_header: true,
        ..options
    });
    let mut out = Vec::new();
    for bid in &bids {
        writer.serialize(bid, &mut out)?;
    }
    print!("{}", String::from_utf8(out)?);
    Ok(())
}
