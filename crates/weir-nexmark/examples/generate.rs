//! Prints the first events of the default Nexmark configuration, as Flink's JSON
//! lines and in Rust's debug form: `cargo run -p weir-nexmark --example generate [N]`.

use std::io;

use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 5,
    };
    let config = NexmarkConfig {
        num_events: n,
        ..NexmarkConfig::default()
    };
    let mut generator = EventGenerator::new(GeneratorConfig::new(&config)?).with_wallclock_base_time(0);
    println!("-- as JSON lines (Flink's Kafka format):");
    write_json_lines(generator.clone(), io::stdout().lock())?;
    println!("-- with timestamps:");
    while let Some(next) = generator.next_event() {
        println!(
            "id {} at {} (watermark {}): {:?}",
            next.event_id, next.event_timestamp, next.watermark, next.event
        );
    }
    Ok(())
}
