//! Malformed input never panics and always gives a typed error: random bytes, and
//! valid Nexmark records and container files truncated or with bytes changed, through
//! every decoder (raw, single-object, Confluent, container files whole and as
//! splits).
//!
//! Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run (the seed is printed).

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use std::cell::RefCell;
use std::io::Cursor;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use weir_format_avro::{
    AvroDeserializer, AvroFileReader, AvroOptions, AvroSerializer, ConfluentDeserializer, ConfluentOptions,
    ContainerError, Deserializer, FormatErrorKind, Framing, Serializer,
};

use crate::nexmark_avro::{nexmark_rows, NexmarkRow, NEXMARK_SCHEMA};

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00a7_0f22_2026);
    println!("seed {seed} (WEIR_FUZZ_SEED)");
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

struct Decoders {
    raw: AvroDeserializer<NexmarkRow>,
    single: AvroDeserializer<NexmarkRow>,
    confluent: ConfluentDeserializer<NexmarkRow>,
}

impl Decoders {
    fn new() -> Self {
        let raw = AvroOptions::new(NEXMARK_SCHEMA).unwrap();
        Decoders {
            single: AvroDeserializer::new(&raw.clone().with_framing(Framing::SingleObject)).unwrap(),
            raw: AvroDeserializer::new(&raw).unwrap(),
            confluent: ConfluentDeserializer::new(&ConfluentOptions::new([(0, NEXMARK_SCHEMA)]).unwrap()).unwrap(),
        }
    }

    /// Decodes with every datum decoder; panics only on a panic or an unexpected kind.
    fn decode_all(&mut self, bytes: &[u8]) {
        for (name, decoder) in [
            ("raw", &mut self.raw as &mut dyn Deserializer<NexmarkRow>),
            ("single-object", &mut self.single),
            ("confluent", &mut self.confluent),
        ] {
            let mut out = Vec::new();
            if let Err(e) = decoder.deserialize(bytes, &mut out) {
                assert!(out.is_empty());
                assert!(!e.message.is_empty());
                let other_ok = name == "confluent" && e.message.contains("schema id");
                assert!(e.kind != FormatErrorKind::Other || other_ok, "{name}: {e}");
            }
        }
    }
}

/// Reads every record of a (possibly corrupt) container file; panics only on a panic,
/// an endless reader or an error without its kind.
fn read_container(file: &[u8], start: u64, end: u64) -> usize {
    let Ok(reader) = AvroFileReader::<_, NexmarkRow>::open_range(Cursor::new(file), start, end) else {
        return 0;
    };
    let mut records = 0;
    for (i, result) in reader.enumerate() {
        assert!(i < 100_000, "the reader does not end");
        match result {
            Ok(_) => records += 1,
            Err(ContainerError::Io(e)) => panic!("a reader of memory cannot fail to read: {e}"),
            Err(e) => assert!(e.format_error().is_some(), "{e}"),
        }
    }
    records
}

#[test]
fn random_bytes() {
    let decoders = RefCell::new(Decoders::new());
    runner(3000)
        .run(&prop::collection::vec(any::<u8>(), 0..300), |bytes| {
            decoders.borrow_mut().decode_all(&bytes);
            let mut framed = vec![0, 0, 0, 0, 0];
            framed.extend_from_slice(&bytes);
            decoders.borrow_mut().decode_all(&framed);
            let mut file = b"Obj\x01".to_vec();
            file.extend_from_slice(&bytes);
            read_container(&file, 0, u64::MAX);
            Ok(())
        })
        .unwrap();
}

#[test]
fn truncated_and_changed_records() {
    let rows = nexmark_rows(300);
    let options = AvroOptions::new(NEXMARK_SCHEMA).unwrap();
    let mut serializer = AvroSerializer::<NexmarkRow>::new(&options).unwrap();
    let encoded: Vec<Vec<u8>> = rows
        .iter()
        .map(|row| {
            let mut bytes = Vec::new();
            serializer.serialize(row, &mut bytes).unwrap();
            bytes
        })
        .collect();
    let decoders = RefCell::new(Decoders::new());
    let single =
        RefCell::new(AvroSerializer::<NexmarkRow>::new(&options.clone().with_framing(Framing::SingleObject)).unwrap());
    runner(3000)
        .run(
            &(
                0..encoded.len(),
                any::<prop::sample::Index>(),
                any::<u8>(),
                any::<bool>(),
            ),
            |(which, at, byte, truncate)| {
                let mut bytes = encoded[which].clone();
                let at = at.index(bytes.len());
                if truncate {
                    bytes.truncate(at);
                    // A truncated record never decodes.
                    let err = decoders.borrow().raw.decode(&bytes).unwrap_err();
                    prop_assert_eq!(err.kind, FormatErrorKind::Syntax, "{}", err);
                } else {
                    bytes[at] = byte;
                }
                decoders.borrow_mut().decode_all(&bytes);
                let mut framed = Vec::new();
                single.borrow_mut().serialize(&rows[which], &mut framed).unwrap();
                let cut = framed.len() - encoded[which].len();
                framed.truncate(cut);
                framed.extend_from_slice(&bytes);
                decoders.borrow_mut().decode_all(&framed);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn corrupt_container_files() {
    let rows = nexmark_rows(400);
    let schema = weir_format_avro::parse_schema(NEXMARK_SCHEMA).unwrap();
    let files: Vec<Vec<u8>> = [
        apache_avro::Codec::Null,
        apache_avro::Codec::Deflate(Default::default()),
    ]
    .into_iter()
    .map(|codec| {
        let mut writer = apache_avro::Writer::builder()
            .schema(&schema)
            .writer(Vec::new())
            .codec(codec)
            .block_size(2048)
            .build()
            .unwrap();
        for row in &rows {
            writer.append_ser(row).unwrap();
        }
        writer.into_inner().unwrap()
    })
    .collect();
    for file in &files {
        assert_eq!(read_container(file, 0, u64::MAX), rows.len());
    }
    runner(400)
        .run(
            &(
                0..files.len(),
                prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
            ),
            |(which, changes, cut, start)| {
                let mut file = files[which].clone();
                for (at, byte) in changes {
                    let at = at.index(file.len());
                    file[at] = byte;
                }
                let start = start.index(file.len()) as u64;
                read_container(&file, 0, u64::MAX);
                read_container(&file, start, u64::MAX);
                file.truncate(cut.index(file.len()));
                read_container(&file, 0, u64::MAX);
                Ok(())
            },
        )
        .unwrap();
}
