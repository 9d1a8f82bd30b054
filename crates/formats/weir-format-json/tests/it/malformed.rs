//! Malformed input never panics and always gives a typed error: random bytes, and
//! valid Nexmark JSON lines truncated or with a byte changed, through the struct
//! deserializer, the Arrow decoder and schema inference.
//!
//! Seeded: `WEIR_FUZZ_SEED=<u64>` replays a run (the seed is printed).

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use weir_format_json::schema::{infer_from_lines, infer_from_message, InferOptions};
use weir_format_json::{
    Deserializer, FormatError, FormatErrorKind, JsonArrowDecoder, JsonDeserializer, JsonOptions, JsonTapeDeserializer,
};
use weir_nexmark::{json_line, EventGenerator, GeneratorConfig, NexmarkConfig};

use weir_nexmark::{event_from_tape, EventFields, JsonEvent as NexmarkEvent};

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

/// `bytes` through the tape path with Nexmark's decoding, every field kept.
fn decode_tape(bytes: &[u8], options: JsonOptions, out: &mut Vec<NexmarkEvent>) -> Result<(), FormatError> {
    JsonTapeDeserializer::new(options, |v| event_from_tape(v, &EventFields::ALL).map(NexmarkEvent))
        .deserialize(bytes, out)
}

/// Decodes with every decoder; panics only on a panic, an unexpected kind, or the
/// tape path disagreeing with serde.
fn decode_all(bytes: &[u8]) -> Result<usize, FormatErrorKind> {
    let mut events = Vec::new();
    let struct_result = JsonDeserializer::<NexmarkEvent>::default().deserialize(bytes, &mut events);
    let mut tape_events = Vec::new();
    let tape_result = decode_tape(bytes, JsonOptions::default(), &mut tape_events);
    let too_deep = matches!(&struct_result, Err(e) if e.message.contains("nested deeper than"));
    if !too_deep {
        // The serde path limits nesting (it recurses); the tape path needs no limit.
        assert_eq!(
            tape_result.as_ref().map_err(|e| e.kind),
            struct_result.as_ref().map_err(|e| e.kind),
            "tape {tape_result:?} vs serde {struct_result:?} on {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
        );
        assert_eq!(tape_events, events);
    }
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
        // The tape path explains its failures the same way.
        let tape_err = decode_tape(text.as_bytes(), JsonOptions::default(), &mut out).unwrap_err();
        assert_eq!(tape_err, err, "{text}");
    }
    let oversize = JsonOptions {
        max_record_bytes: 100,
        ..JsonOptions::default()
    };
    let err = JsonDeserializer::<NexmarkEvent>::new(oversize.clone())
        .deserialize(bid.as_bytes(), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize);
    let err = decode_tape(bid.as_bytes(), oversize, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize);
}

#[test]
fn the_tape_path_takes_what_serde_takes() {
    let bid = r#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1,"bidder":2,"price":3,"channel":"c","url":"u","dateTime":"2024-01-01 00:00:00","extra":""}}"#;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        // Unknown fields, at any depth, are skipped (no recursion on the tape).
        bid.replace("\"extra\":\"\"", &format!("\"extra\":\"\",\"x\":{{\"y\":{deep}}}")),
        bid.replace("\"person\":null,", ""),
        bid.replace("\"person\":null", "\"person\":{}"),
        bid.replace("\"url\":\"u\"", "\"url\":\"u\",\"url\":\"v\""),
        bid.replace("\"price\":3", "\"price\":18446744073709551615"),
        bid.replace("\"price\":3", "\"price\":-9223372036854775808"),
        bid.replace("\"event_type\":2", "\"event_type\":4294967298"),
        bid.replace("\"channel\":\"c\"", "\"channel\":\"\\u00e9\\n\""),
        format!("[{bid},{bid}]"),
        format!("[{bid},{}]", bid.replace("\"price\":3", "\"price\":null")),
        deep.clone(),
        "[]".to_string(),
        "null".to_string(),
    ];
    for text in &cases {
        let _ = decode_all(text.as_bytes());
    }
    // A record nested 100 000 deep in a field the events do not have decodes.
    let mut out = Vec::new();
    decode_tape(cases[0].as_bytes(), JsonOptions::default(), &mut out).unwrap();
    decode_tape(format!("[{bid},{bid}]").as_bytes(), JsonOptions::default(), &mut out).unwrap();
    assert_eq!(out.len(), 3);
    // A row as an array of its values: serde's sequence form of a struct, which the
    // serde path takes; the tape path, like Flink's JSON format, wants an object.
    let positional = r#"{"event_type":2,"bid":[1,2,3,"c","u","2024-01-01 00:00:00",""]}"#;
    let mut events = Vec::new();
    JsonDeserializer::<NexmarkEvent>::default()
        .deserialize(positional.as_bytes(), &mut events)
        .unwrap();
    let err = decode_tape(positional.as_bytes(), JsonOptions::default(), &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type);
    assert_eq!(err.message, "field `bid`: expected an object or null");
}
