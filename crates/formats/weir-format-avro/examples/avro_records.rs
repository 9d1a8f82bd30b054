//! Avro records in and out of Rust structs: raw datums with a given schema, the
//! Confluent wire format with schemas by id, a container file read as two splits, and
//! the errors a bad record gives.
//!
//! `cargo run --release -p weir-format-avro --example avro_records`

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use weir_format_avro::{
    parse_schema, AvroDeserializer, AvroFileReader, AvroOptions, AvroSerializer, ConfluentDeserializer,
    ConfluentOptions, ConfluentSerializer, Deserializer, Serializer,
};

const BID: &str = r#"{"type":"record","name":"Bid","namespace":"nexmark","fields":[
  {"name":"auction","type":"long"},
  {"name":"price","type":"long"},
  {"name":"channel","type":["null","string"],"default":null}
]}"#;

/// apache-avro matches a struct to a record by name: `Bid` is the record's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Bid {
    auction: i64,
    price: i64,
    channel: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bids: Vec<Bid> = (0..6)
        .map(|i| Bid {
            auction: 1000 + i,
            price: 250 * i,
            channel: (i % 2 == 0).then(|| "web".to_string()),
        })
        .collect();

    // Raw datums, the schema given (`format = 'avro'`, `avro.schema`).
    let options = AvroOptions::new(BID)?;
    let mut serializer = AvroSerializer::<Bid>::new(&options)?;
    let mut deserializer = AvroDeserializer::<Bid>::new(&options)?;
    let mut message = Vec::new();
    serializer.serialize(&bids[2], &mut message)?;
    let mut decoded = Vec::new();
    deserializer.deserialize(&message, &mut decoded)?;
    println!("raw datum {message:02X?} -> {:?}", decoded[0]);

    // The Confluent wire format, schemas by id (`format = 'avro-confluent'`).
    let confluent = ConfluentOptions::new([(17, BID)])?;
    let mut framed = Vec::new();
    ConfluentSerializer::<Bid>::new(&confluent)?.serialize(&bids[3], &mut framed)?;
    let mut decoded = Vec::new();
    ConfluentDeserializer::<Bid>::new(&confluent)?.deserialize(&framed, &mut decoded)?;
    println!("confluent {framed:02X?} -> {:?}", decoded[0]);

    // Bad records: a typed error naming the field.
    for (what, bytes) in [
        ("truncated", &message[..2]),
        ("trailing bytes", &[message.as_slice(), &[7, 7]].concat()[..]),
        ("a union index out of range", &[0xD0, 0x0F, 0xF4, 0x07, 0x09][..]),
    ] {
        if let Err(err) = deserializer.deserialize(bytes, &mut decoded) {
            println!("{what}: {err}");
        }
    }
    if let Err(err) =
        ConfluentDeserializer::<Bid>::new(&confluent)?.deserialize(&[0, 0, 0, 0, 9, 2, 4, 0], &mut decoded)
    {
        println!("unknown schema id: {err}");
    }

    // A container file (the header holds the schema), read as two byte-range splits.
    let schema = parse_schema(BID)?;
    let mut writer = apache_avro::Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .block_size(16)
        .build()?;
    for bid in &bids {
        writer.append_ser(bid)?;
    }
    let file = writer.into_inner()?;
    // The header (with the schema) takes most of this small file: cut among the blocks.
    let middle = file.len() as u64 - 60;
    let mut read = Vec::new();
    for (start, end) in [(0, middle), (middle, file.len() as u64)] {
        let split = AvroFileReader::<_, Bid>::open_range(Cursor::new(&file), start, end)?;
        let records = split.collect::<Result<Vec<_>, _>>()?;
        println!(
            "split {start}..{end} of {} bytes: {} records",
            file.len(),
            records.len()
        );
        read.extend(records);
    }
    assert_eq!(read, bids);
    Ok(())
}
