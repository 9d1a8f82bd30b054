//! Malformed input never panics and always gives a typed error: random bytes, and
//! valid Nexmark JSON lines truncated or with a byte changed, through the struct
//! deserializer, the Arrow decoder and schema inference.
//!
//! Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run (the seed is printed).

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use weir_format_json::schema::{infer_from_lines, infer_from_message, InferOptions};
use weir_format_json::{Deserializer, FormatErrorKind, JsonArrowDecoder, JsonDeserializer, JsonOptions};
use weir_nexmark::{json_line, EventGenerator, GeneratorConfig, NexmarkConfig};

#[path = "../benches/nexmark_rows.rs"]
mod nexmark_rows;
use nexmark_rows::NexmarkEvent;

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_edf0_2026);
    println!("seed {seed} (WEIR_FUZZ_SEED)");
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

fn nexmark_lines(n: u64) -> Vec<Vec<u8>> {
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: n,
        ..NexmarkConfig::default()
    })
    .unwrap();
    EventGenerator::new(config)
        .map(|e| {
            let mut line = Vec::new();
            json_line(&e, &mut line);
            line
        })
        .collect()
}

/// Decodes with every decoder; panics only on a panic or an unexpected kind.
fn decode_all(bytes: &[u8]) -> Result<usize, FormatErrorKind> {
    let mut events = Vec::new();
    let struct_result = JsonDeserializer::<NexmarkEvent>::default().deserialize(bytes, &mut events);
    let mut values = Vec::new();
    let value_result = JsonDeserializer::<serde_json::Value>::default().deserialize(bytes, &mut values);
    if let Err(e) = &value_result {
        // Any JSON value decodes into a Value: only bad JSON fails.
        assert_eq!(e.kind, FormatErrorKind::Syntax, "{e}");
    }
    let _ = infer_from_message(bytes);
    let _ = infer_from_lines(bytes, 10, InferOptions::default());
    let schema = weir_format_json::schema::Schema::parse(
        r#"{"fields":[{"name":"event_type","type":"BIGINT","nullable":false},{"name":"bid","type":{"ROW":[{"name":"price","type":"BIGINT"},{"name":"dateTime","type":"TIMESTAMP(3)"}]}}]}"#,
    )
    .unwrap();
    let mut decoder = JsonArrowDecoder::new(&schema, &JsonOptions::default()).unwrap();
    let _ = decoder.deserialize(bytes, &mut Vec::new());
    match struct_result {
        Ok(()) => Ok(events.len()),
        Err(e) => {
            assert!(!e.message.is_empty());
            assert_ne!(e.kind, FormatErrorKind::Other, "{e}");
            Err(e.kind)
        }
    }
}

#[test]
fn random_bytes() {
    runner(2000)
        .run(&prop::collection::vec(any::<u8>(), 0..300), |bytes| {
            let _ = decode_all(&bytes);
            Ok(())
        })
        .unwrap();
    // Random bytes shaped a little like JSON.
    let json_ish = prop::collection::vec(
        prop::sample::select(vec![
            b'{', b'}', b'[', b']', b'"', b':', b',', b'1', b'.', b'e', b'-', b'n', b't', b' ', b'\\',
        ]),
        0..200,
    );
    runner(3000)
        .run(&json_ish, |bytes| {
            let _ = decode_all(&bytes);
            Ok(())
        })
        .unwrap();
}

#[test]
fn truncated_lines_are_syntax_errors() {
    let lines = nexmark_lines(200);
    runner(2000)
        .run(&(0..lines.len(), any::<prop::sample::Index>()), |(i, cut)| {
            let line = &lines[i];
            // Strip the newline, then cut somewhere before the end.
            let body = &line[..line.len() - 1];
            let at = cut.index(body.len());
            let result = decode_all(&body[..at]);
            if at == 0 {
                prop_assert_eq!(result, Ok(0));
            } else {
                prop_assert_eq!(result, Err(FormatErrorKind::Syntax));
            }
            prop_assert_eq!(decode_all(line), Ok(1));
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_lines_fail_cleanly() {
    let lines = nexmark_lines(200);
    runner(3000)
        .run(
            &(0..lines.len(), any::<prop::sample::Index>(), any::<u8>()),
            |(i, at, byte)| {
                let mut line = lines[i].clone();
                let at = at.index(line.len());
                line[at] = byte;
                // Any outcome but a panic; errors carry a kind other than Other.
                let _ = decode_all(&line);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn wrong_types_and_missing_fields_have_their_kinds() {
    let bid = r#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1,"bidder":2,"price":3,"channel":"c","url":"u","dateTime":"2024-01-01 00:00:00","extra":""}}"#;
    assert_eq!(decode_all(bid.as_bytes()), Ok(1));
    let cases = [
        (
            bid.replace("\"price\":3", "\"price\":\"3\""),
            FormatErrorKind::Type,
            "field `bid.price`",
        ),
        (
            bid.replace("\"price\":3", "\"price\":3.5"),
            FormatErrorKind::Type,
            "field `bid.price`",
        ),
        (
            bid.replace("2024-01-01 00:00:00", "yesterday"),
            FormatErrorKind::Type,
            "field `bid.dateTime`",
        ),
        (
            bid.replace("\"price\":3,", ""),
            FormatErrorKind::MissingField,
            "field `bid.price` is missing",
        ),
        (
            bid.replace("\"event_type\":2,", ""),
            FormatErrorKind::MissingField,
            "field `event_type` is missing",
        ),
        (
            bid.replace("}}", "}"),
            FormatErrorKind::Syntax,
            "invalid JSON at column",
        ),
    ];
    for (text, kind, needle) in cases {
        let mut out = Vec::new();
        let err = JsonDeserializer::<NexmarkEvent>::default()
            .deserialize(text.as_bytes(), &mut out)
            .unwrap_err();
        assert_eq!(err.kind, kind, "{text}: {err}");
        assert!(err.message.contains(needle), "{text}: {err}");
    }
    let oversize = JsonOptions {
        max_record_bytes: 100,
        ..JsonOptions::default()
    };
    let err = JsonDeserializer::<NexmarkEvent>::new(oversize)
        .deserialize(bid.as_bytes(), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize);
}
