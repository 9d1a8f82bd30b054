//! Word count: the classic streaming job on the DataStream API.
//!
//! `cargo run --release -p weir --example word_count [FILE]` counts the words of
//! FILE (or of a built-in text) and prints the final count of every word.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use weir::prelude::*;

const TEXT: &str = "the river flows and the weir holds the water
a weir is a low dam across a river
the water flows over the weir";

fn main() -> Result<(), WeirError> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let lines = match std::env::args().nth(1) {
        Some(path) => env.read_text_file(path),
        None => env.from_collection(TEXT.lines().map(String::from).collect::<Vec<_>>()),
    };
    let counts = lines
        .flat_map(|line: String| {
            line.split_whitespace()
                .map(|w| (w.to_lowercase(), 1u64))
                .collect::<Vec<_>>()
        })
        .name("split")
        .key_by(|(word, _)| word.clone())
        .sum(|(_, n)| n)
        .name("count")
        .collect();
    let result = env.execute("word count")?;

    // The rolling sum emits every update; keep the last (largest) count per word.
    let mut finals = BTreeMap::new();
    for (word, n) in counts.take() {
        let e = finals.entry(word).or_insert(0);
        *e = n.max(*e);
    }
    for (word, n) in &finals {
        println!("{n:>6} {word}");
    }
    println!(
        "{} words, {} distinct, in {:?}",
        finals.values().sum::<u64>(),
        finals.len(),
        result.elapsed
    );
    Ok(())
}
