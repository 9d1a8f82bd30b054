//! Random records survive JSON encoding and decoding (simd-json on the way in, escapes
//! and all Unicode included), and the Arrow decoder gives the same rows however the
//! input is cut into chunks. Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::Array;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde::{Deserialize, Serialize};
use weir_format_json::schema::Schema;
use weir_format_json::{Deserializer, JsonArrowDecoder, JsonDeserializer, JsonOptions, JsonSerializer, Serializer};

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0020_2612_0300);
    println!("seed {seed} (WEIR_FUZZ_SEED)");
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: i64,
    name: String,
    score: f64,
    note: Option<String>,
    tags: Vec<String>,
    flag: bool,
}

fn record() -> impl Strategy<Value = Record> {
    (
        any::<i64>(),
        any::<String>(),
        -1e12f64..1e12,
        proptest::option::of(any::<String>()),
        prop::collection::vec(any::<String>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(id, name, score, note, tags, flag)| Record {
            id,
            name,
            score,
            note,
            tags,
            flag,
        })
}

#[test]
fn records_round_trip() {
    runner(1000)
        .run(&prop::collection::vec(record(), 1..8), |records| {
            let mut serializer = JsonSerializer::new().with_newline(true);
            let mut bytes = Vec::new();
            for r in &records {
                serializer.serialize(r, &mut bytes).unwrap();
            }
            let mut back = Vec::new();
            JsonDeserializer::<Record>::default()
                .deserialize_lines(&bytes, &mut back)
                .unwrap();
            prop_assert_eq!(&back, &records);
            // As one JSON array message too.
            let array = serde_json::to_vec(&records).unwrap();
            let mut back = Vec::new();
            JsonDeserializer::<Record>::default()
                .deserialize(&array, &mut back)
                .unwrap();
            prop_assert_eq!(back, records);
            Ok(())
        })
        .unwrap();
}

#[test]
fn arrow_rows_do_not_depend_on_chunking() {
    let schema = Schema::parse(
        r#"{"fields":[{"name":"id","type":"BIGINT","nullable":false},{"name":"name","type":"STRING"},{"name":"tags","type":{"ARRAY":"STRING"}}]}"#,
    )
    .unwrap();
    let rows = prop::collection::vec(
        (
            any::<i64>(),
            any::<String>(),
            prop::collection::vec(any::<String>(), 0..3),
        ),
        1..40,
    );
    let cuts = prop::collection::vec(any::<prop::sample::Index>(), 0..6);
    runner(300)
        .run(&(rows, cuts, 1usize..7), |(rows, cuts, batch_size)| {
            let mut text = Vec::new();
            for (id, name, tags) in &rows {
                serde_json::to_writer(&mut text, &serde_json::json!({"id": id, "name": name, "tags": tags})).unwrap();
                text.push(b'\n');
            }
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).collect();
            points.sort_unstable();
            let options = JsonOptions {
                batch_size,
                ..JsonOptions::default()
            };
            let mut decoder = JsonArrowDecoder::new(&schema, &options).unwrap();
            let mut batches = Vec::new();
            let mut start = 0;
            for point in points.into_iter().chain([text.len()]) {
                decoder.decode(&text[start..point], &mut batches).unwrap();
                start = point;
            }
            batches.extend(decoder.flush().unwrap());
            prop_assert!(batches.iter().all(|b| b.num_rows() <= batch_size));
            let mut got = Vec::new();
            for batch in &batches {
                let ids = batch.column(0).as_primitive::<Int64Type>();
                let names = batch.column(1).as_string::<i32>();
                let tags = batch.column(2).as_list::<i32>();
                for i in 0..batch.num_rows() {
                    let list = tags.value(i);
                    let list = list.as_string::<i32>();
                    let tag_values: Vec<String> = (0..list.len()).map(|j| list.value(j).to_string()).collect();
                    got.push((ids.value(i), names.value(i).to_string(), tag_values));
                }
            }
            prop_assert_eq!(got, rows);
            Ok(())
        })
        .unwrap();
}
