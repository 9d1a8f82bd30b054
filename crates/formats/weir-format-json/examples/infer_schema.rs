//! Infers the schema of a JSON-lines file from its first lines (seed 003: a schema from
//! a sample message) and prints it three ways: the JSON document to keep, the
//! one-line `schema = '…'` option, and a Flink `CREATE TABLE` column list.
//!
//! `cargo run --release -p weir-format-json --example infer_schema [FILE [LINES]]`;
//! the file may be gzip or zstd compressed (`.json.gz`, `.json.zst`); without a file
//! it uses 1000 generated Nexmark events (`weir nexmark generate`'s format).

use weir_format_json::schema::{infer_from_lines, infer_from_reader, InferOptions, Schema};
use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next();
    let lines: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);
    let schema = match &path {
        Some(path) => {
            let (_, reader) = weir_format_compression::open(std::path::Path::new(path))?;
            infer_from_reader(reader, lines, InferOptions::default())?
        }
        None => {
            let config = GeneratorConfig::new(&NexmarkConfig {
                num_events: 1000,
                ..NexmarkConfig::default()
            })?;
            let mut data = Vec::new();
            write_json_lines(EventGenerator::new(config), &mut data)?;
            infer_from_lines(&data, lines, InferOptions::default())?
        }
    };
    println!(
        "-- schema of the first {lines} lines of {}:",
        path.as_deref().unwrap_or("1000 Nexmark events")
    );
    println!("{}", schema.to_json_pretty());
    println!("-- as an option:\nschema = '{}'", schema.to_json());
    println!(
        "-- as Flink DDL columns:\nCREATE TABLE t ({}) WITH ('format' = 'json')",
        schema.to_ddl()
    );
    // What a user passes back reads to the same schema, and to the same Arrow schema.
    let back = Schema::parse(&schema.to_json())?;
    assert_eq!(back, schema);
    assert_eq!(Schema::from_arrow(&back.to_arrow())?, schema);
    println!("-- Arrow: {} top-level fields", back.to_arrow().fields().len());
    Ok(())
}
