//! Malformed CSV never panics and always gives a typed error: random bytes, and valid
//! Nexmark bid records truncated or with a byte changed.
//!
//! Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run (the seed is printed).

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde::Deserialize;
use weir_format_csv::{CsvDeserializer, CsvOptions, Deserializer, FormatErrorKind, Header};
use weir_nexmark::{csv_record, EventGenerator, GeneratorConfig, NexmarkConfig, BID_CSV_HEADER};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    date_time: String,
    extra: String,
}

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_edc5_2026);
    println!("seed {seed} (WEIR_FUZZ_SEED)");
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

fn options(header: bool) -> CsvOptions {
    let header = if header {
        Header::Names(BID_CSV_HEADER.split(',').map(str::to_string).collect())
    } else {
        Header::None
    };
    CsvOptions {
        header,
        max_record_bytes: 4096,
        ..CsvOptions::default()
    }
}

/// Decodes with and without a header; panics only on a panic or an unexpected kind.
fn decode_all(bytes: &[u8]) -> Result<usize, FormatErrorKind> {
    let mut results = Vec::new();
    for header in [true, false] {
        let mut out = Vec::new();
        let result = CsvDeserializer::<Bid>::new(options(header))
            .unwrap()
            .deserialize(bytes, &mut out);
        results.push(match result {
            Ok(()) => Ok(out.len()),
            Err(e) => {
                assert!(!e.message.is_empty(), "{e}");
                assert_ne!(e.kind, FormatErrorKind::Other, "{e}");
                Err(e.kind)
            }
        });
    }
    results[0]
}

fn bid_lines(n: u64) -> Vec<Vec<u8>> {
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: n,
        ..NexmarkConfig::default()
    })
    .unwrap();
    EventGenerator::new(config)
        .filter(|e| e.as_bid().is_some())
        .map(|e| {
            let mut line = Vec::new();
            csv_record(&e, &mut line);
            line
        })
        .collect()
}

#[test]
fn random_bytes() {
    runner(3000)
        .run(&prop::collection::vec(any::<u8>(), 0..300), |bytes| {
            let _ = decode_all(&bytes);
            Ok(())
        })
        .unwrap();
    let csv_ish = prop::collection::vec(
        prop::sample::select(vec![b',', b'"', b'\n', b'\r', b'1', b'a', b' ', b'-']),
        0..200,
    );
    runner(3000)
        .run(&csv_ish, |bytes| {
            let _ = decode_all(&bytes);
            Ok(())
        })
        .unwrap();
}

#[test]
fn truncated_records_are_short() {
    let lines = bid_lines(300);
    runner(2000)
        .run(&(0..lines.len(), any::<prop::sample::Index>()), |(i, cut)| {
            let line = &lines[i];
            prop_assert_eq!(decode_all(line), Ok(1));
            let body = &line[..line.len() - 1];
            let at = cut.index(body.len());
            // Cut inside the last field (extra) it still decodes; before, fields are missing
            // or the cut field does not parse.
            let last_comma = body.iter().rposition(|b| *b == b',').unwrap_or(0);
            let result = decode_all(&body[..at]);
            if at == 0 {
                prop_assert_eq!(result, Ok(0));
            } else if at > last_comma {
                prop_assert_eq!(result, Ok(1));
            } else {
                prop_assert!(
                    matches!(result, Err(FormatErrorKind::MissingField | FormatErrorKind::Type)),
                    "{result:?}"
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_records_fail_cleanly() {
    let lines = bid_lines(300);
    runner(3000)
        .run(
            &(0..lines.len(), any::<prop::sample::Index>(), any::<u8>()),
            |(i, at, byte)| {
                let mut line = lines[i].clone();
                let at = at.index(line.len());
                line[at] = byte;
                let _ = decode_all(&line);
                Ok(())
            },
        )
        .unwrap();
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
struct Record {
    id: i64,
    name: String,
    score: f64,
    note: Option<String>,
}

#[test]
fn random_records_round_trip() {
    // Any text (delimiters, quotes, line breaks, Unicode) except what CSV cannot tell
    // apart: an empty `note` reads back as None.
    let record = (
        any::<i64>(),
        any::<String>(),
        -1e12f64..1e12,
        proptest::option::of("\\PC+"),
    )
        .prop_map(|(id, name, score, note)| Record { id, name, score, note });
    for (delimiter, header) in [(b',', true), (b';', false), (b'\t', true)] {
        runner(300)
            .run(&prop::collection::vec(record.clone(), 1..10), |records| {
                let header = if header { Header::FirstLine } else { Header::None };
                let options = CsvOptions {
                    delimiter,
                    write_header: header == Header::FirstLine,
                    header,
                    ..CsvOptions::default()
                };
                let mut serializer = weir_format_csv::CsvSerializer::new(options.clone()).with_newline(true);
                let mut bytes = Vec::new();
                for r in &records {
                    weir_format_csv::Serializer::serialize(&mut serializer, r, &mut bytes).unwrap();
                }
                let mut back = Vec::new();
                CsvDeserializer::<Record>::new(options)
                    .unwrap()
                    .deserialize(&bytes, &mut back)
                    .unwrap();
                prop_assert_eq!(back, records);
                Ok(())
            })
            .unwrap();
    }
}
