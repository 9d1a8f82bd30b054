//! Runs one Nexmark query over generated events and prints its measurements and
//! a few of its rows.
//!
//! `cargo run --release -p weir-nexmark-queries --example run_query [query] [events]`
//! (default: q5 over 1 000 000 events at parallelism 2).

use weir_nexmark::NexmarkConfig;
use weir_nexmark_queries::{run, QueryOutput, RunOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let query = args.next().unwrap_or_else(|| "q5".into()).parse()?;
    let events = match args.next() {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let options = RunOptions {
        query,
        config: NexmarkConfig {
            num_events: events,
            ..NexmarkConfig::default()
        },
        parallelism: 2,
        rate_limit: None,
        output: QueryOutput::Collect,
        input: None,
    };
    let (report, rows) = run(&options)?;
    println!("{}", serde_json::to_string(&report)?);
    println!("{} rows, for example:", rows.len());
    for row in rows.iter().take(5) {
        println!("  {row}");
    }
    Ok(())
}
