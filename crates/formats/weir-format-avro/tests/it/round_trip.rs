//! Random records survive every Avro framing (raw, single-object, Confluent,
//! container files with and without deflate), container files read as random splits
//! give every record exactly once, and a reader resumed from any position goes on with
//! the next record. Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use std::io::Cursor;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde::{Deserialize, Serialize};
use weir_format_avro::{
    parse_schema, AvroDeserializer, AvroFileReader, AvroOptions, AvroSerializer, ConfluentDeserializer,
    ConfluentOptions, ConfluentSerializer, Deserializer, Framing, Serializer,
};

use crate::nexmark_avro::{nexmark_rows, NexmarkRow, NEXMARK_SCHEMA};

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00a7_2026_1203);
    println!("seed {seed} (WEIR_FUZZ_SEED)");
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

const SCHEMA: &str = r#"{"type":"record","name":"Record","fields":[
  {"name":"id","type":"long"},
  {"name":"name","type":"string"},
  {"name":"score","type":"double"},
  {"name":"note","type":["null","string"]},
  {"name":"tags","type":{"type":"array","items":"string"}},
  {"name":"counts","type":{"type":"map","values":"int"}},
  {"name":"flag","type":"boolean"},
  {"name":"inner","type":["null",{"type":"record","name":"Inner","fields":[{"name":"price","type":"long"}]}]},
  {"name":"blob","type":"bytes"}
]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    price: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: i64,
    name: String,
    score: f64,
    note: Option<String>,
    tags: Vec<String>,
    counts: std::collections::BTreeMap<String, i32>,
    flag: bool,
    inner: Option<Inner>,
    #[serde(with = "serde_bytes_compat")]
    blob: Vec<u8>,
}

/// `bytes` as serde bytes (apache-avro maps Avro bytes to serde's byte buffers).
mod serde_bytes_compat {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_byte_buf(V)
    }
}

fn record() -> impl Strategy<Value = Record> {
    (
        (
            any::<i64>(),
            any::<String>(),
            -1e12f64..1e12,
            proptest::option::of(any::<String>()),
        ),
        (
            prop::collection::vec(any::<String>(), 0..4),
            prop::collection::btree_map(any::<String>(), any::<i32>(), 0..3),
            any::<bool>(),
            proptest::option::of(any::<i64>()),
            prop::collection::vec(any::<u8>(), 0..20),
        ),
    )
        .prop_map(|((id, name, score, note), (tags, counts, flag, price, blob))| Record {
            id,
            name,
            score,
            note,
            tags,
            counts,
            flag,
            inner: price.map(|price| Inner { price }),
            blob,
        })
}

#[test]
fn datums_round_trip_in_every_framing() {
    let raw = AvroOptions::new(SCHEMA).unwrap();
    let single = raw.clone().with_framing(Framing::SingleObject);
    let confluent = ConfluentOptions::new([(42, SCHEMA)]).unwrap();
    runner(500)
        .run(&prop::collection::vec(record(), 1..6), |records| {
            for options in [&raw, &single] {
                let mut serializer = AvroSerializer::<Record>::new(options).unwrap();
                let mut deserializer = AvroDeserializer::<Record>::new(options).unwrap();
                let mut back = Vec::new();
                for r in &records {
                    let mut bytes = Vec::new();
                    serializer.serialize(r, &mut bytes).unwrap();
                    deserializer.deserialize(&bytes, &mut back).unwrap();
                }
                prop_assert_eq!(&back, &records);
            }
            let mut serializer = ConfluentSerializer::<Record>::new(&confluent).unwrap();
            let mut deserializer = ConfluentDeserializer::<Record>::new(&confluent).unwrap();
            let mut back = Vec::new();
            for r in &records {
                let mut bytes = Vec::new();
                serializer.serialize(r, &mut bytes).unwrap();
                prop_assert_eq!(&bytes[..5], &[0, 0, 0, 0, 42]);
                deserializer.deserialize(&bytes, &mut back).unwrap();
            }
            prop_assert_eq!(back, records);
            Ok(())
        })
        .unwrap();
}

/// A container file of `rows` in blocks of about `block` bytes.
fn container(rows: &[NexmarkRow], codec: apache_avro::Codec, block: usize) -> Vec<u8> {
    let schema = parse_schema(NEXMARK_SCHEMA).unwrap();
    let mut writer = apache_avro::Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .codec(codec)
        .block_size(block)
        .build()
        .unwrap();
    writer.add_user_metadata("origin".into(), b"weir test").unwrap();
    for row in rows {
        writer.append_ser(row).unwrap();
    }
    writer.into_inner().unwrap()
}

#[test]
fn container_files_read_whole_and_as_splits() {
    let rows = nexmark_rows(3000);
    for codec in [
        apache_avro::Codec::Null,
        apache_avro::Codec::Deflate(Default::default()),
    ] {
        let file = container(&rows, codec, 4096);
        let reader = AvroFileReader::<_, NexmarkRow>::new(&file[..]).unwrap();
        assert_eq!(
            reader.metadata().get("origin").map(Vec::as_slice),
            Some(&b"weir test"[..])
        );
        let all: Vec<NexmarkRow> = reader.map(Result::unwrap).collect();
        assert_eq!(all, rows, "{codec:?}");

        runner(60)
            .run(&prop::collection::vec(0..file.len() as u64, 0..6), |mut cuts| {
                cuts.push(0);
                cuts.push(file.len() as u64);
                cuts.sort_unstable();
                let mut read = Vec::new();
                for range in cuts.windows(2) {
                    let reader =
                        AvroFileReader::<_, NexmarkRow>::open_range(Cursor::new(&file), range[0], range[1]).unwrap();
                    read.extend(reader.map(Result::unwrap));
                }
                prop_assert_eq!(&read, &rows);
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn readers_resume_from_their_position() {
    let rows = nexmark_rows(500);
    let file = container(&rows, apache_avro::Codec::Deflate(Default::default()), 2048);
    runner(40)
        .run(&(0..rows.len()), |stop| {
            let mut reader = AvroFileReader::<_, NexmarkRow>::new(Cursor::new(&file)).unwrap();
            let mut read = Vec::new();
            for _ in 0..stop {
                read.push(reader.next_record().unwrap().unwrap());
            }
            let position = reader.position();
            drop(reader);
            let resumed = AvroFileReader::<_, NexmarkRow>::resume(Cursor::new(&file), position, u64::MAX).unwrap();
            read.extend(resumed.map(Result::unwrap));
            prop_assert_eq!(&read, &rows);
            Ok(())
        })
        .unwrap();
}
