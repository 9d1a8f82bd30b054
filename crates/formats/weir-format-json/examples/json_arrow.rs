//! JSON lines into Arrow record batches: 100 000 Nexmark events, the schema inferred
//! from the first 100 lines, batches of 8192 rows:
//! `cargo run --release -p weir-format-json --example json_arrow`.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::Array;
use weir_format_json::schema::{infer_from_lines, InferOptions};
use weir_format_json::{JsonArrowDecoder, JsonOptions};
use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: 100_000,
        ..NexmarkConfig::default()
    })?;
    let mut data = Vec::new();
    write_json_lines(EventGenerator::new(config), &mut data)?;

    let schema = infer_from_lines(&data, 100, InferOptions::default())?;
    let mut decoder = JsonArrowDecoder::new(&schema, &JsonOptions::default())?;
    let mut batches = Vec::new();
    // As a file source would: chunks that may end mid-line.
    for chunk in data.chunks(64 * 1024) {
        decoder.decode(chunk, &mut batches)?;
    }
    batches.extend(decoder.flush()?);

    let (mut rows, mut bids, mut max_price) = (0, 0, 0);
    for batch in &batches {
        rows += batch.num_rows();
        let Some(bid) = batch.column_by_name("bid") else {
            continue;
        };
        let bid = bid.as_struct();
        let Some(price) = bid.column_by_name("price") else {
            continue;
        };
        let price = price.as_primitive::<Int64Type>();
        for i in (0..bid.len()).filter(|&i| bid.is_valid(i)) {
            bids += 1;
            max_price = max_price.max(price.value(i));
        }
    }
    println!(
        "{} bytes -> {} batches, {rows} rows, {bids} bids, highest bid price {max_price}",
        data.len(),
        batches.len()
    );
    println!("schema: {}", decoder.schema());
    Ok(())
}
